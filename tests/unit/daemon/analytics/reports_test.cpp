// The analytics reports on small histories whose numbers were worked out by hand (see each case's comment): the
// funnel's any-order and in-order counts, conversions and median days in stage; retention cohorts; NPS and CSAT per
// period; LTV and AOV by stage, segment and first-touch source; segment sizes; periods and the JSON/CSV forms.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "core/time.hpp"
#include "daemon/analytics/reports.hpp"

using namespace omnisync::analytics;
using omnisync::store::history_entry;

namespace {

std::int64_t ms(const char* iso) { return omnisync::to_epoch_ms(*omnisync::parse_iso8601(iso)); }

history_entry row(const char* profile, const char* kind, const char* subject, const char* to, const char* at,
                  const char* cause = R"({"record":"sf:Contact/1"})") {
  return history_entry(profile, kind, subject, "", to, omnisync::from_epoch_ms(ms(at)), cause);
}

history_entry stage(const char* profile, const char* to, const char* at) { return row(profile, "stage", "", to, at); }

const table& table_of(const report& r, const std::string& name) {
  for (const auto& t : r.tables)
    if (t.name == name) return t;
  FAIL("no table " << name);
  throw;
}

/// The cells of the row whose first cell is `first`.
std::vector<std::string> row_of(const table& t, const std::string& first) {
  for (const auto& r : t.rows)
    if (!r.empty() && r[0] == first) return r;
  FAIL("no row " << first << " in " << t.name);
  throw;
}

report run(const char* name, const std::vector<history_entry>& rows, report_window w) {
  history_index index;
  index.add(rows);
  auto r = compute(name, index, w);
  REQUIRE(r);
  return *r;
}

}  // namespace

TEST_CASE("analytics: funnel counts any-order and in-order entries, conversions, median days in stage",
          "[analytics]") {
  // A: awareness Jan 1, conversion Jan 3, purchase Jan 10.  B: awareness Jan 2, purchase Jan 5.
  // C: conversion Feb 1, then awareness Feb 2.  D: awareness Dec 20 (before the window), conversion Jan 5.
  // Any order: awareness A B C = 3, conversion A C D = 3, purchase A B = 2. In order: awareness 3, conversion A = 1,
  // purchase A = 1. Days in stage (entries in the window with a next stage): awareness A 2, B 3 -> 2.5; conversion
  // A 7, C 1 -> 4.
  std::vector<history_entry> rows{
      stage("A", "awareness", "2026-01-01"), stage("A", "conversion", "2026-01-03"), stage("A", "purchase", "2026-01-10"),
      stage("B", "awareness", "2026-01-02"), stage("B", "purchase", "2026-01-05"),   stage("C", "conversion", "2026-02-01"),
      stage("C", "awareness", "2026-02-02"), stage("D", "awareness", "2025-12-20"),  stage("D", "conversion", "2026-01-05")};
  auto r = run("funnel", rows, {ms("2026-01-01"), ms("2026-03-01"), period::month, std::nullopt});
  const auto& t = table_of(r, "stages");
  CHECK(t.columns == std::vector<std::string>{"stage", "entered_any_order", "reached_in_order", "conversion_in_order",
                                              "conversion_any_order", "median_days_in_stage", "time_in_stage_samples"});
  CHECK(row_of(t, "awareness") == std::vector<std::string>{"awareness", "3", "3", "", "", "2.5", "2"});
  CHECK(row_of(t, "conversion") == std::vector<std::string>{"conversion", "3", "1", "0.3333", "1", "4", "2"});
  CHECK(row_of(t, "purchase") == std::vector<std::string>{"purchase", "2", "1", "1", "0.6667", "", "0"});
  CHECK(row_of(t, "activation") == std::vector<std::string>{"activation", "0", "0", "0", "0", "", "0"});
  const auto& b = table_of(r, "entries_by_period");
  REQUIRE(b.rows.size() == 2);
  CHECK(b.rows[0] == std::vector<std::string>{"2026-01", "2", "2", "2", "0", "0", "0"});
  CHECK(b.rows[1] == std::vector<std::string>{"2026-02", "1", "1", "0", "0", "0", "0"});
}

TEST_CASE("analytics: retention cohorts by first purchase month and later activity", "[analytics]") {
  // P: purchase Jan 15, a KPI change Feb 3, an NPS answer Apr 10, a segment entry Mar 1 (not activity) -> cohort
  // 2026-01, active in months 0, 1, 3. Q: order_count 1 on Jan 20 (no stage row) -> 2026-01, month 0.
  // R: purchase Feb 1, activation Feb 20, LTV Mar 5 -> 2026-02, months 0, 1. S: awareness only -> no cohort.
  std::vector<history_entry> rows{stage("P", "purchase", "2026-01-15"), row("P", "kpi", "open_tickets", "1", "2026-02-03"),
                                  row("P", "kpi", "nps", "9", "2026-04-10"), row("P", "segment", "vip", "in", "2026-03-01"),
                                  row("Q", "kpi", "order_count", "1", "2026-01-20"), stage("R", "purchase", "2026-02-01"),
                                  stage("R", "activation", "2026-02-20"), row("R", "kpi", "lifetime_value", "50", "2026-03-05"),
                                  stage("S", "awareness", "2026-01-02")};
  auto r = run("retention", rows, {0, std::numeric_limits<std::int64_t>::max(), period::month, std::nullopt});
  const auto& t = table_of(r, "cohorts");
  CHECK(t.columns == std::vector<std::string>{"cohort", "size", "active_0", "active_1", "active_2", "active_3"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0] == std::vector<std::string>{"2026-01", "2", "2", "1", "0", "1"});
  CHECK(t.rows[1] == std::vector<std::string>{"2026-02", "1", "1", "1", "0", "0"});
}

TEST_CASE("analytics: satisfaction gives NPS and CSAT per period with sample counts", "[analytics]") {
  // January NPS answers 10, 9, 7, 3: 2 promoters, 1 passive, 1 detractor -> (2 - 1) / 4 = 25. February: 6 -> -100.
  // CSAT 0.8 and 0.6 in January -> 0.7. Total: 5 answers, 2 promoters, 2 detractors -> 0. No CES rows: empty.
  std::vector<history_entry> rows{row("A", "kpi", "nps", "10", "2026-01-03"), row("B", "kpi", "nps", "9", "2026-01-04"),
                                  row("C", "kpi", "nps", "7", "2026-01-05"),  row("D", "kpi", "nps", "3", "2026-01-06"),
                                  row("A", "kpi", "nps", "6", "2026-02-03"),  row("A", "kpi", "csat_average", "0.8", "2026-01-07"),
                                  row("B", "kpi", "csat_average", "0.6", "2026-01-08"),
                                  row("B", "kpi", "nps", "", "2026-01-09")};  // an answer withdrawn: no sample
  auto r = run("satisfaction", rows, {ms("2026-01-01"), ms("2026-03-01"), period::month, std::nullopt});
  const auto& t = table_of(r, "trend");
  CHECK(row_of(t, "2026-01") == std::vector<std::string>{"2026-01", "25", "4", "2", "1", "1", "0.7", "2", "", "0"});
  CHECK(row_of(t, "2026-02") == std::vector<std::string>{"2026-02", "-100", "1", "0", "0", "1", "", "0", "", "0"});
  CHECK(row_of(t, "total") == std::vector<std::string>{"total", "0", "5", "2", "1", "2", "0.7", "2", "", "0"});
}

TEST_CASE("analytics: value by stage, segment and first-touch source, LTV added per period", "[analytics]") {
  // P (first touch sf): purchase, LTV 100 (Jan) then 150 (Feb), AOV 50, in vip. Q (hubspot): purchase, LTV 300,
  // AOV 300, in vip then out. R (sf): awareness, no LTV.
  std::vector<history_entry> rows{
      stage("P", "purchase", "2026-01-02"),
      row("P", "kpi", "lifetime_value", "100", "2026-01-02"),
      row("P", "kpi", "lifetime_value", "150", "2026-02-02"),
      row("P", "kpi", "average_order_value", "50", "2026-02-02"),
      row("P", "segment", "vip", "in", "2026-02-03"),
      row("Q", "stage", "", "purchase", "2026-01-05", R"({"record":"hubspot:contacts/7","run":"3"})"),
      row("Q", "kpi", "lifetime_value", "300", "2026-01-05"),
      row("Q", "kpi", "average_order_value", "300", "2026-01-05"),
      row("Q", "segment", "vip", "in", "2026-01-06"),
      row("Q", "segment", "vip", "out", "2026-02-06"),
      stage("R", "awareness", "2026-01-07")};
  auto r = run("value", rows, {ms("2026-01-01"), ms("2026-03-01"), period::month, std::nullopt});
  CHECK(row_of(table_of(r, "by_stage"), "purchase") == std::vector<std::string>{"purchase", "2", "450", "225", "175", "2"});
  CHECK(row_of(table_of(r, "by_stage"), "awareness") == std::vector<std::string>{"awareness", "1", "0", "0", "", "0"});
  CHECK(row_of(table_of(r, "by_source"), "sf") == std::vector<std::string>{"sf", "2", "150", "75", "50", "1"});
  CHECK(row_of(table_of(r, "by_source"), "hubspot") == std::vector<std::string>{"hubspot", "1", "300", "300", "300", "1"});
  const auto& seg = table_of(r, "by_segment");
  REQUIRE(seg.rows.size() == 1);
  CHECK(seg.rows[0] == std::vector<std::string>{"vip", "1", "150", "150", "50", "1"});
  CHECK(row_of(table_of(r, "ltv_added_by_period"), "2026-01")[1] == "400");
  CHECK(row_of(table_of(r, "ltv_added_by_period"), "2026-02")[1] == "50");
}

TEST_CASE("analytics: segment size at the end of each period, entries and exits", "[analytics]") {
  // vip: P in Jan 5, Q in Jan 10, Q out Feb 3, R in Feb 4 (and a repeated "in" Feb 6, which changes nothing).
  std::vector<history_entry> rows{row("P", "segment", "vip", "in", "2026-01-05"), row("Q", "segment", "vip", "in", "2026-01-10"),
                                  row("Q", "segment", "vip", "out", "2026-02-03"), row("R", "segment", "vip", "in", "2026-02-04"),
                                  row("R", "segment", "vip", "in", "2026-02-06")};
  auto all = run("segment_size", rows, {0, std::numeric_limits<std::int64_t>::max(), period::month, std::nullopt});
  const auto& t = table_of(all, "sizes");
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0] == std::vector<std::string>{"2026-01", "vip", "2", "2", "0"});
  CHECK(t.rows[1] == std::vector<std::string>{"2026-02", "vip", "2", "1", "1"});
  // From February: the members before it are the starting size.
  auto feb = run("segment_size", rows, {ms("2026-02-01"), std::numeric_limits<std::int64_t>::max(), period::month, std::nullopt});
  REQUIRE(table_of(feb, "sizes").rows.size() == 1);
  CHECK(table_of(feb, "sizes").rows[0] == std::vector<std::string>{"2026-02", "vip", "2", "1", "1"});
}

TEST_CASE("analytics: periods, JSON and CSV", "[analytics]") {
  // 2026-01-07 is a Wednesday: its week starts on Monday 2026-01-05.
  CHECK(bucket_start(ms("2026-01-07T13:00:00Z"), period::week) == ms("2026-01-05"));
  CHECK(bucket_start(ms("2026-01-07T13:00:00Z"), period::day) == ms("2026-01-07"));
  CHECK(bucket_start(ms("2026-01-07T13:00:00Z"), period::month) == ms("2026-01-01"));
  CHECK(next_bucket(ms("2026-12-01"), period::month) == ms("2027-01-01"));
  CHECK(bucket_start(ms("1969-12-31T10:00:00Z"), period::week) == ms("1969-12-29"));
  auto r = run("funnel", {stage("A", "awareness", "2026-01-01"), stage("B, \"x\"", "awareness", "2026-01-02")},
               {ms("2026-01-01"), ms("2026-02-01"), period::week, std::nullopt});
  auto j = to_json(r);
  CHECK(j.at("report").as_string() == "funnel");
  CHECK(j.at("from").as_string() == "2026-01-01T00:00:00Z");
  CHECK(j.at("by").as_string() == "week");
  const auto& stages = j.at("tables").at("stages").as_object();
  CHECK(stages.at("rows").as_array()[0].as_array()[1].as_int64() == 2);
  CHECK(stages.at("rows").as_array()[0].as_array()[3].is_null());
  const auto csv = to_csv(r);
  CHECK(csv.rfind("# table stages\nstage,entered_any_order,", 0) == 0);
  CHECK(csv.find("\nawareness,2,2,,,,0\n") != std::string::npos);
  CHECK(csv.find("# table entries_by_period\nperiod,awareness,") != std::string::npos);
  CHECK(!compute("nonsense", history_index{}, {}));
}

TEST_CASE("analytics: the index skips rows it has, keeps each profile's rows in time order, prunes, clears", "[analytics]") {
  history_index index;
  auto a = stage("A", "conversion", "2026-01-05");
  a.id = 2;
  auto b = stage("A", "awareness", "2026-01-01");
  b.id = 1;
  index.add(std::vector<history_entry>{b, a});
  index.add(std::vector<history_entry>{a});  // already taken (id 2)
  CHECK(index.rows() == 2);
  auto late = stage("A", "lead", "2025-12-01");  // out of order: goes first
  index.add(std::vector<history_entry>{late});
  index.read([](const history_view& v) {
    REQUIRE(v.profiles.size() == 1);
    const auto rows = v.rows_of(v.profiles[0]);
    REQUIRE(rows.size() == 3);
    CHECK(v.values.name(rows[0].to) == "lead");
    CHECK(v.sources.name(v.profiles[0].source) == "sf");
  });
  index.prune(ms("2026-01-02"));
  CHECK(index.rows() == 1);
  // Cleared (an instance leading again loads afresh): nothing left, and the rows it had are taken again.
  index.clear();
  CHECK(index.rows() == 0);
  CHECK(index.profiles() == 0);
  CHECK(index.last_id() == 0);
  index.add(std::vector<history_entry>{b, a});
  CHECK(index.rows() == 2);
  index.read([](const history_view& v) {
    REQUIRE(v.profiles.size() == 1);
    CHECK(v.values.name(v.rows_of(v.profiles[0])[0].to) == "awareness");
  });
}
