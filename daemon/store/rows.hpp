#pragma once
// What both store backends (sqlite_store.cpp, pg_store.cpp) write into and read from their rows the same way:
// instants as epoch milliseconds, the hash of a written payload (stored: it must stay the same across
// backends, runs and builds), the destination id kept in a dead letter's meta.
#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

inline std::int64_t ms(timestamp t) { return t.time_since_epoch().count(); }
inline timestamp from_ms(std::int64_t v) { return timestamp(std::chrono::milliseconds(v)); }

/// FNV-1a, 64 bits: stable across runs, builds and backends (the hashes are stored in outbox_last).
inline std::int64_t payload_hash(std::string_view s) noexcept {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return static_cast<std::int64_t>(h);
}

/// A rejected write's dead letter keeps the destination id in its meta (`{"target_id": "..."}`); "" when not.
inline std::string target_id_of(const std::string& meta) {
  boost::system::error_code ec;
  auto v = boost::json::parse(meta, ec);
  if (ec || !v.is_object()) return {};
  const auto* t = v.as_object().if_contains("target_id");
  return t && t->is_string() ? std::string(t->as_string()) : std::string();
}

}  // namespace omnisync::store::detail
