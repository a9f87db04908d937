// The whole pipeline with real processes: omnisync-sim (HubSpot and Zendesk over HTTPS with the simulator's CA)
// and omnisyncd with the shipped mappings, steered with omnisyncctl. Initial sync, propagation in batches, no
// ping-pong, a HubSpot change arriving by webhook and landing in Zendesk, bad signatures refused, an untrusted
// certificate refused, resync with --follow, and kill -9 in the middle of a sync followed by a restart.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "adapters/hubspot/webhook.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/integration/pipeline/pipeline_support.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::binary;
using omnisync::test::process;
using omnisync::test::run;
using omnisync::test::run_result;
using omnisync::test::temp_dir;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

const std::string hubspot_secret = "hs-webhook-secret-for-tests";

std::string config_text(running_sim& sim, const std::string& extra_hs = "", bool trust_ca = true) {
  std::string text = daemon_config(free_port()) +
                     hubspot_block(sim, "contacts", "    webhook: { client_secret: " + hubspot_secret + " }\n" + extra_hs) +
                     zendesk_block(sim);
  if (!trust_ca) {  // the simulator's certificate is then checked against the system's CAs only
    const std::string tls = "    tls: { ca_file: " + sim.ca_file() + " }\n";
    for (auto at = text.find(tls); at != std::string::npos; at = text.find(tls)) text.erase(at, tls.size());
  }
  return text;
}

/// Both connectors read everything, and nothing is waiting to be written.
bool settled(daemon_run& d) {
  auto st = d.status();
  const auto& store = st.at("store").as_object();
  if (store.at("outbox_depth").as_int64() != 0 || store.at("inbox_depth").as_int64() != 0) return false;
  for (const char* c : {"hs", "zd"})
    for (const auto& o : d.connector(st, c).at("objects_status").as_array())
      if (o.as_object().at("pages").as_int64() == 0 || o.as_object().at("phase").as_string() != "idle") return false;
  return true;
}

}  // namespace

TEST_CASE("pipeline: initial sync, batched propagation without ping-pong, a webhook change reaches the other system",
          "[pipeline]") {
  running_sim sim;
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();

  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  const auto zd_total = sim_count(sim, "zendesk", "users");
  REQUIRE(hs_total > 0);
  REQUIRE(zd_total > 0);
  REQUIRE(eventually([&] { return d.records("hs") >= hs_total && d.records("zd") >= zd_total && settled(d); }, 120s));

  // Converged: once everything was written, nothing keeps writing (no ping-pong between the two systems).
  // (upserts by key for people new to a system, updates by id for records the profile already links there)
  const auto hs_writes = calls_to(sim, "batch/upsert") + calls_to(sim, "batch/update");
  const auto zd_writes = calls_to(sim, "update_many");  // create_or_update_many and update_many
  CHECK(hs_writes > 0);
  CHECK(zd_writes > 0);
  std::this_thread::sleep_for(2s);
  // (phase is sampled: a poll may be in flight at this instant; it must be idle again within a cycle)
  CHECK(eventually([&] { return settled(d); }, 5s));
  CHECK(calls_to(sim, "batch/upsert") + calls_to(sim, "batch/update") == hs_writes);
  CHECK(calls_to(sim, "update_many") == zd_writes);
  // Batched: at most 100 records per call.
  auto st = d.status();
  const auto zd_written = d.connector(st, "zd").at("writes").at("ok").as_int64();
  CHECK(zd_written > 0);
  CHECK(zd_writes * 100 >= zd_written);

  // A change made in HubSpot arrives by webhook (signed v3, verified, stored, then fetched) and is written to the
  // same person's Zendesk user.
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{{"service", "hubspot"},
                                         {"url", "http://127.0.0.1:" + std::to_string(d.port) + "/webhooks/hs"},
                                         {"secret", hubspot_secret}}));
  REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);  // polls off: only the webhook can bring the change
  sim.admin("PATCH", "/admin/hubspot/contacts/7",
            R"({"properties":{"phone":"+1 (415) 555-0107","email":"person7.changed@example.com"}})");
  REQUIRE(eventually([&] {
    auto s = d.status();
    return d.connector(s, "hs").at("inbox_depth").as_int64() + d.connector(s, "hs").at("events_in").as_int64() >= 1;
  }, 20s));
  REQUIRE(d.ctl({"resume", "hs"}).exit_code == 0);
  REQUIRE(eventually([&] {
    auto users = sim.admin("GET", "/admin/zendesk/users").json();
    return json::serialize(users).find("person7.changed@example.com") != std::string::npos;
  }, 30s));
  // The resumed poll may carry the change to Zendesk first; the stored event is processed all the same.
  CHECK(eventually([&] { return d.connector(d.status(), "hs").at("events_in").as_int64() >= 1; }, 10s));

  // A resync while webhooks keep arriving: every change still lands, once.
  REQUIRE(d.ctl({"resync", "hs", "contacts"}).exit_code == 0);
  for (int i = 11; i <= 15; ++i)
    sim.admin("PATCH", "/admin/hubspot/contacts/" + std::to_string(i),
              R"({"properties":{"email":"resync.)" + std::to_string(i) + R"(@example.com"}})");
  REQUIRE(eventually([&] {
    auto users = json::serialize(sim.admin("GET", "/admin/zendesk/users").json());
    for (int i = 11; i <= 15; ++i)
      if (users.find("resync." + std::to_string(i) + "@example.com") == std::string::npos) return false;
    return true;
  }, 120s));  // a full resync of every contact runs meanwhile: generous on a loaded 2-core machine

  // A correctly signed delivery that cannot be read is answered 200 (or HubSpot would resend it forever),
  // quarantined as a dead letter with the reason, and the daemon carries on.
  {
    CHECK(post_signed_hubspot(d.port, hubspot_secret, R"({"this is":"not a HubSpot delivery")") == 200);
    REQUIRE(eventually([&] {
      auto l = d.ctl({"dlq", "list", "--stage", "parse"});
      return l.exit_code == 0 && l.out.find("hs/") != std::string::npos;
    }, 20s));
    CHECK(d.ctl({"status"}).exit_code == 0);
  }

  // A forged webhook is refused with 401 and nothing is stored (measured once everything settled, so that no
  // genuine webhook arrives meanwhile).
  REQUIRE(eventually([&] { return settled(d); }, 60s));
  std::this_thread::sleep_for(1s);
  const auto before = d.status().at("store").at("inbox_depth").as_int64() + d.connector(d.status(), "hs").at("events_in").as_int64();
  auto forged = omnisync::test::sim::http(
      "POST", "http://127.0.0.1:" + std::to_string(d.port) + "/webhooks/hs", R"([{"eventId":1,"objectId":7}])",
      {"Content-Type: application/json", "X-HubSpot-Signature-v3: AAAA",
       "X-HubSpot-Request-Timestamp: " +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count())});
  CHECK(forged.status == 401);
  std::this_thread::sleep_for(300ms);
  auto metrics = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics");
  CHECK(metrics.body.find("omnisync_webhook_requests_total{connector=\"hs\",status=\"401\"} 1") != std::string::npos);
  // Events in and out, API calls by status, queue depths, lag and durations are all exported.
  for (const char* family : {"omnisync_records_in_total{connector=\"hs\"", "omnisync_writes_total{connector=\"zd\"",
                             "omnisync_api_calls_total{connector=\"hs\",status=\"200\"}", "omnisync_inbox_depth{",
                             "omnisync_outbox_depth{connector=\"zd\"}", "omnisync_sync_lag_seconds{",
                             "omnisync_api_call_seconds_bucket{", "omnisync_poll_page_seconds_bucket{"})
    CHECK(metrics.body.find(family) != std::string::npos);
  CHECK(d.status().at("store").at("inbox_depth").as_int64() + d.connector(d.status(), "hs").at("events_in").as_int64() ==
        before);

  // resync --follow reads everything again and reports progress.
  auto rs = d.ctl({"resync", "zd", "users", "--follow"}, 60s);
  INFO(rs.out << rs.err);
  CHECK(rs.exit_code == 0);
  CHECK(rs.out.find("finished") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("pipeline: an untrusted certificate is refused and shown in status", "[pipeline]") {
  running_sim sim;
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim, "", /*trust_ca=*/false));
  d.start();
  REQUIRE(eventually([&] {
    auto st = d.status();
    for (const auto& o : d.connector(st, "hs").at("objects_status").as_array())
      if (!o.as_object().at("last_error").as_string().empty()) return true;
    return false;
  }, 30s));
  CHECK(d.records("hs") == 0);
  CHECK(calls_to(sim, "search") == 0);  // nothing reached the API: the TLS handshake failed first
  CHECK(d.stop() == 0);
}

TEST_CASE("pipeline: kill -9 in the middle of a sync, then a restart, ends in the same state as a clean run",
          "[pipeline]") {
  running_sim sim;
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();
  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  const auto zd_total = sim_count(sim, "zendesk", "users");
  // Kill as soon as the first records are stored: the sync is under way.
  REQUIRE(eventually([&] { return d.records("hs") > 0 || d.records("zd") > 0; }, 60s));
  ::kill(d.proc->pid(), SIGKILL);
  REQUIRE(d.proc->wait(10s).has_value());
  d.start();
  REQUIRE(eventually([&] { return d.records("hs") >= hs_total && d.records("zd") >= zd_total && settled(d); }, 120s));
  auto st = d.status();
  CHECK(st.at("store").at("dead_letters").as_int64() == 0);
  // Every person is in both systems exactly once, as after a clean run: HubSpot upserts by email and Zendesk
  // matches users by email, so repeated writes after the crash created nothing twice.
  CHECK(sim_count(sim, "hubspot", "contacts") == hs_total);
  CHECK(sim_count(sim, "zendesk", "users") == zd_total);
  CHECK(d.records("hs") == hs_total);
  CHECK(d.records("zd") == zd_total);
  CHECK(d.stop() == 0);
}

TEST_CASE("pipeline: lint checks the mappings against the systems' metadata", "[pipeline]") {
  running_sim sim;
  lift_limits(sim);
  daemon_run d;
  // The shipped mappings plus one mistake: a Zendesk user field that does not exist.
  const auto maps = copy_shipped_mappings(d.dir.path());
  {
    std::ofstream out(maps / "zendesk" / "users.out.yaml", std::ios::app);
    out << "  no_such_field: email\n";
  }
  d.dir.write("omnisync.yaml", with_mappings(config_text(sim), maps));
  d.start();
  auto r = d.ctl({"lint"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("users.out.yaml:") != std::string::npos);
  CHECK(r.out.find("error: zd/users: no field no_such_field") != std::string::npos);
  auto j = d.ctl({"--json", "lint"});
  CHECK(json::parse(j.out).at("errors").as_int64() == 1);
  CHECK(d.stop() == 0);
}

TEST_CASE("pipeline: ActiveCampaign and Intercom connectors sync inside the daemon", "[pipeline]") {
  running_sim sim;
  lift_limits(sim);
  // The simulator's 5 requests/s would make 500 contacts take a few seconds; the connector paces to its own
  // setting, lifted here like the other vendors' limits.
  sim.admin("POST", "/admin/limits", R"({"service":"activecampaign","per_second":100000})");
  daemon_run d;
  const std::string tls = "    tls: { ca_file: " + sim.ca_file() + " }\n";
  const std::string ic_secret = "ic-webhook-secret-for-tests";
  // The config of the other cases plus the two connectors, with their webhooks.
  d.dir.write("omnisync.yaml",
              config_text(sim) +
                  "  ac:\n"
                  "    kind: activecampaign\n"
                  "    base_url: " + sim.url("activecampaign", "https") + "\n" + tls +
                  "    poll_interval: 300ms\n"
                  "    auth: { api_token: ac-test-token }\n"
                  "    webhook: { url_token: ac-url-token-for-tests }\n"
                  "    rate_limit: { per_second: 100000 }\n"
                  "  ic:\n"
                  "    kind: intercom\n"
                  "    base_url: " + sim.url("intercom", "https") + "\n" + tls +
                  "    objects: [contacts, conversations]\n"
                  "    poll_interval: 300ms\n"
                  "    auth: { access_token: ic-test-token }\n"
                  "    webhook: { client_secret: " + ic_secret + " }\n");
  d.start();

  const auto ac_total = sim_count(sim, "activecampaign", "contacts");
  const auto ic_total = sim_count(sim, "intercom", "contacts") + sim_count(sim, "intercom", "conversations");
  REQUIRE(ac_total > 0);
  REQUIRE(ic_total > 0);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return d.records("ac") >= ac_total && d.records("ic") >= ic_total; }, 120s));
  WARN("ActiveCampaign (" << ac_total << ") and Intercom (" << ic_total << ") records stored after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()
                          << " ms");
  auto st = d.status();
  CHECK(d.records("ac") == ac_total);  // every record once
  CHECK(d.records("ic") == ic_total);
  for (const char* c : {"ac", "ic"}) {
    INFO(c);
    const auto& conn = d.connector(st, c);
    CHECK(conn.at("api").at("calls").as_int64() > 0);
    for (const auto& o : conn.at("objects_status").as_array()) {
      INFO(json::serialize(o));
      CHECK(o.as_object().at("last_error").as_string().empty());
      CHECK(o.as_object().at("mapping_failures").as_int64() == 0);  // the shipped inbound mappings map them
    }
  }

  // Changes arrive by webhook too (polls paused, so only the webhooks can bring them): ActiveCampaign's
  // form-encoded delivery authenticated by its URL token, Intercom's signed notification.
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{
                {"service", "activecampaign"},
                {"url", "http://127.0.0.1:" + std::to_string(d.port) + "/webhooks/ac/ac-url-token-for-tests"},
                {"secret", ""}}));
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{{"service", "intercom"},
                                         {"url", "http://127.0.0.1:" + std::to_string(d.port) + "/webhooks/ic"},
                                         {"secret", ic_secret}}));
  REQUIRE(d.ctl({"pause", "ac"}).exit_code == 0);
  REQUIRE(d.ctl({"pause", "ic"}).exit_code == 0);
  sim.admin("PATCH", "/admin/activecampaign/contacts/4", R"({"firstName":"Hooked"})");
  sim.admin("PATCH", "/admin/intercom/contacts/4", R"({"name":"Hooked Person"})");
  // A paused connector keeps its events queued in the inbox; they count once processed.
  auto arrived = [&](const json::object& s, const char* c) {
    return d.connector(s, c).at("inbox_depth").as_int64() + d.connector(s, c).at("events_in").as_int64();
  };
  REQUIRE(eventually([&] {
    auto s = d.status();
    return arrived(s, "ac") >= 1 && arrived(s, "ic") >= 1;
  }, 20s));
  REQUIRE(d.ctl({"resume", "ac"}).exit_code == 0);
  REQUIRE(d.ctl({"resume", "ic"}).exit_code == 0);
  // Processed: the inboxes drain, nothing was quarantined or dead-lettered.
  REQUIRE(eventually([&] {
    auto s = d.status();
    return d.connector(s, "ac").at("inbox_depth").as_int64() == 0 && d.connector(s, "ic").at("inbox_depth").as_int64() == 0 &&
           d.connector(s, "ac").at("events_in").as_int64() >= 1 && d.connector(s, "ic").at("events_in").as_int64() >= 1;
  }, 30s));
  CHECK(d.status().at("store").at("dead_letters").as_int64() == 0);
  CHECK(d.records("ac") == ac_total);
  CHECK(d.records("ic") == ic_total);
  CHECK(d.stop() == 0);
}
