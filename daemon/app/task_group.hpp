#pragma once
/// Owns the daemon's long-running coroutines (signal handling, watchdog, later the sync loops): every task is
/// started through `spawn`, can be cancelled as a group, and `wait_all` lets shutdown wait for the last one to
/// finish — so no coroutine outlives the objects it uses, and nothing runs `detached`.
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

class task_group {
 public:
  using failure_handler = std::function<void(const std::string& task, const std::string& what)>;

  /// `on_failure` is told when a task ends with an exception (cancellation ends no task with one here: tasks
  /// return on cancellation; an operation_aborted exception is not reported).
  task_group(boost::asio::any_io_executor ex, failure_handler on_failure);
  ~task_group();
  task_group(const task_group&) = delete;
  task_group& operator=(const task_group&) = delete;

  /// Starts `task` on the group's strand; `name` is used in failure reports.
  void spawn(std::string name, std::function<boost::asio::awaitable<void>()> task);
  /// Asks every running task to stop (terminal cancellation of the operation it awaits).
  void cancel();
  /// Waits until no task is left or `timeout` elapsed; true when all finished.
  boost::asio::awaitable<bool> wait_all(std::chrono::milliseconds timeout);
  /// Number of tasks still running.
  std::size_t size() const;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace omnisync::app
