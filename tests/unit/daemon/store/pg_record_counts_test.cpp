// PostgreSQL's record_counts slots (built into test_store_pg only): each session counts into a slot of its own,
// keyed on its whole backend pid, so two sessions never share one (the slot was the pid modulo 4096 before
// detail::record_count_slot_version, and two sessions whose pids collided took turns on one row).
#include <libpq-fe.h>

#include <string>

#include "daemon/store/migrate.hpp"
#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::test::pg_cluster;

namespace {

/// A raw session of our own: its pid, and statements that may fail (their error is returned, "" on success).
struct session {
  explicit session(const std::string& dsn) : c(PQconnectdb(dsn.c_str())) { REQUIRE(PQstatus(c) == CONNECTION_OK); }
  ~session() { PQfinish(c); }
  std::string run(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    std::string error = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? "" : PQresultErrorMessage(r);
    PQclear(r);
    return error;
  }
  std::string value(const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    INFO(sql << ": " << PQresultErrorMessage(r));
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    REQUIRE(PQntuples(r) == 1);
    std::string v = PQgetvalue(r, 0, 0);
    PQclear(r);
    return v;
  }
  int pid() const { return PQbackendPID(c); }
  PGconn* c;
};

std::string insert_record(const std::string& id) {
  return "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at) "
         "VALUES('sf', 'Contact', '" + id + "', '{}', 1, false, 1)";
}

}  // namespace

TEST_CASE("store (postgres): each session counts records into a slot keyed on its whole backend pid",
          "[store][pg][records]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  auto s = open_ok(o);
  ok(s->append_records({"sf", "Contact", {rec("003A", "{}")}, std::nullopt, {}}));

  session a(o.dsn), b(o.dsn);
  REQUIRE(a.pid() != b.pid());
  // Both transactions stay open while the other inserts: sharing a slot, the second would wait for the first's
  // row lock (lock_timeout turns that wait into an error instead of a hang).
  REQUIRE(a.run("BEGIN") == "");
  REQUIRE(b.run("BEGIN") == "");
  REQUIRE(b.run("SET LOCAL lock_timeout = '2s'") == "");
  CHECK(a.run(insert_record("003B")) == "");
  CHECK(b.run(insert_record("003C")) == "");
  // The slot is the pid itself, not the pid modulo 4096.
  CHECK(a.value("SELECT slot FROM record_counts WHERE connector = 'sf' AND object = 'Contact' AND slot = "
                "pg_backend_pid()") == std::to_string(a.pid()));
  CHECK(b.value("SELECT n FROM record_counts WHERE connector = 'sf' AND object = 'Contact' AND slot = " +
                std::to_string(b.pid())) == "1");
  REQUIRE(a.run("COMMIT") == "");
  REQUIRE(b.run("COMMIT") == "");
  CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 3);

  // A delete counts down in the deleting session's slot; the sum stays right.
  REQUIRE(b.run("DELETE FROM records WHERE id = '003B'") == "");
  CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 2);
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store (postgres): the slot migration keeps the counts made with the old slots", "[store][pg][migrations]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.migrate_to = detail::record_count_slot_version - 1;
  {
    auto old = open_ok(o);
    ok(old->append_records({"sf", "Contact", {rec("003A", "{}"), rec("003B", "{}")}, std::nullopt, {}}));
    // The old function: the slot is below 4096 whatever the pid.
    CHECK(std::stoll(pg_cluster::scalar(o.dsn, "SELECT max(slot) FROM record_counts")) < 4096);
  }
  o.migrate_to.reset();
  auto s = open_ok(o);
  CHECK(s->schema_version() == latest_schema_version());
  ok(s->append_records({"sf", "Contact", {rec("003C", "{}")}, std::nullopt, {}}));
  CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 3);
  session a(o.dsn);
  REQUIRE(a.run(insert_record("003D")) == "");
  CHECK(a.value("SELECT n FROM record_counts WHERE slot = pg_backend_pid()") == "1");
  CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 4);
}
