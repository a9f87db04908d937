#include "daemon/app/task_group.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <list>

namespace asio = boost::asio;

namespace omnisync::app {

const char* to_string(failure_policy p) noexcept {
  switch (p) {
    case failure_policy::restart: return "restart";
    case failure_policy::stop_daemon: return "stop_daemon";
    case failure_policy::fail_operation: return "fail_operation";
  }
  return "?";
}

namespace {

using task_fn = std::function<asio::awaitable<void>()>;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds first_pause = 1000ms;  // before the first restart
constexpr std::chrono::milliseconds max_pause = 30000ms;   // doubled per failure in a row up to this
constexpr std::chrono::milliseconds healthy_run = 60000ms; // a run this long starts the backoff over

/// The task after `pause` (none for a first start); a cancelled pause ends it without running the task.
asio::awaitable<void> after_pause(task_fn task, std::chrono::milliseconds pause) {
  if (pause.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, pause);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
  co_await task();
}

}  // namespace

struct task_group::state {
  explicit state(asio::any_io_executor ex) : strand(asio::make_strand(ex)) {}
  asio::strand<asio::any_io_executor> strand;
  failure_handler on_failure;
  std::uint64_t next_id = 0;                                           // strand only
  std::map<std::uint64_t, std::unique_ptr<asio::cancellation_signal>> running;  // strand only
  std::list<asio::steady_timer*> waiters;                              // strand only
  bool cancelled = false;                                              // strand only: cancel() ran
  std::atomic<std::size_t> count{0};
  std::atomic<std::size_t> restarts{0};

  /// Starts one run of a task (on the strand); `pause` before it (a restart), 0 for the first.
  static void launch(const std::shared_ptr<state>& st, std::string name, failure_policy policy, task_fn task,
                     std::chrono::milliseconds pause) {
    auto id = st->next_id++;
    auto& sig = st->running[id];
    sig = std::make_unique<asio::cancellation_signal>();
    const auto started = std::chrono::steady_clock::now() + pause;
    auto done = [st, id, name, policy, task, pause, started](std::exception_ptr e) {
      std::string what;
      bool failed = false;
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
          failed = err.code() != asio::error::operation_aborted;
          what = err.what();
        } catch (const std::exception& err) {
          failed = true;
          what = err.what();
        } catch (...) {
          failed = true;
          what = "unknown exception";
        }
      }
      st->running.erase(id);
      if (failed && st->on_failure) st->on_failure(name, policy, what);
      if (failed && policy == failure_policy::restart && !st->cancelled) {
        // Restarted in place: the task still counts as running, so wait_all waits for it.
        const bool healthy = std::chrono::steady_clock::now() - started >= healthy_run;
        const auto next = healthy || pause.count() == 0 ? first_pause : std::min(pause * 2, max_pause);
        st->restarts.fetch_add(1);
        launch(st, name, policy, task, next);
        return;
      }
      if (st->count.fetch_sub(1) == 1)
        for (auto* w : st->waiters) w->cancel();
    };
    asio::co_spawn(st->strand, after_pause(task, pause),
                   asio::bind_cancellation_slot(sig->slot(), asio::bind_executor(st->strand, std::move(done))));
  }
};

task_group::task_group(asio::any_io_executor ex, failure_handler on_failure)
    : state_(std::make_shared<state>(std::move(ex))) {
  state_->on_failure = std::move(on_failure);
}

task_group::~task_group() = default;

void task_group::spawn(std::string name, failure_policy policy, std::function<asio::awaitable<void>()> task) {
  state_->count.fetch_add(1);
  auto st = state_;
  asio::dispatch(st->strand, [st, name = std::move(name), policy, task = std::move(task)]() mutable {
    state::launch(st, std::move(name), policy, std::move(task), std::chrono::milliseconds(0));
  });
}

void task_group::cancel() {
  auto st = state_;
  asio::dispatch(st->strand, [st] {
    st->cancelled = true;
    for (auto& [id, sig] : st->running) sig->emit(asio::cancellation_type::terminal);
  });
}

asio::awaitable<bool> task_group::wait_all(std::chrono::milliseconds timeout) {
  auto st = state_;
  // The waiting itself runs on the strand, where the bookkeeping lives.
  auto on_strand = [](std::shared_ptr<state> st, std::chrono::milliseconds timeout) -> asio::awaitable<bool> {
    if (st->count.load() == 0) co_return true;
    asio::steady_timer timer(st->strand, timeout);
    auto it = st->waiters.insert(st->waiters.end(), &timer);
    try {
      co_await timer.async_wait(asio::use_awaitable);
    } catch (const boost::system::system_error&) {
      // cancelled: the last task finished
    }
    st->waiters.erase(it);
    co_return st->count.load() == 0;
  };
  co_return co_await asio::co_spawn(st->strand, on_strand(st, timeout), asio::use_awaitable);
}

std::size_t task_group::size() const { return state_->count.load(); }

std::size_t task_group::restarts() const { return state_->restarts.load(); }

}  // namespace omnisync::app
