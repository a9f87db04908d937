// api_caller against a real HTTP server (the simulator's admin API): pacing by buckets, one token per call.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "adapters/pacing/api_call.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("api_caller: a call takes one token from the default bucket and one from its named bucket", "[sync]") {
  omnisync::test::sim::running_sim sim;
  asio::io_context ioc;
  omnisync::adapters::pacing::api_caller api(ioc.get_executor(), "t", omnisync::http::client_options{});
  api.set_bucket("", 4, 1000ms);          // 4 per second, starts full
  api.set_bucket("search", 2, 1000ms);    // 2 per second, starts full
  auto run = [&](int n, std::string_view bucket) {
    auto started = std::chrono::steady_clock::now();
    auto f = asio::co_spawn(ioc, [&]() -> asio::awaitable<int> {
      int ok = 0;
      for (int i = 0; i < n; ++i) {
        omnisync::http::request req;
        req.url = sim.admin_url() + "/admin/counts";
        omnisync::adapters::pacing::call_options o;
        o.bucket = bucket;
        auto r = co_await api.call(req, o);
        if (r && r->status == 200) ++ok;
      }
      co_return ok;
    }, asio::use_future);
    ioc.restart();
    ioc.run();
    CHECK(f.get() == n);
    return std::chrono::steady_clock::now() - started;
  };
  // 8 calls at 4 per second with 4 in the bucket: the last 4 wait ~1 s in all (2 s if each took two tokens).
  auto plain = run(8, {});
  CHECK(plain >= 800ms);
  CHECK(plain < 1700ms);
  // The named bucket is the tighter one: 4 calls at 2 per second, 2 in the bucket: ~1 s.
  auto searched = run(4, "search");
  CHECK(searched >= 800ms);
  CHECK(searched < 1900ms);
  CHECK(api.calls() == 12);
}
