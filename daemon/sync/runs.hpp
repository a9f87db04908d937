#pragma once
/// Run history in the engine (docs/operations.md "Run history"): a poll cycle, a resync, a reload or a remap is a
/// run, a row in the store's `runs` table with its counts. This file holds how a loop counts into one:
///
///   page_tally   what one page added (pipeline::store_records fills it; the writes it queued carry the run id,
///                so the writer counts their outcome — written, refused, unchanged — on the same run)
///   run_meter    one loop's share of a run: the row is created lazily for poll cycles (an idle cycle that read,
///                wrote and failed nothing adds no row; it is counted on the object's newest poll run instead),
///                or given (a resync, created by whoever asked for it); the connector's API calls and quota used
///                while it runs are added with each page. Pages are summed in memory and counted in the store
///                once per flush interval (run_meter::flush_every) and when the run ends or the meter detaches:
///                one small transaction per interval instead of one or two per page (a crash loses at most one
///                interval of counts; the records themselves are stored with their cursor regardless)
///   end_resync_part  a resync covers several objects; the last one to finish ends its run (the worst outcome)
///   close_interrupted_runs  runs a previous process left `running` (it was killed or crashed) end as
///                `interrupted` when this process starts the pipeline
///
/// Thread safety: a run_meter belongs to one loop (one coroutine); end_resync_part is called under context::mu.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/sync/context.hpp"

namespace omnisync::sync::detail {

/// What one page of records added to its run.
struct page_tally {
  std::int64_t run = 0;                         ///< in: the run the page is part of (0: none); its writes carry it
  store::run_counts counts;                     ///< out: read, stored, mapped, failed
  std::map<std::string, std::int64_t> queued;  ///< out: writes queued per destination connector
};

/// One loop's share of a run (see the file comment).
class run_meter {
 public:
  run_meter(context& ctx, connector_state& c, object_state& os) : ctx_(ctx), c_(c), os_(os) {}

  /// Begins counting for `kind` (poll: the row is created at the first page that has anything to count; resync:
  /// `existing` is its run). Samples the connector's API usage.
  void start(std::string kind, std::int64_t existing = 0);
  bool active() const { return active_; }
  std::int64_t id() const { return id_; }
  /// How often pages' counts go to the store while a run goes on.
  static constexpr std::chrono::milliseconds flush_every{1000};

  /// Adds a page (creating a poll run's row when the page read, wrote or failed something); its counts reach the
  /// store at the next flush. Store failures are logged, never fatal: the sync goes on without its history.
  boost::asio::awaitable<void> add(const page_tally& t);
  /// Counts what the pages added since the last flush (read, stored, API calls, writes queued) in the store.
  boost::asio::awaitable<void> flush();
  /// Creates the run's row now if it has none (a page with records is coming: its writes must carry the id).
  /// False when the store refused (the page is counted nowhere).
  boost::asio::awaitable<bool> open();
  /// A failed attempt: a poll run's row is created if there was none, so the failure shows.
  boost::asio::awaitable<void> note_failure();
  /// Ends a poll run (`ok` or `failed` with `error`); an idle poll cycle (no row) is counted on the object's
  /// newest poll run. A resync's share ends through end_resync_part.
  boost::asio::awaitable<void> finish(std::string outcome, std::string error = {});
  /// Flushes, then stops counting without ending anything (a resync's share, handed to end_resync_part).
  boost::asio::awaitable<void> detach();

 private:
  /// The object's current run goes back to 0 when it is this meter's.
  void release_current();
  /// API calls and quota used since the last sample.
  store::run_counts usage_delta();

  context& ctx_;
  connector_state& c_;
  object_state& os_;
  std::string kind_;
  std::int64_t id_ = 0;
  bool active_ = false;
  store::timestamp started_{};
  std::int64_t calls_ = 0, quota_ = -1;
  store::run_counts pending_;                           // added since the last flush
  std::map<std::string, std::int64_t> pending_queued_;  // writes queued per destination since the last flush
  bool has_pending_ = false;
  std::chrono::steady_clock::time_point flushed_{};
};

/// The per-run deltas count_run_writes stores (for a caller storing them in a larger transaction).
std::vector<std::pair<std::int64_t, store::run_writes>> run_write_deltas(const std::string& destination,
                                                                         const std::vector<std::int64_t>& written_runs,
                                                                         const std::vector<std::int64_t>& refused_runs,
                                                                         const std::vector<std::int64_t>& unchanged_runs);
/// Counts what happened to writes at `destination` on the runs that caused them (each vector holds one run id per
/// write; 0s are skipped). Store failures are logged.
boost::asio::awaitable<void> count_run_writes(context& ctx, const std::string& destination,
                                              const std::vector<std::int64_t>& written_runs,
                                              const std::vector<std::int64_t>& refused_runs,
                                              const std::vector<std::int64_t>& unchanged_runs);

/// One object of resync run `run` finished with `outcome` (ok, failed, cancelled) and `error`. Returns the run's
/// outcome and error when this was its last object (then the caller ends the run in the store), else nullopt.
/// Call under context::mu.
std::optional<std::pair<std::string, std::string>> end_resync_part(context& ctx, std::int64_t run,
                                                                   const std::string& outcome, const std::string& error);

/// Runs still `running` that started before `before` were left by a process that stopped without ending them
/// (kill -9, a crash, a power cut): each ends now with outcome `interrupted`. Called where this process starts
/// the pipeline — at start-up, or in a cluster when it takes the pipeline lease (then only the pipeline's kinds:
/// poll, resync, remap; another instance's reload is its own). Returns how many; store failures are logged.
boost::asio::awaitable<std::int64_t> close_interrupted_runs(context& ctx, store::timestamp before, bool pipeline_only);

}  // namespace omnisync::sync::detail
