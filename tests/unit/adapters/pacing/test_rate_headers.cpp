// The vendors' rate-limit headers read into one shape: each family as its docs show it, odd values ignored.
#include <catch2/catch.hpp>

#include "adapters/pacing/rate_headers.hpp"

using namespace omnisync;
using namespace omnisync::adapters;

namespace {

http::response answer(std::vector<http::header> headers) {
  http::response r;
  r.status = 200;
  r.headers = std::move(headers);
  return r;
}

const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));

}  // namespace

TEST_CASE("rate headers: Salesforce Sforce-Limit-Info, the org entry (not per-app)", "[pacing]") {
  auto got = pacing::read_rate_headers(
      answer({{"Sforce-Limit-Info", "per-app-api-usage=17/250(appName=sample-app), api-usage=18/5000"}}), now);
  REQUIRE(got.size() == 1);
  CHECK(got[0].name == "daily");
  CHECK(got[0].used == 18);
  CHECK(got[0].limit == 5000);
  CHECK(got[0].remaining == 4982);
  CHECK(got[0].window_ms == 86'400'000);
  CHECK(got[0].vendor_words.find("api-usage=18/5000") != std::string::npos);
  CHECK(pacing::read_rate_headers(answer({{"Sforce-Limit-Info", "api-usage=x/5000"}}), now).empty());
}

TEST_CASE("rate headers: HubSpot daily, rolling window and secondly limits", "[pacing]") {
  auto got = pacing::read_rate_headers(answer({{"X-HubSpot-RateLimit-Daily", "250000"},
                                                {"X-HubSpot-RateLimit-Daily-Remaining", "249990"},
                                                {"X-HubSpot-RateLimit-Interval-Milliseconds", "10000"},
                                                {"X-HubSpot-RateLimit-Max", "190"},
                                                {"X-HubSpot-RateLimit-Remaining", "185"},
                                                {"X-HubSpot-RateLimit-Secondly", "19"},
                                                {"X-HubSpot-RateLimit-Secondly-Remaining", "18"}}),
                                       now);
  REQUIRE(got.size() == 3);
  CHECK(got[0].name == "daily");
  CHECK(got[0].used == 10);
  CHECK(got[1].name == "rolling");
  CHECK(got[1].limit == 190);
  CHECK(got[1].remaining == 185);
  CHECK(got[1].window_ms == 10000);
  CHECK(got[1].vendor_words.find("Interval-Milliseconds: 10000") != std::string::npos);
  CHECK(got[2].name == "secondly");
  CHECK(got[2].window_ms == 1000);
}

TEST_CASE("rate headers: Zendesk per minute and an endpoint's own limit", "[pacing]") {
  auto got = pacing::read_rate_headers(
      answer({{"X-Rate-Limit", "700"},
              {"X-Rate-Limit-Remaining", "699"},
              {"Zendesk-RateLimit-incremental-exports-cursor", "total=20; remaining=19; resets=44"}}),
      now);
  REQUIRE(got.size() == 2);
  CHECK(got[0].name == "per_minute");
  CHECK(got[0].used == 1);
  CHECK(got[1].name == "incremental-exports-cursor");
  CHECK(got[1].limit == 20);
  CHECK(got[1].remaining == 19);
  CHECK(got[1].resets_in_ms == 44000);
}

TEST_CASE("rate headers: ActiveCampaign per second, Intercom per minute with a Unix reset", "[pacing]") {
  auto ac = pacing::read_rate_headers(answer({{"RateLimit-Limit", "5"}, {"RateLimit-Remaining", "3"}}), now);
  REQUIRE(ac.size() == 1);
  CHECK(ac[0].name == "per_second");
  CHECK(ac[0].used == 2);
  auto ic = pacing::read_rate_headers(answer({{"X-RateLimit-Limit", "1000"},
                                              {"X-RateLimit-Remaining", "999"},
                                              {"X-RateLimit-Reset", "1700000030"}}),
                                      now);
  REQUIRE(ic.size() == 1);
  CHECK(ic[0].name == "per_minute");
  CHECK(ic[0].resets_in_ms == 30000);
  CHECK(pacing::read_rate_headers(answer({{"Content-Type", "application/json"}}), now).empty());
  // A limit without its remaining count: the limit alone, remaining unknown.
  auto only = pacing::read_rate_headers(answer({{"X-Rate-Limit", "700"}}), now);
  REQUIRE(only.size() == 1);
  CHECK(only[0].remaining == -1);
  CHECK(only[0].used == -1);
}
