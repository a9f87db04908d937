// core/clock.hpp: the manual clock that engine tests run on — time moves only when told, sleepers wake exactly
// when their deadline is reached, a wake-up is never lost, and a sleep raced with something else is cancelled.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>

#include "core/async.hpp"
#include "core/clock.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("manual clock: time stands still until advanced, sleepers wake at their deadline", "[clock]") {
  asio::io_context ioc;  // outlives the clock: a sleeper left waiting is destroyed with the clock (clock.hpp)
  omnisync::manual_clock clk;
  const auto t0 = clk.now();
  const auto s0 = clk.steady_now();
  int woke = 0;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    co_await clk.sleep_for(100ms);
    ++woke;
    co_await clk.sleep_for(50ms);
    ++woke;
  }, asio::detached);
  ioc.poll();
  CHECK(clk.sleepers() == 1);
  CHECK(clk.now() == t0);
  clk.advance(99ms);
  ioc.poll();
  CHECK(woke == 0);
  clk.advance(1ms);
  ioc.poll();
  CHECK(woke == 1);
  CHECK(clk.now() == t0 + 100ms);
  CHECK(clk.steady_now() - s0 == 100ms);
  clk.advance(1s);  // past the second deadline at once
  ioc.poll();
  CHECK(woke == 2);
  CHECK(clk.sleepers() == 0);
}

TEST_CASE("manual clock: an advance before the sleeper waits is not lost, and zero sleeps return at once", "[clock]") {
  asio::io_context ioc;
  omnisync::manual_clock clk;
  std::atomic<int> woke{0};
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    co_await clk.sleep_for(0ms);
    co_await clk.sleep_for(10ms);
    ++woke;
  }, asio::detached);
  ioc.run_one();       // runs until the coroutine registered its sleep
  clk.advance(10ms);   // sends before the receive completes
  ioc.poll();
  CHECK(woke == 1);
}

TEST_CASE("doorbell: a ring ends the wait at once, and without one the wait ends after its time on the clock", "[clock]") {
  asio::io_context ioc;
  omnisync::manual_clock clk;
  omnisync::doorbell bell(ioc.get_executor());
  int waits = 0;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    co_await bell.wait(clk, 1s);
    ++waits;
    co_await bell.wait(clk, 1s);
    ++waits;
  }, asio::detached);
  ioc.poll();
  CHECK(waits == 0);
  bell.notify();
  ioc.poll();
  CHECK(waits == 1);
  CHECK(clk.sleepers() == 1);  // the second wait; the first one's sleep was cancelled and is gone
  clk.advance(999ms);
  ioc.poll();
  CHECK(waits == 1);
  clk.advance(1ms);
  ioc.poll();
  CHECK(waits == 2);
}
