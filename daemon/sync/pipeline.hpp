#pragma once
/// The pipeline's middle: record → mapping → profile → writes. Every page of source records (from a poll, a
/// webhook or a lookup) goes through `store_records`: each record is mapped with its system's inbound plan and
/// taken into the profile book; the profiles it changed are propagated (daemon/profile/propagation.hpp) and
/// the writes queued; dead letters for records that fail mapping; then the records are stored with their cursor.
///
/// Order: pages go through one turnstile, so the book, the outbox and the stored records change in one order — a
/// later golden value never loses to an earlier one, and a rebuild of the book never misses a page being stored.
/// Within a page, dead letters and writes are stored before the records and the cursor: a crash repeats the page
/// (upserts, coalesced writes) and loses none of its consequences.
///
/// The book is derived state, rebuilt from the stored records at start-up, after a reload that changed mappings
/// or rules, and when this instance becomes the cluster's leader (`loop`).
///
/// Thread safety: the awaitable members run on the engine's executor; `get`, `stats` and `ready` may be called
/// from any thread (the book has its own lock).
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/async.hpp"
#include "daemon/profile/profile_filter.hpp"
#include "daemon/profile/propagation.hpp"
#include "daemon/segments/segment_set.hpp"
#include "daemon/sync/context.hpp"
#include "daemon/sync/history_writer.hpp"
#include "daemon/sync/runs.hpp"
#include "mapping/evaluator_cache.hpp"

namespace omnisync::sync::detail {

class pipeline {
 public:
  explicit pipeline(context& ctx);

  /// The identity / survivorship / KPI rules from the config; the book is rebuilt with them.
  void set_rules(std::shared_ptr<const profile::settings> configured);
  /// The configured KPI rules (currency, rates, lifecycle): what status reports the KPIs' units from. Any thread.
  profile::kpi_rules kpi_rules() const;
  /// Rebuild the book before the next page (mappings or rules changed, or leadership was taken).
  void request_rebuild() { rebuild_requested_ = true; }
  /// The book holds what the store holds (false from a rebuild request until the rebuild is done).
  bool ready() const { return ready_.load(); }
  void set_not_ready() { ready_ = false; }

  /// Maps, resolves, propagates and stores one page of `object` records from connector `c`; `cursor` (if any)
  /// is stored with them. `partial`: the records carry only some fields and are merged into the stored copies.
  /// `os` receives the counters (may be null); `tally` (may be null) names the run the page is part of (its writes
  /// carry it) and receives what the page added to it.
  boost::asio::awaitable<omnisync::result<store::append_summary>> store_records(
      connector_state& c, const std::string& object, std::vector<store::source_record> recs,
      std::optional<std::string> cursor, bool partial, mapping::evaluator_cache& evals, object_state* os,
      std::vector<adapters::event_records::announcement> announced = {}, page_tally* tally = nullptr);
  /// Queues writes and rings the doorbells of the writers they go to.
  boost::asio::awaitable<omnisync::result<store::enqueue_summary>> enqueue(std::vector<store::outbox_write> writes);
  /// A destination object was read to the end for the first time since start-up: the profiles that could not be
  /// created there before are written now.
  boost::asio::awaitable<void> caught_up(connector_state& c, std::string object);
  /// A reload changed the outbound mapping of `object` at destination `c`: every profile that has or should have
  /// a record there is computed through the current mapping and diffed against the stored copy (as the writer
  /// would); the records that differ are queued, once each. Runs in the turnstile, after the rebuild it follows.
  boost::asio::awaitable<omnisync::result<recheck_count>> recheck(connector_state& c, std::string object);
  /// How many rebuilds of the book finished (a reload waits for the one it asked for).
  std::uint64_t generation() const { return generation_.load(); }
  /// Removes (or restores) one identity link, stores the decision and queues the writes it causes.
  boost::asio::awaitable<omnisync::result<std::size_t>> split(profile::link_ref link, bool restore);
  /// What one remap page did (remap.cpp).
  struct remap_step {
    std::size_t read = 0, mapped = 0, failed = 0;
    store::enqueue_summary writes;
    std::string last_id;  ///< the page's last record id ("" when there was none: the object is done)
  };
  /// Remap: the next `limit` stored records of `object` after id `after`, read inside the turnstile (no page can
  /// be stored between the read and the book taking them in), mapped with the current inbound plan and taken into
  /// the book as a re-read of the same records would be; every profile holding one of them is propagated (writes
  /// equal to what a destination last got are skipped by the store), mapping failures dead-lettered, the records'
  /// facts stored again. No vendor API call. The writes carry `run` (the remap's run; 0: none).
  boost::asio::awaitable<omnisync::result<remap_step>> remap_page(connector_state& c, std::string object,
                                                                  std::string after, std::size_t limit,
                                                                  mapping::evaluator_cache& evals, std::int64_t run = 0);
  /// Rebuilds the book whenever asked (start-up, reload, leadership); runs until cancelled.
  boost::asio::awaitable<void> loop();

  std::optional<profile_report> get(std::string_view query) const;
  /// Up to `limit` profiles after `after` (a profile id; empty: from the start) that match `filter`, in id order.
  /// The book's lock is held for one chunk of profiles at a time, so a long scan does not stall the pipeline
  /// (profile_list.cpp).
  profile_page list(const profile::profile_filter& filter, std::string_view after, std::size_t limit) const;
  /// The lifecycle stages the rules can give ("unknown" included), in the rules' order.
  std::vector<std::string> stages() const;
  profile::book_stats stats() const;

  /// A claimed write with what it sends now (nullopt: nothing differs, or the record left the profile).
  struct prepared {
    store::outbox_item item;
    std::optional<profile::computed_write> write;
    std::string profile_id;  ///< the profile it was computed for
  };
  /// Computes, from the book as it is now, what each of `c`'s claimed writes sends (`last_written`: the payload
  /// last written to each one's record). `preview` (plan): nothing is remembered.
  std::vector<prepared> prepare(const connector_state& c, std::vector<store::outbox_item> items,
                                const std::vector<std::optional<std::string>>& last_written,
                                mapping::evaluator_cache& evals, bool preview = false);
  /// A write being sent (an update) or acknowledged (a create, once its id is known): its record (`record_id`,
  /// the vendor's id) holds the golden values it carries, as old as their information (book::note_written).
  void written(const prepared& p, const std::string& record_id);
  /// The store's meta key under which `c`'s writer keeps what its chunks in flight carry: the notes of
  /// `written` for each update being sent, so that an instance building its book after this one died (a
  /// take-over, a restart after kill -9) knows those values as omnisync's own if they landed.
  static std::string in_flight_key(std::string_view connector);
  /// `p`'s notes (an update's) as comma-joined JSON objects for the in-flight list; "" when it has none.
  static std::string in_flight_notes(const prepared& p);
  // ---- segments (segments_runtime.cpp, segments_commands.cpp) --------------------------------------------------
  /// (segment, profile) evaluations since start-up (pages, timers, backfills): tests check that a change
  /// evaluates only the segments it touches.
  std::uint64_t segment_evaluations() const noexcept { return segment_evaluations_.load(); }
  /// Fires the due timers of the queue (in the turnstile): each profile's segment evaluated again now.
  boost::asio::awaitable<omnisync::result<std::size_t>> fire_segment_timers(std::size_t limit);
  /// Evaluates `key` over every profile of the book (in the turnstile, `chunk` profiles at a time) and stores the
  /// membership: a new or changed segment, `segment backfill`. `progress(done, total)` after each chunk.
  boost::asio::awaitable<omnisync::result<segment_backfill_count>> backfill_segment(
      std::string key, std::size_t chunk, std::int64_t run, std::function<void(std::size_t, std::size_t)> progress);
  /// `segment resume` (segments_catch_up.cpp): in the turnstile, clears the segment's pause and queues, per
  /// destination, the membership writes that bring what it acknowledged to the stored members (plan_membership),
  /// leaving out changes a queued write already carries. errc::not_found: no such segment.
  boost::asio::awaitable<omnisync::result<std::vector<segment_catch_up_of>>> catch_up_segment(std::string key);
  /// explain: each term's value for the profile and the next flip; preview: the size and a sample without writing.
  std::optional<segment_explanation> explain_segment(int index, std::string_view profile_query) const;
  segment_preview preview_segment(int index, std::size_t sample) const;

  /// The profile a query names ("p…", e-mail, phone, "system:object:id"), if any.
  std::optional<profile::profile_id> find(std::string_view query) const;

 private:
  /// How far back `recall_writes` reads the audit log, and how many entries at most.
  static constexpr std::chrono::minutes recall_window{15};
  static constexpr std::size_t recall_cap = 200'000;
  /// Tells a book being built what omnisync wrote recently — the audit log, and the writes each connector had in
  /// flight (in_flight_key) — book::note_written for each field.
  boost::asio::awaitable<std::size_t> recall_writes(profile::book& b);
  struct processed {
    std::vector<store::outbox_write> writes;
    std::vector<store::segment_verdict> verdicts;  ///< the changed profiles' affected segments (segments_runtime.cpp)
    std::vector<store::dead_letter_entry> failures;
    std::vector<std::string> mapped;  ///< ids of the records mapped without an error
    std::vector<store::history_entry> history;  ///< stage and KPI changes (history_writer), stored with the page
    /// The facts the verdicts were computed from, by profile id (segment_apply's describer explains the
    /// transitions with them, on the store's thread).
    std::shared_ptr<std::map<std::string, segments::profile_facts>> facts =
        std::make_shared<std::map<std::string, segments::profile_facts>>();
  };
  /// A profile's facts before a page changed it (nullopt: it may have changed before it was taken; every segment).
  using facts_before = std::map<profile::profile_id, std::optional<segments::profile_facts>>;
  /// What a segment reads of a profile, from the book (caller holds book_mu_).
  segments::profile_facts facts_of(profile::profile_id id) const;
  /// The profile's segment transitions as events (segment_entered / segment_exited), from the history index.
  std::vector<profile::event> segment_events_of(const std::string& profile_id) const;
  /// The verdicts of the segments the change of each profile touches, at `now` (caller holds book_mu_): a profile
  /// in `before` is diffed with its facts then (segments::diff_facts); any other (or `before` null) is evaluated
  /// for every segment. The facts go to `out.facts`, the verdicts to `out.verdicts`.
  void segment_verdicts(const std::set<profile::profile_id>& affected, const facts_before* before, std::int64_t now,
                        processed& out) const;
  /// Takes the facts of the profile holding the page's record (and the people an interaction record's events
  /// link) before the record goes through the book (caller holds book_mu_; see segment_verdicts).
  void note_before(const std::string& system, const std::string& object, const std::string& id,
                   const mapping::mapped_record* m, const std::set<profile::profile_id>& affected,
                   facts_before& before) const;
  /// Stores a page's verdicts (one store transaction) and appends to `out.writes` the membership writes of the
  /// transitions, for each `sync:` destination of a segment not paused, and their history rows to `out.history`.
  /// `cause`: JSON members for the history's cause ("\"record\":..,\"run\":..").
  boost::asio::awaitable<omnisync::result<std::size_t>> apply_segments(processed& out, std::string cause,
                                                                      segment_backfill_count* tally = nullptr);
  boost::asio::awaitable<void> rebuild();
  /// The configured rules plus the inbound mappings' hints (`owner: true`, `merge:`) for each connector.
  std::shared_ptr<const profile::settings> effective_rules() const;
  void process(const connector_state& src, const std::string& object, std::vector<store::source_record>& recs,
               mapping::evaluator_cache& evals, processed& out, std::int64_t& failures,
               const std::vector<adapters::event_records::announcement>& announced, bool every_profile = false,
               std::int64_t run = 0);
  /// After a rebuild: the history's snapshots taken again, the history seeded once per store, the analytics index
  /// loaded once (pipeline_history.cpp). In the turnstile.
  boost::asio::awaitable<void> history_after_rebuild();
  /// The page's rows are stored: the analytics index takes them in.
  void history_stored(const std::vector<store::history_entry>& rows);
  /// What the book learns from a webhook event's announcement about record `r` (mapped with plan `in`).
  void take_announcement(const connector_state& src, const std::string& object, const store::source_record& r,
                         const adapters::event_records::announcement& a, const mapping::plan& in,
                         mapping::evaluator& ev, std::set<profile::profile_id>& affected);
  profile::destination destination_of(const connector_state& c) const;
  /// Writes for `affected` through the propagator; caller holds book_mu_.
  std::vector<store::outbox_write> propagate(const std::set<profile::profile_id>& affected,
                                             mapping::evaluator_cache& evals, const connector_state* only = nullptr,
                                             std::string_view only_object = {});

  context& ctx_;
  turnstile order_;
  std::shared_ptr<const profile::settings> configured_rules_ = std::make_shared<profile::settings>();
  std::atomic<bool> ready_{false};
  std::atomic<bool> rebuild_requested_{true};
  std::atomic<std::uint64_t> generation_{0};

  mutable std::mutex book_mu_;
  /// `list`'s sorted snapshot of the book's profile ids and when it was taken (guarded by book_mu_): the pages of
  /// one export reuse it instead of collecting and sorting every id again per page (profile_list.cpp).
  mutable std::vector<profile::profile_id> list_ids_;
  mutable std::chrono::steady_clock::time_point list_ids_at_{};
  std::shared_ptr<const profile::settings> rules_ = std::make_shared<profile::settings>();  // guarded by book_mu_
  std::unique_ptr<profile::book> book_ = std::make_unique<profile::book>(rules_);            // guarded by book_mu_
  profile::propagator propagator_;                                                          // guarded by book_mu_
  history_writer history_;                                                                  // guarded by book_mu_
  // The leadership (context::leaderships; 0 without a cluster) the analytics index was loaded in, -1 before the
  // first load. In the turnstile.
  std::int64_t history_loaded_for_ = -1;
  mutable std::atomic<std::uint64_t> segment_evaluations_{0};
};

}  // namespace omnisync::sync::detail
