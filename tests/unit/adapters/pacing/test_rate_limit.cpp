// Pacing primitives of the sync layer, with injected time: backoff bounds and Retry-After, call windows as
// the vendors' rolling windows, and Salesforce's daily budget with headroom.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "adapters/pacing/rate_limit.hpp"

using namespace omnisync::adapters::pacing;
using namespace std::chrono_literals;
using omnisync::errc;

TEST_CASE("backoff: full jitter within base·2^n, capped, never below Retry-After", "[sync]") {
  backoff b(100ms, 5s, 7);
  for (unsigned attempt = 0; attempt < 12; ++attempt) {
    auto cap = std::min<long long>(100LL << std::min(attempt, 20u), 5000);
    for (int i = 0; i < 50; ++i) {
      auto d = b.delay(attempt);
      CHECK(d.count() >= 0);
      CHECK(d.count() <= cap);
    }
  }
  CHECK(b.delay(0, 30s) == 30s);         // the server's Retry-After wins
  CHECK(b.delay(1000).count() <= 5000);  // huge attempt numbers saturate, no overflow
  // Jitter: not every delay is the same.
  std::set<long long> seen;
  for (int i = 0; i < 20; ++i) seen.insert(b.delay(5).count());
  CHECK(seen.size() > 5);
}

TEST_CASE("Retry-After parsing", "[sync]") {
  CHECK(parse_retry_after("120") == 120s);
  CHECK(parse_retry_after(" 3 ") == 3s);
  CHECK(parse_retry_after("0") == 0s);
  CHECK_FALSE(parse_retry_after("soon").has_value());
  CHECK_FALSE(parse_retry_after("-1").has_value());
  CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT").has_value());
  CHECK(parse_retry_after("99999999") == milliseconds(24LL * 3600 * 1000));  // bounded
}

TEST_CASE("should_retry follows the error class and the attempt budget", "[sync]") {
  CHECK(should_retry(omnisync::make_error_code(errc::retry), 0, 5));
  CHECK(should_retry(omnisync::make_error_code(errc::rate_limited), 3, 5));
  CHECK(should_retry(omnisync::make_error_code(errc::timeout), 0, 5));
  CHECK_FALSE(should_retry(omnisync::make_error_code(errc::retry), 4, 5));
  CHECK_FALSE(should_retry(omnisync::make_error_code(errc::invalid_input), 0, 5));
  CHECK_FALSE(should_retry(omnisync::make_error_code(errc::fail), 0, 5));
  CHECK_FALSE(should_retry(omnisync::make_error_code(errc::auth_expired), 0, 5));
}

TEST_CASE("call window: HubSpot's 190 calls per 10 s, never more in any 10 s", "[sync]") {
  auto t0 = clock_type::time_point{} + 1h;
  call_window b(190, 10s);
  int taken = 0;
  while (b.try_take(t0)) ++taken;
  CHECK(taken == 190);
  // A token bucket would let the 191st through after 10 s / 190: the window waits for the first call to leave
  // (10 s and the 2 % guard).
  CHECK(b.wait_for(t0) == 10200ms);
  CHECK_FALSE(b.try_take(t0 + 53ms));
  CHECK_FALSE(b.try_take(t0 + 10199ms));
  CHECK(b.try_take(t0 + 10200ms));
  CHECK(b.available(t0 + 30s) == Approx(190));  // empty again, not beyond capacity
}

TEST_CASE("call window: Zendesk's 10 exports per minute hold in every minute, however the calls are spread",
          "[sync]") {
  // Calls taken as soon as the window allows, over 5 minutes: every 60 s span (wherever it starts) holds at
  // most 10 of them, and the window lets through all it may (50 in 5 minutes, less the guard).
  auto t0 = clock_type::time_point{} + 1h;
  call_window b(10, 60s);
  std::vector<clock_type::time_point> sent;
  for (auto now = t0; now < t0 + 5min; now += 100ms)
    while (b.try_take(now)) sent.push_back(now);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    std::size_t in_minute = 0;
    for (std::size_t j = i; j < sent.size() && sent[j] < sent[i] + 60s; ++j) ++in_minute;
    CHECK(in_minute <= 10);
  }
  CHECK(sent.size() >= 40);
  // Spread calls count alike: one call every 5 s fills the window after 10, the 11th waits for the first to age.
  call_window spread(10, 60s);
  for (int k = 0; k < 10; ++k) REQUIRE(spread.try_take(t0 + k * 5s));
  CHECK_FALSE(spread.try_take(t0 + 50s));
  CHECK(spread.wait_for(t0 + 50s) == 11200ms);  // t0 + 61.2 s
}

TEST_CASE("call window: a 429 blocks it for the server's pause", "[sync]") {
  auto t0 = clock_type::time_point{} + 1h;
  call_window b(5, 1s);
  b.drain(t0, 3s);
  CHECK_FALSE(b.try_take(t0 + 2s));
  CHECK(b.wait_for(t0 + 2s) == 1000ms);
  CHECK(b.available(t0 + 2s) == 0);
  CHECK(b.try_take(t0 + 3s + 200ms));
}

TEST_CASE("call window: a fractional capacity rounds down, never to zero", "[sync]") {
  auto t0 = clock_type::time_point{} + 1h;
  call_window b(2.9, 1s);
  CHECK(b.try_take(t0));
  CHECK(b.try_take(t0));
  CHECK_FALSE(b.try_take(t0));
  call_window one(0.2, 1s);
  CHECK(one.try_take(t0));
  CHECK_FALSE(one.try_take(t0));
}

TEST_CASE("daily budget: Sforce-Limit-Info with 40 % headroom", "[sync]") {
  daily_budget d(0.6);
  CHECK_FALSE(d.exhausted());  // nothing known yet
  d.observe("api-usage=18/15000");
  CHECK(d.used() == 18);
  CHECK(d.limit() == 15000);
  CHECK_FALSE(d.exhausted());
  d.observe("api-usage=8999/15000");
  CHECK_FALSE(d.exhausted());
  d.count_call();
  CHECK(d.exhausted());  // 9000 = 60 % of 15000
  d.observe("garbage");
  CHECK(d.used() == 9000);  // unparsable values change nothing
  d.observe("per-app-api-usage=1/10, api-usage=100/15000");
  CHECK(d.used() == 100);
  CHECK(d.used_fraction() == Approx(100.0 / 15000));
}
