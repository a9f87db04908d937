// The history and `omnisyncctl report` with real processes: HubSpot contacts in omnisync-sim move through lifecycle
// stages (lead -> salesqualifiedlead -> customer), omnisyncd reads them, and `report funnel --json` counts each
// stage's entries (any order and in order) as the history recorded them; a restart invents no transitions; the CSV
// and text forms; bad arguments exit 2; while the index loads at start a report is refused, saying why.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/integration/pipeline/pipeline_support.hpp"

using namespace omnisync::test;
using namespace omnisync::test::pipeline;
using omnisync::test::sim::running_sim;

namespace {

/// stage -> {entered_any_order, reached_in_order} of `report funnel --json`; empty while the index still loads.
std::map<std::string, std::pair<std::int64_t, std::int64_t>> funnel(daemon_run& d) {
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> out;
  auto r = report_json(d, {"funnel"});
  if (!r) return out;
  for (const auto& row : r->at("tables").at("stages").at("rows").as_array()) {
    const auto& a = row.as_array();
    out[std::string(a[0].as_string())] = {a[1].as_int64(), a[2].as_int64()};
  }
  return out;
}

using counts = std::pair<std::int64_t, std::int64_t>;

}  // namespace

TEST_CASE("history: a sync moves people through stages and report funnel counts them", "[pipeline][history]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  auto contact = [&](const char* email, const char* stage) {
    json::object p{{"properties", json::object{{"firstname", "T"}, {"lastname", email}, {"email", email},
                                               {"lifecyclestage", stage}}}};
    return std::string(sim.admin("POST", "/admin/hubspot/contacts", json::serialize(p)).json().at("id").as_string());
  };
  const auto ann = contact("ann@example.com", "lead");
  const auto bob = contact("bob@example.com", "lead");
  contact("cid@example.com", "lead");
  contact("dee@example.com", "customer");
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts"));
  d.start();

  // Initial sync: each new profile's first stage is a transition from "": three awareness, one purchase (Dee
  // skipped awareness: not in order).
  std::map<std::string, counts> f;
  REQUIRE(eventually([&] {
    f = funnel(d);
    return f["awareness"] == counts{3, 3} && f["purchase"] == counts{1, 0};
  }, 60s));
  CHECK(f["conversion"] == counts{0, 0});

  // Ann becomes a sales-qualified lead (conversion), then a customer (purchase); Bob a customer straight away.
  auto set_stage = [&](const std::string& id, const char* stage) {
    sim.admin("PATCH", "/admin/hubspot/contacts/" + id,
              json::serialize(json::object{{"properties", json::object{{"lifecyclestage", stage}}}}));
  };
  set_stage(ann, "salesqualifiedlead");
  REQUIRE(eventually([&] { return funnel(d)["conversion"] == counts{1, 1}; }, 60s));
  set_stage(ann, "customer");
  set_stage(bob, "customer");
  REQUIRE(eventually([&] {
    f = funnel(d);
    return f["purchase"] == counts{3, 1};
  }, 60s));
  CHECK(f["awareness"] == counts{3, 3});
  CHECK(f["conversion"] == counts{1, 1});
  CHECK(f["activation"] == counts{0, 0});
  auto full = ctl_json(d, {"report", "funnel"});
  INFO(json::serialize(full));
  const auto rows_before = full.at("rows_read").as_int64();
  CHECK(rows_before >= 7);  // 4 first stages + 3 moves (+ KPI rows, none here)
  // The conversion rate from conversion to purchase, in order: Ann only.
  const auto& purchase = full.at("tables").at("stages").at("rows").as_array()[2].as_array();
  CHECK(purchase[0].as_string() == "purchase");
  CHECK(purchase[3].to_number<double>() == Approx(1.0));

  // A restart rebuilds the book and loads the history: the same numbers, no new rows.
  CHECK(d.stop() == 0);
  d.start();
  REQUIRE(eventually([&] { return funnel(d)["purchase"] == counts{3, 1}; }, 60s));
  std::this_thread::sleep_for(1500ms);  // a few poll cycles
  CHECK(ctl_json(d, {"report", "funnel"}).at("rows_read").as_int64() == rows_before);
  CHECK(funnel(d)["awareness"] == counts{3, 3});

  // The other forms and reports answer; a window and a period narrow it.
  auto csv = d.ctl({"report", "funnel", "--csv", "--by", "day"});
  INFO(csv.err);
  CHECK(csv.exit_code == 0);
  CHECK(csv.out.rfind("# table stages\nstage,entered_any_order,reached_in_order,", 0) == 0);
  CHECK(csv.out.find("\npurchase,3,1,") != std::string::npos);
  auto text = d.ctl({"report", "funnel"});
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("entered_any_order") != std::string::npos);
  for (const char* name : {"retention", "satisfaction", "value", "segment_size"}) {
    INFO(name);
    CHECK(ctl_json(d, {"report", name, "--from", "2000-01-01", "--by", "week"}).at("report").as_string() == name);
  }
  auto future = ctl_json(d, {"report", "funnel", "--from", "2100-01-01", "--to", "2100-02-01"});
  CHECK(future.at("tables").at("stages").at("rows").as_array()[0].as_array()[1].as_int64() == 0);
  CHECK(d.ctl({"report", "nonsense"}).exit_code == 2);
  CHECK(d.ctl({"report", "funnel", "--by", "year"}).exit_code == 2);
  CHECK(d.ctl({"report", "funnel", "--from", "yesterday"}).exit_code == 2);
  CHECK(d.ctl({"report", "funnel", "--from", "2026-02-01", "--to", "2026-01-01"}).exit_code == 2);
}

TEST_CASE("history: while the analytics index loads, a report is refused with why, then answers in full",
          "[pipeline][history]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  for (const char* email : {"ann@example.com", "bob@example.com"}) {
    json::object p{{"properties", json::object{{"email", email}, {"lifecyclestage", "lead"}}}};
    sim.admin("POST", "/admin/hubspot/contacts", json::serialize(p));
  }
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim, "contacts"));
  d.start();
  REQUIRE(eventually([&] { return funnel(d)["awareness"] == counts{2, 2}; }, 60s));
  REQUIRE(d.stop() == 0);

  // The next start holds the index's load (test failpoint, daemon/sync/failpoint.hpp): a report meanwhile would
  // count none of the history; it is refused, saying why, instead of answering zeros.
  const auto failpoints = d.dir / "failpoints";
  { std::ofstream(failpoints) << "history_load_hold - -\n"; }
  REQUIRE(::setenv("OMNISYNC_TEST_FAILPOINTS", failpoints.c_str(), 1) == 0);
  d.start();
  auto r = d.ctl({"report", "funnel"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("still loading") != std::string::npos);
  std::filesystem::remove(failpoints);
  ::unsetenv("OMNISYNC_TEST_FAILPOINTS");
  REQUIRE(eventually([&] { return funnel(d)["awareness"] == counts{2, 2}; }, 60s));
  CHECK(d.stop() == 0);
}
