// Several omnisyncd instances on one PostgreSQL store, against omnisync-sim: exactly one instance runs
// the pipeline (polls, inbox, profiles) under the `pipeline` lease; webhooks are taken by any instance and stored
// in the shared inbox before the 2xx; kill -9 of the leader in the middle of a sync hands the lease to another
// instance within the lease time and the final state equals a fault-free run (every record stored once, every
// acknowledged webhook processed, writes landed); the same new person arriving by webhook at two instances at
// once becomes one profile; a database restart in the middle of the run is survived; the paused-set follower is
// supervised like the sync loops (an exception restarts it); an instance that leads again counts in its reports
// what the other leader recorded meanwhile.
// One throw-away PostgreSQL cluster (tests/support/pg_cluster) for this process.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <array>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/pg_cluster.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::pg_cluster;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

const std::string hubspot_secret = "hs-webhook-secret-for-tests";

/// One instance's config: its own HTTP port and name, the shared store, a 2 s pipeline lease.
std::string instance_config(running_sim& sim, int port, const std::string& name) {
  return daemon_config(port, "store:\n  kind: postgres\n  dsn_file: pg.dsn\n  lease_ttl: 2s\n  instance: " + name +
                                 "\nsegments:\n  vip:\n    where: \"kpi.lifetime_value >= 5000\"\n") +
         salesforce_block(sim, "Contact", "    sync: { write: false }\n") +
         hubspot_block(sim, "contacts", "    webhook: { client_secret: " + hubspot_secret + " }\n") +
         zendesk_block(sim, "users", "    sync: { job_poll_interval: 100ms }\n");
}

struct instance {
  daemon_run d;
  std::string name;
  bool alive = false;
};

/// Three instances of omnisyncd on one database.
struct cluster_run {
  pg_cluster& pg;
  std::string dsn;
  std::array<std::unique_ptr<instance>, 3> nodes;

  cluster_run(pg_cluster& p, const std::string& db, running_sim& sim) : pg(p), dsn(p.create_database(db)) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      nodes[i] = std::make_unique<instance>();
      auto& n = *nodes[i];
      n.name = "node" + std::to_string(i + 1);
      n.d.dir.write("pg.dsn", dsn + "\n");
      n.d.dir.write("omnisync.yaml", instance_config(sim, free_port(), n.name));
    }
  }
  /// Starts every instance; returns the one that took the pipeline (exactly one must say it does).
  std::size_t start_all() {
    for (auto& n : nodes) {
      n->d.start();
      n->alive = true;
    }
    REQUIRE(eventually([&] { return leaders().size() == 1; }, 20s));
    return leaders().front();
  }
  /// The instances that say they run the pipeline now.
  std::vector<std::size_t> leaders() {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i]->alive) continue;
      auto st = nodes[i]->d.status();
      if (st.contains("cluster") && st.at("cluster").at("leader").as_bool()) out.push_back(i);
    }
    return out;
  }
  std::size_t any_alive_other_than(std::size_t k) {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (i != k && nodes[i]->alive) return i;
    return k;
  }
  std::int64_t stored(const std::string& connector) {
    return std::stoll(pg_cluster::scalar(dsn, "SELECT count(*) FROM records WHERE connector = '" + connector + "'"));
  }
  void kill(std::size_t i) {
    nodes[i]->d.proc->signal(SIGKILL);
    nodes[i]->d.proc->wait(10s);
    nodes[i]->alive = false;
  }
};

/// Posts a signed HubSpot v3 webhook delivery to one instance; the HTTP status.
int post_hubspot(daemon_run& d, const std::string& body) { return post_signed_hubspot(d.port, hubspot_secret, body); }

std::string delivery(int event_id, const std::string& contact_id) {
  return R"([{"eventId":)" + std::to_string(event_id) +
         R"(,"subscriptionType":"contact.propertyChange","propertyName":"email","objectId":)" + contact_id +
         R"(,"occurredAt":)" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()) +
         R"(,"portalId":62515,"appId":1,"attemptNumber":0}])";
}

bool users_hold(running_sim& sim, const std::string& text) {
  return json::serialize(sim.admin("GET", "/admin/zendesk/users").json()).find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("cluster: three instances on one PostgreSQL store — one pipeline, webhooks anywhere, kill -9 of the "
          "leader hands over within the lease time, the final state is complete",
          "[cluster][pg]") {
  pg_cluster pg;
  running_sim sim({"--size", "3000"});
  lift_limits(sim);
  cluster_run c(pg, "cluster_takeover", sim);
  // Exactly one instance runs the pipeline; status shows the lease and its holder on every instance.
  const auto first = c.start_all();
  {
    auto& standby_d = c.nodes[c.any_alive_other_than(first)]->d;
    auto st = standby_d.status();
    INFO(json::serialize(st.at("cluster")));
    CHECK_FALSE(st.at("cluster").at("leader").as_bool());
    bool listed = false;
    std::set<std::string> roster;
    for (const auto& l : st.at("cluster").at("leases").as_array()) {
      if (l.at("key").as_string() == "pipeline") listed = l.at("owner").as_string() == c.nodes[first]->name;
      if (l.at("key").as_string().starts_with("instance/")) roster.insert(std::string(l.at("owner").as_string()));
    }
    CHECK(listed);
    CHECK(roster == std::set<std::string>{"node1", "node2", "node3"});  // every instance, each by its own lease
    CHECK(standby_d.ctl({"status"}).out.find("standby") != std::string::npos);
    // Commands that need the pipeline are refused by a standby, naming the instance that runs it.
    const std::string there = "runs on instance \"" + c.nodes[first]->name + "\"";
    auto r = standby_d.ctl({"resync", "hs"});
    INFO(r.out + r.err);
    CHECK(r.exit_code != 0);
    CHECK((r.out + r.err).find(there) != std::string::npos);
    auto p = standby_d.ctl({"profile", "get", "ann.lee@example.com"});
    INFO(p.out + p.err);
    CHECK(p.exit_code != 0);
    CHECK((p.out + p.err).find(there) != std::string::npos);
    // A segment's pause, resume and release act on the leader's membership sync: refused the same way (a standby
    // would only change a flag the leader reads when it takes over, or find nothing held).
    for (const char* action : {"pause", "resume", "release"}) {
      auto s = standby_d.ctl({"segment", action, "vip"});
      INFO(action << ": " << s.out + s.err);
      CHECK(s.exit_code != 0);
      CHECK((s.out + s.err).find(there) != std::string::npos);
    }
    CHECK(c.nodes[first]->d.ctl({"segment", "pause", "vip"}).exit_code == 0);  // the leader takes it
    CHECK(c.nodes[first]->d.ctl({"segment", "resume", "vip"}).exit_code == 0);
    CHECK(c.nodes[first]->d.ctl({"resync", "hs"}).exit_code == 0);  // the leader takes it
    auto m = standby_d.ctl({"remap", "hs"});  // remaps feed the leader's book: refused the same way
    INFO(m.out + m.err);
    CHECK(m.exit_code == 1);
    CHECK((m.out + m.err).find(there) != std::string::npos);
    // The paused set is the cluster's: a pause sent to a standby pauses the leader's polls, a resume sent to
    // any instance resumes them.
    auto paused_on = [&](std::size_t i) {  // the engine's state: its polls and writers for zd stopped
      const auto st = c.nodes[i]->d.status();
      return st.at("connectors").at("zd").at("state").as_string() == "paused";
    };
    REQUIRE(standby_d.ctl({"pause", "zd"}).exit_code == 0);
    CHECK(eventually([&] { return paused_on(first); }, 10s));
    REQUIRE(c.nodes[first]->d.ctl({"resume", "zd"}).exit_code == 0);
    CHECK(eventually([&] { return !paused_on(c.any_alive_other_than(first)); }, 10s));
  }

  // Kill -9 of the leader — the holder of the pipeline lease, so of every poller, Salesforce's among them — in
  // the middle of the initial sync (some records stored, not all).
  const auto sf_total = sim_count(sim, "salesforce", "Contact");
  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  const auto zd_total = sim_count(sim, "zendesk", "users");
  REQUIRE(sf_total > 0);
  REQUIRE(eventually([&] { return c.stored("sf") + c.stored("hs") + c.stored("zd") > 0; }, 60s));
  c.kill(first);
  const auto at_kill = c.stored("sf") + c.stored("hs") + c.stored("zd");
  WARN("leader killed with " << at_kill << " of " << sf_total + hs_total + zd_total << " records stored");
  const auto killed_at = std::chrono::steady_clock::now();
  REQUIRE(eventually([&] { return c.leaders().size() == 1; }, 15s));
  const auto took_over_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count();
  WARN("another instance took the pipeline over " << took_over_ms << " ms after the leader's kill -9 (lease 2 s)");
  CHECK(took_over_ms <= 2000 + 2000);  // the lease time, plus the renewal period and status polling
  const auto second = c.leaders().front();
  CHECK(second != first);

  // Webhooks delivered to the standby instance are stored before its 2xx and processed by the leader.
  const auto standby = c.any_alive_other_than(second);
  REQUIRE(standby != second);
  sim.admin("PATCH", "/admin/hubspot/contacts/9", R"({"properties":{"email":"cluster.nine@example.com"}})");
  CHECK(post_hubspot(c.nodes[standby]->d, delivery(900001, "9")) == 200);

  // The final state equals a fault-free run: every record stored once, nothing left queued, the change written.
  REQUIRE(eventually([&] {
    return c.stored("sf") == sf_total && c.stored("hs") == hs_total && c.stored("zd") >= zd_total;
  }, 180s));
  const bool nine_arrived = eventually([&] { return users_hold(sim, "cluster.nine@example.com"); }, 120s);
  INFO(json::serialize(c.nodes[second]->d.profile({"get", "hs:contacts:9"})));
  INFO(json::serialize(c.nodes[second]->d.status()));
  CHECK(nine_arrived);
  REQUIRE(eventually([&] {
    auto st = c.nodes[second]->d.status();
    return st.at("store").at("inbox_depth").as_int64() == 0 && st.at("store").at("outbox_depth").as_int64() == 0;
  }, 60s));
  CHECK(std::stoll(pg_cluster::scalar(c.dsn, "SELECT count(*) FROM inbox WHERE dedupe_key LIKE '%900001%'")) <= 1);
  INFO(c.nodes[second]->d.ctl({"dlq", "list"}).out);
  CHECK(c.nodes[second]->d.status().at("store").at("dead_letters").as_int64() == 0);
  // No record was created twice in Zendesk: one user per e-mail.
  {
    auto users = sim.admin("GET", "/admin/zendesk/users").json().as_array();
    std::set<std::string> seen;
    std::size_t dup = 0;
    for (const auto& u : users) {
      const auto* e = u.as_object().if_contains("email");
      if (!e || !e->is_string()) continue;
      if (!seen.insert(lower(std::string(e->as_string()))).second) ++dup;
    }
    CHECK(dup == 0);
  }
  for (auto& n : c.nodes)
    if (n->alive) CHECK(n->d.stop() == 0);
  // Three instances under load never deadlocked each other (lease renewals, claims, acks take locks in one order).
  const std::string log = pg.server_log();
  INFO(log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
  CHECK(log.find("deadlock detected") == std::string::npos);
}

TEST_CASE("cluster: the same new person arriving at two instances at once becomes one profile, and a database restart "
          "is survived",
          "[cluster][pg]") {
  pg_cluster pg;
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  cluster_run c(pg, "cluster_concurrent", sim);
  const auto leader = c.start_all();
  REQUIRE(eventually([&] {
    auto st = c.nodes[leader]->d.status();
    return st.at("profiles").at("ready").as_bool();
  }, 30s));

  // Ann appears in HubSpot; the delivery reaches two instances at the same moment (a load balancer retrying).
  const auto hs = sim.admin("POST", "/admin/hubspot/contacts",
                            R"({"properties":{"firstname":"Ann","lastname":"Lee","email":"ann.lee@example.com"}})")
                      .json();
  const std::string id(hs.at("id").as_string());
  int s1 = 0, s2 = 0;
  {
    std::thread a([&] { s1 = post_hubspot(c.nodes[0]->d, delivery(700001, id)); });
    std::thread b([&] { s2 = post_hubspot(c.nodes[1]->d, delivery(700001, id)); });
    a.join();
    b.join();
  }
  CHECK(s1 == 200);
  CHECK(s2 == 200);
  // Stored once (the event id), one profile, one Zendesk user.
  REQUIRE(eventually([&] { return users_hold(sim, "ann.lee@example.com"); }, 30s));
  CHECK(std::stoll(pg_cluster::scalar(c.dsn, "SELECT count(*) FROM inbox WHERE connector = 'hs'")) == 1);
  REQUIRE(eventually([&] {
    auto p = c.nodes[leader]->d.profile({"get", "ann.lee@example.com"});
    return !p.empty() && p.at("records").as_array().size() == 2;  // her HubSpot contact and the Zendesk user
  }, 30s));
  {
    auto users = sim.admin("GET", "/admin/zendesk/users").json().as_array();
    std::size_t anns = 0;
    for (const auto& u : users)
      if (const auto* e = u.as_object().if_contains("email"); e && e->is_string() && e->as_string() == "ann.lee@example.com")
        ++anns;
    CHECK(anns == 1);
  }

  // The database restarts in the middle of the run: the instances retry, a webhook taken after it is processed.
  pg.restart();
  sim.admin("PATCH", "/admin/hubspot/contacts/" + id, R"({"properties":{"email":"ann.lee.after@example.com"}})");
  int status = 0;
  REQUIRE(eventually([&] {
    status = post_hubspot(c.nodes[c.any_alive_other_than(leader)]->d, delivery(700002, id));
    return status == 200;
  }, 30s));
  CHECK(eventually([&] { return users_hold(sim, "ann.lee.after@example.com"); }, 60s));
  CHECK(c.leaders().size() == 1);
  for (auto& n : c.nodes)
    if (n->alive) CHECK(n->d.stop() == 0);
}

TEST_CASE("cluster: a paused-set follower that throws is restarted with backoff, counted, and follows again",
          "[cluster][restart]") {
  pg_cluster pg;
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  const auto dsn = pg.create_database("paused_follow");
  std::array<daemon_run, 2> d;
  for (std::size_t i = 0; i < d.size(); ++i) {
    d[i].dir.write("pg.dsn", dsn + "\n");
    d[i].dir.write("omnisync.yaml", instance_config(sim, free_port(), "node" + std::to_string(i + 1)));
  }
  // Only the first instance sees the failpoint (daemon/sync/failpoint.hpp): its follower throws as it starts.
  const auto failpoints = d[0].dir / "failpoints";
  { std::ofstream(failpoints) << "task_throw paused_set -\n"; }
  REQUIRE(::setenv("OMNISYNC_TEST_FAILPOINTS", failpoints.c_str(), 1) == 0);
  d[0].start();
  REQUIRE(::unsetenv("OMNISYNC_TEST_FAILPOINTS") == 0);
  d[1].start();

  // The engine's own loops count under connector "": restarted, not left dead, and not in a spin.
  auto restarts = [&] {
    auto m = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d[0].port) + "/metrics");
    const std::string name = "omnisync_sync_task_restarts_total{connector=\"\"} ";
    const auto at = m.body.find(name);
    return at == std::string::npos ? 0.0 : std::stod(m.body.substr(at + name.size()));
  };
  REQUIRE(eventually([&] { return restarts() >= 2; }, 20s));
  CHECK(restarts() <= 5);  // 1 s, 2 s, 4 s ... between them
  CHECK(d[0].proc->stderr_text().find("sync task paused set ended with an exception: failpoint task_throw: paused "
                                      "set; restarting it") != std::string::npos);
  CHECK(d[0].ctl({"status"}).exit_code == 0);  // the daemon itself runs on

  // The fault clears: at its next restart the follower runs, and a pause made through the other instance
  // reaches this one.
  std::filesystem::remove(failpoints);
  REQUIRE(d[1].ctl({"pause", "zd"}).exit_code == 0);
  CHECK(eventually([&] {
    return d[0].status().at("connectors").at("zd").at("state").as_string() == "paused";
  }, 30s));
  REQUIRE(d[1].ctl({"resume", "zd"}).exit_code == 0);
  CHECK(eventually([&] {
    return d[0].status().at("connectors").at("zd").at("state").as_string() != "paused";
  }, 10s));
  for (auto& x : d) CHECK(x.stop() == 0);
}

TEST_CASE("cluster: an instance that leads again loads the analytics index afresh, counting the rows the other "
          "leader stored meanwhile",
          "[cluster][pg][history]") {
  pg_cluster pg;
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  auto contact = [&](const std::string& email) {
    json::object p{{"properties", json::object{{"firstname", "T"}, {"lastname", email}, {"email", email},
                                               {"lifecyclestage", "lead"}}}};
    return std::string(sim.admin("POST", "/admin/hubspot/contacts", json::serialize(p)).json().at("id").as_string());
  };
  const auto ann = contact("ann@example.com");
  contact("bob@example.com");
  contact("cid@example.com");
  const auto dsn = pg.create_database("cluster_history");
  std::array<daemon_run, 2> d;
  for (std::size_t i = 0; i < d.size(); ++i) {
    d[i].dir.write("pg.dsn", dsn + "\n");
    d[i].dir.write("omnisync.yaml", instance_config(sim, free_port(), "node" + std::to_string(i + 1)));
  }
  d[0].start();
  REQUIRE(eventually([&] { return d[0].status().at("cluster").at("leader").as_bool(); }, 20s));
  d[1].start();
  auto leads = [&](std::size_t i) { return d[i].status().at("cluster").at("leader").as_bool(); };
  // stage -> {entered_any_order, reached_in_order}, and the rows read; nullopt while refused (a standby, or the
  // index still loading).
  using counts = std::pair<std::int64_t, std::int64_t>;
  struct funnel_report {
    std::map<std::string, counts> stages;
    std::int64_t rows_read = 0;
  };
  auto funnel = [&](std::size_t i) -> std::optional<funnel_report> {
    auto r = d[i].ctl({"--json", "report", "funnel"});
    if (r.exit_code != 0) return std::nullopt;
    std::string last = r.out;  // the last line is the answer (as ctl_json reads it)
    while (!last.empty() && last.back() == '\n') last.pop_back();
    if (const auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
    auto v = json::parse(last).as_object();
    funnel_report out;
    out.rows_read = v.at("rows_read").as_int64();
    for (const auto& row : v.at("tables").at("stages").at("rows").as_array()) {
      const auto& a = row.as_array();
      out.stages[std::string(a[0].as_string())] = {a[1].as_int64(), a[2].as_int64()};
    }
    return out;
  };
  std::optional<funnel_report> f;
  REQUIRE(eventually([&] {
    f = funnel(0);
    return f && f->stages["awareness"] == counts{3, 3};
  }, 60s));

  // The leader stops (SIGSTOP: its memory, the analytics index among it, survives); the other instance takes the
  // pipeline over and records two new people and Ann's purchase.
  d[0].proc->signal(SIGSTOP);
  REQUIRE(eventually([&] { return leads(1); }, 15s));
  contact("dee@example.com");
  contact("eve@example.com");
  sim.admin("PATCH", "/admin/hubspot/contacts/" + ann,
            json::serialize(json::object{{"properties", json::object{{"lifecyclestage", "customer"}}}}));
  std::optional<funnel_report> there;
  REQUIRE(eventually([&] {
    there = funnel(1);
    return there && there->stages["awareness"] == counts{5, 5} && there->stages["purchase"] == counts{1, 0};
  }, 60s));

  // The first instance resumes, finds the lease taken and stands by; the second dies; the first leads again. Its
  // reports count what the second stored: the index is loaded afresh, not the one it had (which would say 3).
  d[0].proc->signal(SIGCONT);
  REQUIRE(eventually([&] { return !leads(0); }, 15s));
  CHECK_FALSE(funnel(0).has_value());  // a standby refuses reports
  d[1].proc->signal(SIGKILL);
  d[1].proc->wait(10s);
  REQUIRE(eventually([&] { return leads(0); }, 15s));
  REQUIRE(eventually([&] { return (f = funnel(0)).has_value(); }, 60s));
  CHECK(f->stages["awareness"] == counts{5, 5});
  CHECK(f->stages["purchase"] == counts{1, 0});
  CHECK(f->rows_read == there->rows_read);
  CHECK(d[0].proc->stderr_text().find("leading again; the analytics index is loaded afresh") != std::string::npos);
  CHECK(d[0].stop() == 0);
}
