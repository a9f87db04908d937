// The fast index and reports (daemon/analytics) against the straightforward recomputation they replaced
// (reference_index.hpp: the old index and reports, verbatim) on random histories: rows out of time order, ties,
// repeated ids, unknown stages, text and numeric KPI values, segment entries and repeated exits, prunes, and
// random windows by day, week and month. Every table must be equal cell for cell.
#include <catch2/catch.hpp>

#include <random>

#include "daemon/analytics/reports.hpp"
#include "tests/unit/daemon/analytics/reference_index.hpp"

using namespace omnisync::analytics;
using omnisync::store::history_entry;

namespace {

constexpr std::int64_t day = 86'400'000;
constexpr std::int64_t t0 = 1'767'225'600'000;  // 2026-01-01

std::vector<history_entry> random_rows(std::mt19937_64& rng, int profiles, int n, std::int64_t& next_id) {
  static const char* stages[] = {"awareness", "conversion", "purchase", "activation", "renewal", "referral", "lead", "unknown"};
  static const char* kpis[] = {"nps", "csat_average", "ces", "order_count", "lifetime_value", "average_order_value", "open_tickets"};
  static const char* sources[] = {R"({"record":"sf:Contact/1"})", R"({"record":"hubspot:contacts/2","run":"3"})",
                                  R"({"run":"4"})", "", R"({"record":"unknown:x/1"})", "not json"};
  std::vector<history_entry> out;
  auto pick = [&](std::size_t k) { return static_cast<std::size_t>(rng() % k); };
  for (int i = 0; i < n; ++i) {
    const std::string profile = "p" + std::to_string(pick(static_cast<std::size_t>(profiles)));
    // Times on few distinct days and hours, so ties and out-of-order arrivals are common.
    const auto at = omnisync::from_epoch_ms(t0 + static_cast<std::int64_t>(pick(400)) * day / 2 -
                                            static_cast<std::int64_t>(pick(3)) * 40 * day);
    const char* cause = sources[pick(6)];
    std::string kind, subject, to;
    switch (pick(3)) {
      case 0:
        kind = "stage";
        to = stages[pick(8)];
        break;
      case 1: {
        kind = "kpi";
        subject = kpis[pick(7)];
        const auto r = pick(10);
        to = r == 0 ? "" : r == 1 ? "n/a" : r < 5 ? std::to_string(pick(11)) : std::to_string(static_cast<double>(pick(1000)) / 7.0);
        break;
      }
      default:
        kind = "segment";
        subject = pick(2) ? "vip" : (pick(2) ? "churn_risk" : "a,b \"quoted\"");
        to = pick(3) ? "in" : "out";
    }
    history_entry e(profile, kind, subject, "", to, at, cause);
    e.id = pick(20) == 0 && next_id > 1 ? next_id - 1 : next_id;  // now and then a row already taken
    ++next_id;
    out.push_back(std::move(e));
  }
  return out;
}

report_window random_window(std::mt19937_64& rng) {
  report_window w;
  const period ps[] = {period::day, period::week, period::month};
  w.by = ps[rng() % 3];
  if (rng() % 3) w.from = t0 + static_cast<std::int64_t>(rng() % 300) * day / 2 - 60 * day;
  if (rng() % 3) w.to = w.from + static_cast<std::int64_t>(rng() % 300) * day / 2 + (rng() % 2 ? 0 : 3'600'000);
  if (w.from == 0 && rng() % 2) w.from = -5 * day;  // a window that opens before 1970
  return w;
}

void same(const report& fast, const report& ref) {
  REQUIRE(fast.tables.size() == ref.tables.size());
  for (std::size_t i = 0; i < ref.tables.size(); ++i) {
    INFO(ref.name << " table " << ref.tables[i].name);
    CHECK(fast.tables[i].name == ref.tables[i].name);
    CHECK(fast.tables[i].columns == ref.tables[i].columns);
    REQUIRE(fast.tables[i].rows.size() == ref.tables[i].rows.size());
    for (std::size_t r = 0; r < ref.tables[i].rows.size(); ++r) CHECK(fast.tables[i].rows[r] == ref.tables[i].rows[r]);
  }
}

}  // namespace

TEST_CASE("analytics: the fast index answers every report exactly as the straightforward recomputation",
          "[analytics]") {
  const auto seed = GENERATE(1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u);
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  history_index fast;
  reference::history_index ref;
  std::int64_t next_id = 1;
  const int profiles = 5 + static_cast<int>(rng() % 60);
  for (int batch = 0; batch < 6; ++batch) {
    const auto rows = random_rows(rng, profiles, 20 + static_cast<int>(rng() % 300), next_id);
    fast.add(rows);
    ref.add(rows);
    if (rng() % 4 == 0) {
      const auto before = t0 + static_cast<std::int64_t>(rng() % 100) * day / 2 - 60 * day;
      fast.prune(before);
      ref.prune(before);
    }
    REQUIRE(fast.rows() == ref.rows());
    for (int q = 0; q < 6; ++q) {
      const auto w = random_window(rng);
      INFO("window " << w.from << " " << w.to << " " << static_cast<int>(w.by));
      for (const auto& name : report_names()) same(*compute(name, fast, w), *reference::compute(name, ref, w));
    }
  }
}

TEST_CASE("analytics: the index keeps rows when profiles outgrow their room and the arena is compacted",
          "[analytics]") {
  // Many profiles, rows interleaved: every profile moves to the arena's end again and again; compaction runs.
  history_index fast;
  reference::history_index ref;
  std::mt19937_64 rng(99);
  std::int64_t next_id = 1;
  for (int batch = 0; batch < 20; ++batch) {
    const auto rows = random_rows(rng, 3000, 2000, next_id);
    fast.add(rows);
    ref.add(rows);
  }
  const auto s = fast.stats();
  CHECK(s.rows == ref.rows());
  CHECK(s.arena_rows <= static_cast<std::size_t>(3 * s.rows + 8192));
  const report_window w;
  for (const auto& name : report_names()) same(*compute(name, fast, w), *reference::compute(name, ref, w));
}
