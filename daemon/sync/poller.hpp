#pragma once
/// The poller: one loop per (connector, object) that reads pages of changes from the vendor and hands them to
/// the pipeline with their cursor. While a page is stored, the next one is read (reading and storing overlap).
/// It also carries out resyncs (full, --since, --fields: a full resync keeps its own position and stores the
/// cursor only at its end), lookups (--id, --email), and hard-delete reconciliation by id sets; failed polls
/// back off exponentially without moving the cursor. Paused connectors and standby instances do nothing.
///
/// Thread safety: `run` runs on the engine's executor; status fields are updated under the context's lock.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "daemon/sync/context.hpp"
#include "daemon/sync/pipeline.hpp"
#include "daemon/sync/runs.hpp"

namespace omnisync::sync::detail {

class poller {
 public:
  poller(context& ctx, pipeline& p) : ctx_(ctx), pipeline_(p) {}
  /// Polls `os` of `c` until cancelled. An exception that ends the loop ends its run (poll cycle or resync)
  /// `failed` with the exception's text and shows on the object before it is rethrown (to the supervisor).
  boost::asio::awaitable<void> run(connector_state& c, object_state& os);

 private:
  /// The loop itself; `meter` and `resync_run` belong to `run`, which awaits it (so the references stay valid)
  /// and closes the run they name when the loop throws.
  boost::asio::awaitable<void> loop(connector_state& c, object_state& os, run_meter& meter, std::int64_t& resync_run);
  boost::asio::awaitable<void> handle_lookups(connector_state& c, object_state& os, mapping::evaluator_cache& evals);
  boost::asio::awaitable<void> reconcile(connector_state& c, object_state& os, mapping::evaluator_cache& evals);
  /// A failed attempt: logged (`code`: the error's short name, the line's `error` field), shown, paused for
  /// (backoff); a poll cycle under way ends as a failed run.
  boost::asio::awaitable<void> fail(connector_state& c, object_state& os, unsigned& failures, std::string why,
                                    run_meter& meter, bool resync, std::string code = {});
  /// One object of resync run `run` ended; the last one ends the run in the store.
  boost::asio::awaitable<void> end_resync(std::int64_t run, std::string outcome, std::string error);
  /// Counts a stored page of a running initial sync; its last page (`more` false) ends it with a log line
  /// ("initial sync of users done in 3.2 s") and the metric of its duration. Called under the context's lock.
  void note_initial_progress(connector_state& c, object_state& os, std::int64_t records,
                             std::optional<std::int64_t> total, bool more);
  /// Waits up to `d`, in short steps, returning early when woken (a resync request, a resume).
  boost::asio::awaitable<void> nap(object_state& os, std::chrono::milliseconds d);

  context& ctx_;
  pipeline& pipeline_;
};

}  // namespace omnisync::sync::detail
