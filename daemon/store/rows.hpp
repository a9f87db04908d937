#pragma once
// What both store backends (sqlite_sql.cpp, pg_sql.cpp) write into and read from their rows the same way:
// instants as epoch milliseconds, the hash of a written payload (stored: it must stay the same across
// backends, runs and builds), the destination id kept in a dead letter's meta, and the rows their SELECTs
// return, decoded once for both.
//
// A decoder takes a `Row`, the backend's view of one result row: `i64(col)`, `text(col)`, `bytes(col)` (a
// BLOB/BYTEA column) and `boolean(col)`. The column order each decoder expects is part of the SQL of both
// backends.
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

// ---- rows -----------------------------------------------------------------------------------------------------

/// connector, object, value, updated_at
template <class Row>
cursor_entry read_cursor(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), from_ms(r.i64(3))};
}

/// id, payload, source_ts, deleted, stored_at, first_seen (of one connector's object)
template <class Row>
stored_record read_record(const Row& r, const std::string& connector, const std::string& object) {
  return stored_record{connector,    object,            r.text(0),        r.text(1), from_ms(r.i64(2)),
                       r.boolean(3), from_ms(r.i64(4)), from_ms(r.i64(5))};
}

/// id, connector, dedupe_key, received_at, meta, body, attempts (this claim included), last_error
template <class Row>
inbox_item read_inbox_item(const Row& r) {
  inbox_item it;
  it.id = r.i64(0);
  it.event = {r.text(1), r.text(2), from_ms(r.i64(3)), r.text(4), r.bytes(5)};
  it.attempts = static_cast<int>(r.i64(6));
  it.last_error = r.text(7);
  return it;
}

/// id, connector, object, record_key, payload, attempts (this claim included), next_attempt_at (before this
/// claim), last_error, target_id
template <class Row>
outbox_item read_outbox_item(const Row& r) {
  outbox_item it;
  it.id = r.i64(0);
  it.write = {r.text(1), r.text(2), r.text(3), r.text(4)};
  it.attempts = static_cast<int>(r.i64(5));
  it.next_attempt_at = from_ms(r.i64(6));
  it.last_error = r.text(7);
  it.write.target_id = r.text(8);
  return it;
}

/// Stored as 0 none, 1 inbox, 2 outbox.
inline retry_target retry_target_of(std::int64_t v) {
  return v == 1 ? retry_target::inbox : v == 2 ? retry_target::outbox : retry_target::none;
}

/// id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at
template <class Row>
dead_letter read_dead_letter(const Row& r) {
  dead_letter d;
  d.id = r.i64(0);
  d.entry.target = retry_target_of(r.i64(1));
  d.entry.connector = r.text(2);
  d.entry.object = r.text(3);
  d.entry.record_id = r.text(4);
  d.entry.event_id = r.text(5);
  d.entry.stage = r.text(6);
  d.entry.reason = r.text(7);
  d.entry.payload = r.bytes(8);
  d.entry.meta = r.text(9);
  d.created_at = from_ms(r.i64(10));
  return d;
}

/// key, owner, token, expires_at
template <class Row>
lease_info read_lease(const Row& r) {
  return {r.text(0), r.text(1), r.i64(2), from_ms(r.i64(3))};
}

}  // namespace omnisync::store::detail
