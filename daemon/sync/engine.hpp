#pragma once
/// The sync engine: what moves records between the connected systems and the store. It composes the parts of
/// the pipeline, each in its own file along the data's path:
///
///   poller (poller.hpp): one loop per (connector, object) ─┐
///                                                          ├─> pipeline (pipeline.hpp): map (inbound plan)
///   inbox (inbox.hpp): one loop per connector, stored     ─┘     ─> profile book ─> propagation
///     webhooks parsed, named records fetched                     ─> outbox + records + cursor, in one order
///                                                                └─> dead letters (mapping failures)
///   writer (writer.hpp): per connector, outbox claims ─> adapter.write in batches ─> ack / retry / dead letter
///   leadership (leadership.hpp): in a cluster, the pipeline runs on the holder of a fenced lease
///
/// Guarantees: a cursor advances only in the transaction that stores the records it covers; an inbox event is
/// acknowledged only after its records are stored (or it is dead-lettered with the reason); an outbox write is
/// acknowledged only after the vendor confirmed it. A crash anywhere therefore repeats work (upserts, so harmless)
/// and loses nothing. Writes equal to what was last written to a record are skipped by the store, which stops
/// ping-pong between two systems.
///
/// Time comes from the `clock` given at construction (core/clock.hpp): tests run the engine on a manual clock.
///
/// Threading: every loop runs on the executor it is spawned on (the application's task group strand), and the
/// adapters are used only from those loops. `status()`, `pause()`, `resume()` and `request_resync()` may be
/// called from any thread (control commands).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/connector.hpp"
#include "config/connector.hpp"
#include "core/clock.hpp"
#include "daemon/analytics/history_index.hpp"
#include "daemon/profile/book.hpp"
#include "daemon/profile/profile_filter.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/membership_policy.hpp"
#include "daemon/sync/status.hpp"

namespace omnisync::mapping {
class plan;
}
namespace omnisync::metrics {
class registry;
}
namespace omnisync::segments {
class segment_set;
}

namespace omnisync::sync {

class engine {
 public:
  engine(boost::asio::any_io_executor ex, store::store& db, engine_options options, metrics::registry* metrics,
         clock& clk = real_clock());
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Replaces the compiled mappings (start-up and reload); the profile book is rebuilt.
  void set_mappings(std::vector<std::shared_ptr<const mapping::plan>> plans);
  /// Replaces the identity / survivorship / KPI rules (start-up and reload); the profile book is rebuilt.
  void set_profile_rules(std::shared_ptr<const profile::settings> rules);
  void add(std::unique_ptr<adapters::connector> c, const config::connector_common& cfg);
  /// Applies the connectors' write policies (sync.mode, sync.write_nulls, sync.fields) again (reload): a
  /// connector switched from shadow to live sends what is still different.
  void set_write_policies(const std::vector<config::connector_common>& connectors);
  /// Segment membership sync policies (safety brake, on_missing_list) per (segment, connector); a reload's new
  /// policies also release segments the brake held.
  void set_membership_policies(membership_policies policies);

  /// The HTTP listener stored a webhook for `connector`: its inbox loop looks at once (any thread).
  void webhook_stored(const std::string& connector);
  /// Every connector's webhook endpoint (for the HTTP listener).
  std::vector<std::shared_ptr<const adapters::webhook_endpoint>> webhook_endpoints() const;
  /// The loops to run, each with a name for failure reports; spawn every one of them.
  std::vector<std::pair<std::string, std::function<boost::asio::awaitable<void>()>>> tasks();
  /// `task` supervised as the engine's own loops are (supervise.hpp: restarted with backoff, logged, counted in
  /// omnisync_sync_task_restarts_total{connector=""}), for a loop the daemon runs beside them (the cluster's
  /// paused-set follower). Run it among the sync tasks.
  std::function<boost::asio::awaitable<void>()> supervised(std::string name,
                                                           std::function<boost::asio::awaitable<void>()> task);

  /// Pausing stops polls, inbox processing and writes of the connector before their next step (webhooks are
  /// still accepted and stored). errc::not_found for an unknown connector.
  omnisync::result<void> pause(const std::string& connector);
  omnisync::result<void> resume(const std::string& connector);
  bool paused(const std::string& connector) const;

  /// Queues a resync; the poll loops carry it out. Returns the objects it covers (errc::not_found for an
  /// unknown connector or object, errc::invalid_input for a bad --since time).
  omnisync::result<std::vector<std::string>> request_resync(const resync_request& req);
  /// The objects a resync request would cover, checked as request_resync checks it, without queuing anything.
  omnisync::result<std::vector<std::string>> resync_targets(const resync_request& req) const;

  /// Starts a remap (remap.cpp's pipeline::remap_page, a page at a time): of `connector`'s objects that have an
  /// inbound mapping (or only `object`), or of every connector's when `connector` is empty. Checks the names and
  /// that no other remap runs, and returns its progress (running); `run_remap` then carries it out. Any thread.
  /// errc::not_found for an unknown connector or object, errc::invalid_input for an object no inbound mapping
  /// reads, errc::conflict while another remap runs.
  omnisync::result<std::shared_ptr<remap_progress>> start_remap(const std::string& connector, const std::string& object);
  /// Carries out a started remap; run it among the engine's tasks (it stops, keeping what it did, when
  /// cancelled or when this instance loses the pipeline lease). No vendor API call: only stored records are read.
  boost::asio::awaitable<void> run_remap(std::shared_ptr<remap_progress> progress);
  /// The remap running now (its progress, for `status`), or null. Any thread.
  std::shared_ptr<const remap_progress> running_remap() const;
  /// The vendor's metadata of one object of `connector` (the adapter's describe: one API call or its cache).
  /// errc::not_found for an unknown connector. Run it on the loops' executor (adapters are used from there only).
  boost::asio::awaitable<omnisync::result<adapters::object_schema>> describe(std::string connector, std::string object);

  std::vector<connector_status> status() const;
  /// Each connector's health (cheaper than status(); /readyz asks it per request). Any thread.
  std::vector<connector_health_row> health() const;

  /// A profile by id, e-mail, phone or "system:id"; nullopt when none matches. Any thread.
  std::optional<profile_report> profile_get(std::string_view query) const;
  /// `profile list|search`: one page of matching profiles in id order (see pipeline::list). Any thread.
  profile_page profile_list(const profile::profile_filter& filter, std::string_view after, std::size_t limit) const;
  /// The lifecycle stages the configured rules can give (for checking a `--stage` filter). Any thread.
  std::vector<std::string> profile_stages() const;
  profile::book_stats profile_stats() const;
  /// The configured KPI rules (currency, rates, lifecycle). Any thread.
  profile::kpi_rules kpi_rules() const;
  bool profiles_ready() const;
  /// The history as the analytics reports read it (daemon/analytics; `omnisyncctl report`). Any thread.
  const analytics::history_index& history() const;
  cluster_status cluster() const;
  /// Removes (or restores) one identity link, stores the decision and queues the writes it causes. Returns how
  /// many writes; errc::not_found when the record does not hold that identifier.
  boost::asio::awaitable<omnisync::result<std::size_t>> profile_split(profile::link_ref link, bool restore);

  /// Checks every mapping file used by a connector against that system's metadata (`describe`): unknown fields,
  /// writes to read-only or formula fields, values longer than a field allows, upserts on a field that is not an
  /// external id. Run it on the loops' executor (adapters are used from there only).
  boost::asio::awaitable<std::vector<lint_finding>> lint();
  /// The same checks for `plans` (a candidate configuration's mappings: reload, `lint --config`, `lint
  /// --mapping`) against the metadata kept from earlier checks (read once per connector and object where none is
  /// kept yet; `lint()` reads it again each time). On the loops' executor.
  boost::asio::awaitable<std::vector<lint_finding>> lint_plans(std::vector<std::shared_ptr<const mapping::plan>> plans);
  /// Counts the rebuilds of the profile book (each reload that changed mappings or rules asks for one).
  std::uint64_t book_generation() const;
  /// After a reload changed the outbound mappings of `targets` (kind, object): waits until the book was rebuilt
  /// with them (book_generation() > `since`, at most `wait`), then re-checks every writable connector of that
  /// kind for that object: each profile is computed through the new mapping and diffed against the destination's
  /// stored copy; the records that differ are queued (once each). errc::retry when the rebuild did not finish in
  /// time; errc::not_found when this instance does not run the pipeline (a cluster member that does not lead).
  boost::asio::awaitable<omnisync::result<std::vector<recheck_count>>> recheck(
      std::vector<std::pair<std::string, std::string>> targets, std::uint64_t since, std::chrono::milliseconds wait);
  std::vector<std::string> connectors() const;

  /// The current inbound mapping of `connector`'s `object` applied to one stored payload, as the pipeline would
  /// (the record inspector shows it): nothing mapped when no mapping covers the object. Any thread.
  struct mapped_preview {
    bool has_mapping = false;
    std::string mapping_file;
    std::string mapped_json;  ///< mapping::mapped_record::to_json; empty when the mapping refused the record
    std::string error;        ///< the mapping's error in words ("file:line: target: rule (source, value)")
  };
  omnisync::result<mapped_preview> map_stored(const std::string& connector, const std::string& object,
                                              const std::string& payload) const;

  /// The queued (or shadowed) writes as field-level changes computed from the profiles now, for one connector
  /// or all, and for one profile or all: what `omnisyncctl plan` shows. At most `max_changes` changes are
  /// listed; the counts cover every queued write. errc::not_found for an unknown connector or profile. On the
  /// loops' executor; in a cluster, on the instance running the pipeline (the book is there).
  boost::asio::awaitable<omnisync::result<plan_report>> plan(std::optional<std::string> connector,
                                                             std::optional<std::string> profile_query,
                                                             std::size_t max_changes = 1000);

  // ---- segments (engine_segments.cpp; docs/segments.md) -------------------------------------------------------
  /// Replaces the compiled segments (start-up and reload). The segment loop then evaluates every segment whose
  /// definition differs from the one its stored membership was computed with (a new one: a backfill) and forgets
  /// segments no longer configured. Any thread.
  void set_segments(std::shared_ptr<const segments::segment_set> set);
  std::shared_ptr<const segments::segment_set> segments() const;
  bool segment_paused(std::string_view key) const;
  /// Pauses (or resumes) the membership writes of a segment; persisted. errc::not_found: no such segment.
  /// Resuming catches up where this instance runs the pipeline: inside its turnstile (no page changes the
  /// membership meanwhile) the pause is cleared and, per `sync:` destination, the membership writes that bring
  /// what it acknowledged to the stored members are queued (the changes made while paused); returns them per
  /// destination (none for a pause, or where the pipeline does not run). Sent like any membership write: the
  /// brake applies.
  boost::asio::awaitable<omnisync::result<std::vector<segment_catch_up_of>>> segment_pause(std::string key, bool paused);
  /// The destinations where the membership sync of segment `key` is held now, with why (status's segment_sync_held).
  std::map<std::string, std::string> segment_sync_held(std::string_view key) const;
  /// Releases the hold of `key` at each of `connectors` that is held: the segment's writes queued there now pass
  /// the brake once (later ones obey it again) and are due at once; the gauge and status clear; an audit entry
  /// (field `sync_hold`, outcome `released`, source `control:<who>`) records it. Returns the released ones.
  boost::asio::awaitable<omnisync::result<std::vector<segment_release_of>>> segment_release(
      std::string key, std::vector<std::string> connectors, std::string who);
  /// Each term of `key` for the profile `query` names, with the next flip; nullopt: no such segment or profile.
  std::optional<segment_explanation> segment_explain(std::string_view key, std::string_view query) const;
  /// `key` over every profile now, nothing written (errc::not_found: no such segment).
  omnisync::result<segment_preview> segment_preview_of(std::string_view key, std::size_t sample) const;
  /// `key` over every profile, stored; a run of kind `segment_backfill`. On the loops' executor.
  boost::asio::awaitable<omnisync::result<segment_backfill_count>> segment_backfill(
      std::string key, std::function<void(std::size_t, std::size_t)> progress);

 private:
  struct parts;
  std::shared_ptr<parts> parts_;
};

}  // namespace omnisync::sync
