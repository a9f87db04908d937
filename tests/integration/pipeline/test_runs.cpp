// The run history with real processes: omnisync-sim (HubSpot and Zendesk), omnisyncd and omnisyncctl. A poll cycle
// that read something is a run with its counts and the writes it caused; idle cycles add no rows (they are counted
// on the newest poll run); a reload is a run; a resync with a bad outbound field shows its refused writes in its
// --follow summary and in `runs show`; a one-object resync's bar ends full (estimated per object); retention prunes;
// a resync left running by kill -9 is closed as interrupted when omnisyncd starts again.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

json::array runs(daemon_run& d, std::vector<std::string> filters = {}) {
  std::vector<std::string> args{"runs"};
  args.insert(args.end(), filters.begin(), filters.end());
  if (std::find(filters.begin(), filters.end(), "--limit") == filters.end()) args.insert(args.end(), {"--limit", "1000"});
  return ctl_json(d, args).at("items").as_array();
}

std::int64_t outbox(daemon_run& d) { return d.status().at("store").at("outbox_depth").as_int64(); }

std::int64_t n(const json::value& o, const char* k) { return o.as_object().at(k).as_int64(); }

/// The run history stops growing: no run added for `quiet` (the writes and their echoes have settled).
bool settles(daemon_run& d, std::chrono::milliseconds quiet, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    const auto before = runs(d).size();
    std::this_thread::sleep_for(quiet);
    if (runs(d).size() == before && outbox(d) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("runs: a poll cycle that read something is a run with its counts, idle cycles add no rows, reload too",
          "[pipeline][runs]") {
  running_sim sim({"--size", "60"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts") + zendesk_block(sim, "users"));
  d.start();
  const auto zd_total = sim_count(sim, "zendesk", "users");
  REQUIRE(zd_total > 0);

  // The initial sync of zd users is one poll run: every page of the cycle counted into it.
  REQUIRE(eventually([&] {
    for (const auto& r : runs(d, {"--connector", "zd", "--kind", "poll"}))
      if (r.as_object().at("objects").as_string() == "users" && !r.as_object().at("ended_at").is_null()) return true;
    return false;
  }, 60s));
  auto zd_runs = runs(d, {"--connector", "zd", "--kind", "poll"});
  const auto& first = zd_runs.back().as_object();  // newest first: the oldest is the initial sync
  INFO(json::serialize(first));
  CHECK(first.at("kind").as_string() == "poll");
  CHECK(first.at("connector").as_string() == "zd");
  CHECK(first.at("objects").as_string() == "users");
  CHECK(n(first, "read") == zd_total);
  CHECK(n(first, "stored") == zd_total);
  CHECK(n(first, "mapped") + n(first, "failed") == zd_total);
  CHECK(n(first, "api_calls") > 0);
  CHECK((first.at("outcome").as_string() == "ok" || first.at("outcome").as_string() == "partial"));
  const auto first_id = n(first, "id");

  // What it caused is counted on it per destination as the destinations confirm it (writes replaced by a later
  // run's before they were sent belong to that run).
  REQUIRE(settles(d, 1500ms, 90s));
  auto shown = ctl_json(d, {"runs", "show", std::to_string(first_id)});
  INFO(json::serialize(shown));
  const auto& writes = shown.at("writes").as_object();
  CHECK(n(writes, "queued") > 0);
  CHECK(n(writes, "written") + n(writes, "unchanged") > 0);
  CHECK(n(writes, "refused") == 0);
  CHECK_FALSE(writes.at("per_destination").as_array().empty());

  // Idle: polls every 300 ms find nothing, and no rows are added; the newest poll run counts them.
  const auto rows = runs(d).size();
  std::this_thread::sleep_for(3s);
  CHECK(runs(d).size() == rows);
  const auto newest_users = runs(d, {"--connector", "zd", "--kind", "poll", "--limit", "1"});
  REQUIRE(newest_users.size() == 1);
  CHECK(n(newest_users[0], "idle_cycles") >= 3);
  CHECK(!newest_users[0].as_object().at("last_idle_at").as_string().empty());

  // The human forms.
  auto table = d.ctl({"runs", "--connector", "zd"});
  INFO(table.err);
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("OUTCOME") != std::string::npos);
  CHECK(table.out.find(" poll ") != std::string::npos);
  auto human = d.ctl({"runs", "show", std::to_string(first_id)});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("records: read " + std::to_string(zd_total)) != std::string::npos);
  CHECK(human.out.find(": queued ") != std::string::npos);

  // Usage errors exit 2; an unknown run is the daemon's not_found (exit 1).
  CHECK(d.ctl({"runs", "show"}).exit_code == 2);
  CHECK(d.ctl({"runs", "show", "abc"}).exit_code == 2);
  CHECK(d.ctl({"runs", "--kind", "nope"}).exit_code == 2);
  CHECK(d.ctl({"runs", "--connector", "nope"}).exit_code == 2);
  CHECK(d.ctl({"runs", "show", "999999"}).exit_code == 1);

  // A reload is a run.
  REQUIRE(d.ctl({"reload"}).exit_code == 0);
  auto reloads = runs(d, {"--kind", "reload"});
  REQUIRE(reloads.size() == 1);
  CHECK(reloads[0].as_object().at("outcome").as_string() == "ok");
  CHECK(d.stop() == 0);
}

TEST_CASE("runs: a resync's summary and runs show carry its refused writes, a one-object resync's bar ends full",
          "[pipeline][runs]") {
  running_sim sim({"--size", "40"});
  lift_limits(sim);
  daemon_run d;
  const auto maps = copy_shipped_mappings(d.dir.path());
  {
    // A field HubSpot does not have, made of the profile id: every write to HubSpot is refused.
    std::ofstream out(maps / "hubspot" / "contacts.out.yaml", std::ios::app);
    out << unknown_hubspot_property;
  }
  // Zendesk polls once (at start): the changes made below reach omnisyncd only through the resync.
  std::string zd = zendesk_block(sim, "users, tickets");
  zd.replace(zd.find("poll_interval: 300ms"), 20, "poll_interval: 1h");
  std::string text = daemon_config(free_port(), "dead_letters: { retries: 0 }\n") + hubspot_block(sim, "contacts") + zd;
  text = with_mappings(text, maps);
  d.dir.write("omnisync.yaml", text);
  d.start();
  REQUIRE(eventually([&] { return d.records("zd") > 0 && outbox(d) == 0 && !runs(d, {"--connector", "zd"}).empty(); },
                     90s));
  std::this_thread::sleep_for(1s);
  REQUIRE(eventually([&] { return outbox(d) == 0; }, 60s));

  // People renamed in Zendesk: their golden names change, so the resync writes them to HubSpot (refused).
  const auto users = sim.admin("GET", "/admin/zendesk/users").json();
  REQUIRE(users.is_array());
  int renamed = 0;
  for (const auto& u : users.as_array()) {
    const auto& o = u.as_object();
    if (const auto* e = o.if_contains("email"); !e || !e->is_string() || e->as_string().empty()) continue;
    const auto id = json::serialize(o.at("id"));
    sim.admin("PATCH", "/admin/zendesk/users/" + id, R"({"name":"Renamed Person)" + std::to_string(renamed) + R"("})");
    if (++renamed == 5) break;
  }
  REQUIRE(renamed == 5);
  settle_zendesk(sim);

  const auto zd_users = sim_count(sim, "zendesk", "users");
  auto summary = ctl_json(d, {"resync", "zd", "users", "--follow"});
  INFO(json::serialize(summary));
  const auto run = n(summary, "run");
  CHECK(run > 0);
  CHECK(n(summary, "read") == zd_users);
  // Estimated per object: the bar ends full (the connector's total would also count its tickets).
  CHECK(n(summary, "estimated_total") == n(summary, "read"));
  const auto& writes = summary.at("writes").as_object();
  CHECK(n(writes, "queued") > 0);
  CHECK(n(writes, "refused") > 0);
  CHECK(n(writes, "pending") == 0);
  CHECK(summary.at("outcome").as_string() == "partial");
  bool hs_refused = false;
  for (const auto& w : summary.at("per_destination").as_array())
    if (w.as_object().at("destination").as_string() == "hs") hs_refused = n(w, "refused") > 0;
  CHECK(hs_refused);

  auto shown = ctl_json(d, {"runs", "show", std::to_string(run)});
  CHECK(shown.at("kind").as_string() == "resync");
  CHECK(shown.at("objects").as_string() == "users");
  CHECK(shown.at("outcome").as_string() == "partial");
  CHECK(n(shown.at("writes"), "refused") == n(writes, "refused"));
  auto human = d.ctl({"runs", "show", std::to_string(run)});
  CHECK(human.out.find("refused " + std::to_string(n(writes, "refused"))) != std::string::npos);

  // Followed without --json (not a terminal: one progress line per event): the last line's bar is full.
  auto followed = d.ctl({"resync", "zd", "users", "--follow"}, 120s);
  INFO(followed.err);
  INFO(followed.out);
  CHECK(followed.exit_code == 0);
  CHECK(followed.out.find("[" + std::string(24, '#') + "]") != std::string::npos);
  CHECK(followed.out.find("omnisyncctl runs show") != std::string::npos);
  CHECK(d.stop() == 0);
}

TEST_CASE("runs: finished runs past runs.retention are pruned", "[pipeline][runs]") {
  running_sim sim({"--size", "20"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml",
              daemon_config(free_port(), "runs: { retention: 2s }\n") + zendesk_block(sim, "users"));
  d.start();
  std::int64_t first = 0;
  REQUIRE(eventually([&] {
    auto r = runs(d);
    if (r.empty() || r.back().as_object().at("ended_at").is_null()) return false;
    first = n(r.back(), "id");
    return true;
  }, 60s));
  // Gone within the retention and a prune interval (a quarter of it, at least a second), and with it the list.
  CHECK(eventually([&] { return d.ctl({"runs", "show", std::to_string(first)}).exit_code == 1; }, 15s));
  CHECK(d.stop() == 0);
}

TEST_CASE("runs: a resync left running by kill -9 is closed as interrupted at the next start", "[pipeline][runs]") {
  running_sim sim({"--size", "30"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts"));
  d.start();
  REQUIRE(eventually([&] {
    auto r = runs(d, {"--connector", "hs", "--kind", "poll"});
    return !r.empty() && !r.back().as_object().at("ended_at").is_null();
  }, 60s));

  // Every HubSpot call now takes 3 s: the resync is under way (a page in flight) when omnisyncd is killed.
  sim.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"latency","latency_ms":3000,"count":-1})");
  const auto started = ctl_json(d, {"resync", "hs", "contacts"});
  const auto run = n(started, "run");
  REQUIRE(run > 0);
  REQUIRE(eventually([&] {
    const auto st = d.status();
    for (const auto& o : st.at("connectors").at("hs").at("objects_status").as_array())
      if (o.at("phase").as_string() == "resync") return true;
    return false;
  }, 20s));
  std::this_thread::sleep_for(500ms);
  CHECK(ctl_json(d, {"runs", "show", std::to_string(run)}).at("outcome").as_string() == "running");
  ::kill(d.proc->pid(), SIGKILL);
  REQUIRE(d.proc->wait(15s).has_value());
  sim.admin("DELETE", "/admin/faults");

  // The next start closes it: outcome interrupted, an end time, and why.
  d.start();
  json::object shown;
  CHECK(eventually([&] {
    shown = ctl_json(d, {"runs", "show", std::to_string(run)});
    return shown.at("outcome").as_string() != "running";
  }, 20s));
  INFO(json::serialize(shown));
  CHECK(shown.at("outcome").as_string() == "interrupted");
  CHECK_FALSE(shown.at("ended_at").is_null());
  CHECK(std::string(shown.at("error").as_string()).find("killed or crashed") != std::string::npos);
  // The log line follows the store's commit of the closes (the daemon logs the count once they are all done).
  CHECK(d.proc->wait_stderr_contains("closed as interrupted", 10s));
  // No run is left running but those of this process (its own polls and the like).
  for (const auto& r : runs(d))
    if (n(r, "id") <= run) CHECK(r.as_object().at("outcome").as_string() != "running");
  auto human = d.ctl({"runs", "--kind", "resync"});
  CHECK(human.out.find("interrupted") != std::string::npos);
  // Runs of this process are its own: a resync now runs and ends as usual.
  auto again = ctl_json(d, {"resync", "hs", "contacts", "--follow"});
  CHECK(ctl_json(d, {"runs", "show", std::to_string(n(again, "run"))}).at("outcome").as_string() == "ok");
  CHECK(d.stop() == 0);
}
