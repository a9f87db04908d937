// Issue #5 leftovers end to end (omnisync-sim + omnisyncd + omnisyncctl): a Zendesk user deleted without a trace
// is marked deleted in the store by id-set reconciliation (list_ids); `resync --fields` re-reads only the named
// HubSpot properties and keeps the rest of each stored record; a Zendesk resync with --fields reads whole records
// and says so; HubSpot's OAuth refresh-token flow inside the daemon (tokens expiring mid-sync, a refused refresh
// token shown as the connector's error while the daemon stays up); queued Zendesk webhook events re-read in
// show_many batches after a restart.
#include <sqlite3.h>

#include "adapters/zendesk/webhook.hpp"
#include "core/time.hpp"
#include "tests/integration/pipeline/pipeline_support.hpp"

using omnisync::test::temp_dir;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

/// One stored record as the daemon's SQLite store holds it (read-only; the daemon keeps writing in WAL mode).
struct stored {
  bool found = false;
  bool deleted = false;
  std::string payload;
};
stored stored_record(const daemon_run& d, const std::string& connector, const std::string& object,
                     const std::string& id) {
  stored out;
  sqlite3* db = nullptr;
  const auto path = (d.state / "state.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT deleted, payload FROM records WHERE connector = ?1 AND object = ?2 AND id = ?3",
                         -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, connector.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, object.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) {
      out.found = true;
      out.deleted = sqlite3_column_int(st, 0) != 0;
      out.payload = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

bool idle(daemon_run& d, const std::string& connector) {
  auto st = d.status();
  for (const auto& o : d.connector(st, connector).at("objects_status").as_array())
    if (o.as_object().at("pages").as_int64() == 0 || o.as_object().at("phase").as_string() != "idle") return false;
  return true;
}

/// Requests the simulator logged whose target contains `needle` (query strings included).
std::int64_t requests_with(running_sim& sim, const std::string& needle) {
  const auto log = sim.admin("GET", "/admin/requests").json();
  std::int64_t n = 0;
  for (const auto& e : log.as_array())
    if (std::string_view(e.at("target").as_string()).find(needle) != std::string_view::npos) ++n;
  return n;
}

std::string digits(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c >= '0' && c <= '9') out += c;
  return out;
}

std::string property(const stored& r, const char* name) {
  auto v = json::parse(r.payload);
  const auto* p = v.at("properties").as_object().if_contains(name);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}

}  // namespace

TEST_CASE("resync and reconcile: a Zendesk user deleted without a trace is marked deleted by reconciliation",
          "[pipeline][issue5]") {
  running_sim sim({"--size", "300"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + zendesk_block(sim, "users", "    sync: { reconcile_interval: 500ms }\n"));
  d.start();
  REQUIRE(eventually([&] { return d.records("zd") >= 300 && idle(d, "zd"); }, 60s));
  REQUIRE(stored_record(d, "zd", "users", "5").found);
  CHECK_FALSE(stored_record(d, "zd", "users", "5").deleted);

  // Permanently deleted: no export entry, no webhook — only the id listing can tell.
  sim.admin("DELETE", "/admin/zendesk/users/5?purge=true");
  CHECK(eventually([&] { return stored_record(d, "zd", "users", "5").deleted; }, 20s));
  CHECK(calls_to(sim, "GET /api/v2/users") >= 3);  // page[size]=100: 3 pages for 299 users
  // Its neighbours stay.
  CHECK_FALSE(stored_record(d, "zd", "users", "4").deleted);
  CHECK_FALSE(stored_record(d, "zd", "users", "6").deleted);
  CHECK(d.stop() == 0);
}

// A partial page is merged into the stored records member by member; a record changed upstream since its stored
// copy (a newer stamp) is read whole instead, or the hybrid's golden values written back would revert the change.
TEST_CASE("resync and reconcile: HubSpot resync --fields re-reads those properties and keeps the others",
          "[pipeline][issue5]") {
  running_sim sim({"--size", "300"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim));
  d.start();
  REQUIRE(eventually([&] { return d.records("hs") >= 300 && idle(d, "hs"); }, 60s));
  const auto before = stored_record(d, "hs", "contacts", "5");
  REQUIRE(before.found);
  const std::string email = property(before, "email");
  const std::string firstname = property(before, "firstname");
  REQUIRE_FALSE(email.empty());

  // Polls off; two properties change; the resync asks for one of them, then polls resume.
  REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);
  sim.admin("PATCH", "/admin/hubspot/contacts/5",
            R"({"properties":{"phone":"+1 (415) 555-0505","firstname":"Renamed"}})");
  auto started = d.ctl({"resync", "hs", "contacts", "--fields", "phone"});
  INFO(started.out << started.err);
  REQUIRE(started.exit_code == 0);
  CHECK(started.out.find("reading only phone") != std::string::npos);
  REQUIRE(d.ctl({"resume", "hs"}).exit_code == 0);
  REQUIRE(eventually([&] {
    auto st = d.status();
    for (const auto& o : d.connector(st, "hs").at("objects_status").as_array())
      if (const auto* r = o.as_object().if_contains("resync"); r && !r->at("running").as_bool() &&
                                                                r->at("read").as_int64() >= 300)
        return true;
    return false;
  }, 30s));
  // The partial read asked HubSpot for the property and the stamps only.
  CHECK(requests_with(sim, "properties=phone%2Clastmodifieddate%2Chs_object_id") >= 3);
  // Merged into the stored record: the new phone, every other property still there.
  const auto after = stored_record(d, "hs", "contacts", "5");
  const auto in_hubspot = sim.admin("GET", "/admin/hubspot/contacts/5").json();
  INFO("HubSpot now holds: " << json::serialize(in_hubspot));
  INFO("writes to HubSpot: " << calls_to(sim, "batch/update") + calls_to(sim, "batch/upsert"));
  CHECK(digits(property(after, "phone")) == "14155550505");
  CHECK(lower(property(after, "email")) == lower(email));
  CHECK_FALSE(property(after, "lifecyclestage").empty());
  // The incremental poll then brings the firstname change (the resync did not move the incremental cursor).
  CHECK(eventually([&] { return property(stored_record(d, "hs", "contacts", "5"), "firstname") == "Renamed"; }, 20s));
  // And HubSpot itself still holds the change the resync did not read (no write-back reverted it).
  const auto now_in_hubspot = sim.admin("GET", "/admin/hubspot/contacts/5").json();
  CHECK(now_in_hubspot.at("properties").at("firstname").as_string() == "Renamed");
  CHECK(lower(property(stored_record(d, "hs", "contacts", "5"), "email")) == lower(email));
  CHECK(d.stop() == 0);
}

TEST_CASE("resync and reconcile: a Zendesk resync with --fields reads whole records and says so", "[pipeline][issue5]") {
  running_sim sim({"--size", "200"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + zendesk_block(sim));
  d.start();
  REQUIRE(eventually([&] { return d.records("zd") >= 200 && idle(d, "zd"); }, 60s));
  auto r = d.ctl({"resync", "zd", "users", "--fields", "phone", "--follow"}, 60s);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("finished") != std::string::npos);
  CHECK(r.out.find("zendesk cannot read selected fields: this resync reads whole records") != std::string::npos);
  auto j = d.ctl({"--json", "resync", "zd", "users", "--fields", "phone"});
  REQUIRE(j.exit_code == 0);
  CHECK(json::parse(j.out).at("fields_note").as_string().find("reads whole records") != std::string::npos);
  // The stored users are whole.
  auto u = json::parse(stored_record(d, "zd", "users", "3").payload);
  CHECK(u.as_object().contains("email"));
  CHECK(u.as_object().contains("name"));
  CHECK(d.stop() == 0);
}

TEST_CASE("resync and reconcile: HubSpot OAuth in omnisyncd, tokens expiring mid-sync, then a refused refresh token",
          "[pipeline][issue5][oauth]") {
  running_sim sim({"--size", "300"});
  lift_limits(sim);
  sim.admin("POST", "/admin/limits",
            R"({"service":"hubspot","oauth_client_id":"omnisync-app","oauth_client_secret":"app-secret",)"
            R"("oauth_refresh_token":"rt-good"})");
  temp_dir secrets;
  secrets.write("client_secret", "app-secret");
  secrets.write("refresh_token", "rt-good");
  const std::string oauth = "{ flow: oauth, client_id: omnisync-app, client_secret_file: " +
                            (secrets / "client_secret").string() + ", refresh_token_file: " +
                            (secrets / "refresh_token").string() + " }";
  {
    daemon_run d;
    d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts", "", oauth));
    d.start();
    REQUIRE(eventually([&] { return d.records("hs") >= 300 && idle(d, "hs"); }, 60s));
    CHECK(calls_to(sim, "/oauth/v1/token") == 1);
    // Every token expires now: the next poll gets a 401, refreshes once and carries on. Polls are paused while the
    // lifetime is 0 (a token issued in that window would be born expired and cost a second renewal).
    REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);
    REQUIRE(eventually([&] {
      auto st = d.status();
      for (const auto& o : d.connector(st, "hs").at("objects_status").as_array())
        if (o.as_object().at("phase").as_string() != "paused") return false;
      return true;
    }, 20s));
    sim.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":0})");
    sim.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":1800000})");
    REQUIRE(d.ctl({"resume", "hs"}).exit_code == 0);
    sim.admin("PATCH", "/admin/hubspot/contacts/9", R"({"properties":{"firstname":"AfterExpiry"}})");
    CHECK(eventually([&] {
      return property(stored_record(d, "hs", "contacts", "9"), "firstname") == "AfterExpiry";
    }, 20s));
    CHECK(calls_to(sim, "/oauth/v1/token") == 2);
    auto st = d.status();
    for (const auto& o : d.connector(st, "hs").at("objects_status").as_array())
      CHECK(o.as_object().at("last_error").as_string() == "");
    // Neither the client secret nor the refresh token nor an access token shows up in status or logs.
    const std::string everything = json::serialize(st) + d.proc->stderr_text();
    CHECK(everything.find("app-secret") == std::string::npos);
    CHECK(everything.find("rt-good") == std::string::npos);
    CHECK(everything.find("CNSIM") == std::string::npos);
    CHECK(d.stop() == 0);
  }
  {
    // The app was uninstalled: HubSpot refuses the refresh token. The connector shows the error; the daemon lives.
    secrets.write("refresh_token", "rt-revoked");
    daemon_run d;
    d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts", "", oauth));
    d.start();
    CHECK(eventually([&] {
      auto st = d.status();
      for (const auto& o : d.connector(st, "hs").at("objects_status").as_array())
        if (o.as_object().at("phase").as_string() == "error" &&
            !o.as_object().at("last_error").as_string().empty())
          return true;
      return false;
    }, 20s));
    CHECK(d.proc->wait_stderr_contains("BAD_REFRESH_TOKEN", 10s));  // logged as the error is shown, not before
    CHECK(d.proc->stderr_text().find("rt-revoked") == std::string::npos);
    CHECK(d.ctl({"status"}).exit_code == 0);
    CHECK(d.stop() == 0);
  }
}

// Zendesk webhook events name a user; the inbox re-reads the users they name. A backlog of them (here queued while
// the connector is paused, across a restart) is re-read in show_many batches of up to 100 ids, not one call per
// event: 2,000 events cost about 20 calls, where one per event cost 2,000 (about a minute of Zendesk's rate limit).
TEST_CASE("resync and reconcile: 2,000 queued Zendesk webhook events are re-read in batches after a restart",
          "[pipeline][issue21]") {
  running_sim sim({"--size", "2000"});
  lift_limits(sim);
  const std::string secret = "zd-signing-secret-for-tests";
  daemon_run d;
  d.dir.write("omnisync.yaml",
              daemon_config(free_port()) + zendesk_block(sim, "users", "    webhook: { signing_secret: " + secret + " }\n"));
  d.start();
  REQUIRE(eventually([&] { return d.records("zd") >= 2000 && idle(d, "zd"); }, 90s));
  REQUIRE(d.ctl({"pause", "zd"}).exit_code == 0);

  // 2,000 signed events, one per user, each naming its user only: stored, not processed while paused.
  const std::string url = "http://127.0.0.1:" + std::to_string(d.port) + "/webhooks/zd";
  const std::string ts = omnisync::format_iso8601(omnisync::utc_now());
  for (int u = 1; u <= 2000; ++u) {
    const std::string body = R"({"type":"zen:event-type:user.updated","account_id":1,"id":"evt-)" + std::to_string(u) +
                             R"(","subject":"zen:user:)" + std::to_string(u) + R"(","time":")" + ts +
                             R"(","zendesk_event_version":"2022-06-20","detail":{"id":")" + std::to_string(u) +
                             R"("},"event":{}})";
    auto r = omnisync::test::sim::http(
        "POST", url, body,
        {"Content-Type: application/json",
         "X-Zendesk-Webhook-Signature: " + omnisync::adapters::zendesk_signature(secret, ts, body),
         "X-Zendesk-Webhook-Signature-Timestamp: " + ts});
    REQUIRE(r.status == 200);
  }
  CHECK(d.stop() == 0);

  // Restarted: still paused (the paused set is kept), so the events wait; resumed, they are processed.
  d.start();
  const auto show_many_before = calls_to(sim, "show_many");
  const auto one_by_one_before = requests_with(sim, "/api/v2/users/1");  // any single-user GET of users 1, 1x, 1xx
  REQUIRE(d.ctl({"resume", "zd"}).exit_code == 0);
  REQUIRE(eventually([&] {
    auto st = d.status();
    return d.connector(st, "zd").at("events_in").as_int64() >= 2000;
  }, 120s));
  const auto show_many = calls_to(sim, "show_many") - show_many_before;
  INFO("show_many calls for 2,000 queued events: " << show_many);
  CHECK(show_many >= 20);   // 2,000 distinct ids, at most 100 a call
  CHECK(show_many <= 25);
  CHECK(requests_with(sim, "/api/v2/users/1") - one_by_one_before == 0);
  CHECK(d.stop() == 0);
}
