#pragma once
/// Internal to daemon/store: the SQLite store's statements — SQL text and binding, nothing decided here (that is
/// queue_logic.hpp / queue_store.hpp). Three sets, one per kind of connection: `state_sql` (the writer of
/// state.db), `inbox_sql` (the writer of inbox.db) and `read_sql` (the reader's read-only connections to both).
/// pg_sql.hpp has the same members in PostgreSQL's dialect. A set is a reference to its connection, built per
/// job; it is used on the worker thread that owns the connection. Failures throw sqlite_error (classified).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/store/list_query.hpp"
#include "daemon/store/queue_logic.hpp"
#include "daemon/store/sqlite_db.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::sqlite {

/// The text audit_entries runs for `f` (tests read its query plan).
const char* audit_list_sql(const audit_filter& f);
/// The text history_rows runs for `f` (tests read its query plan).
const char* history_query_sql(const history_filter& f);
/// Binds a log's list query (list_query.hpp): the page's bounds, the limit, then the set terms' values.
inline query& bind_list(query& q, const detail::list_params& p) {
  q.i64(1, p.bounds[0]).i64(2, p.bounds[1]).i64(3, p.bounds[2]).i64(4, p.limit);
  int n = 5;
  for (const auto* v : p.terms) q.text(n++, *v);
  return q;
}

/// One result row of a stepped query, as the decoders of rows.hpp read it.
struct row {
  query& q;
  std::int64_t i64(int c) const { return q.col_i64(c); }
  std::string text(int c) const { return q.col_text(c); }
  std::string bytes(int c) const { return q.col_text(c); }
  bool boolean(int c) const { return q.col_i64(c) != 0; }
  bool is_null(int c) const { return q.col_null(c); }
};

/// The reader thread's connections: one per database file, read-only.
struct reader_ctx {
  connection state;
  connection inbox;
};

using depth_rows = std::vector<std::pair<std::string, std::int64_t>>;

/// state.db's writer: meta, cursors, records, outbox, dead letters, leases. All times are ms.
class state_sql {
 public:
  explicit state_sql(connection& c) : c_(c) {}
  connection& context() noexcept { return c_; }

  void meta_set(const std::string& key, const std::string& value);
  // Acknowledged segment membership (sqlite_membership_sql.cpp).
  void membership_put(const std::string& segment, const std::string& connector, const std::string& member,
                      const std::string& profile, const std::string& row, std::int64_t t);
  void membership_delete(const std::string& segment, const std::string& connector, const std::string& member);
  /// The member's membership row id ("" when unknown); nullopt when it is not recorded.
  std::optional<std::string> membership_row(const std::string& segment, const std::string& connector,
                                            const std::string& member);
  std::int64_t membership_count(const std::string& segment, const std::string& connector);
  std::vector<std::pair<std::string, std::string>> membership_all(const std::string& segment,
                                                                  const std::string& connector);

  std::optional<detail::lease_state> lease_for_fence(const std::string& key);
  void cursor_write(const std::string& connector, const std::string& object, const std::string& value,
                    std::int64_t t);
  /// Upserts each record in order, unless the stored copy is newer; returns how many were written.
  std::size_t records_upsert(const record_batch& batch, std::int64_t t);
  /// Replaces a stored record's facts; false when the record is not stored.
  bool record_facts_update(const std::string& connector, const std::string& object, const std::string& id,
                           const std::string& facts);

  std::vector<detail::record_outbox_state> outbox_states(const std::vector<outbox_write>& writes);
  bool outbox_put(const outbox_write& w, std::int64_t t);
  /// outbox_put for each of `ws` in order (queue_logic's enqueue): true where inserted.
  std::vector<bool> outbox_put_all(const std::vector<const outbox_write*>& ws, std::int64_t t);
  bool outbox_put_unless_pending(const outbox_write& w, std::int64_t t);
  /// Deletes claimed writes whose claim ends at or before `claimed_until` and that a pending write supersedes.
  void outbox_drop_superseded(std::int64_t claimed_until);
  std::vector<outbox_item> outbox_claim(std::int64_t t, std::size_t n, std::int64_t until,
                                        const std::optional<std::string>& connector);
  std::int64_t outbox_release(std::int64_t t);
  std::int64_t outbox_due_now(const std::string& connector, const std::string& object, std::int64_t t);
  std::vector<std::optional<std::string>> outbox_last_payloads(const std::vector<outbox_write>& writes);
  std::vector<detail::taken_write> outbox_take_claimed(const std::vector<std::int64_t>& ids);
  void outbox_last_put(const std::vector<detail::taken_write>& written, std::int64_t t);
  std::vector<detail::claimed_write> outbox_claims(const std::vector<std::int64_t>& ids);
  void outbox_delete(const std::vector<std::int64_t>& ids);
  /// Back to pending, due at `retry_at`; `uncounted`: the claim is given back (attempts - 1, never below 0).
  void outbox_retry(const std::vector<std::int64_t>& ids, std::int64_t retry_at, const std::string& error,
                    bool uncounted = false);

  // Dead letters (*_dead_letter_sql.cpp).
  std::int64_t dead_letter_insert(const dead_letter_entry& e, std::int64_t t, std::int64_t retries);
  bool dead_letter_delete(std::int64_t id);
  /// Removes the open dead letters of one record at one stage (a newer failure of it replaces them); returns the
  /// most scheduled retries among them (carried over to the new entry).
  std::int64_t dead_letters_of_record_replace(const dead_letter_entry& e);
  /// Matching entries in id order, read inside this writer's transaction.
  std::vector<dead_letter> dead_letters_where(const detail::dead_letter_where& w, std::size_t limit);
  std::int64_t dead_letters_delete_where(const detail::dead_letter_where& w);
  /// Open entries of (connector, object, stage) for these record ids become resolved at `t`; returns how many.
  std::int64_t dead_letters_resolve(const std::string& connector, const std::string& object, const std::string& stage,
                                    const std::vector<std::string>& record_ids, std::int64_t t);
  std::optional<dead_letter> dead_letter_open(std::int64_t id);
  void dead_letter_count_retry(std::int64_t id);

  std::optional<lease_grant> lease_take(const std::string& key, const std::string& owner, std::int64_t t,
                                        std::int64_t expires_at);
  void lease_release(const std::string& key, const std::string& owner, std::int64_t t);

  // The audit log (sqlite_audit_sql.cpp). Entries stamped {} get `t`.
  void audit_insert(const std::vector<audit_entry>& entries, std::int64_t t);
  /// Deletes at most `n` of the oldest entries with at < `before`; returns how many.
  std::int64_t audit_delete_before(std::int64_t before, std::size_t n);
  /// Deletes at most `n` of the oldest entries up to and including `last` in the log's order; returns how many.
  std::int64_t audit_delete_through(detail::audit_key last, std::size_t n);

  // The append-only history (sqlite_history_sql.cpp). Rows stamped {} get `t`.
  void history_insert(const std::vector<history_entry>& rows, std::int64_t t);
  /// Deletes at most `n` rows with at < `before`; returns how many.
  std::int64_t history_delete_before(std::int64_t before, std::size_t n);

  // Segment membership and timers (*_segment_sql.cpp).
  std::optional<std::int64_t> segment_member_since(const std::string& segment, const std::string& profile);
  void segment_member_put(const std::string& segment, const std::string& profile, std::int64_t since);
  void segment_member_delete(const std::string& segment, const std::string& profile);
  void segment_timer_put(const std::string& segment, const std::string& profile, std::int64_t due_at);
  void segment_timer_delete(const std::string& segment, const std::string& profile);
  /// The members (profile, since) / timers (profile, due_at) of `segment` whose profile is in [lo, hi]; nullopt
  /// when there are more than `limit` (the caller looks the profiles up one by one instead).
  std::optional<std::vector<std::pair<std::string, std::int64_t>>> segment_members_between(
      const std::string& segment, const std::string& lo, const std::string& hi, std::size_t limit);
  std::optional<std::vector<std::pair<std::string, std::int64_t>>> segment_timers_between(
      const std::string& segment, const std::string& lo, const std::string& hi, std::size_t limit);
  std::int64_t segment_delete_all(const std::string& segment);
  // The run history (sqlite_run_sql.cpp).
  std::int64_t run_insert(const run_record& r, std::int64_t t);
  bool run_add(std::int64_t id, const run_counts& d);
  /// Adds to (run, destination)'s write counts when the run exists; a refusal makes a finished `ok` run `partial`.
  void run_writes_add(std::int64_t id, const run_writes& w);
  bool run_finish(std::int64_t id, const std::string& outcome, const std::string& error, std::int64_t t);
  /// Counts an idle cycle on the newest poll run of (connector, object); false when there is none.
  bool run_idle(const std::string& connector, const std::string& object, std::int64_t t);
  std::int64_t runs_delete_ended_before(std::int64_t before);

 private:
  connection& c_;
};

/// inbox.db's writer.
class inbox_sql {
 public:
  explicit inbox_sql(connection& c) : c_(c) {}

  /// The hot path (one per webhook): binds the event's strings without copying them.
  bool inbox_insert(const inbox_event& ev, std::int64_t available_at);
  std::vector<inbox_item> inbox_claim(std::int64_t t, std::size_t n, std::int64_t until,
                                      const std::optional<std::string>& connector);
  void inbox_ack(const std::vector<std::int64_t>& ids);
  void inbox_nack(const std::vector<std::int64_t>& ids, const std::string& error, std::int64_t retry_at);
  std::int64_t inbox_prune(std::int64_t before);
  std::int64_t inbox_release(std::int64_t t);
  void inbox_requeue(const std::string& connector, const std::string& dedupe_key, const std::string& meta,
                     const std::string& body, std::int64_t t);

 private:
  connection& c_;
};

/// The reader's statements, on both files.
class read_sql {
 public:
  explicit read_sql(reader_ctx& r) : r_(r) {}

  std::optional<std::string> meta(const std::string& key);
  std::optional<std::string> cursor(const std::string& connector, const std::string& object);
  std::vector<cursor_entry> cursors();
  std::optional<stored_record> record(const std::string& connector, const std::string& object, const std::string& id);
  std::vector<stored_record> records_after(const std::string& connector, const std::string& object,
                                           const std::string& after_id, std::size_t limit);
  std::vector<dead_letter> dead_letters(const detail::dead_letter_where& w, std::size_t limit);
  std::optional<dead_letter> dead_letter_by_id(std::int64_t id);
  std::vector<dead_letter_group> dead_letter_groups(const detail::dead_letter_where& w, std::size_t limit);
  std::vector<lease_info> leases();
  /// Whether `connector` has events received at or before `received_before` not yet acknowledged.
  bool inbox_open(const std::string& connector, std::int64_t received_before);
  /// The ids of those events, ascending.
  std::vector<std::int64_t> inbox_open_ids(const std::string& connector, std::int64_t received_before);
  /// The events among `ids` not yet acknowledged, by id.
  std::vector<inbox_item> inbox_open_events(const std::vector<std::int64_t>& ids);
  /// Pending and claimed writes after `f.after_id` (of `f.connector` when set), by id, at most `limit`.
  std::vector<outbox_item> outbox_queued(const outbox_filter& f, std::size_t limit);
  /// At most `limit` audit entries matching `f`, newest first (sqlite_audit_sql.cpp).
  std::vector<audit_entry> audit_entries(const audit_filter& f, std::size_t limit);
  /// The entry with `n` newer ones before it in the log's order, if there is one.
  std::optional<detail::audit_key> audit_nth_newest(std::size_t n);
  /// At most `limit` history rows matching `f`, ascending id (sqlite_history_sql.cpp).
  std::vector<history_entry> history_rows(const history_filter& f, std::size_t limit);
  /// The `at` of the history row after the `n` newest by time (by history_at), none when there are no more.
  std::optional<std::int64_t> history_nth_newest_at(std::size_t n);
  // Segment membership and timers (*_segment_sql.cpp).
  std::vector<segment_member> segment_members(const std::string& segment, const std::string& after, std::size_t limit);
  std::int64_t segment_count(const std::string& segment);
  std::vector<segment_timer> segment_timers_due(std::int64_t until, std::size_t limit);
  std::optional<std::int64_t> segment_next_timer();
  /// The segment keys with stored members or timers.
  std::vector<std::string> segment_keys();
  /// Runs matching `f`, newest first, at most `limit`, each with its per-destination write counts (sqlite_run_sql.cpp).
  std::vector<run_record> runs(const run_filter& f, std::size_t limit);
  std::optional<run_record> run(std::int64_t id);
  std::vector<run_writes> run_writes_of(std::int64_t id);
  /// Writes caused by the run still in the outbox.
  std::int64_t outbox_of_run(std::int64_t id);

  /// A read transaction on state.db (one snapshot of its tables) until the returned object goes away.
  class snapshot_scope {
   public:
    explicit snapshot_scope(connection& c);
    ~snapshot_scope();
    snapshot_scope(const snapshot_scope&) = delete;
    snapshot_scope& operator=(const snapshot_scope&) = delete;

   private:
    connection& c_;
  };
  snapshot_scope snapshot() { return snapshot_scope(r_.state); }
  depth_rows outbox_depths();
  std::int64_t dead_letter_count();
  depth_rows record_counts();
  /// Per (connector, object), keyed "connector\tobject".
  depth_rows record_counts_by_object();
  depth_rows inbox_depths();
  /// Per connector, when its oldest unprocessed inbox event was received / its oldest pending write was queued
  /// (ms since the epoch): the age of the work waiting, for `status` and /metrics.
  depth_rows inbox_oldest();
  depth_rows outbox_oldest();
  /// Each file with its WAL, in bytes: state.db, inbox.db.
  std::pair<std::uint64_t, std::uint64_t> sizes();
  /// `PRAGMA integrity_check` of both files: "ok" or the problems.
  std::string integrity_check(int state_version, int inbox_version);

 private:
  reader_ctx& r_;
};

}  // namespace omnisync::store::sqlite
