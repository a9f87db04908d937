#pragma once
/// What a validated block of omnisync.yaml holds: typed values by dotted key ("sync.page_size",
/// "sync.Contact.fields", "auth.client_secret"), each with the place it was written. Produced by
/// `config::validate` (config/validate.hpp) against a schema, turned into a component's own struct by
/// `config::bind_into` (config/schema.hpp). Only what the file says is here; defaults come from the schema when binding.
///
/// Immutable once built; copies are cheap enough for reloads. Secrets stay `config::secret` (never printed).
#include <chrono>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/secret.hpp"

namespace omnisync::config {

/// One validated value. `std::monostate` marks an entry of a map of blocks (`sync.Contact: {}`) whose keys are
/// stored under it. Strings hold string, enumeration, URL and (absolute) path values.
struct setting_value {
  using list = std::vector<std::string>;
  std::variant<std::monostate, std::string, std::int64_t, double, bool, std::chrono::milliseconds, secret, list> data;
  location where;
};

/// Equal data (secrets by their value); where they were written does not matter, so moving a line is no change.
bool operator==(const setting_value& a, const setting_value& b);

class setting_values {
 public:
  void set(std::string key, setting_value v) { items_.insert_or_assign(std::move(key), std::move(v)); }
  const setting_value* find(std::string_view key) const {
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : &it->second;
  }
  /// The distinct next key segments below `prefix` ("sync" → page_size, Contact, ...), in key order.
  std::vector<std::string> names_under(std::string_view prefix) const;
  bool empty() const noexcept { return items_.empty(); }
  const std::map<std::string, setting_value, std::less<>>& items() const noexcept { return items_; }
  friend bool operator==(const setting_values&, const setting_values&) = default;

 private:
  std::map<std::string, setting_value, std::less<>> items_;
};

/// A setting a component cannot work with, found after validation (a combination of keys, a flow that needs a
/// credential): thrown while a connector is built. `key` is dotted within the connector ("auth.client_id"); the
/// config loader reports it at that key's place in the file. what(): "connector NAME: KEY: WHY".
class setting_error : public std::runtime_error {
 public:
  setting_error(const std::string& connector, std::string key, std::string why)
      : std::runtime_error("connector " + connector + ": " + key + ": " + why), key_(std::move(key)), why_(std::move(why)) {}
  const std::string& key() const noexcept { return key_; }
  const std::string& why() const noexcept { return why_; }

 private:
  std::string key_;
  std::string why_;
};

}  // namespace omnisync::config
