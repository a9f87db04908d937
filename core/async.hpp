#pragma once
/// Two small coroutine primitives the sync pipeline uses; header-only, on Asio's thread-safe channels.
///
/// - `turnstile`: coroutines take turns through a section that contains co_awaits (an async mutex, FIFO).
/// - `doorbell`: a loop that otherwise looks at its queue every so often waits on it; `notify()` (any thread,
///   never blocks) ends the current or next wait at once.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <utility>

#include "core/clock.hpp"

namespace omnisync {

/// An async mutex: `auto t = co_await turn.acquire();` holds the turn until `t` is destroyed or released.
class turnstile {
 public:
  explicit turnstile(boost::asio::any_io_executor ex) : ch_(std::move(ex), 1) {}
  class ticket {
   public:
    explicit ticket(turnstile* t) : t_(t) {}
    ticket(ticket&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() { release(); }
    void release() {
      if (t_) std::exchange(t_, nullptr)->ch_.try_receive([](boost::system::error_code) {});
    }

   private:
    turnstile* t_;
  };
  boost::asio::awaitable<ticket> acquire() {
    co_await ch_.async_send(boost::system::error_code(), boost::asio::use_awaitable);
    co_return ticket(this);
  }

 private:
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> ch_;
};

/// A wake-up for a loop: wait(at_most) returns after `at_most` on `clk`, or as soon as notify() was called (a
/// notify with nobody waiting is kept for the next wait).
class doorbell {
 public:
  explicit doorbell(boost::asio::any_io_executor ex) : ch_(std::move(ex), 1) {}
  void notify() { ch_.try_send(boost::system::error_code()); }
  boost::asio::awaitable<void> wait(clock& clk, std::chrono::milliseconds at_most) {
    using namespace boost::asio::experimental::awaitable_operators;
    co_await (ch_.async_receive(boost::asio::as_tuple(boost::asio::use_awaitable)) || clk.sleep_for(at_most));
  }

 private:
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code)> ch_;
};

}  // namespace omnisync
