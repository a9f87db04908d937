#pragma once
/// Test hooks that make the engine fail where no outside input can (the adapters turn every bad page into an
/// error result, and are fuzzed to keep it so): the integration tests use them to prove that a sync loop which
/// ends with an exception is restarted (supervise.hpp).
///
/// Off unless the environment variable OMNISYNC_TEST_FAILPOINTS names a file when the process starts; then, at
/// each check, the file is read and a line `<point> <connector> <object>` makes that check fire. Removing the
/// line (or the file) clears the fault. Points: `poll_throw` (the poller throws after reading a page of that
/// object, before storing it); `task_throw <task> -` (a task of the daemon's — a service, the signal or watchdog
/// loop, the paused-set follower — throws as it starts; the task's name with '_' for spaces, e.g.
/// `task_throw control_server -`); `history_load_hold - -` (the analytics index's load at start waits while it is
/// set). Thread safety: any thread; the file is read on every check while enabled.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace omnisync::sync::detail {

/// Whether failpoint `point` is set for `connector`/`object` (always false when failpoints are off).
bool failpoint_active(std::string_view point, std::string_view connector, std::string_view object);

/// `task` behind failpoint `task_throw <name> -`: while it is set, each run of the result throws as it starts.
std::function<boost::asio::awaitable<void>()> with_task_failpoint(std::string name,
                                                                 std::function<boost::asio::awaitable<void>()> task);

}  // namespace omnisync::sync::detail
