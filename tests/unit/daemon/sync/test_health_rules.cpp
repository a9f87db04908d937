// The pure rules behind connector health: how a health reads, the /readyz rule, and lag as freshness.
#include <catch2/catch.hpp>

#include "core/health.hpp"
#include "daemon/sync/status.hpp"

using namespace std::chrono_literals;
using omnisync::connector_health;
using omnisync::health_state;
using omnisync::sync::connector_health_row;

namespace {

connector_health make(health_state s, std::string detail = {}) {
  connector_health h;
  h.state = s;
  h.detail = std::move(detail);
  return h;
}

}  // namespace

TEST_CASE("health: each state reads as one line with the cause", "[sync][health]") {
  CHECK(omnisync::health_text(make(health_state::ok)) == "ok");
  CHECK(omnisync::health_text(make(health_state::degraded, "429s: waiting 30 s")) == "degraded (429s: waiting 30 s)");
  CHECK(omnisync::health_text(make(health_state::unauthorized, "Couldn't authenticate you")) ==
        "unauthorized: Couldn't authenticate you");
  CHECK(omnisync::health_text(make(health_state::unreachable, "TLS certificate verify failed for 127.0.0.1:1")) ==
        "unreachable: TLS certificate verify failed for 127.0.0.1:1");
  auto q = make(health_state::quota_exhausted);
  q.until = std::chrono::sys_days(std::chrono::year(2026) / 12 / 7);
  CHECK(omnisync::health_text(q) == "quota exhausted until 2026-12-07T00:00:00Z");
  CHECK(omnisync::health_name(health_state::quota_exhausted) == "quota_exhausted");
}

TEST_CASE("readyz rule: not ready only while every connector not paused is unauthorized or unreachable",
          "[sync][health]") {
  using omnisync::sync::readiness_problem;
  CHECK(readiness_problem({}).empty());
  const auto bad = make(health_state::unauthorized, "Couldn't authenticate you");
  const auto down = make(health_state::unreachable, "cannot connect to h:1: Connection refused");
  CHECK(readiness_problem({{"zd", false, bad}}) == "every connector is failing: zd unauthorized: Couldn't authenticate you");
  CHECK(readiness_problem({{"zd", false, bad}, {"hs", false, down}}).starts_with("every connector is failing: zd "));
  // One working connector keeps the daemon ready; so do waiting states and connectors not called yet.
  CHECK(readiness_problem({{"zd", false, bad}, {"hs", false, make(health_state::ok)}}).empty());
  CHECK(readiness_problem({{"zd", false, bad}, {"hs", false, make(health_state::degraded, "429s")}}).empty());
  CHECK(readiness_problem({{"zd", false, bad}, {"hs", false, make(health_state::unknown)}}).empty());
  // Paused connectors do not count; all paused is the operator's choice, not a failure.
  CHECK(readiness_problem({{"zd", false, bad}, {"hs", true, make(health_state::ok)}}).starts_with("every connector"));
  CHECK(readiness_problem({{"zd", true, bad}}).empty());
}

TEST_CASE("lag: the time since the last caught-up poll plus settle_lag, never the age of the newest record",
          "[sync][health]") {
  using omnisync::sync::freshness_lag;
  omnisync::sync::object_status st;
  const omnisync::timestamp now = omnisync::timestamp(std::chrono::milliseconds(1'000'000'000));
  CHECK_FALSE(freshness_lag(st, 0ms, now));  // the poll loop did not run yet
  st.polling_since = now - 5000ms;
  CHECK(freshness_lag(st, 0ms, now) == 5000ms);  // never caught up: since the loop started
  // A record last changed 339 days ago, read by a poll 300 ms ago that found nothing more.
  st.newest_source_update = now - std::chrono::hours(24 * 339);
  st.last_caught_up = now - 300ms;
  CHECK(freshness_lag(st, 0ms, now) == 300ms);
  CHECK(freshness_lag(st, 15000ms, now) == 15300ms);
}

TEST_CASE("event_rate: events of the last minute, older buckets forgotten", "[engine]") {
  using omnisync::sync::event_rate;
  const auto t0 = omnisync::store::timestamp(std::chrono::milliseconds(1'700'000'000'000));
  event_rate r;
  CHECK(r.per_minute(t0) == 0);
  r.add(t0, 3);
  r.add(t0 + std::chrono::seconds(25), 2);
  CHECK(r.per_minute(t0 + std::chrono::seconds(30)) == 5);
  CHECK(r.per_minute(t0 + std::chrono::seconds(65)) == 2);   // the first bucket left the window
  CHECK(r.per_minute(t0 + std::chrono::minutes(5)) == 0);
  r.add(t0 + std::chrono::minutes(5));
  CHECK(r.per_minute(t0 + std::chrono::minutes(5)) == 1);
}
