// Segment membership in the daemon with real processes: omnisync-sim (Zendesk users and tickets, HubSpot as a
// `sync:` destination), omnisyncd and omnisyncctl. A segment fills after a sync; a person leaves it when their
// ticket is solved in the simulator; `segment explain` shows the terms and the next flip; a `within: 4s` window
// exits by the timer queue within a second of its deadline; the membership writes for the HubSpot destination are
// queued in the outbox (HubSpot is paused, so they stay there); backfill on demand (waited for and followed);
// pause/resume; preview agrees with the store.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

const std::string segments_yaml =
    "segments:\n"
    "  open_ticket:\n"
    "    where: 'count(events, e.type == \"ticket\" && e.status == \"open\") >= 1'\n"
    "    sync:\n"
    "      - { connector: hs, list: Open tickets }\n"
    "  recent_ticket:\n"
    "    where: 'any(events, e.type == \"ticket\", within: 4s)'\n";

std::string id_of(const json::value& v) {
  const auto& o = v.as_object();
  const json::value* id = o.if_contains("id");
  if (!id)
    if (const auto* t = o.if_contains("ticket")) id = t->as_object().if_contains("id");
  if (!id) return {};
  return id->is_string() ? std::string(id->as_string()) : std::to_string(id->to_number<std::int64_t>());
}

json::object segment(daemon_run& d, std::vector<std::string> args) {
  args.insert(args.begin(), "segment");
  return ctl_json(d, args);
}

std::int64_t size_of(daemon_run& d, const std::string& key) {
  return segment(d, {"show", key}).at("size").as_int64();
}

bool has_member(daemon_run& d, const std::string& key, const std::string& pid) {
  const auto page = segment(d, {"members", key});  // kept: a range-for over a temporary's member dangles
  for (const auto& m : page.at("items").as_array())
    if (m.as_object().at("profile").as_string() == pid) return true;
  return false;
}

std::int64_t hs_outbox(daemon_run& d) {
  auto st = d.status();
  return st.at("connectors").at("hs").at("outbox_depth").as_int64();
}

}  // namespace

TEST_CASE("segments: a segment fills after a sync, a solved ticket exits it, a time window exits by timer, "
          "membership writes are queued for the sync destination", "[pipeline][segments]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port(), segments_yaml) + zendesk_block(sim, "users, tickets") +
                                   hubspot_block(sim, "contacts"));
  d.start();
  // HubSpot paused: the membership writes queued for it stay in the outbox, where the test sees them.
  REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);

  auto list = segment(d, {"list"});
  REQUIRE(list.at("items").as_array().size() == 2);

  // A person with an open ticket.
  auto user = sim.admin("POST", "/admin/zendesk/users", R"({"name":"Tess Ticket","email":"tess@omnisync-test.example"})").json();
  const std::string zd_user = id_of(user);
  REQUIRE_FALSE(zd_user.empty());
  auto ticket = sim.admin("POST", "/admin/zendesk/tickets",
                          R"({"ticket":{"subject":"Broken","status":"open","requester_id":)" + zd_user + "}}").json();
  const std::string zd_ticket = id_of(ticket);
  REQUIRE_FALSE(zd_ticket.empty());
  const auto created = std::chrono::steady_clock::now();

  std::string pid;
  const bool entered = eventually([&] {
    auto p = d.profile({"get", "tess@omnisync-test.example"});
    if (!p.contains("id")) return false;
    pid = std::string(p.at("id").as_string());
    return has_member(d, "open_ticket", pid);
  }, 30s);
  if (!entered) {
    WARN("daemon stderr: " << d.proc->stderr_text());
    WARN("profile: " << json::serialize(d.profile({"get", pid})));
    WARN("explain: " << d.ctl({"--json", "segment", "explain", "open_ticket", pid}).out);
  }
  REQUIRE(entered);
  CHECK(size_of(d, "open_ticket") == 1);

  // backfill (a run over every profile, stored), waited for and followed: the stored membership is already
  // right, so one member and no transition; with --follow the progress events come first.
  for (const bool follow : {false, true}) {
    std::vector<std::string> args{"backfill", "open_ticket"};
    if (follow) args.push_back("--follow");
    auto bf = segment(d, args);
    INFO(json::serialize(bf));
    CHECK(bf.at("key").as_string() == "open_ticket");
    CHECK(bf.at("profiles").as_int64() == 1);
    CHECK(bf.at("members").as_int64() == 1);
    CHECK(bf.at("entered").as_int64() == 0);
    CHECK(bf.at("exited").as_int64() == 0);
  }
  // Each is a run of kind segment_backfill, after the one at start-up (a new definition).
  const auto runs = d.ctl({"--json", "runs", "--kind", "segment_backfill"});
  REQUIRE(runs.exit_code == 0);
  std::size_t backfills = 0;
  for (auto at = runs.out.find("\"kind\":\"segment_backfill\""); at != std::string::npos;
       at = runs.out.find("\"kind\":\"segment_backfill\"", at + 1))
    ++backfills;
  CHECK(backfills >= 3);

  // explain: the terms and (for the window) the next flip.
  auto why = segment(d, {"explain", "recent_ticket", pid});
  INFO(json::serialize(why));
  CHECK(why.at("profile").as_string() == pid);
  REQUIRE(why.at("terms").as_array().size() == 1);
  if (why.at("member").as_bool()) CHECK(why.at("flips_at").is_string());
  why = segment(d, {"explain", "open_ticket", pid});
  CHECK(why.at("member").as_bool());
  CHECK(why.at("flips_at").is_null());
  CHECK(why.at("terms").as_array()[0].as_object().at("value").as_string() == "true");

  // The membership write for the HubSpot list is queued (HubSpot is paused).
  REQUIRE(eventually([&] { return hs_outbox(d) >= 1; }, 10s));

  // The time window: out by the timer queue within a second of its deadline (4 s after the ticket's time; the
  // simulator's clock is the real one), with no new data from any system.
  REQUIRE(eventually([&] { return !has_member(d, "recent_ticket", pid); }, 15s));
  const auto exited_after = std::chrono::steady_clock::now() - created;
  WARN("recent_ticket exit after " << std::chrono::duration_cast<std::chrono::milliseconds>(exited_after).count()
                                   << " ms (window 4 s)");
  CHECK(exited_after < 4s + 1500ms);  // the deadline, the loop's 200 ms look, the 300 ms polls, the ctl call

  // Pause: membership is still computed, no write is queued; resume.
  segment(d, {"pause", "open_ticket"});
  CHECK(segment(d, {"show", "open_ticket"}).at("paused").as_bool());
  segment(d, {"resume", "open_ticket"});
  CHECK_FALSE(segment(d, {"show", "open_ticket"}).at("paused").as_bool());

  // The ticket is solved in Zendesk: the person leaves the segment after the next sync.
  sim.admin("PATCH", "/admin/zendesk/tickets/" + zd_ticket, R"({"status":"solved"})");
  REQUIRE(eventually([&] { return !has_member(d, "open_ticket", pid); }, 30s));
  CHECK(size_of(d, "open_ticket") == 0);

  // preview agrees with what is stored.
  auto pre = segment(d, {"preview", "open_ticket"});
  INFO(json::serialize(pre));
  CHECK(pre.at("size").as_int64() == 0);
  CHECK(pre.at("would_enter").as_int64() == 0);
  CHECK(pre.at("would_exit").as_int64() == 0);
  // Unknown keys: exit 1 with the configured names.
  auto bad = d.ctl({"segment", "show", "nope"});
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("open_ticket") != std::string::npos);

  // The stored membership and timers survive a restart.
  d.stop();
  d.start();
  CHECK(size_of(d, "open_ticket") == 0);
  CHECK(segment(d, {"list"}).at("items").as_array().size() == 2);
}
