// Connector health with the real cause, end to end (omnisync-sim + omnisyncd + omnisyncctl): a refused Zendesk token
// shows as `unauthorized` with Zendesk's own words (not "authentication expired"), in status, the object's error,
// /metrics and `omnisyncctl test`; a connector without the simulator's CA is `unreachable` with the TLS failure
// named in status, in a log line naming the connector and in `omnisyncd --check-config --connect`; /readyz turns
// 503 when every connector fails and 200 when one recovers; an idle, fully synced object's lag stays near its poll
// interval; the initial sync reports its progress and "done in N s".
#include "tests/integration/pipeline/pipeline_support.hpp"

using omnisync::test::temp_dir;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

/// `block` without its `tls: { ca_file: ... }` line: the simulator's certificate is then untrusted.
std::string without_ca(std::string block) {
  const auto at = block.find("    tls: {");
  if (at != std::string::npos) block.erase(at, block.find('\n', at) + 1 - at);
  return block;
}

const json::object& health(daemon_run& d, const json::object& st, const std::string& name) {
  return d.connector(st, name).at("health").as_object();
}

std::string text(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); }

/// GET http://127.0.0.1:<port><path> from the daemon's listener.
omnisync::test::sim::http_reply get(const daemon_run& d, const std::string& path) {
  return omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + path);
}

/// The value of the first /metrics sample line starting with `series` (e.g. `omnisync_x{connector="zd"}`), or -1.
double metric(const daemon_run& d, const std::string& series) {
  const auto body = get(d, "/metrics").body;
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

/// `omnisyncd --check-config --connect` on the daemon run's config.
omnisync::test::run_result check_connect(const daemon_run& d) {
  return omnisync::test::run({omnisync::test::binary("omnisyncd"), "-c", d.config.string(), "--check-config",
                              "--connect"},
                             "", 60s);
}

}  // namespace

TEST_CASE("health: a refused Zendesk token is 'unauthorized' with Zendesk's words, then ok again",
          "[pipeline][health]") {
  running_sim sim({"--size", "20"});
  lift_limits(sim);
  // Every Zendesk API call answers as Zendesk does for a wrong API token.
  sim.admin("POST", "/admin/faults",
            R"({"service":"zendesk","kind":"status","status":401,"count":-1,"path_glob":"/api/*",)"
            R"("body":"{\"error\":\"Couldn't authenticate you\"}"})");
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + zendesk_block(sim));
  d.start();
  REQUIRE(eventually([&] { return text(health(d, d.status(), "zd").at("state")) == "unauthorized"; }, 20s));
  auto st = d.status();
  INFO(json::serialize(st));
  CHECK(text(health(d, st, "zd").at("text")) == "unauthorized: Couldn't authenticate you");
  REQUIRE(eventually([&] {
    auto s = d.status();
    return !text(d.connector(s, "zd").at("objects_status").as_array().at(0).at("last_error")).empty();
  }, 20s));
  st = d.status();
  const auto err = text(d.connector(st, "zd").at("objects_status").as_array().at(0).at("last_error"));
  CHECK(err.find("Couldn't authenticate you") != std::string::npos);
  CHECK(err.find("authentication expired") == std::string::npos);
  // The human status shows it too, and the metric says which state.
  auto human = d.ctl({"status"});
  CHECK(human.out.find("unauthorized: Couldn't authenticate you") != std::string::npos);
  // (The gauges are refreshed every second.)
  CHECK(eventually([&] { return metric(d, R"(omnisync_connector_health{connector="zd",state="unauthorized"})") == 1.0; },
                   5s));
  CHECK(metric(d, R"(omnisync_connector_health{connector="zd",state="ok"})") == 0.0);
  // Its only connector fails: not ready, and why.
  auto ready = get(d, "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("zd unauthorized: Couldn't authenticate you") != std::string::npos);
  // omnisyncctl test: the authenticate step fails with the vendor's words, exit 1.
  auto t = d.ctl({"test", "zd"}, 60s);
  INFO(t.out << t.err);
  CHECK(t.exit_code == 1);
  CHECK(t.out.find("FAIL  authenticate: unauthorized: Couldn't authenticate you") != std::string::npos);
  CHECK(t.out.find("pass  tls:") != std::string::npos);
  // The token is fixed: health, readiness and the test recover.
  sim.admin("DELETE", "/admin/faults");
  // The failing poller backs off (up to a minute); resume wakes it at once.
  REQUIRE(d.ctl({"resume", "zd"}).exit_code == 0);
  CHECK(eventually([&] { return text(health(d, d.status(), "zd").at("state")) == "ok"; }, 20s));
  CHECK(eventually([&] { return get(d, "/readyz").status == 200; }, 10s));
  auto t2 = d.ctl({"test", "zd"}, 60s);
  INFO(t2.out << t2.err);
  CHECK(t2.exit_code == 0);
  CHECK(t2.out.find("pass  read users:") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("health: without the simulator's CA a connector is 'unreachable', the TLS failure named per connector",
          "[pipeline][health]") {
  running_sim sim({"--size", "20"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml",
              daemon_config(free_port()) + without_ca(zendesk_block(sim)) + without_ca(hubspot_block(sim)));
  // The configuration itself is valid; --connect finds what cannot work.
  auto check = check_connect(d);
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);
  CHECK(check.out.find("FAIL  tls: TLS certificate verify failed for 127.0.0.1:") != std::string::npos);
  CHECK(check.out.find("zd (zendesk): FAILED") != std::string::npos);
  CHECK(check.out.find("hs (hubspot): FAILED") != std::string::npos);
  d.start();
  REQUIRE(eventually([&] {
    auto st = d.status();
    return text(health(d, st, "zd").at("state")) == "unreachable" &&
           text(health(d, st, "hs").at("state")) == "unreachable";
  }, 30s));
  auto st = d.status();
  INFO(json::serialize(st));
  CHECK(text(health(d, st, "zd").at("text")).starts_with("unreachable: TLS certificate verify failed for 127.0.0.1:"));
  // The log line names the connector.
  CHECK(eventually([&] {
    return d.proc->stderr_text().find("zd: TLS certificate verify failed for 127.0.0.1:") != std::string::npos;
  }, 10s));
  // Every connector fails: /readyz is 503 and says why.
  auto ready = get(d, "/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("every connector is failing") != std::string::npos);
  auto t = d.ctl({"--json", "test"}, 60s);
  CHECK(t.exit_code == 1);
  auto j = json::parse(t.out).as_object();
  CHECK_FALSE(j.at("ok").as_bool());
  CHECK(j.at("connectors").as_array().size() == 2);
  CHECK(d.stop() == 0);
}

TEST_CASE("health: an idle, fully synced object's lag stays near its poll interval, the initial sync reports",
          "[pipeline][health]") {
  running_sim sim({"--size", "50"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + zendesk_block(sim));
  auto check = check_connect(d);
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK(check.out.find("pass  read users:") != std::string::npos);
  d.start();
  REQUIRE(eventually([&] {
    auto st = d.status();
    const auto& o = d.connector(st, "zd").at("objects_status").as_array().at(0).as_object();
    return text(o.at("initial_sync").at("state")) == "done";
  }, 30s));
  // The line is logged after the state turns done: wait for it.
  CHECK(d.proc->wait_stderr_contains("zd: initial sync of users done in", 10s));
  // Idle for a few poll intervals: the lag is the time since the last poll that found nothing more (300 ms poll,
  // no settle lag), not the age of the newest record the simulator holds.
  std::this_thread::sleep_for(2s);
  auto st = d.status();
  INFO(json::serialize(st));
  const auto& o = d.connector(st, "zd").at("objects_status").as_array().at(0).as_object();
  CHECK(o.at("initial_sync").at("read").as_int64() >= 50);
  CHECK(o.at("lag_ms").as_int64() < 3000);
  CHECK(text(health(d, st, "zd").at("state")) == "ok");
  CHECK(d.connector(st, "zd").at("inbox_oldest_age_ms").is_null());
  CHECK(eventually([&] {
    const double lag = metric(d, R"(omnisync_sync_lag_seconds{connector="zd",object="users"})");
    return lag >= 0 && lag < 3;
  }, 5s));
  CHECK(metric(d, R"(omnisync_initial_sync_seconds{connector="zd",object="users"})") >= 0);
  CHECK(get(d, "/readyz").status == 200);
  auto t = d.ctl({"test"}, 60s);
  INFO(t.out << t.err);
  CHECK(t.exit_code == 0);
  CHECK(t.out.find("zd (zendesk): ok") != std::string::npos);
  CHECK(t.out.find("pass  tls: certificate verified") != std::string::npos);
  CHECK(d.stop() == 0);
}
