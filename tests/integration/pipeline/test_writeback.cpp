// Trustworthy write-back, end to end with real processes: omnisync-sim serving Salesforce, HubSpot and Zendesk
// (3,000 people each, overlapping), omnisyncd writing to all three, and people editing records in HubSpot and
// Zendesk while the initial sync and its write-back run. Afterwards every edit must be present in the system where
// it was made and in every other system (most recent wins), and nothing may be written once everything settled.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <array>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/support/pg_cluster.hpp"

using namespace omnisync::test::pipeline;
using omnisync::test::sim::running_sim;

namespace {

constexpr int people = 3000;
const std::string hubspot_secret = "writeback-hubspot-secret";
const std::string zendesk_secret = "writeback-zendesk-secret";

/// A distinct E.164 phone per (edit, person): what the edits set, so no vendor reformats it.
std::string phone_for(int edit, int person) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+1646%03d%04d", 100 + edit, person % 10000);
  return buf;
}

std::string sf_contact_id(int person) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "003%012dAAA", person);
  return buf;
}

std::string text_at(const json::value& v, std::initializer_list<const char*> path) {
  const json::value* at = &v;
  for (const char* k : path) {
    if (!at->is_object()) return {};
    at = at->as_object().if_contains(k);
    if (!at) return {};
  }
  return at->is_string() ? std::string(at->as_string()) : std::string();
}

struct vendors {
  running_sim& sim;
  daemon_run& d;
  /// The Salesforce contact of person `p`'s profile (found through its HubSpot contact): the seeded contact with
  /// the same number holds no e-mail or phone for some people (another person to omnisync), and the profile then
  /// has a contact omnisync created.
  std::string salesforce_id(int p) {
    const auto prof = d.profile({"get", "hs:" + std::to_string(p)});
    if (const auto* rs = prof.if_contains("records"); rs && rs->is_array())
      for (const auto& r : rs->as_array())
        if (text_at(r, {"system"}) == "sf") return text_at(r, {"id"});
    return sf_contact_id(p);
  }
  std::string hubspot_phone(int p) { return text_at(sim.admin("GET", "/admin/hubspot/contacts/" + std::to_string(p)).json(), {"properties", "phone"}); }
  std::string zendesk_phone(int p) { return text_at(sim.admin("GET", "/admin/zendesk/users/" + std::to_string(p)).json(), {"phone"}); }
  std::string zendesk_name(int p) { return text_at(sim.admin("GET", "/admin/zendesk/users/" + std::to_string(p)).json(), {"name"}); }
  std::string salesforce_phone(int p) { return text_at(sim.admin("GET", "/admin/salesforce/Contact/" + salesforce_id(p)).json(), {"Phone"}); }
  std::string salesforce_first(int p) { return text_at(sim.admin("GET", "/admin/salesforce/Contact/" + salesforce_id(p)).json(), {"FirstName"}); }
};

/// Writes the simulator has received so far (every vendor's write endpoints).
std::int64_t writes_seen(running_sim& sim) {
  return calls_to(sim, "composite/sobjects") + calls_to(sim, "batch/upsert") + calls_to(sim, "batch/update") +
         calls_to(sim, "create_or_update_many") + calls_to(sim, "update_many");
}

/// A lost edit: what omnisync wrote to each of the person's records and why, how the profile came to be, the
/// daemon's log and (SQLite) a copy of its store, in files whose name is returned.
std::string lost_edit_report(vendors& v, daemon_run& d, int p) {
  const std::string base = "/tmp/wb-lost-" + std::to_string(::getpid()) + "-" + std::to_string(p);
  std::ofstream f(base + ".txt");
  for (const std::string& rec : {"hs:contacts:" + std::to_string(p), "zd:users:" + std::to_string(p),
                                 "sf:Contact:" + v.salesforce_id(p)})
    f << "audit " << rec << ":\n" << d.ctl({"audit", "--record", rec, "--limit", "50"}).out << "\n";
  f << "explain:\n" << d.ctl({"profile", "explain", "hs:contacts:" + std::to_string(p)}).out
    << "\nget:\n" << d.ctl({"--json", "profile", "get", "hs:contacts:" + std::to_string(p)}).out
    << "\nlog:\n" << d.proc->stderr_text();
  if (fs::exists(d.state / "state.db")) {
    // A copy for the post-mortem only: a failed backup leaves the report without it.
    const std::string backup = "sqlite3 '" + (d.state / "state.db").string() + "' \".backup " + base + ".db\"";
    const int copied = std::system(backup.c_str());
    if (copied != 0) f << "(no copy of state.db: sqlite3 exited " << copied << ")\n";
  }
  return base + ".txt";
}

}  // namespace

TEST_CASE("write-back: edits made in HubSpot and Zendesk during the initial sync all survive and spread",
          "[pipeline][writeback]") {
  running_sim sim({"--size", std::to_string(people)});
  lift_limits(sim);
  daemon_run d;
  const int port = free_port();
  {
    std::ofstream f(d.config);
    f << daemon_config(port, "", std::getenv("WB_LOG") ? std::getenv("WB_LOG") : "info") << salesforce_block(sim)
      << hubspot_block(sim, "contacts", "    webhook: { client_secret: " + hubspot_secret + " }\n")
      << zendesk_block(sim, "users", "    webhook: { signing_secret: " + zendesk_secret + " }\n");
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{{"service", "hubspot"}, {"url", base + "/webhooks/hs"}, {"secret", hubspot_secret}}));
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{{"service", "zendesk"}, {"url", base + "/webhooks/zd"}, {"secret", zendesk_secret}}));
  d.start();

  // The edits start once the initial sync is under way (records stored, writes flowing) and are spread over it.
  REQUIRE(eventually([&] { return d.records("hs") > 300; }, 120s));
  std::map<int, std::string> hs_phone, zd_phone, zd_name;  // person -> the value the edit set
  for (int i = 0; i < 50; ++i) {
    const int p = 100 + i * 7;  // HubSpot phone edits
    hs_phone[p] = phone_for(1, p);
    sim.admin("PATCH", "/admin/hubspot/contacts/" + std::to_string(p),
              R"({"properties":{"phone":")" + hs_phone[p] + R"("}})");
    // Zendesk edits: the same person's name for half of them (different fields of one person), other people's
    // phones for the rest.
    if (i % 2 == 0) {
      zd_name[p] = "Renamed" + std::to_string(p) + " Person";
      sim.admin("PATCH", "/admin/zendesk/users/" + std::to_string(p), R"({"name":")" + zd_name[p] + R"("})");
    } else {
      const int q = 1000 + i * 11;
      zd_phone[q] = phone_for(2, q);
      sim.admin("PATCH", "/admin/zendesk/users/" + std::to_string(q), R"({"phone":")" + zd_phone[q] + R"("})");
    }
    if (i % 10 == 9) std::this_thread::sleep_for(200ms);
  }
  // The same field in two systems seconds apart: the later edit (Zendesk's) wins everywhere.
  std::map<int, std::string> both;
  for (int i = 0; i < 5; ++i) {
    const int p = 2000 + i;
    sim.admin("PATCH", "/admin/hubspot/contacts/" + std::to_string(p), R"({"properties":{"phone":")" + phone_for(3, p) + R"("}})");
  }
  std::this_thread::sleep_for(2s);
  for (int i = 0; i < 5; ++i) {
    const int p = 2000 + i;
    both[p] = phone_for(4, p);
    sim.admin("PATCH", "/admin/zendesk/users/" + std::to_string(p), R"({"phone":")" + both[p] + R"("})");
  }

  // Settled: queues empty and the simulator received no write for a while.
  std::string last_status;
  const bool quiet = eventually([&] {
    auto st = d.status();
    last_status = json::serialize(st);
    for (const char* c : {"sf", "hs", "zd"})
      if (d.connector(st, c).at("outbox_depth").as_int64() != 0 || d.connector(st, c).at("inbox_depth").as_int64() != 0)
        return false;
    const auto before = writes_seen(sim);
    std::this_thread::sleep_for(3s);
    return writes_seen(sim) == before;
  }, 300s);
  if (!quiet) {
    const std::string err = d.proc->stderr_text();
    INFO("status: " << last_status);
    INFO("omnisyncctl plan: " << d.ctl({"plan"}).out);
    INFO("omnisyncctl deadletters: " << d.ctl({"dlq", "list"}).out);
    // The people whose creates were withheld (two profiles, one e-mail): how each profile came to be.
    std::string explained;
    for (std::size_t at = 0, n = 0; n < 2 && (at = err.find("would match on \"", at)) != std::string::npos; ++n) {
      at += 16;
      const std::string email = err.substr(at, err.find('"', at) - at);
      explained += email + ":\n" + d.ctl({"profile", "explain", email}).out + "\n";
      explained += d.ctl({"profile", "get", email}).out + "\n";
    }
    // The records of the writes still queued: their profiles.
    const std::string plan = d.ctl({"plan"}).out;
    for (std::size_t at = 0, n = 0; n < 2 && at < plan.size(); ++n) {
      const auto sp = plan.find(' ', at), slash = plan.find('/', at), end = plan.find_first_of(" \n", slash);
      if (sp == std::string::npos || slash == std::string::npos || end == std::string::npos) break;
      const std::string rec = plan.substr(at, sp - at) + ":" + plan.substr(slash + 1, end - slash - 1);
      explained += rec + ":\n" + d.ctl({"profile", "explain", rec}).out + "\n";
      at = plan.find('\n', at);
      if (at != std::string::npos) ++at;
    }
    explained += "dead letter 1: " + d.ctl({"dlq", "show", "1"}).out + "\n";
    INFO("withheld creates, queued writes: " << explained);
    INFO("omnisyncd's last log lines:\n" << err.substr(err.size() > 6000 ? err.size() - 6000 : 0));
    REQUIRE(quiet);
  }

  vendors v{sim, d};
  auto post_mortem = [&](int p) { return lost_edit_report(v, d, p); };
  int lost = 0;
  for (const auto& [p, phone] : hs_phone) {
    INFO("person " << p << " HubSpot phone edit " << phone);
    if (v.hubspot_phone(p) != phone) UNSCOPED_INFO("lost: details in " << post_mortem(p));
    if (both.count(p)) continue;
    CHECK(v.hubspot_phone(p) == phone);
    CHECK(v.zendesk_phone(p) == phone);
    CHECK(v.salesforce_phone(p) == phone);
    if (v.hubspot_phone(p) != phone) ++lost;
  }
  for (const auto& [p, name] : zd_name) {
    INFO("person " << p << " Zendesk name edit " << name);
    CHECK(v.zendesk_name(p) == name);
    CHECK(v.salesforce_first(p) == "Renamed" + std::to_string(p));
  }
  for (const auto& [q, phone] : zd_phone) {
    INFO("person " << q << " Zendesk phone edit " << phone);
    if (v.zendesk_phone(q) != phone) UNSCOPED_INFO("lost: details in " << post_mortem(q));
    CHECK(v.zendesk_phone(q) == phone);
    CHECK(v.hubspot_phone(q) == phone);
    CHECK(v.salesforce_phone(q) == phone);
    if (v.zendesk_phone(q) != phone) ++lost;
  }
  for (const auto& [p, phone] : both) {
    INFO("person " << p << ": HubSpot then Zendesk 2 s later; the later value is " << phone);
    if (v.zendesk_phone(p) != phone) UNSCOPED_INFO("lost: details in " << post_mortem(p));
    CHECK(v.hubspot_phone(p) == phone);
    CHECK(v.zendesk_phone(p) == phone);
    CHECK(v.salesforce_phone(p) == phone);
  }
  CHECK(lost == 0);

  // Nothing is written after quiescence.
  const auto settled = writes_seen(sim);
  std::this_thread::sleep_for(5s);
  CHECK(writes_seen(sim) == settled);
  CHECK(d.stop() == 0);
}

TEST_CASE("write-back: with three instances on PostgreSQL and a kill -9 of the leader during the initial sync, "
          "edits made before and after the kill all survive and spread",
          "[pipeline][writeback][cluster][pg]") {
  omnisync::test::pg_cluster pg;
  running_sim sim({"--size", std::to_string(people)});
  lift_limits(sim);
  const std::string dsn = pg.create_database("writeback_cluster");
  struct node {
    daemon_run d;
    int port = free_port();
    bool alive = false;
  };
  std::array<std::unique_ptr<node>, 3> nodes;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i] = std::make_unique<node>();
    auto& n = *nodes[i];
    n.d.dir.write("pg.dsn", dsn + "\n");
    std::ofstream f(n.d.config);
    f << daemon_config(n.port, "store:\n  kind: postgres\n  dsn_file: pg.dsn\n  lease_ttl: 2s\n  instance: node" +
                                   std::to_string(i + 1) + "\n")
      << salesforce_block(sim) << hubspot_block(sim, "contacts", "    webhook: { client_secret: " + hubspot_secret + " }\n")
      << zendesk_block(sim, "users", "    webhook: { signing_secret: " + zendesk_secret + " }\n");
  }
  // The vendors deliver webhooks to the first instance (any instance stores them in the shared inbox).
  const std::string base = "http://127.0.0.1:" + std::to_string(nodes[0]->port);
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{{"service", "hubspot"}, {"url", base + "/webhooks/hs"}, {"secret", hubspot_secret}}));
  sim.admin("POST", "/admin/webhooks",
            json::serialize(json::object{{"service", "zendesk"}, {"url", base + "/webhooks/zd"}, {"secret", zendesk_secret}}));
  for (auto& n : nodes) {
    n->d.start();
    n->alive = true;
  }
  auto leader = [&]() -> int {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i]->alive && nodes[i]->d.status().at("cluster").at("leader").as_bool()) return static_cast<int>(i);
    return -1;
  };
  REQUIRE(eventually([&] { return leader() >= 0; }, 20s));
  auto stored = [&](const char* c) {
    return std::stoll(omnisync::test::pg_cluster::scalar(dsn, std::string("SELECT count(*) FROM records WHERE connector = '") + c + "'"));
  };
  REQUIRE(eventually([&] { return stored("hs") > 300; }, 120s));

  std::map<int, std::string> hs_phone, zd_phone;  // person -> the phone the edit set
  auto edit = [&](int round) {
    for (int i = 0; i < 25; ++i) {
      const int p = 100 + round * 500 + i * 7;
      hs_phone[p] = phone_for(5 + round, p);
      sim.admin("PATCH", "/admin/hubspot/contacts/" + std::to_string(p), R"({"properties":{"phone":")" + hs_phone[p] + R"("}})");
      const int q = 1100 + round * 500 + i * 11;
      zd_phone[q] = phone_for(7 + round, q);
      sim.admin("PATCH", "/admin/zendesk/users/" + std::to_string(q), R"({"phone":")" + zd_phone[q] + R"("})");
      if (i % 5 == 4) std::this_thread::sleep_for(200ms);
    }
  };
  edit(0);
  // Kill -9 of the leader in the middle of the initial sync; edits go on while another instance takes over.
  const int first = leader();
  REQUIRE(first >= 0);
  nodes[static_cast<std::size_t>(first)]->d.proc->signal(SIGKILL);
  nodes[static_cast<std::size_t>(first)]->d.proc->wait(10s);
  nodes[static_cast<std::size_t>(first)]->alive = false;
  edit(1);
  REQUIRE(eventually([&] { return leader() >= 0; }, 20s));
  const auto second = static_cast<std::size_t>(leader());
  if (first == 0) {  // the webhook target died: deliveries go to a live instance from now on
    const std::string to = "http://127.0.0.1:" + std::to_string(nodes[second]->port);
    sim.admin("POST", "/admin/webhooks",
              json::serialize(json::object{{"service", "hubspot"}, {"url", to + "/webhooks/hs"}, {"secret", hubspot_secret}}));
    sim.admin("POST", "/admin/webhooks",
              json::serialize(json::object{{"service", "zendesk"}, {"url", to + "/webhooks/zd"}, {"secret", zendesk_secret}}));
  }
  auto& d = nodes[second]->d;
  const bool quiet = eventually([&] {
    auto st = d.status();
    if (st.at("store").at("outbox_depth").as_int64() != 0 || st.at("store").at("inbox_depth").as_int64() != 0) return false;
    const auto before = writes_seen(sim);
    std::this_thread::sleep_for(3s);
    return writes_seen(sim) == before;
  }, 300s);
  if (!quiet) {
    INFO(json::serialize(d.status()));
    REQUIRE(quiet);
  }

  vendors v{sim, d};
  for (const auto& [p, phone] : hs_phone) {
    INFO("person " << p << " HubSpot phone edit " << phone);
    if (v.hubspot_phone(p) != phone) UNSCOPED_INFO("lost: details in " << lost_edit_report(v, d, p));
    CHECK(v.hubspot_phone(p) == phone);
    CHECK(v.zendesk_phone(p) == phone);
    CHECK(v.salesforce_phone(p) == phone);
  }
  for (const auto& [q, phone] : zd_phone) {
    INFO("person " << q << " Zendesk phone edit " << phone);
    if (v.zendesk_phone(q) != phone) UNSCOPED_INFO("lost: details in " << lost_edit_report(v, d, q));
    CHECK(v.zendesk_phone(q) == phone);
    CHECK(v.hubspot_phone(q) == phone);
    CHECK(v.salesforce_phone(q) == phone);
  }
  const auto settled = writes_seen(sim);
  std::this_thread::sleep_for(5s);
  CHECK(writes_seen(sim) == settled);
  for (auto& n : nodes)
    if (n->alive) CHECK(n->d.stop() == 0);
}
