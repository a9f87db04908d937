// omnisyncd on the PostgreSQL store (store.kind: postgres, the DSN read from a file), against omnisync-sim:
// the config is checked (no DSN: an error at its file:line:col), records read from HubSpot and Zendesk land in
// PostgreSQL, writes land in the simulator, status shows the backend, and nothing in the logs shows the DSN.
// One throw-away cluster (tests/support/pg_cluster) for this process.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::binary;
using omnisync::test::pg_cluster;
using omnisync::test::run;
using omnisync::test::temp_dir;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

TEST_CASE("pipeline on postgres: store.kind postgres without a DSN is a config error at its location",
          "[pipeline][pg]") {
  temp_dir d;
  auto file = d.write("omnisync.yaml", "daemon:\n  threads: 2\nstore:\n  kind: postgres\n");
  auto r = run({binary("omnisyncd"), "--check-config", "-c", file.string()}, "", 30s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 78);
  CHECK_THAT(r.out + r.err, Catch::Contains("omnisync.yaml:4:9"));
  CHECK_THAT(r.out + r.err, Catch::Contains("store.kind"));
  CHECK_THAT(r.out + r.err, Catch::Contains("dsn_file"));

  auto missing = d.write("missing.yaml", "store:\n  kind: postgres\n  dsn_file: /nonexistent/omnisync.dsn\n");
  auto m = run({binary("omnisyncd"), "--check-config", "-c", missing.string()}, "", 30s);
  INFO(m.out << m.err);
  CHECK(m.exit_code == 78);
  CHECK_THAT(m.out + m.err, Catch::Contains("missing.yaml:3:13"));
  CHECK_THAT(m.out + m.err, Catch::Contains("store.dsn_file"));
}

TEST_CASE("pipeline on postgres: records arrive in PostgreSQL and writes land in the simulator", "[pipeline][pg]") {
  pg_cluster cluster;
  // A DSN with a password (trust auth ignores it): it must never reach a log line or status.
  const std::string db = cluster.create_database("omnisync");
  const std::string dsn = db + " password=canary-dsn-password";
  running_sim sim;
  lift_limits(sim);
  daemon_run d;
  d.dir.write("pg.dsn", dsn + "\n");
  d.dir.write("omnisync.yaml", daemon_config(free_port(), "store:\n  kind: postgres\n  dsn_file: pg.dsn\n") +
                                   hubspot_block(sim) + zendesk_block(sim));
  d.start();
  auto st = d.status();
  CHECK(st.at("store").at("kind").as_string() == "postgres");

  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  const auto zd_total = sim_count(sim, "zendesk", "users");
  REQUIRE(hs_total > 0);
  REQUIRE(zd_total > 0);
  REQUIRE(eventually([&] {
    auto s = d.status();
    return d.connector(s, "hs").at("records").as_int64() >= hs_total &&
           d.connector(s, "zd").at("records").as_int64() >= zd_total &&
           s.at("store").at("outbox_depth").as_int64() == 0;
  }, 120s));
  // The records are in PostgreSQL, as the vendors return them.
  CHECK(std::stoll(pg_cluster::scalar(db, "SELECT count(*) FROM records WHERE connector = 'hs'")) == hs_total);
  CHECK(std::stoll(pg_cluster::scalar(db, "SELECT count(*) FROM records WHERE connector = 'zd'")) == zd_total);
  CHECK(pg_cluster::scalar(db, "SELECT count(*) FROM cursors") != "0");
  // People of one system were written to the other: the writes reached the simulator and were acknowledged.
  CHECK(calls_to(sim, "update_many") + calls_to(sim, "batch/upsert") + calls_to(sim, "batch/update") > 0);
  CHECK(std::stoll(pg_cluster::scalar(db, "SELECT count(*) FROM outbox_last")) > 0);
  st = d.status();
  CHECK(d.connector(st, "zd").at("writes").at("ok").as_int64() + d.connector(st, "hs").at("writes").at("ok").as_int64() > 0);
  CHECK(st.at("store").at("state_db_bytes").as_int64() > 0);

  // A change in HubSpot is polled into PostgreSQL and written to the same person's Zendesk user.
  sim.admin("PATCH", "/admin/hubspot/contacts/7", R"({"properties":{"email":"person7.pg@example.com"}})");
  CHECK(eventually([&] {
    return json::serialize(sim.admin("GET", "/admin/zendesk/users").json()).find("person7.pg@example.com") !=
           std::string::npos;
  }, 30s));

  // An idle instance stops at once (its loops are cancelled; nothing waits for the shutdown timeout).
  const auto stopping = std::chrono::steady_clock::now();
  CHECK(d.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - stopping < 2s);
  const auto logs = d.proc->stderr_text();
  CHECK_THAT(logs, Catch::Contains("PostgreSQL"));
  CHECK_THAT(logs, !Catch::Contains("canary-dsn-password"));
}
