// The webhook inbox's dedupe retention (http.dedupe_retention) with real processes: omnisync-sim as HubSpot,
// omnisyncd taking signed deliveries. An acknowledged event's dedupe key is kept for the retention, so a
// redelivery inside it is answered and not stored again; past it the key is pruned (counted in
// omnisync_inbox_pruned_total), and the same delivery would be stored as a new event.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

const std::string hubspot_secret = "hs-webhook-secret-for-tests";

/// The value of the /metrics sample `series` (e.g. `omnisync_x{connector="hs"}`), 0 when absent.
double metric(const daemon_run& d, const std::string& series) {
  const auto body = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics").body;
  const auto at = body.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stod(body.substr(at + series.size() + 2));
}

/// One HubSpot property-change delivery of contact `id` with event id `event_id`.
std::string delivery(int event_id, const std::string& id) {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  return R"([{"eventId":)" + std::to_string(event_id) +
         R"(,"subscriptionType":"contact.propertyChange","propertyName":"email","objectId":)" + id +
         R"(,"occurredAt":)" + std::to_string(now_ms) + R"(,"portalId":62515,"appId":1,"attemptNumber":0}])";
}

/// Webhook events the daemon processed from `hs`, once none is waiting.
std::int64_t processed(daemon_run& d) {
  auto st = d.status();
  if (st.at("store").at("inbox_depth").as_int64() != 0) return -1;
  return d.connector(st, "hs").at("events_in").as_int64();
}

}  // namespace

TEST_CASE("inbox retention: a redelivery inside http.dedupe_retention is refused, older keys are pruned and counted",
          "[pipeline][webhooks]") {
  running_sim sim({"--size", "10"});
  lift_limits(sim);
  daemon_run d;
  // 12 s: pruned every 3 s (a quarter of it).
  std::string text = daemon_config(free_port()) +
                     hubspot_block(sim, "contacts", "    webhook: { client_secret: " + hubspot_secret + " }\n");
  REQUIRE(text.rfind("http:\n", 0) == 0);
  text.replace(0, 6, "http:\n  dedupe_retention: 12s\n");
  d.dir.write("omnisync.yaml", text);
  d.start();
  const auto contacts = sim.admin("GET", "/admin/hubspot/contacts").json();
  INFO(json::serialize(contacts));
  const auto& list = contacts.is_array() ? contacts.as_array() : contacts.at("results").as_array();
  REQUIRE(!list.empty());
  const auto& first = list.at(0).as_object().at("id");
  const std::string id = first.is_string() ? std::string(first.as_string()) : json::serialize(first);
  REQUIRE(eventually([&] { return d.records("hs") >= static_cast<std::int64_t>(list.size()); }, 60s));

  const std::string dup = "omnisync_webhook_duplicates_total{connector=\"hs\"}";
  const std::string pruned = "omnisync_inbox_pruned_total";
  // Event 1, then event 2 half a retention later; both processed (acknowledged: only those are pruned).
  const std::string first_body = delivery(1, id), second_body = delivery(2, id);
  const auto t1 = std::chrono::steady_clock::now();
  REQUIRE(post_signed_hubspot(d.port, hubspot_secret, first_body) == 200);
  REQUIRE(eventually([&] { return processed(d) >= 1; }, 30s));
  std::this_thread::sleep_until(t1 + 6s);
  const auto t2 = std::chrono::steady_clock::now();
  REQUIRE(post_signed_hubspot(d.port, hubspot_secret, second_body) == 200);
  REQUIRE(eventually([&] { return processed(d) >= 2; }, 30s));
  const auto events = processed(d);
  if (std::chrono::steady_clock::now() - t1 < 11s) CHECK(metric(d, pruned) == 0);  // both younger than the retention

  // Event 1's key goes once it is older than the retention.
  REQUIRE(eventually([&] { return metric(d, pruned) >= 1; }, 30s));
  CHECK(std::chrono::steady_clock::now() - t1 >= 12s);
  // Event 2 is still inside the retention (6 to 9 s old when event 1 went): its redelivery is a duplicate,
  // answered and not processed again.
  REQUIRE(std::chrono::steady_clock::now() - t2 < 12s);
  CHECK(post_signed_hubspot(d.port, hubspot_secret, second_body) == 200);
  CHECK(metric(d, dup) == 1);
  // Event 1's redelivery now finds no key: stored and processed as a new event.
  CHECK(post_signed_hubspot(d.port, hubspot_secret, first_body) == 200);
  CHECK(metric(d, dup) == 1);
  CHECK(eventually([&] { return processed(d) == events + 1; }, 30s));
  // And event 2 goes too, once it is old enough.
  CHECK(eventually([&] { return metric(d, pruned) >= 2; }, 30s));
  CHECK(d.stop() == 0);
}
