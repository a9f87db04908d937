#pragma once
/// Owns the daemon's long-running coroutines (services, signal handling, watchdog, the sync loops, one-off jobs):
/// every task is started through `spawn`, can be cancelled as a group, and `wait_all` lets shutdown wait for the
/// last one to finish — so no coroutine outlives the objects it uses, and nothing runs `detached`.
///
/// What an exception that ends a task does is the task's failure policy, given with `spawn` (not derived from its
/// name, so it cannot drift from what the task is): restarted after a pause, the daemon stopped, or only this
/// operation failed. The group's handler is told in every case; restarting is the group's own work.
///
/// Threading: the group's bookkeeping and its tasks run on one strand of the given executor, so cancellation
/// (which Asio requires to be emitted where the operation runs) is race-free. Tasks that need real CPU post
/// their work elsewhere. `spawn`, `cancel` and `wait_all` may be called from any thread.
/// Lifecycle: destroy the group only after `wait_all` returned true or the io_context stopped.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace omnisync::app {

/// What an exception that ends a task does (cancellation never counts as a failure).
enum class failure_policy {
  /// The group starts the task again after a pause: 1 s, doubled per failure in a row up to 30 s, back to 1 s
  /// after a run of a minute. For loops that must not stay dead (the sync loops, which also supervise themselves).
  restart,
  /// The daemon cannot run without the task (a service: control socket, listeners; the signal and watchdog
  /// loops): the handler stops the daemon with exit 1, so that systemd restarts it whole.
  stop_daemon,
  /// A one-off operation (a reload, a command's job, a reload's lint): only it fails; its caller sees that.
  fail_operation,
};

/// The policy's name in logs and tests: "restart", "stop_daemon", "fail_operation".
const char* to_string(failure_policy p) noexcept;

class task_group {
 public:
  using failure_handler =
      std::function<void(const std::string& task, failure_policy policy, const std::string& what)>;

  /// `on_failure` is told when a task ends with an exception, with the task's policy (cancellation ends no task
  /// with one here: tasks return on cancellation; an operation_aborted exception is not reported). For a task
  /// that is restarted it is told before the restart.
  task_group(boost::asio::any_io_executor ex, failure_handler on_failure);
  ~task_group();
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  /// Starts `task` on the group's strand; `name` is used in failure reports, `policy` says what an exception does.
  void spawn(std::string name, failure_policy policy, std::function<boost::asio::awaitable<void>()> task);
  /// Asks every running task to stop (terminal cancellation of the operation it awaits); none is restarted after.
  void cancel();
  /// Waits until no task is left or `timeout` elapsed; true when all finished.
  boost::asio::awaitable<bool> wait_all(std::chrono::milliseconds timeout);
  /// Number of tasks still running (a task waiting to be restarted counts).
  std::size_t size() const;
  /// Restarts so far of tasks with the `restart` policy (any thread).
  std::size_t restarts() const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace omnisync::app
