#include "daemon/app/task_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <exception>
#include <list>

namespace asio = boost::asio;

namespace omnisync::app {

struct task_group::state {
  explicit state(asio::any_io_executor ex) : strand(asio::make_strand(ex)) {}
  asio::strand<asio::any_io_executor> strand;
  failure_handler on_failure;
  std::uint64_t next_id = 0;                                           // strand only
  std::map<std::uint64_t, std::unique_ptr<asio::cancellation_signal>> running;  // strand only
  std::list<asio::steady_timer*> waiters;                              // strand only
  std::atomic<std::size_t> count{0};
};

task_group::task_group(asio::any_io_executor ex, failure_handler on_failure)
    : state_(std::make_shared<state>(std::move(ex))) {
  state_->on_failure = std::move(on_failure);
}

task_group::~task_group() = default;

void task_group::spawn(std::string name, std::function<asio::awaitable<void>()> task) {
  state_->count.fetch_add(1);
  auto st = state_;
  asio::dispatch(st->strand, [st, name = std::move(name), task = std::move(task)]() mutable {
    auto id = st->next_id++;
    auto& sig = st->running[id];
    sig = std::make_unique<asio::cancellation_signal>();
    auto done = [st, id, name](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
          if (err.code() != asio::error::operation_aborted && st->on_failure) st->on_failure(name, err.what());
        } catch (const std::exception& err) {
          if (st->on_failure) st->on_failure(name, err.what());
        } catch (...) {
          if (st->on_failure) st->on_failure(name, "unknown exception");
        }
      }
      st->running.erase(id);
      if (st->count.fetch_sub(1) == 1)
        for (auto* w : st->waiters) w->cancel();
    };
    asio::co_spawn(st->strand, task(),
                   asio::bind_cancellation_slot(sig->slot(), asio::bind_executor(st->strand, std::move(done))));
  });
}

void task_group::cancel() {
  auto st = state_;
  asio::dispatch(st->strand, [st] {
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

}  // namespace omnisync::app
