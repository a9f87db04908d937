// A sync loop that ends with an exception, with real processes (omnisync-sim's HubSpot, omnisyncd, omnisyncctl):
// while the `poll_throw` failpoint is set (OMNISYNC_TEST_FAILPOINTS, daemon/sync/failpoint.hpp — the adapters
// turn every page the simulator can serve into an error result, so nothing from outside makes them throw) each
// page of hs contacts ends its poll loop with an exception. The loop is restarted with backoff (not in a spin),
// counted in /metrics and in status with the failure in words and when, its run ends `failed` with the reason;
// once the fault is cleared the connector reads on from where it was, and the daemon stops cleanly.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

/// `omnisync_sync_task_restarts_total{connector="hs"}` from /metrics; -1 when absent.
double restarts_metric(daemon_run& d) {
  auto m = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics");
  const std::string name = "omnisync_sync_task_restarts_total{connector=\"hs\"} ";
  const auto at = m.body.find(name);
  if (at == std::string::npos) return -1;
  return std::stod(m.body.substr(at + name.size(), m.body.find('\n', at + name.size()) - at - name.size()));
}

const json::object& task_restarts(const json::object& st) {
  return st.at("connectors").at("hs").at("task_restarts").as_object();
}

}  // namespace

TEST_CASE("sync loops: a poll loop that throws is restarted with backoff, shown, and reads on once the fault clears",
          "[pipeline][restart]") {
  running_sim sim({"--size", "20"});
  lift_limits(sim);
  const auto total = sim_count(sim, "hubspot", "contacts");
  REQUIRE(total > 0);
  daemon_run d;
  const fs::path failpoints = d.dir / "failpoints";
  { std::ofstream(failpoints) << "poll_throw hs contacts\n"; }
  // The daemon inherits it (only this test's process and its children see it).
  REQUIRE(::setenv("OMNISYNC_TEST_FAILPOINTS", failpoints.c_str(), 1) == 0);
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts"));
  d.start();

  // Restarted after ~1 s, ~2 s, ~4 s (jittered): two restarts within a few seconds, not hundreds.
  REQUIRE(eventually([&] { return task_restarts(d.status()).at("count").as_int64() >= 2; }, 30s));
  auto st = d.status();
  const auto& tr = task_restarts(st);
  INFO(json::serialize(tr));
  CHECK(tr.at("last_failure").as_string().find("hs contacts: failpoint poll_throw") == 0);
  CHECK(!tr.at("at").as_string().empty());
  CHECK(tr.at("count").as_int64() <= 4);  // backoff: 1 + 2 + 4 s before a 4th restart
  const auto& hs = st.at("connectors").at("hs").as_object();
  CHECK(hs.at("records").as_int64() == 0);
  // `error` between restarts (for the few milliseconds of a restarted loop's poll it reads `syncing`).
  CHECK(eventually([&] { return d.status().at("connectors").at("hs").at("state").as_string() == "error"; }, 5s));
  const auto& obj = hs.at("objects_status").as_array().at(0).as_object();
  CHECK(obj.at("last_error").as_string().find("the poll loop failed: failpoint poll_throw") == 0);
  CHECK(restarts_metric(d) >= 2);
  // The failed page's run ended `failed` with the reason.
  auto runs = ctl_json(d, {"runs", "--connector", "hs", "--kind", "poll", "--limit", "100"}).at("items").as_array();
  bool failed_run = false;
  for (const auto& r : runs) {
    const auto& o = r.as_object();
    if (o.at("outcome").as_string() == "failed" &&
        std::string(o.at("error").as_string()).find("failpoint poll_throw") != std::string::npos)
      failed_run = true;
  }
  INFO(json::serialize(runs));
  CHECK(failed_run);
  // The human status says so too.
  auto text = d.ctl({"status"});
  CHECK(text.out.find("restarted sync loops") != std::string::npos);
  CHECK(text.out.find("failpoint poll_throw") != std::string::npos);

  // The fault is cleared: at the next restart the loop reads everything, then goes on polling.
  fs::remove(failpoints);
  REQUIRE(eventually([&] { return d.records("hs") == total; }, 40s));
  const auto restarts = task_restarts(d.status()).at("count").as_int64();
  sim.admin("POST", "/admin/hubspot/contacts", R"({"properties":{"email":"after.fault@example.com","firstname":"After"}})");
  REQUIRE(eventually([&] { return d.records("hs") == total + 1; }, 20s));
  st = d.status();
  CHECK(task_restarts(st).at("count").as_int64() == restarts);  // no further failure
  CHECK(st.at("connectors").at("hs").at("state").as_string() != "error");
  CHECK(d.stop() == 0);
  ::unsetenv("OMNISYNC_TEST_FAILPOINTS");
}
