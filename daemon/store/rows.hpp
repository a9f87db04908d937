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

/// The string member `key` of a dead letter's meta (JSON object); "" when absent or not a string. A rejected
/// write's dead letter keeps the destination id there (`target_id`) and the profile the write was for
/// (`profile_id`), so a retry queues the same write again.
inline std::string meta_string(const std::string& meta, std::string_view key) {
  boost::system::error_code ec;
  auto v = boost::json::parse(meta, ec);
  if (ec || !v.is_object()) return {};
  const auto* t = v.as_object().if_contains(key);
  return t && t->is_string() ? std::string(t->as_string()) : std::string();
}
inline std::string target_id_of(const std::string& meta) { return meta_string(meta, "target_id"); }

// ---- rows -----------------------------------------------------------------------------------------------------

/// connector, object, value, updated_at
template <class Row>
cursor_entry read_cursor(const Row& r) {
  return {r.text(0), r.text(1), r.text(2), from_ms(r.i64(3))};
}

/// id, payload, source_ts, deleted, stored_at, first_seen, facts (of one connector's object)
template <class Row>
stored_record read_record(const Row& r, const std::string& connector, const std::string& object) {
  return stored_record{connector,    object,            r.text(0),         r.text(1), from_ms(r.i64(2)),
                       r.boolean(3), from_ms(r.i64(4)), from_ms(r.i64(5)), r.text(6)};
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

/// id, connector, object, record_key, payload, attempts (a claim: this one included), next_attempt_at (a claim:
/// before it), last_error, target_id, profile_id, run_id
template <class Row>
outbox_item read_outbox_item(const Row& r) {
  outbox_item it;
  it.id = r.i64(0);
  it.write = {r.text(1), r.text(2), r.text(3), r.text(4)};
  it.attempts = static_cast<int>(r.i64(5));
  it.next_attempt_at = from_ms(r.i64(6));
  it.last_error = r.text(7);
  it.write.target_id = r.text(8);
  it.write.profile_id = r.text(9);
  it.write.run = r.i64(10);
  return it;
}

/// Stored as 0 none, 1 inbox, 2 outbox.
inline retry_target retry_target_of(std::int64_t v) {
  return v == 1 ? retry_target::inbox : v == 2 ? retry_target::outbox : retry_target::none;
}

/// The columns read_dead_letter reads, in its order (both backends' SELECTs use this list).
inline constexpr const char* dead_letter_columns =
    "id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at, retries, "
    "COALESCE(resolved_at, 0), retryable";

/// id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at, retries,
/// resolved_at (0: open), retryable
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
  d.retries = r.i64(11);
  if (const auto resolved = r.i64(12); resolved != 0) d.resolved_at = from_ms(resolved);
  d.entry.retryable = r.i64(13) != 0;
  return d;
}

/// id, at, connector, object, record_id, field, value_before, value_after, attribute, rule, source, source_ts,
/// profile_id, request_id, outcome, answer
template <class Row>
audit_entry read_audit_entry(const Row& r) {
  audit_entry e;
  e.id = r.i64(0);
  e.at = from_ms(r.i64(1));
  e.connector = r.text(2);
  e.object = r.text(3);
  e.record_id = r.text(4);
  e.field = r.text(5);
  e.before = r.text(6);
  e.after = r.text(7);
  e.attribute = r.text(8);
  e.rule = r.text(9);
  e.source = r.text(10);
  e.source_ts = from_ms(r.i64(11));
  e.profile_id = r.text(12);
  e.request_id = r.text(13);
  e.outcome = r.text(14);
  e.answer = r.text(15);
  return e;
}

/// key, owner, token, expires_at
template <class Row>
lease_info read_lease(const Row& r) {
  return {r.text(0), r.text(1), r.i64(2), from_ms(r.i64(3))};
}

/// The columns of runs in this order (run_columns), as run_list and run_get read them.
inline constexpr const char* run_columns =
    "id, kind, connector, objects, started_at, ended_at, outcome, error, records_read, records_stored, "
    "records_mapped, records_failed, api_calls, quota_used, idle_cycles, last_idle_at";

/// One row of run_columns (ended_at NULL: running). `is_null(c)` says whether column c is NULL.
template <class Row>
run_record read_run(const Row& r) {
  run_record run;
  run.id = r.i64(0);
  run.kind = r.text(1);
  run.connector = r.text(2);
  run.objects = r.text(3);
  run.started_at = from_ms(r.i64(4));
  if (!r.is_null(5)) run.ended_at = from_ms(r.i64(5));
  run.outcome = r.text(6);
  run.error = r.text(7);
  run.counts.read = r.i64(8);
  run.counts.stored = r.i64(9);
  run.counts.mapped = r.i64(10);
  run.counts.failed = r.i64(11);
  run.counts.api_calls = r.i64(12);
  run.counts.quota_used = r.i64(13);
  run.idle_cycles = r.i64(14);
  run.last_idle_at = from_ms(r.i64(15));
  return run;
}

}  // namespace omnisync::store::detail
