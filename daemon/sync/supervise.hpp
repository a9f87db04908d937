#pragma once
/// Keeps a sync loop alive: `supervise` runs a task until it returns or is cancelled, and when it ends with an
/// exception (a defect: runtime failures are results, not exceptions) starts it again after a pause from a
/// restart_policy — exponential, capped, jittered, reset after a healthy run — so one bad page cannot leave a
/// connector silently dead, and a task that fails at once every time never spins. Each restart is logged with the
/// task's name and the exception's text, counted in `omnisync_sync_task_restarts_total{connector}` (connector ""
/// for the engine's own loops) and shown in the connector's `status` (restarts, the last failure and when).
///
/// Lifecycle: one call per task, awaited by whoever owns the task (the daemon's task group); cancellation (an
/// operation_aborted exception, or the coroutine's cancellation state) ends it at once, also during a pause.
/// Thread safety: runs on the engine's executor; the connector's counters are updated under context::mu.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

#include "daemon/sync/context.hpp"
#include "daemon/sync/restart_policy.hpp"

namespace omnisync::sync::detail {

/// Runs `task` (named `name` in logs; `c` the connector it serves, or null) and restarts it after exceptions.
boost::asio::awaitable<void> supervise(context& ctx, std::string name, connector_state* c,
                                       std::function<boost::asio::awaitable<void>()> task);

}  // namespace omnisync::sync::detail
