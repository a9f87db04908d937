#pragma once
/// The engine's shared state, internal to daemon/sync: the connectors with their per-object state, the compiled
/// mappings, the metrics, the cluster role and the clock. Owned by the engine; every part of the pipeline (poller,
/// inbox, writer, pipeline, leadership) holds a reference and outlives none of it.
///
/// Thread safety: `mu` guards the connector list, the plans and every status/counter field marked so; the
/// atomics may be read anywhere. Loops run on the engine's executor; control commands call from other threads.
#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/connector.hpp"
#include "config/connector.hpp"
#include "core/async.hpp"
#include "core/clock.hpp"
#include "core/log_fields.hpp"
#include "core/metrics.hpp"
#include "daemon/analytics/history_index.hpp"
#include "daemon/profile/propagation.hpp"
#include "daemon/sync/membership_policy.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/dead_letters.hpp"
#include "daemon/sync/segment_state.hpp"
#include "daemon/sync/echoes.hpp"
#include "daemon/sync/status.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::sync::detail {

using std::chrono::milliseconds;

struct object_state {
  explicit object_state(std::string n) { st.object = std::move(n); }
  object_status st;                                   // guarded by context::mu
  std::optional<resync_request> pending_resync;       // full / since: guarded by context::mu
  std::vector<resync_request> pending_lookups;        // id / email: guarded by context::mu
  std::atomic<bool> wake{false};
  /// The object was read to the end once since start-up: only then can a missing record there be created (before,
  /// the person may already be there, unread — a Salesforce upsert by our key would duplicate them).
  std::atomic<bool> caught_up{false};
  /// The run this object's loop works for now (a poll cycle once it read, wrote or failed something, or a resync);
  /// 0 between runs. For log lines: current_run(os).
  std::atomic<std::int64_t> run{0};
};

/// The run `os`'s loop works for now (0: none).
inline std::int64_t current_run(const object_state& os) { return os.run.load(std::memory_order_relaxed); }

struct connector_state {
  explicit connector_state(const boost::asio::any_io_executor& ex) : inbox_bell(ex), outbox_bell(ex) {}
  config::connector_common cfg;
  std::unique_ptr<adapters::connector> adapter;
  std::vector<std::unique_ptr<object_state>> objects;
  std::atomic<bool> paused{false};
  bool writable = true;                               // `sync: {write: false}` makes a connector read-only
  milliseconds reconcile_every{0};                    // `sync: {reconcile_interval: 6h}`; 0: off
  int write_concurrency = 4;                          // `sync: {write_concurrency: 4}`: chunks in flight
  std::atomic<bool> shadow{false};                    // `sync: {mode: shadow}` / --shadow: compute, never send
  profile::null_policy nulls = profile::null_policy::cleared;  // `sync: {write_nulls: ...}`
  std::vector<std::string> fields_allow, fields_deny;          // `sync: {fields: {allow|deny: [...]}}`
  connector_status counters;                          // events/writes counters: guarded by context::mu
  doorbell inbox_bell;                                // a webhook was stored for this connector
  doorbell outbox_bell;                               // a write was queued for it, or a chunk finished

  object_state* find(std::string_view object) {
    for (auto& o : objects)
      if (o->st.object == object) return o.get();
    return nullptr;
  }
};

/// The structured fields of a log line about `object` of connector `c` (core/log_fields.hpp); callers add
/// `record` and `error`. The views point into `c` and `object`: use the result within the statement that logs.
inline log_fields fields_of(const connector_state& c, std::string_view object) {
  log_fields f;
  f.connector = c.cfg.name;
  f.object = object;
  return f;
}

/// The same for one object's loop (the poller's lines), with the run the loop is in (0 between runs).
inline log_fields fields_of(const connector_state& c, const object_state& os) {
  auto f = fields_of(c, os.st.object);
  f.run = current_run(os);
  return f;
}

/// Compiled mappings by (system, object, direction); replaced as a whole on reload.
struct plan_set {
  std::vector<std::shared_ptr<const mapping::plan>> all;
  std::vector<std::shared_ptr<const mapping::plan>> outbound;
  std::shared_ptr<const mapping::plan> inbound(std::string_view system, std::string_view object) const {
    for (const auto& p : all)
      if (p->direction() == mapping::direction::inbound && p->system() == system && p->object() == object) return p;
    return nullptr;
  }
};

/// The metric families the engine updates; null members when no registry was given (tests).
struct engine_metrics {
  metrics::metric_family<metrics::metric_counter>* records_in = nullptr;
  metrics::metric_family<metrics::metric_counter>* writes_out = nullptr;
  metrics::metric_family<metrics::metric_counter>* dead_letters = nullptr;
  metrics::metric_family<metrics::metric_gauge>* lag = nullptr;
  metrics::metric_family<metrics::metric_gauge>* inbox_depth = nullptr;
  metrics::metric_family<metrics::metric_gauge>* outbox_depth = nullptr;
  metrics::metric_family<metrics::metric_gauge>* dead_letter_count = nullptr;
  metrics::metric_family<metrics::metric_histogram>* page_seconds = nullptr;
  metrics::metric_family<metrics::metric_gauge>* health = nullptr;
  metrics::metric_family<metrics::metric_gauge>* inbox_age = nullptr;
  metrics::metric_family<metrics::metric_gauge>* outbox_age = nullptr;
  /// 1 while a segment's membership sync to a connector is held by the safety brake or a missing list.
  metrics::metric_family<metrics::metric_gauge>* segment_sync_paused = nullptr;
  metrics::metric_family<metrics::metric_counter>* store_round_trips = nullptr;
  metrics::metric_family<metrics::metric_gauge>* initial_records = nullptr;
  metrics::metric_family<metrics::metric_gauge>* initial_total = nullptr;
  metrics::metric_family<metrics::metric_gauge>* initial_seconds = nullptr;
  metrics::metric_family<metrics::metric_counter>* inbox_pruned = nullptr;
  metrics::metric_family<metrics::metric_counter>* task_restarts = nullptr;
  metrics::metric_family<metrics::metric_counter>* echoes_skipped = nullptr;
  explicit engine_metrics(metrics::registry* r);
};

struct context {
  context(boost::asio::any_io_executor e, store::store& s, engine_options o, clock& c, metrics::registry* r)
      : ex(std::move(e)), db(s), opt(std::move(o)), clk(c), m(r), leader(!opt.cluster) {}

  boost::asio::any_io_executor ex;
  store::store& db;
  const engine_options opt;
  clock& clk;
  const engine_metrics m;

  mutable std::mutex mu;
  std::vector<std::unique_ptr<connector_state>> conns;  // the list is fixed once the loops run
  std::shared_ptr<const plan_set> plans = std::make_shared<plan_set>();
  /// Segment membership sync: the brake and missing-list policy per (segment, connector); guarded by mu.
  membership_policies membership;
  std::uint64_t membership_generation = 0;  ///< bumped by each set_membership_policies (releases held segments)
  /// `segment release`: (segment, connector) → the segment's writes queued there when it was released (outbox id →
  /// record key: SQLite reuses the ids of deleted rows, so an id alone could name a later write). The writer's
  /// membership sync takes them and lets them past the brake once; guarded by mu.
  std::map<std::pair<std::string, std::string>, std::map<std::int64_t, std::string>> membership_releases;

  // Cluster (engine_options::cluster): whether this instance holds the pipeline lease, and its fencing token.
  std::atomic<bool> leader;
  std::atomic<std::int64_t> lease_token{0};
  std::atomic<std::int64_t> leaderships{0};

  /// Resolves dead letters when their records succeed later (dead_letters.hpp).
  resolver letters;

  /// The segments in effect and the paused ones (segment_state.hpp).
  segment_state segs;
  /// omnisync's recent writes per destination record: the inbox skips re-reading the echoes of them (echoes.hpp).
  echo_register echoes;

  /// Resyncs being carried out, by run id: how many of their objects are still reading, and how the finished ones
  /// ended (the run's outcome is the worst of them). Guarded by mu.
  struct resync_run {
    int open = 0;
    std::string outcome = "ok";
    std::string error;
  };
  std::map<std::int64_t, resync_run> resyncs;

  /// The history as the analytics reports read it (daemon/analytics): loaded at the first rebuild of each
  /// leadership, then fed the rows every page stores. Locks itself.
  analytics::history_index history;

  timestamp now() const { return clk.now(); }
  connector_state* find(std::string_view name) const {
    for (const auto& c : conns)
      if (c->cfg.name == name) return c.get();
    return nullptr;
  }
  std::vector<connector_state*> list() const {
    std::lock_guard lk(mu);
    std::vector<connector_state*> out;
    for (const auto& c : conns) out.push_back(c.get());
    return out;
  }
  std::shared_ptr<const plan_set> current_plans() const {
    std::lock_guard lk(mu);
    return plans;
  }
  /// The fence every pipeline write carries in a cluster: a deposed leader's page or writes are refused.
  std::optional<store::fence> pipeline_fence() const {
    if (!opt.cluster) return std::nullopt;
    return store::fence(std::string(pipeline_lease), lease_token.load());
  }
  /// Whether this instance runs the pipeline now (always, outside a cluster).
  bool leading() const { return leader.load(); }
  /// Whether every object of `c` was read to the end since start-up (or since leadership was taken): before,
  /// news from it may still be unread and nothing is written to it.
  static bool caught_up(const connector_state& c) {
    for (const auto& o : c.objects)
      if (!o->caught_up.load()) return false;
    return true;
  }
};

}  // namespace omnisync::sync::detail
