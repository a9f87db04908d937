#pragma once
/// Test helpers for the vendor connectors: one `omnisync-sim` per test executable (started on first use, reset
/// by each test case), a connector block written key by key and validated against its kind's schema as the
/// config loader does (`connector_config`), and a connector built through the registry on its own io_context,
/// whose coroutines the tests run to completion one at a time. Blocking; used from the test thread only.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/connector.hpp"
#include "adapters/registry.hpp"
#include "config/validate.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace omnisync::test::adapters {

namespace json = boost::json;

/// The simulator shared by the test cases of one executable.
inline sim::running_sim& shared_sim() {
  static sim::running_sim s;
  return s;
}

/// A fresh simulator state: seeded records, no faults, request counts at zero.
inline sim::running_sim& fresh_sim() {
  auto& s = shared_sim();
  s.admin("POST", "/admin/reset");
  return s;
}

/// Calls to `service` whose "METHOD path" key contains `needle` (from /admin/counts).
inline std::int64_t sim_calls(sim::running_sim& s, const std::string& service, const std::string& needle) {
  auto counts = s.admin("GET", "/admin/counts").json();
  std::int64_t n = 0;
  if (const auto* per = counts.as_object().if_contains(service); per && per->is_object())
    for (const auto& [k, v] : per->get_object())
      if (k != "total" && std::string_view(k).find(needle) != std::string_view::npos) n += v.to_number<std::int64_t>();
  return n;
}

/// One block under `connectors:`, written by dotted key ("sync.page_size", "auth.client_secret") as a file would
/// say it, and turned into the `connector_common` the loader would produce: validated against the kind's
/// schema (a problem throws std::runtime_error with the located diagnostics) and bound.
class connector_config {
 public:
  connector_config(std::string name, std::string kind) : name_(std::move(name)) { set("kind", std::move(kind)); }
  /// A scalar value (any text, newlines included).
  connector_config& set(const std::string& key, std::string value) {
    erase(key);
    values_[key] = YAML::Node(std::move(value));
    return *this;
  }
  /// A list value.
  connector_config& list(const std::string& key, const std::vector<std::string>& items) {
    erase(key);
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const auto& i : items) seq.push_back(i);
    values_[key] = seq;
    return *this;
  }
  /// Removes `key` and every key below it.
  connector_config& erase(const std::string& key) {
    for (auto it = values_.begin(); it != values_.end();)
      it = it->first == key || it->first.starts_with(key + ".") ? values_.erase(it) : std::next(it);
    return *this;
  }
  const std::string& name() const noexcept { return name_; }

  config::connector_common build() const {
    YAML::Node block(YAML::NodeType::Map);
    for (const auto& [key, value] : values_) {
      YAML::Node at = block;
      std::size_t start = 0;
      for (auto dot = key.find('.'); dot != std::string::npos; start = dot + 1, dot = key.find('.', start)) {
        const std::string part = key.substr(start, dot - start);
        if (!at[part]) at[part] = YAML::Node(YAML::NodeType::Map);
        at.reset(at[part]);
      }
      at[key.substr(start)] = value;
    }
    YAML::Node doc;
    doc["connectors"][name_] = block;
    // Through text, so that every node has its place (as a loaded file's do).
    const YAML::Node loaded = YAML::Load(YAML::Dump(doc));
    config::diagnostics problems;
    config::validation_context ctx{"<test config>", std::filesystem::current_path(), &problems};
    auto cc = omnisync::adapters::read_connector(name_, loaded["connectors"][name_], "connectors." + name_, ctx);
    if (!problems.empty()) throw std::runtime_error(problems.format() + YAML::Dump(doc));
    return cc;
  }
  operator config::connector_common() const { return build(); }  // NOLINT: tests pass it where a config goes

 private:
  std::string name_;
  std::map<std::string, YAML::Node> values_;
};

/// A connector built by the registry on its own io_context.
struct harness {
  boost::asio::io_context io;
  std::unique_ptr<omnisync::adapters::connector> c;

  explicit harness(const config::connector_common& cfg, std::string public_url = {}) {
    omnisync::adapters::connector_context ctx;
    ctx.executor = io.get_executor();
    ctx.public_url = std::move(public_url);
    c = omnisync::adapters::make_connector(cfg, ctx);
  }

  /// Runs one of the connector's operations to completion.
  template <class T>
  T run(boost::asio::awaitable<T> op) {
    auto f = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
    io.restart();
    io.run();
    return f.get();
  }
};

/// What `read_all` read: the last version of each record, the records of all pages (duplicates included), the
/// pages, and the cursor to continue from.
struct read_result {
  std::map<std::string, omnisync::adapters::source_record> by_id;
  std::size_t records = 0;
  std::size_t pages = 0;
  std::optional<std::string> cursor;
};

/// Polls `object` until `more` is false, passing each page's cursor back as the engine does (a full read stays
/// in full mode; `since` goes with the first page, as for `resync --since`); checks each page holds distinct ids.
inline read_result read_all(harness& h, const std::string& object, omnisync::adapters::poll_mode mode,
                            std::optional<std::string> cursor,
                            std::optional<std::chrono::system_clock::time_point> since = std::nullopt) {
  read_result out;
  out.cursor = std::move(cursor);
  for (int guard = 0; guard < 2000; ++guard) {
    omnisync::adapters::page_request req(object, out.cursor, mode);
    if (since && !out.cursor) req.since = since;
    auto pg = h.run(h.c->poll(std::move(req)));
    INFO((pg ? std::string() : pg.error().message()));
    REQUIRE(pg.has_value());
    std::set<std::string> in_page;
    for (auto& r : pg->records) {
      CHECK(in_page.insert(r.id).second);
      out.by_id[r.id] = r;
    }
    out.records += pg->records.size();
    ++out.pages;
    if (pg->cursor) out.cursor = pg->cursor;
    if (!pg->more) return out;
  }
  FAIL("poll never reached the end");
  return out;
}

inline omnisync::adapters::write_item item(std::int64_t id, std::string key, const json::object& payload) {
  return omnisync::adapters::write_item(id, std::move(key), json::serialize(payload));
}

}  // namespace omnisync::test::adapters
