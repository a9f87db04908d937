#pragma once
/// The daemon's durable state behind one abstract interface.
///
/// `omnisync::store::store` is what the rest of the daemon sees: source records and per-(connector, object)
/// cursors, the webhook inbox, the outbox of writes to destinations, dead letters, leases with fencing tokens,
/// meta key/values and the counts `status` shows. Nothing outside `daemon/store/` writes SQL or sees a
/// database type. Two implementations with the same semantics and the same test suite: SQLite
/// (`sqlite_store.cpp`, embedded, the default) and PostgreSQL (`pg_store.cpp`, shared by several instances).
///
/// Every operation is asynchronous: it returns `asio::awaitable<result<T>>`, runs on the store's own threads
/// (one writer thread per database file, one reader thread) and resumes the awaiting coroutine on its own
/// executor. Expected failures come back as `omnisync::errc` (see `error.hpp`): `retry` (database busy or
/// locked), `conflict` (stale fencing token, lost lease, constraint), `invalid_input`, `not_found`, `fail`
/// (disk full, corruption, I/O error). Tests and command-line tools that are not coroutines call operations
/// through `store::wait()` (daemon/store/blocking.hpp).
///
/// Lifecycle: `open_store()` opens or creates the databases and applies schema migrations before it returns;
/// destroying the store finishes the operations already queued and closes the databases. Destroy it only
/// after the io_contexts of its callers have stopped issuing operations, and before those io_contexts: its
/// worker threads may drop their last copy of a caller's executor (a strand's shared state) just after the
/// caller's run() returned, which must happen while that io_context lives.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/records.hpp"
#include "core/error.hpp"
#include "core/time.hpp"
#include "daemon/store/history.hpp"
#include "daemon/store/segment_types.hpp"

namespace omnisync::store {

template <class T>
using task = boost::asio::awaitable<omnisync::result<T>>;

// The argument types below (fence, source_record, record_batch, inbox_event, outbox_write, dead_letter_entry,
// dead_letter_filter) have constructors on purpose, so they are not aggregates: GCC 12 corrupts an aggregate
// holding std::string that is brace-initialised inside a co_await expression (see README.md). With the
// constructors, `co_await s.inbox_append({connector, key, now, meta, body})` is safe.

/// Wall-clock instants stored by the store: milliseconds since the Unix epoch (core/time.hpp).
using omnisync::timestamp;
/// The record and event types the adapters produce (adapters/records.hpp), stored as they are.
using adapters::inbox_event;
using adapters::source_record;
using clock_fn = std::function<timestamp()>;

/// Which implementation `open_store` opens.
enum class backend { sqlite, postgres };

/// SQLite `PRAGMA synchronous`. FULL (default) fsyncs the WAL at every commit: an acknowledged write survives
/// a power loss. NORMAL survives a crash of the process but may lose the last commits on power loss.
enum class synchronous_mode { off, normal, full, extra };

struct options {
  backend kind = backend::sqlite;
  std::filesystem::path state_dir;                       ///< SQLite: holds state.db and inbox.db; created if missing
  /// PostgreSQL: libpq connection string or URI (a secret: it may hold a password; never logged).
  std::string dsn;
  synchronous_mode synchronous = synchronous_mode::full;
  std::chrono::milliseconds busy_timeout{5000};          ///< SQLite busy timeout; PostgreSQL lock_timeout
  std::size_t max_group = 512;                           ///< most operations sharing one transaction
  /// Largest size of each database file; writes beyond it fail with errc::fail as on a full disk. 0: no limit.
  std::uint64_t max_db_bytes = 0;
  clock_fn clock;                                        ///< "now" for leases and claims; system clock if empty
  /// Tests only: apply at most this many migrations to each database (to build a database at an old version).
  std::optional<int> migrate_to;
  /// SQLite: a state directory that shows it was used before (a marker, or one database file present) while a
  /// database file is missing or empty is refused — pending writes, dead letters and cursors would vanish
  /// silently. `omnisyncd --init-store` sets this to start afresh there anyway.
  bool init_store = false;
};

/// A lease held on a key, proven by its fencing token. Writes made under a lease pass it; the store rejects
/// them with errc::conflict when the lease was lost or taken over (token changed or lease expired).
struct fence {
  fence() = default;
  fence(std::string k, std::int64_t t) : key(std::move(k)), token(t) {}
  std::string key;
  std::int64_t token = 0;
};


/// A page of records and the cursor that covers it. The records are upserted by (connector, object, id) and
/// the cursor advances in the same transaction: either both are stored or neither. A record older than the
/// stored copy (by source_updated_at) does not replace it.
struct record_batch {
  record_batch() = default;
  record_batch(std::string c, std::string o, std::vector<source_record> r,
               std::optional<std::string> cursor = std::nullopt, std::optional<fence> f = std::nullopt)
      : connector(std::move(c)), object(std::move(o)), records(std::move(r)), new_cursor(std::move(cursor)),
        lease(std::move(f)) {}
  std::string connector;
  std::string object;
  std::vector<source_record> records;
  std::optional<std::string> new_cursor;                 ///< nullopt: leave the cursor as it is
  std::optional<fence> lease;                            ///< when set, checked in the same transaction
  /// History rows the page caused (stage and KPI changes), appended in the same transaction (history_append).
  std::vector<history_entry> history;
};

struct append_summary {
  std::size_t written = 0;                               ///< inserted or replaced
  std::size_t stale = 0;                                 ///< skipped: the stored copy is newer
};

struct stored_record {
  std::string connector, object, id, payload;
  timestamp source_updated_at{};
  bool deleted = false;
  timestamp stored_at{};
  timestamp first_seen{};
  std::string facts;                                     ///< as source_record::facts
};

struct cursor_entry {
  std::string connector, object, value;
  timestamp updated_at{};
};

// ---- inbox ---------------------------------------------------------------------------------------------------


enum class append_outcome { inserted, duplicate };

struct inbox_item {
  std::int64_t id = 0;
  inbox_event event;
  int attempts = 0;                                      ///< claims so far, this one included
  std::string last_error;
};

// ---- outbox --------------------------------------------------------------------------------------------------

/// A write to a destination record. Enqueueing a write for a record that already has a pending (unclaimed)
/// write replaces that write's payload: payloads carry the record's full desired state, not a diff.
struct outbox_write {
  outbox_write() = default;
  outbox_write(std::string c, std::string o, std::string key, std::string p)
      : connector(std::move(c)), object(std::move(o)), record_key(std::move(key)), payload(std::move(p)) {}
  std::string connector, object, record_key;
  std::string payload;                                   ///< JSON text
  /// The destination's own id of the record when it is already known (update by id; see adapters::write_item).
  std::string target_id;
  /// The destination was just read holding other values than this payload (changed there since omnisync's last
  /// write): queue it even when it equals the payload last written to that record. Equal to a pending or
  /// in-flight write, it is still `unchanged`.
  bool force = false;
  /// The profile the write is for: the writer computes what to send from that profile when it sends (the payload
  /// above is what was wanted when the write was queued, kept for display). Coalescing replaces it too.
  std::string profile_id;
  /// The run (poll cycle, resync, ...) whose records caused the write; 0 when none (a webhook). Coalescing
  /// replaces it: the pending write then belongs to the newer run. The writer counts its outcome on that run.
  std::int64_t run = 0;
};

/// Which queued writes `outbox_pending` lists (paging by id, oldest first).
struct outbox_filter {
  outbox_filter() = default;
  outbox_filter(std::optional<std::string> c, std::int64_t after = 0, std::size_t n = 100)
      : connector(std::move(c)), after_id(after), limit(n) {}
  std::optional<std::string> connector;
  std::int64_t after_id = 0;
  std::size_t limit = 100;
};

struct enqueue_summary {
  std::size_t inserted = 0;
  std::size_t coalesced = 0;                             ///< replaced the payload of a pending write
  std::size_t unchanged = 0;                             ///< same payload as last written (or pending): skipped
  /// Inserted or coalesced writes per destination connector (what a run counts as "queued" there).
  std::map<std::string, std::size_t> queued_per_connector;
};

struct outbox_item {
  std::int64_t id = 0;
  outbox_write write;
  int attempts = 0;
  timestamp next_attempt_at{};
  std::string last_error;
};

struct outbox_page {
  std::vector<outbox_item> items;                        ///< pending and claimed writes, by id
  std::int64_t next_after_id = 0;                        ///< 0 when this was the last page
};

// ---- audit ---------------------------------------------------------------------------------------------------

/// One field omnisync changed (or would change, for shadowed writes it never records) in a destination record.
struct audit_entry {
  audit_entry() = default;
  std::int64_t id = 0;                                   ///< assigned by audit_append
  timestamp at{};                                        ///< when the vendor confirmed (or refused) the write
  std::string connector, object, record_id;              ///< the destination record (its id once known)
  std::string field;                                     ///< the destination field
  std::string before;                                    ///< JSON: the value there as last read ("" unknown)
  std::string after;                                     ///< JSON: the value written
  std::string attribute;                                 ///< the canonical attribute it came from
  std::string rule;                                      ///< how the value was chosen (survivorship, owner, ...)
  std::string source;                                    ///< "system:object:id" of the record it came from
  timestamp source_ts{};                                 ///< when that information dates from
  std::string profile_id;
  std::string request_id;                                ///< the vendor's request id of the call that carried it
  std::string outcome;                                   ///< written | rejected
  std::string answer;                                    ///< the vendor's answer for the record (short)
};

/// Which audit entries `audit_list` returns, newest first. Every set member narrows the list.
struct audit_filter {
  audit_filter() = default;
  std::optional<std::string> profile_id;
  std::optional<std::string> connector;
  std::optional<std::string> object;                     ///< with connector
  std::optional<std::string> record_id;                  ///< with connector and object
  std::optional<std::string> field;
  std::optional<std::string> source;                     ///< entries caused by this "system:object:id"
  std::optional<timestamp> since;
  std::int64_t before_id = 0;                            ///< paging: entries with a smaller id; 0 = newest
  std::size_t limit = 100;
};

struct audit_page {
  std::vector<audit_entry> items;                        ///< newest first
  std::int64_t next_before_id = 0;                       ///< 0 when this was the last page
};

// ---- runs ----------------------------------------------------------------------------------------------------

/// The figures of a run that its own work counts (the writes it caused are counted per destination apart, by
/// whoever sends them: run_writes). As an argument to run_add, a delta.
struct run_counts {
  std::int64_t read = 0;                                 ///< records read from the vendor
  std::int64_t stored = 0;                               ///< records stored (new or changed)
  std::int64_t mapped = 0;                               ///< records mapped without an error
  std::int64_t failed = 0;                               ///< records that failed (quarantined: dead letters)
  std::int64_t api_calls = 0;                            ///< calls the connector made while the run ran
  std::int64_t quota_used = 0;                           ///< daily API budget used meanwhile (vendors that say)
};

/// What a run caused at one destination: writes queued (inserted or replacing a pending one), written (the
/// vendor confirmed), refused (dead-lettered with the vendor's reason), unchanged (nothing differed when sent).
struct run_writes {
  run_writes() = default;
  run_writes(std::string d, std::int64_t q, std::int64_t w, std::int64_t r, std::int64_t u)
      : destination(std::move(d)), queued(q), written(w), refused(r), unchanged(u) {}
  std::string destination;
  std::int64_t queued = 0, written = 0, refused = 0, unchanged = 0;
};

/// One unit of work: a poll cycle, a resync, a reload, a remap. Outcome: running, ok, partial (finished, but
/// some records failed or writes were refused), failed (stopped by an error), cancelled.
struct run_record {
  run_record() = default;
  run_record(std::string k, std::string c, std::string o) : kind(std::move(k)), connector(std::move(c)), objects(std::move(o)) {}
  std::int64_t id = 0;                                   ///< assigned by run_begin
  std::string kind;                                      ///< poll | resync | reload | remap | ...
  std::string connector;                                 ///< "" for daemon-wide runs (reload)
  std::string objects;                                   ///< comma-separated; "" when not applicable
  timestamp started_at{};                                ///< {}: run_begin stamps now
  std::optional<timestamp> ended_at;                     ///< empty while running
  std::string outcome = "running";
  std::string error;                                     ///< why it failed, or what went wrong in part
  run_counts counts;
  std::int64_t idle_cycles = 0;                          ///< poll runs: idle cycles since this one (no new row)
  timestamp last_idle_at{};                              ///< the last of them
  std::vector<run_writes> writes;                        ///< per destination, by name (filled by run_list/run_get)
};

/// Which runs `run_list` returns, newest first. Set members narrow the list.
struct run_filter {
  run_filter() = default;
  std::optional<std::string> connector;
  std::optional<std::string> kind;
  std::int64_t after_id = 0;                             ///< paging: runs older than this one (smaller id); 0 = newest
  std::size_t limit = 50;
};

struct run_page {
  std::vector<run_record> items;                         ///< newest first
  std::int64_t next_after_id = 0;                        ///< 0 when this was the last page
};

// ---- dead letters --------------------------------------------------------------------------------------------

/// Where `dead_letter_retry` sends an entry back to.
enum class retry_target { none, inbox, outbox };

struct dead_letter_entry {
  dead_letter_entry() = default;
  dead_letter_entry(retry_target t, std::string c, std::string o, std::string rec, std::string ev, std::string st,
                    std::string why, std::string p, std::string m)
      : target(t), connector(std::move(c)), object(std::move(o)), record_id(std::move(rec)), event_id(std::move(ev)),
        stage(std::move(st)), reason(std::move(why)), payload(std::move(p)), meta(std::move(m)) {}
  retry_target target = retry_target::none;
  std::string connector, object, record_id, event_id;    ///< the source; empty when not applicable
  std::string stage;                                     ///< e.g. verify, parse, mapping, write
  std::string reason;
  std::string payload;                                   ///< the event body or the write payload
  std::string meta;                                      ///< JSON text (the inbox event's meta)
  /// The failure was transient (rate limit, 5xx, timeout) and outlasted the queue's own retries: the daemon's
  /// retry schedule (`dead_letters:` in the config) tries it again later.
  bool retryable = false;
};

struct dead_letter {
  std::int64_t id = 0;
  dead_letter_entry entry;
  timestamp created_at{};                                ///< when it failed (last, for a replaced entry)
  std::int64_t retries = 0;                              ///< scheduled retries made so far
  std::optional<timestamp> resolved_at;                  ///< open while empty
};

/// Which entries a filter takes by their state.
enum class dead_letter_state { open, resolved, any };

struct dead_letter_filter {
  dead_letter_filter() = default;
  dead_letter_filter(std::optional<std::string> c, std::optional<std::string> st, std::int64_t after = 0,
                     std::size_t n = 100)
      : connector(std::move(c)), stage(std::move(st)), after_id(after), limit(n) {}
  std::optional<std::string> connector;
  std::optional<std::string> stage;
  std::int64_t after_id = 0;                             ///< paging: entries with a larger id
  std::size_t limit = 100;
  std::optional<std::string> object;
  /// The reason contains this text (ASCII case ignored); with `*` or `?` it is a glob over the whole reason.
  std::string reason;
  std::optional<timestamp> since;                        ///< created at or after
  std::optional<timestamp> until;                        ///< created before
  dead_letter_state state = dead_letter_state::open;
  bool retryable_only = false;
};

/// Open (or, with the filter's state, resolved) entries of one (connector, object, stage, reason).
struct dead_letter_group {
  std::string connector, object, stage, reason;
  std::int64_t count = 0;
  timestamp first{}, last{};                             ///< oldest and newest created_at
};

/// What a bulk retry did with the entries its filter matched.
struct dead_letter_bulk {
  std::int64_t requeued = 0;                             ///< back in the outbox or the inbox (and removed)
  std::int64_t not_retryable = 0;                        ///< nowhere to go back to (target none): left as they are
};

struct dead_letter_page {
  std::vector<dead_letter> items;
  std::int64_t next_after_id = 0;                        ///< 0 when this was the last page
};

// ---- settling a chunk of writes -------------------------------------------------------------------------------

/// What became of one chunk of writes sent to a destination, stored in one transaction by `outbox_settle`
/// instead of one per kind (a chunk used to cost about six commits, each an fsync at `synchronous=FULL`). Each
/// member does what the operation named beside it does alone.
struct write_settlement {
  std::vector<std::pair<std::int64_t, run_writes>> runs;  ///< run_count_writes
  std::vector<std::int64_t> acked;                        ///< outbox_ack(acked, written)
  std::vector<std::optional<std::string>> written;        ///< one per acked id, or empty
  struct retry {
    retry() = default;
    retry(std::int64_t i, std::string e, timestamp a, bool u = false)
        : id(i), error(std::move(e)), at(a), uncounted(u) {}
    std::int64_t id = 0;
    std::string error;
    timestamp at{};
    /// The claim was no attempt (a segment write the safety brake held: it never reached the vendor): the
    /// write's attempts go back to what they were before this claim, so waiting uses none of its retry budget.
    bool uncounted = false;
  };
  std::vector<retry> retried;                             ///< outbox_nack({id}, error, at) each
  /// dead_letter_add(entry), then the write (outbox id) leaves the queue: outbox_ack({id}, {nullopt}).
  std::vector<std::pair<std::int64_t, dead_letter_entry>> dead_letters;
  std::vector<audit_entry> audit;                         ///< audit_append
  std::optional<std::pair<std::string, std::string>> meta;  ///< meta_set(key, value)
};

// ---- leases --------------------------------------------------------------------------------------------------

struct lease_grant {
  std::int64_t token = 0;                                ///< increments every time the lease changes owner
  timestamp expires_at{};
};

struct lease_info {
  std::string key, owner;
  std::int64_t token = 0;
  timestamp expires_at{};
};

// ---- status --------------------------------------------------------------------------------------------------

struct counts {
  std::int64_t inbox_depth = 0;                          ///< events not yet acknowledged (pending or claimed)
  std::int64_t outbox_depth = 0;                         ///< writes not yet acknowledged
  std::int64_t dead_letters = 0;                         ///< open dead letters (resolved ones are not counted)
  std::map<std::string, std::int64_t> records_per_connector;
  /// Stored records per (connector, object): a one-object resync's estimate of what it will read.
  std::map<std::pair<std::string, std::string>, std::int64_t> records_per_object;
  std::map<std::string, std::int64_t> inbox_depth_per_connector;
  std::map<std::string, std::int64_t> outbox_depth_per_connector;
  /// When each connector's oldest unprocessed webhook event arrived / oldest pending write was queued (connectors
  /// with none are absent): the age of the work waiting.
  std::map<std::string, timestamp> oldest_inbox_per_connector;
  std::map<std::string, timestamp> oldest_outbox_per_connector;
  std::uint64_t state_db_bytes = 0;                      ///< main file + WAL
  std::uint64_t inbox_db_bytes = 0;
};

/// Transactions committed per database since open: group commit makes these far fewer than operations.
struct commit_stats {
  std::uint64_t state_commits = 0;
  std::uint64_t inbox_commits = 0;
  std::uint64_t inbox_appends = 0;
  /// Inbox WAL checkpoints run off the commit path (SQLite: by a checkpointer thread) ...
  std::uint64_t inbox_checkpoints = 0;
  /// ... and on it (SQLite: by the writer, only when the checkpointer fell behind; see sqlite_store.cpp).
  std::uint64_t inbox_commit_checkpoints = 0;
  /// Requests sent to the database server and waited for (PostgreSQL: statements, transaction control, pipelined
  /// batches; SQLite: 0, nothing crosses a network). Across a network each costs the server's round-trip time.
  std::uint64_t round_trips = 0;
  /// Operations handed to the store's threads since open, and those of them finished: run, and their results
  /// posted to the callers' executors. The difference is the store's backlog; tests on a manual clock wait for
  /// it to drain before they move time (tests/unit/daemon/sync/engine_harness.hpp).
  std::uint64_t jobs_queued = 0;
  std::uint64_t jobs_finished = 0;
};

/// The store interface. Thread-safe: any thread or strand may start operations concurrently.
class store : public segment_operations {
 public:
  virtual ~store() = default;

  /// The backend's name ("sqlite" or "postgres").
  virtual std::string_view kind() const noexcept = 0;
  /// Schema versions of the open databases (state, inbox).
  virtual int schema_version() const noexcept = 0;
  virtual int inbox_schema_version() const noexcept = 0;
  virtual commit_stats stats() const noexcept = 0;

  // meta
  virtual task<std::optional<std::string>> meta_get(std::string key) = 0;
  virtual task<void> meta_set(std::string key, std::string value) = 0;

  // records and cursors
  virtual task<std::optional<std::string>> cursor_get(std::string connector, std::string object) = 0;
  virtual task<void> cursor_set(std::string connector, std::string object, std::string value,
                                std::optional<fence> lease) = 0;
  virtual task<std::vector<cursor_entry>> cursor_list() = 0;
  virtual task<append_summary> append_records(record_batch batch) = 0;
  virtual task<std::optional<stored_record>> record_get(std::string connector, std::string object,
                                                        std::string id) = 0;
  /// Stored records of one (connector, object) in id order, `limit` at a time after `after_id` (paging for
  /// rebuilds and resyncs that must not hold everything in memory).
  virtual task<std::vector<stored_record>> record_scan(std::string connector, std::string object,
                                                       std::string after_id, std::size_t limit) = 0;
  /// Replaces the facts of a stored record, leaving its payload and stamps alone (values a webhook event
  /// announced). errc::not_found when the record is not stored.
  virtual task<void> record_facts_set(std::string connector, std::string object, std::string id, std::string facts,
                                      std::optional<fence> lease) = 0;

  // inbox (durable before it returns; concurrent appends share one transaction)
  virtual task<append_outcome> inbox_append(inbox_event event) = 0;
  /// Claims up to n events (oldest first; optionally one connector's) for `lease`; claimed events whose
  /// lease runs out return to the queue.
  virtual task<std::vector<inbox_item>> inbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                                    std::optional<std::string> connector) = 0;
  /// Done: the event leaves the queue; its dedupe key is kept so a redelivery stays a duplicate.
  virtual task<void> inbox_ack(std::vector<std::int64_t> ids) = 0;
  /// Failed: back to the queue, not claimable before retry_at.
  virtual task<void> inbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) = 0;
  /// Forgets acknowledged events received before `before` (their dedupe keys too); returns how many.
  virtual task<std::int64_t> inbox_prune(timestamp before) = 0;
  /// Whether `connector` has events received at or before `received_before` not yet acknowledged (pending or
  /// claimed): the writer sends nothing to a system while news from it may be waiting here.
  virtual task<bool> inbox_pending(std::string connector, timestamp received_before) = 0;
  /// The ids of `connector`'s events received at or before `received_before` not yet acknowledged (pending or
  /// claimed), ascending: the writer waits only for those naming the records it computes writes for.
  virtual task<std::vector<std::int64_t>> inbox_open_ids(std::string connector, timestamp received_before) = 0;
  /// The events with these ids that are not yet acknowledged (an acknowledged event keeps no body), by id.
  virtual task<std::vector<inbox_item>> inbox_open_events(std::vector<std::int64_t> ids) = 0;

  // outbox
  /// Enqueues writes. A write whose payload equals the one last written successfully to that record (or the
  /// pending one) is skipped and counted as `unchanged`: syncing a value back to where it came from is a no-op.
  virtual task<enqueue_summary> outbox_enqueue(std::vector<outbox_write> writes, std::optional<fence> lease) = 0;
  /// Claims up to n due writes; never two writes for the same record at once.
  virtual task<std::vector<outbox_item>> outbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                                      std::optional<std::string> connector) = 0;
  /// For each write's record (connector, object, record_key): the payload last written successfully to it, or
  /// nullopt. The engine compares a record it has just read (as that system's outbound mapping would write it)
  /// with this to recognise the echo of omnisync's own write.
  virtual task<std::vector<std::optional<std::string>>> outbox_last_written(std::vector<outbox_write> writes) = 0;
  /// Done: the write leaves the queue and its payload becomes the record's "last written" state. `written`, when
  /// given (one per id), says what was written instead: the whole record as it stands after a field-level write
  /// (it becomes the last-written payload), or nullopt when nothing was sent (the last-written payload stays).
  virtual task<void> outbox_ack(std::vector<std::int64_t> ids,
                                std::vector<std::optional<std::string>> written = {}) = 0;
  /// Failed: retried at retry_at, unless a newer write for the same record is pending (then dropped).
  virtual task<void> outbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) = 0;
  /// Stores what became of a chunk of writes in one transaction (write_settlement): all of it or none.
  virtual task<void> outbox_settle(write_settlement w) = 0;
  /// The pending (unclaimed) writes of (connector, object) are due now, their attempts counted from 0 again;
  /// returns how many. `segment release`: the writes a held segment kept queued are sent at once, with their full
  /// retry budget (waiting under the brake is no failed attempt).
  virtual task<std::int64_t> outbox_due_now(std::string connector, std::string object) = 0;
  /// The queued writes (pending and claimed), by id, a page at a time: what `omnisyncctl plan` shows.
  virtual task<outbox_page> outbox_pending(outbox_filter filter) = 0;

  // audit log (every field omnisync changed in a destination)
  /// Appends entries (ids assigned in order).
  virtual task<void> audit_append(std::vector<audit_entry> entries) = 0;
  virtual task<audit_page> audit_list(audit_filter filter) = 0;
  /// Removes entries older than `before`, then the oldest beyond `keep_at_most`; returns how many went.
  virtual task<std::int64_t> audit_prune(timestamp before, std::size_t keep_at_most) = 0;

  // runs (docs/operations.md "Run history")
  /// Records a run that starts (outcome running unless set; started_at {} means now); returns its id.
  virtual task<std::int64_t> run_begin(run_record run) = 0;
  /// Adds `delta` to the run's counts (several loops may count into one run). errc::not_found: no such run.
  virtual task<void> run_add(std::int64_t id, run_counts delta) = 0;
  /// Adds to what runs caused at destinations (one entry per run and destination; queued/written/... are
  /// deltas). A refusal turns a finished run that was `ok` into `partial`. Unknown runs are ignored (pruned).
  virtual task<void> run_count_writes(std::vector<std::pair<std::int64_t, run_writes>> deltas) = 0;
  /// The run ends with `outcome` (and `error`); `ok` becomes `partial` when its counts show failed records or
  /// refused writes. errc::not_found: no such run.
  virtual task<void> run_finish(std::int64_t id, std::string outcome, std::string error) = 0;
  /// An idle poll cycle of (connector, object): counted on the newest poll run of that object, no new row.
  /// Returns false when there is no such run yet.
  virtual task<bool> run_idle(std::string connector, std::string object) = 0;
  virtual task<run_page> run_list(run_filter filter) = 0;
  virtual task<run_record> run_get(std::int64_t id) = 0;  ///< errc::not_found
  /// Removes runs that ended before `before` (with their per-destination counts); returns how many.
  virtual task<std::int64_t> run_prune(timestamp before) = 0;
  /// How many writes a run caused are still queued (pending or being sent).
  virtual task<std::int64_t> run_writes_queued(std::int64_t id) = 0;

  // the append-only history (history.hpp; SEAMS.md "One history, many readers")
  /// Appends rows in one transaction (ids assigned in order; a row stamped {} gets now). errc::invalid_input when
  /// a row has no profile or no kind (then nothing is appended).
  virtual task<void> history_append(std::vector<history_entry> rows) = 0;
  /// The rows the filter matches, ascending id, at most `f.limit` after `f.after_id`.
  virtual task<std::vector<history_entry>> history_query(history_filter f) = 0;
  /// Retention: removes the rows with `at` before `older_than` (in batches); returns how many.
  virtual task<std::uint64_t> history_prune(timestamp older_than) = 0;
  /// The row cap (history.max_rows): the bound that keeps at most `keep_at_most` rows, i.e. one past the `at` of
  /// the newest row beyond the `keep_at_most` newest by time; none while there are no more rows than that. Rows of
  /// the bound's own time go too, so what stays never exceeds the cap. Reads only: pass it to history_prune.
  virtual task<std::optional<timestamp>> history_cap_bound(std::size_t keep_at_most) = 0;

  // dead letters
  /// Adds an open entry. An open entry of the same record (record_id set) and stage is replaced: its scheduled
  /// retries carry over.
  virtual task<std::int64_t> dead_letter_add(dead_letter_entry entry) = 0;
  /// A page of the entries the filter matches (by default the open ones), by id.
  virtual task<dead_letter_page> dead_letter_list(dead_letter_filter filter) = 0;
  virtual task<dead_letter> dead_letter_get(std::int64_t id) = 0;  ///< errc::not_found
  /// Moves the entry back to its queue (inbox or outbox); errc::invalid_input when its target is none.
  virtual task<void> dead_letter_retry(std::int64_t id) = 0;
  virtual task<void> dead_letter_drop(std::int64_t id) = 0;        ///< errc::not_found
  /// Groups of the matching entries by (connector, object, stage, reason), largest first; at most
  /// `filter.limit` groups (after_id is ignored).
  virtual task<std::vector<dead_letter_group>> dead_letter_stats(dead_letter_filter filter) = 0;
  /// dead_letter_retry for every matching entry with a queue to go back to (limit and after_id are ignored).
  virtual task<dead_letter_bulk> dead_letter_retry_matching(dead_letter_filter filter) = 0;
  /// Removes every matching entry (limit and after_id are ignored); returns how many.
  virtual task<std::int64_t> dead_letter_drop_matching(dead_letter_filter filter) = 0;
  /// The records succeeded at `stage` after all (written, or read and mapped): their open entries of that stage
  /// become resolved now. Returns how many.
  virtual task<std::int64_t> dead_letter_resolve(std::string connector, std::string object, std::string stage,
                                                 std::vector<std::string> record_ids) = 0;
  /// The retry schedule's step: each open entry among `ids` whose target is the outbox is queued again and
  /// stays open (resolved when the write succeeds, replaced when it fails), its retries counted. Returns how
  /// many were queued.
  virtual task<std::int64_t> dead_letter_retry_scheduled(std::vector<std::int64_t> ids) = 0;

  // leases
  /// Takes or renews the lease on `key` for `ttl`. Renewal by the holder keeps the token; taking over an
  /// expired (or free) lease from another owner increments it. errc::conflict while another owner holds it.
  virtual task<lease_grant> lease(std::string key, std::string owner, std::chrono::milliseconds ttl) = 0;
  virtual task<void> lease_release(std::string key, std::string owner) = 0;
  virtual task<std::vector<lease_info>> lease_list() = 0;

  /// Returns every claimed inbox event and outbox write to its queue at once (due now). Called at start-up by
  /// the only instance using the store: whatever an earlier process had claimed died with it, so there is no
  /// need to wait for those claims' leases to run out. Returns how many came back.
  virtual task<std::int64_t> release_claims() = 0;

  // status and maintenance
  virtual task<counts> get_counts() = 0;
  /// Runs the backend's integrity check on every database; "ok" or the problems found.
  virtual task<std::string> integrity_check() = 0;
};

/// Opens (creating if needed) the store `opts.kind` names — SQLite under `opts.state_dir`, or PostgreSQL at
/// `opts.dsn` — and migrates it to the latest schema.
/// Fails with errc::fail when a database has a schema newer than this binary knows, or cannot be opened;
/// `why` (when given) receives a sentence for the operator, which is also logged.
omnisync::result<std::unique_ptr<store>> open_store(const options& opts, std::string* why = nullptr);

/// Latest schema versions this binary knows.
int latest_schema_version() noexcept;
int latest_inbox_schema_version() noexcept;

}  // namespace omnisync::store
