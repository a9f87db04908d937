// Segment semantics in the daemon with real processes (omnisync-sim's Zendesk, omnisyncd, omnisyncctl): a
// transition is a `segment_entered` event that another segment reads (e.segment) and `profile get` shows in the
// timeline; a segment removed by a reload is forgotten (not listed, not reported, its membership gone) and one
// declared again under its key starts from a backfill.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <set>
#include <string>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

const std::string base_segments =
    "segments:\n"
    "  open_ticket:\n"
    "    where: 'count(events, e.type == \"ticket\" && e.status == \"open\") >= 1'\n"
    "  new_open:\n"
    "    where: 'any(events, e.type == \"segment_entered\" && e.segment == \"open_ticket\", within: 1h)'\n";
const std::string with_gone = base_segments +
                              "  gone:\n"
                              "    where: 'any(events, e.type == \"ticket\")'\n";

std::string id_of(const json::value& v) {
  const auto& o = v.as_object();
  const json::value* id = o.if_contains("id");
  if (!id)
    if (const auto* t = o.if_contains("ticket")) id = t->as_object().if_contains("id");
  if (!id) return {};
  return id->is_string() ? std::string(id->as_string()) : std::to_string(id->to_number<std::int64_t>());
}

bool has_member(daemon_run& d, const std::string& key, const std::string& pid) {
  const auto page = ctl_json(d, {"segment", "members", key});
  for (const auto& m : page.at("items").as_array())
    if (m.as_object().at("profile").as_string() == pid) return true;
  return false;
}

std::set<std::string> listed(daemon_run& d) {
  std::set<std::string> out;
  const auto list = ctl_json(d, {"segment", "list"});
  for (const auto& s : list.at("items").as_array()) out.insert(std::string(s.as_object().at("key").as_string()));
  return out;
}

std::set<std::string> reported(daemon_run& d) {
  std::set<std::string> out;
  const auto r = ctl_json(d, {"report", "segment_size", "--by", "day"});
  for (const auto& row : r.at("tables").at("sizes").at("rows").as_array())
    out.insert(std::string(row.as_array()[1].as_string()));
  return out;
}

}  // namespace

TEST_CASE("segment events: another segment reads an entry and profile get shows it, a removed segment is forgotten",
          "[pipeline][segments]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  const auto config = [&](const std::string& segs) {
    return daemon_config(free_port(), segs) + zendesk_block(sim, "users, tickets");
  };
  d.dir.write("omnisync.yaml", config(with_gone));
  d.start();
  CHECK(listed(d) == std::set<std::string>{"gone", "new_open", "open_ticket"});

  auto user = sim.admin("POST", "/admin/zendesk/users", R"({"name":"Eve Events","email":"eve@omnisync-test.example"})").json();
  const std::string zd_user = id_of(user);
  REQUIRE_FALSE(zd_user.empty());
  auto ticket = sim.admin("POST", "/admin/zendesk/tickets",
                          R"({"ticket":{"subject":"Broken","status":"open","requester_id":)" + zd_user + "}}").json();
  REQUIRE_FALSE(id_of(ticket).empty());

  // open_ticket's entry is an event new_open reads: it enters too (the next round of the same page).
  std::string pid;
  const bool entered = eventually([&] {
    auto p = d.profile({"get", "eve@omnisync-test.example"});
    if (!p.contains("id")) return false;
    pid = std::string(p.at("id").as_string());
    return has_member(d, "new_open", pid);
  }, 30s);
  if (!entered) WARN("daemon stderr: " << d.proc->stderr_text());
  REQUIRE(entered);
  CHECK(has_member(d, "open_ticket", pid));
  CHECK(has_member(d, "gone", pid));
  auto why = ctl_json(d, {"segment", "explain", "new_open", pid});
  INFO(json::serialize(why));
  CHECK(why.at("member").as_bool());
  CHECK(why.at("flips_at").is_string());  // the entry leaves the 1 h window

  // profile get: the transitions are in the timeline.
  const auto p = d.profile({"get", pid});
  std::set<std::string> entries;
  for (const auto& e : p.at("timeline").as_array())
    if (e.as_object().at("type").as_string() == "segment_entered")
      entries.insert(std::string(e.as_object().at("subject").as_string()));
  CHECK(entries == std::set<std::string>{"gone", "new_open", "open_ticket"});
  CHECK(reported(d).count("gone") == 1);

  // A reload without `gone`: forgotten — not listed, not reported; its members and timers are dropped.
  d.dir.write("omnisync.yaml", config(base_segments));
  REQUIRE(d.ctl({"reload"}).exit_code == 0);
  REQUIRE(eventually([&] { return d.proc->stderr_text().find("segment gone: no longer configured") != std::string::npos; }, 15s));
  CHECK(listed(d) == std::set<std::string>{"new_open", "open_ticket"});
  CHECK(reported(d).count("gone") == 0);
  CHECK(reported(d).count("open_ticket") == 1);

  // Declared again: a backfill, and the person is a member again.
  d.dir.write("omnisync.yaml", config(with_gone));
  REQUIRE(d.ctl({"reload"}).exit_code == 0);
  CHECK(eventually([&] { return has_member(d, "gone", pid); }, 15s));
  CHECK(has_member(d, "open_ticket", pid));
}
