#include "core/clock.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace asio = boost::asio;

namespace omnisync {
namespace {

class system_clock_impl final : public clock {
 public:
  timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }
  steady_point steady_now() const override { return std::chrono::steady_clock::now(); }
  asio::awaitable<void> sleep_for(std::chrono::milliseconds d) override {
    asio::steady_timer t(co_await asio::this_coro::executor, std::max(d, std::chrono::milliseconds(0)));
    co_await t.async_wait(asio::use_awaitable);
  }
};

}  // namespace

clock& real_clock() {
  static system_clock_impl c;
  return c;
}

// A sleeper waits on a channel of capacity 1: advance() sends into it from any thread (concurrent_channel is
// thread-safe), and a send that comes before the receive is kept, so no wake-up is lost. The channel belongs to its
// executor's io_context (its service's mutex): a sleeper still waiting is destroyed with the clock, so the
// io_context must outlive the clock (declared before it; ThreadSanitizer reports a destroyed mutex otherwise).
struct manual_clock::sleeper {
  sleeper(asio::any_io_executor ex, std::chrono::milliseconds at) : due(at), ch(std::move(ex), 1) {}
  std::chrono::milliseconds due;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> ch;
};

manual_clock::manual_clock(timestamp start) : start_(start) {}
manual_clock::~manual_clock() = default;

timestamp manual_clock::now() const {
  std::lock_guard lk(mu_);
  return start_ + elapsed_;
}

clock::steady_point manual_clock::steady_now() const {
  std::lock_guard lk(mu_);
  return steady_point(elapsed_);
}

asio::awaitable<void> manual_clock::sleep_for(std::chrono::milliseconds d) {
  if (d.count() <= 0) co_return;
  auto ex = co_await asio::this_coro::executor;
  std::shared_ptr<sleeper> s;
  {
    std::lock_guard lk(mu_);
    s = std::make_shared<sleeper>(std::move(ex), elapsed_ + d);
    sleepers_.push_back(s);
  }
  auto [ec] = co_await s->ch.async_receive(asio::as_tuple(asio::use_awaitable));
  {
    std::lock_guard lk(mu_);
    std::erase(sleepers_, s);
  }
  if (ec == asio::error::operation_aborted || ec == asio::experimental::error::channel_cancelled)
    throw boost::system::system_error(asio::error::operation_aborted);
}

void manual_clock::advance(std::chrono::milliseconds d) {
  std::vector<std::shared_ptr<sleeper>> due;
  {
    std::lock_guard lk(mu_);
    elapsed_ += d;
    for (const auto& s : sleepers_)
      if (s->due <= elapsed_) due.push_back(s);
  }
  for (const auto& s : due) s->ch.try_send(boost::system::error_code());
}

std::size_t manual_clock::sleepers() const {
  std::lock_guard lk(mu_);
  return sleepers_.size();
}

}  // namespace omnisync
