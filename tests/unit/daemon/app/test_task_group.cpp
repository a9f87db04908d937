// The task group's failure policies, each given with spawn: `restart` runs the task again after a pause (and
// tells the handler each time), `stop_daemon` and `fail_operation` tell the handler with that policy and end the
// task; cancellation is no failure, and a cancelled group restarts nothing.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "daemon/app/task_group.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using omnisync::app::failure_policy;
using omnisync::app::task_group;

namespace {

struct report {
  std::string task, what;
  failure_policy policy;
};

/// Runs `ioc` until `done` or `limit` (wall clock) passed.
void run_until(asio::io_context& ioc, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    ioc.run_for(10ms);
    if (ioc.stopped()) ioc.restart();
  }
}

}  // namespace

TEST_CASE("task group: stop_daemon and fail_operation tasks end once, the handler told with the policy",
          "[unit][app]") {
  asio::io_context ioc;
  std::vector<report> seen;
  task_group g(ioc.get_executor(), [&](const std::string& t, failure_policy p, const std::string& w) {
    seen.push_back({t, w, p});
  });
  int runs = 0;
  g.spawn("svc", failure_policy::stop_daemon, [&]() -> asio::awaitable<void> {
    ++runs;
    throw std::runtime_error("svc broke");
    co_return;
  });
  g.spawn("job", failure_policy::fail_operation, [&]() -> asio::awaitable<void> {
    ++runs;
    throw std::runtime_error("job broke");
    co_return;
  });
  run_until(ioc, [&] { return g.size() == 0; }, 2s);
  REQUIRE(g.size() == 0);
  CHECK(runs == 2);
  REQUIRE(seen.size() == 2);
  for (const auto& r : seen) {
    if (r.task == "svc") {
      CHECK(r.policy == failure_policy::stop_daemon);
      CHECK(r.what == "svc broke");
    } else {
      CHECK(r.task == "job");
      CHECK(r.policy == failure_policy::fail_operation);
    }
  }
  CHECK(g.restarts() == 0);
  CHECK(std::string(omnisync::app::to_string(failure_policy::stop_daemon)) == "stop_daemon");
}

TEST_CASE("task group: a restart task runs again after a pause until it succeeds", "[unit][app]") {
  asio::io_context ioc;
  std::vector<report> seen;
  task_group g(ioc.get_executor(), [&](const std::string& t, failure_policy p, const std::string& w) {
    seen.push_back({t, w, p});
  });
  int runs = 0;
  std::vector<std::chrono::steady_clock::time_point> starts;
  g.spawn("loop", failure_policy::restart, [&]() -> asio::awaitable<void> {
    starts.push_back(std::chrono::steady_clock::now());
    if (++runs < 3) throw std::runtime_error("loop broke");
    co_return;
  });
  run_until(ioc, [&] { return g.size() == 0; }, 10s);
  REQUIRE(g.size() == 0);
  CHECK(runs == 3);
  CHECK(g.restarts() == 2);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].policy == failure_policy::restart);
  REQUIRE(starts.size() == 3);
  CHECK(starts[1] - starts[0] >= 900ms);  // 1 s, then 2 s: not a spin
  CHECK(starts[2] - starts[1] >= 1900ms);
}

TEST_CASE("task group: cancelling stops a task waiting to restart, cancellation is not a failure", "[unit][app]") {
  asio::io_context ioc;
  std::vector<report> seen;
  task_group g(ioc.get_executor(), [&](const std::string& t, failure_policy p, const std::string& w) {
    seen.push_back({t, w, p});
  });
  int runs = 0;
  g.spawn("loop", failure_policy::restart, [&]() -> asio::awaitable<void> {
    ++runs;
    throw std::runtime_error("always");
    co_return;
  });
  g.spawn("waiter", failure_policy::stop_daemon, [&]() -> asio::awaitable<void> {
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    co_await t.async_wait(asio::use_awaitable);  // throws operation_aborted when cancelled
  });
  run_until(ioc, [&] { return runs == 1 && seen.size() == 1; }, 2s);
  REQUIRE(runs == 1);
  g.cancel();
  bool all_done = false;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> { all_done = co_await g.wait_all(2s); }, asio::detached);
  run_until(ioc, [&] { return all_done; }, 3s);
  CHECK(all_done);
  CHECK(g.size() == 0);
  CHECK(runs == 1);        // the pending restart did not run
  CHECK(seen.size() == 1); // the waiter's operation_aborted is not reported
}
