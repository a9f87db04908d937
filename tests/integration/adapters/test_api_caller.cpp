// api_caller against a real HTTP server (the simulator's admin API): pacing by call windows, one place per call.
#include <catch2/catch.hpp>

#include <thread>

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
  api.set_bucket("", 4, 1000ms);          // 4 in any second
  api.set_bucket("search", 2, 1000ms);    // 2 in any second
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
  // 8 calls at 4 per second: the last 4 wait until the first 4 leave the window, ~1 s in all (2 s if each took
  // two places).
  auto plain = run(8, {});
  CHECK(plain >= 800ms);
  CHECK(plain < 1700ms);
  // Once the default window is empty again, the named one is the tighter: 4 calls at 2 per second: ~1 s.
  std::this_thread::sleep_for(1100ms);
  auto searched = run(4, "search");
  CHECK(searched >= 800ms);
  CHECK(searched < 1900ms);
  CHECK(api.calls() == 12);
}

namespace {

using omnisync::health_state;
using omnisync::adapters::pacing::api_caller;

/// One call to `url` through `api` on `ioc`; the result.
omnisync::result<omnisync::http::response> call_once(asio::io_context& ioc, api_caller& api, const std::string& url) {
  auto f = asio::co_spawn(ioc, [&]() -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    omnisync::http::request req;
    req.url = url;
    req.headers.push_back({"Authorization", "Basic b3BzQGV4YW1wbGUuY29tL3Rva2VuOnpk"});  // ops@example.com/token:zd
    co_return co_await api.call(req);
  }, asio::use_future);
  ioc.restart();
  ioc.run();
  return f.get();
}

}  // namespace

TEST_CASE("api_caller: the connector's health carries the vendor's words", "[sync][health]") {
  omnisync::test::sim::running_sim sim;
  asio::io_context ioc;
  omnisync::adapters::pacing::call_policy one_try;
  one_try.max_attempts = 1;
  api_caller api(ioc.get_executor(), "zd", omnisync::http::client_options{}, one_try);
  CHECK((api.health().state == health_state::unknown));
  const std::string users = sim.url("zendesk") + "/api/v2/users.json";

  // A 401 with Zendesk's body: unauthorized, in Zendesk's words (not "authentication expired").
  sim.admin("POST", "/admin/faults",
            R"({"service":"zendesk","kind":"status","status":401,"count":1,"path_glob":"/api/v2/users*",)"
            R"("body":"{\"error\":\"Couldn't authenticate you\"}"})");
  auto r = call_once(ioc, api, users);
  CHECK((!r && r.error() == omnisync::errc::auth_expired));
  CHECK((api.health().state == health_state::unauthorized));
  CHECK(omnisync::health_text(api.health()) == "unauthorized: Couldn't authenticate you");

  // A 429 with Retry-After: degraded, with the wait.
  sim.admin("POST", "/admin/faults",
            R"({"service":"zendesk","kind":"rate_limit","retry_after":30,"count":1,"path_glob":"/api/v2/users*"})");
  r = call_once(ioc, api, users);
  CHECK((!r && r.error() == omnisync::errc::rate_limited));
  CHECK(omnisync::health_text(api.health()) == "degraded (429s: waiting 30 s)");

  // An ordinary answer: ok again.
  r = call_once(ioc, api, users);
  REQUIRE(r.has_value());
  CHECK((api.health().state == health_state::ok));
  CHECK(omnisync::health_text(api.health()) == "ok");
}

TEST_CASE("api_caller: no answer makes the connector unreachable, naming host, port and cause", "[sync][health]") {
  omnisync::test::sim::running_sim sim;
  asio::io_context ioc;
  omnisync::adapters::pacing::call_policy one_try;
  one_try.max_attempts = 1;
  // The simulator's HTTPS without its CA: the certificate is refused.
  api_caller untrusted(ioc.get_executor(), "zd", omnisync::http::client_options{}, one_try);
  auto r = call_once(ioc, untrusted, sim.url("zendesk", "https") + "/api/v2/users.json");
  CHECK_FALSE(r.has_value());
  const auto h = untrusted.health();
  INFO(omnisync::health_text(h));
  CHECK((h.state == health_state::unreachable));
  CHECK(omnisync::health_text(h).starts_with("unreachable: TLS certificate verify failed for 127.0.0.1:"));
  CHECK(omnisync::health_failing(h));

  // A port nobody listens on.
  api_caller refused(ioc.get_executor(), "zd", omnisync::http::client_options{}, one_try);
  r = call_once(ioc, refused, "http://127.0.0.1:1/api/v2/users.json");
  CHECK_FALSE(r.has_value());
  CHECK(omnisync::health_text(refused.health()).starts_with("unreachable: cannot connect to 127.0.0.1:1: "));
}

TEST_CASE("answer_message: the vendor's words from each vendor's error shape", "[sync][health]") {
  using omnisync::adapters::pacing::answer_message;
  auto msg = [](int status, std::string body) {
    omnisync::http::response r;
    r.status = status;
    r.body = std::move(body);
    return answer_message(r);
  };
  CHECK(msg(401, R"({"error":"Couldn't authenticate you"})") == "Couldn't authenticate you");
  CHECK(msg(401, R"({"error":"Couldn't authenticate you","description":"Missing or invalid credentials"})") ==
        "Couldn't authenticate you (Missing or invalid credentials)");
  CHECK(msg(400, R"({"error":"invalid_grant","error_description":"authentication failure"})") ==
        "invalid_grant (authentication failure)");
  CHECK(msg(401, R"({"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"})") ==
        "Authentication credentials not found.");
  CHECK(msg(401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])") ==
        "INVALID_SESSION_ID: Session expired or invalid");
  CHECK(msg(401, R"({"type":"error.list","errors":[{"code":"unauthorized","message":"Access Token Invalid"}]})") ==
        "unauthorized: Access Token Invalid");
  CHECK(msg(401, R"({"error":{"title":"Forbidden","message":"You do not have access"}})") == "You do not have access");
  CHECK(msg(503, "Service Unavailable\nmore") == "Service Unavailable");
  CHECK(msg(401, "") == "HTTP 401");
}
