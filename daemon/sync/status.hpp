#pragma once
/// What the sync engine is told and what it tells: its options, the requests it takes (resync, remap) and what
/// `status`, `lint` and `profile get` show. Plain values; see engine.hpp.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/connector.hpp"
#include "daemon/profile/book.hpp"
#include "daemon/profile/propagation.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::sync {

using std::chrono::milliseconds;

struct engine_options {
  std::size_t inbox_batch = 100;       ///< webhook events processed together (fetched and stored as one page)
  /// How long the inbox waits for more events when fewer than `inbox_batch` are waiting (0: not at all): bounds
  /// the delay a batch adds to a webhook's propagation.
  milliseconds inbox_window{25};
  milliseconds inbox_lease{60000};
  milliseconds queue_idle{200};        ///< how often an empty inbox/outbox is looked at again
  milliseconds error_pause{1000};      ///< first pause after a failed poll; doubles per failure
  milliseconds error_pause_cap{60000};
  /// A sync loop that ended with an exception starts again after this pause, doubled per failure in a row up to
  /// the cap (jittered); a loop that then ran `task_healthy_after` starts the backoff over (restart_policy.hpp).
  milliseconds task_restart_pause{1000};
  milliseconds task_restart_cap{60000};
  milliseconds task_healthy_after{60000};
  int max_inbox_attempts = 5;          ///< then the event is dead-lettered
  int max_write_attempts = 8;          ///< then the write is dead-lettered
  milliseconds write_retry{2000};      ///< first retry delay of a failed write; doubles per attempt
  milliseconds write_lease{120000};
  /// Dead letters of transient failures (`dead_letters:`): queued again after backoff × 2^retries since they
  /// last failed, at most `retries` times (0: never); resolved entries are kept this long.
  int dead_letter_retries = 3;
  milliseconds dead_letter_backoff{5 * 60 * 1000};
  milliseconds dead_letter_keep_resolved{7LL * 24 * 3600 * 1000};
  /// Hard-delete reconciliation by id sets, per connector `sync.reconcile_interval` (this is the default when a
  /// connector does not say); connectors that cannot list ids skip it.
  milliseconds reconcile_interval{6 * 3600 * 1000};
  /// Several instances share the store (PostgreSQL): the pipeline — polls, the inbox, the profile book and the
  /// writers (which compute each write from the book when they send it) — runs on the one instance holding the
  /// `pipeline` lease (renewed every lease_ttl/3, taken over by another instance within about 1.1 lease_ttl
  /// when its holder dies), and its writes are fenced by the lease's token. Every instance takes webhooks into
  /// the shared inbox.
  bool cluster = false;
  std::string instance;                ///< this instance's lease owner name (cluster)
  milliseconds lease_ttl{15000};
  /// How long finished runs are kept (`runs.retention`); pruned hourly with the audit log.
  milliseconds runs_retention{30LL * 24 * 3600 * 1000};
  /// The audit log's bounds (`audit:`): entries older than this, and the oldest beyond max, are removed hourly.
  milliseconds audit_retention{30LL * 24 * 3600 * 1000};
  milliseconds history_retention{400LL * 24 * 3600 * 1000};  ///< history.retention
  std::size_t history_max_rows = 20'000'000;                ///< history.max_rows
  std::size_t audit_max_entries = 5'000'000;
  /// How long acknowledged webhook events (their dedupe keys) stay in the inbox (`http.dedupe_retention`): a
  /// redelivery inside it is still refused as a duplicate; older ones are pruned every quarter of it (at least
  /// every second, at most hourly), by the pipeline's holder in a cluster.
  milliseconds inbox_dedupe_retention{7LL * 24 * 3600 * 1000};
};

/// One queued write as `omnisyncctl plan` shows it: what it would change now, field by field, and why.
struct planned_change {
  std::string connector, object;
  std::string record;                  ///< the destination record's id, or the upsert key for a create
  std::string profile_id;
  std::string what;                    ///< update | create | remove
  std::vector<profile::field_change> fields;
  std::int64_t outbox_id = 0;
  int attempts = 0;                    ///< sends tried so far (0: never sent)
  std::string last_error;              ///< the last attempt's answer
  store::timestamp next_attempt_at{};  ///< not before this (a failed attempt's backoff)
};

struct plan_report {
  std::vector<planned_change> changes;  ///< writes that would change something now
  std::size_t queued = 0;               ///< writes queued (for the connectors asked)
  std::size_t unchanged = 0;            ///< queued writes that would change nothing now
  std::size_t pages = 0;
};

/// The lease whose holder runs the pipeline in a cluster (engine_options::cluster).
inline constexpr std::string_view pipeline_lease = "pipeline";

/// This instance's part in a cluster, as `status` shows it.
struct cluster_status {
  bool enabled = false;
  std::string instance;
  bool leader = false;
  std::int64_t token = 0;              ///< the pipeline lease's fencing token while leader
  std::int64_t leaderships = 0;        ///< times this instance took the lease
};

/// One (connector, object) as `status` shows it.
struct object_status {
  std::string object;
  std::string phase = "idle";          ///< idle | polling | resync | paused | error
  std::optional<std::string> cursor;
  std::int64_t records_read = 0;
  std::int64_t records_stored = 0;
  std::int64_t mapping_failures = 0;
  std::int64_t pages = 0;
  store::timestamp last_success{};
  store::timestamp last_attempt{};
  std::string last_error;
  store::timestamp newest_source_update{};  ///< the newest change stored (its vendor time)
  /// Freshness: the last successful poll that read to the end (the source caught up). Lag is now - this (+ the
  /// connector's settle_lag), or now - `polling_since` while it never caught up since start.
  store::timestamp last_caught_up{};
  store::timestamp polling_since{};         ///< when this object's poll loop started
  // The initial sync: the first read of an object with no stored cursor (everything from the beginning).
  bool initial_running = false;
  bool initial_done = false;
  std::int64_t initial_read = 0;            ///< records read by it so far
  std::optional<std::int64_t> initial_total;  ///< how many there are, when the vendor says
  store::timestamp initial_started{};
  store::timestamp initial_finished{};
  // the running or last resync
  bool resync_running = false;
  std::int64_t resync_read = 0;
  std::int64_t resync_stored = 0;
  store::timestamp resync_started{};
  store::timestamp resync_finished{};
  std::string resync_error;
};

/// Events counted in six 10-second buckets: how many arrived in the last minute (the webhook rate `status` and the
/// console show). A plain value, updated and read under the owner's lock.
struct event_rate {
  std::array<std::int64_t, 6> buckets{};
  std::int64_t newest_slot = 0;  ///< the 10-second slot (ms since epoch / 10000) buckets[newest_slot % 6] counts

  void add(store::timestamp at, std::int64_t n = 1) {
    advance(at);
    buckets[static_cast<std::size_t>(newest_slot % 6)] += n;
  }
  /// Events in the last 50 to 60 s: the five whole buckets before the current one and the current one so far.
  std::int64_t per_minute(store::timestamp now) const {
    event_rate copy = *this;
    copy.advance(now);
    std::int64_t sum = 0;
    for (auto b : copy.buckets) sum += b;
    return sum;
  }

 private:
  void advance(store::timestamp at) {
    const std::int64_t slot = at.time_since_epoch().count() / 10'000;
    if (slot <= newest_slot) return;
    for (std::int64_t s = std::max(newest_slot + 1, slot - 5); s <= slot; ++s) buckets[static_cast<std::size_t>(s % 6)] = 0;
    newest_slot = slot;
  }
};

struct connector_status {
  std::string name, kind;
  bool paused = false;
  std::vector<object_status> objects;
  adapters::connector_usage usage;
  std::int64_t events_in = 0;          ///< webhook events processed
  event_rate events_rate;              ///< webhook events processed in the last minute
  std::int64_t writes_ok = 0;
  std::int64_t writes_rejected = 0;
  std::int64_t writes_retried = 0;
  std::string last_write_error;
  /// Restarts of this connector's sync loops after an exception (supervise.hpp), the last one's task and
  /// exception text ("crm contacts: ...") and when it happened.
  std::int64_t task_restarts = 0;
  std::string last_task_failure;
  store::timestamp last_task_failure_at{};
  std::chrono::milliseconds settle_lag{0};  ///< the connector's settle_lag (incremental polls stay this far behind)
  /// Segments whose membership sync to this connector is held, with why (safety brake, list deleted outside
  /// omnisync with on_missing_list: report); cleared by a reload.
  std::map<std::string, std::string> segment_sync_held;
};

/// An object's freshness lag at `now`: since the last poll that found the source caught up (or since its poll loop
/// started, while it never did), plus the connector's settle_lag; nullopt before its loop ran. What `status`
/// shows as lag and `omnisync_sync_lag_seconds` exports: an idle, fully synced object stays near its poll interval.
std::optional<milliseconds> freshness_lag(const object_status& st, milliseconds settle_lag, store::timestamp now);

/// One connector's health as `/readyz` weighs it.
struct connector_health_row {
  std::string name;
  bool paused = false;
  connector_health health;
};

/// The `/readyz` rule: "" (ready) unless the engine runs connectors and every one not paused is unauthorized or
/// unreachable; then why, naming each ("every connector is failing: zd unauthorized: Couldn't authenticate you").
/// One connector failing beside working ones keeps the daemon ready: it still syncs the others.
std::string readiness_problem(const std::vector<connector_health_row>& rows);

/// One problem `omnisyncctl lint` found by checking a mapping file against the connected system's metadata.
struct lint_finding {
  std::string severity;   ///< error | warning
  std::string connector, object, file;
  int line = 0;
  std::string field;      ///< the vendor field concerned
  std::string message;
};

/// What a reload's re-check of one destination object found (a changed outbound mapping): every profile that
/// has or should have a record there was compared with what the new mapping computes; `to_write` of them differ
/// and were queued (`creates` of those are new records), the rest already hold those values.
struct recheck_count {
  std::string connector, object;
  std::size_t checked = 0;
  std::size_t to_write = 0;
  std::size_t creates = 0;
  bool shadow = false;  ///< sync.mode shadow: queued and shown by `omnisyncctl plan`, not sent
};

/// What a segment backfill did (`omnisyncctl segment backfill`, a reload's new or changed segment).
struct segment_backfill_count {
  std::size_t profiles = 0;  ///< evaluated
  std::size_t members = 0;   ///< members after it
  std::size_t entered = 0, exited = 0;
};

/// `omnisyncctl segment explain KEY PROFILE`: each term of `where` for that person now, and the next flip.
struct segment_explanation {
  std::string profile;
  bool member = false, matches = false, held_out = false;
  std::string outranked_by;
  std::optional<std::int64_t> flips_at;  ///< ms; the next instant membership changes with no new data
  bool recheck = false;                  ///< flips_at is an instant to evaluate again, not a flip
  struct term {
    std::string text, value, detail;
  };
  std::vector<term> terms;
};

/// `omnisyncctl segment preview KEY`: the segment evaluated over every profile now, without writing.
struct segment_preview {
  std::size_t profiles = 0, size = 0;
  std::vector<std::string> sample;  ///< the first members by profile id
  /// Every computed member, in profile id order (the caller diffs it against the stored membership).
  std::vector<std::string> members;
};

/// `omnisyncctl segment release KEY [--connector C]`: one destination whose held membership sync was released.
struct segment_release_of {
  std::string connector;
  std::string held;         ///< why it was held (the brake's or the missing list's words)
  std::int64_t writes = 0;  ///< the segment's writes queued there when released: they pass the brake once
};

/// `omnisyncctl segment resume KEY`: what the catch-up queued at one destination (the stored members against what
/// it acknowledged, as `segment preview` computes them; writes already queued with the same change not repeated).
struct segment_catch_up_of {
  std::string connector;
  std::int64_t adds = 0, removes = 0;
  std::int64_t already_queued = 0;  ///< changes a queued write already carries
};

/// What `omnisyncctl profile get` shows: the profile and why it looks that way.
struct profile_report {
  profile::profile_view view;
  std::optional<profile::explanation> why;
};

/// One remap (engine::start_remap, engine::run_remap): the stored source records of some connectors' objects
/// mapped again with the current inbound mappings and taken through the pipeline, with no vendor API call.
/// Shared by the task running it and the control command following it: the counters are atomics, the texts
/// behind `mu`. Lifecycle: made by start_remap (running), filled by run_remap, finished when `running` is false.
struct remap_progress {
  /// What it covers: each connector with its objects, in order.
  std::vector<std::pair<std::string, std::vector<std::string>>> targets;
  std::atomic<std::int64_t> read{0};              ///< stored records read again
  std::atomic<std::int64_t> mapped{0};            ///< ... mapped without an error
  std::atomic<std::int64_t> failed{0};            ///< ... that the mapping refused (dead-lettered)
  std::atomic<std::int64_t> writes_queued{0};     ///< writes queued or replacing pending ones
  std::atomic<std::int64_t> writes_unchanged{0};  ///< writes equal to what the destination last got (skipped)
  std::atomic<std::int64_t> estimated_total{-1};  ///< records stored for the targets when known, else -1
  std::atomic<bool> running{true};
  std::atomic<std::int64_t> run{0};               ///< its run in the run history (0 until recorded, or if not)
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  mutable std::mutex mu;
  std::string connector, object;                  ///< being remapped now (guarded by mu)
  std::string error;                              ///< why it stopped early, "" when it did not (guarded by mu)
};

/// One page of `omnisyncctl profile list|search`: the matching profiles' canonical records (golden values, KPIs,
/// `_profile_id`; JSON text) in profile-id order.
struct profile_page {
  std::vector<std::string> items;
  std::string next_after;    ///< the cursor of the next page (the last profile id listed); empty: no more
  std::size_t scanned = 0;   ///< profiles looked at for this page
  std::size_t total = 0;     ///< profiles in the book
};

struct resync_request {
  std::string connector;
  std::string object;                  ///< empty: every object of the connector
  enum class kind { full, since, id, email } what = kind::full;
  std::string value;                   ///< the time (since, ISO 8601), the id or the email
  std::vector<std::string> fields;     ///< --fields: only these (informational for adapters that support it)
  /// The run it is (store::run_begin'd by whoever asked; 0: none). Its objects count into it, and the last one to
  /// finish ends it.
  std::int64_t run = 0;
};

}  // namespace omnisync::sync
