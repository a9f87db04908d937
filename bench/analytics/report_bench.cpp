// report_bench: the analytics reports at N profiles. Generates a history for N profiles directly in a store
// (SQLite in a temp dir, or PostgreSQL with --dsn), then times: loading the in-memory index from the store (what
// the daemon does once at start-up), each report cold (first run after the load) and warm (median of 5), and a
// reference: paging the year's stage rows out of the store (history_query, by id), the least a report computed
// from the database would have to read.
//
//   report_bench N STATE_DIR [--dsn DSN]     prints one JSON object
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "daemon/analytics/reports.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "tests/unit/daemon/analytics/reference_index.hpp"

using namespace omnisync;
using clk = std::chrono::steady_clock;

namespace {

double ms_since(clk::time_point t0) { return std::chrono::duration<double, std::milli>(clk::now() - t0).count(); }

/// This process's resident memory now (VmRSS), in MB.
double rss_mb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  std::fclose(f);
  return kb / 1024;
}

/// Median and maximum of `runs` timings of `f` (ms).
template <class F>
std::pair<double, double> timed(int runs, F f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = clk::now();
    f();
    t.push_back(ms_since(t0));
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.back()};
}

template <class T>
T must(result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().message().c_str());
    std::exit(1);
  }
  return std::move(*r);
}
void must(result<void> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "%s: %s\n", what, r.error().message().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: report_bench N STATE_DIR [--dsn DSN]\n");
    return 2;
  }
  const long n = std::atol(argv[1]);
  store::options o;
  o.state_dir = argv[2];
  o.synchronous = store::synchronous_mode::normal;
  if (argc >= 5 && std::string(argv[3]) == "--dsn") {
    o.kind = store::backend::postgres;
    o.dsn = argv[4];
  }
  std::string why;
  auto opened = store::open_store(o, &why);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", why.c_str());
    return 1;
  }
  auto& s = **opened;

  // The history of N profiles over 2025: each walks the funnel some way (in order mostly, sometimes skipping or out
  // of order), buyers get LTV/AOV/order rows, a third answer NPS, a fifth rate CSAT, a tenth are in a segment.
  const auto& stages = analytics::funnel_stages();
  const std::int64_t year0 = 1'735'689'600'000;  // 2025-01-01
  const std::int64_t day = 86'400'000;
  std::mt19937_64 rng(42);
  const char* sources[] = {"salesforce:Contact/", "hubspot:contacts/", "zendesk:users/", "intercom:contacts/"};
  std::vector<store::history_entry> batch;
  std::int64_t rows = 0;
  const auto gen0 = clk::now();
  for (long p = 0; p < n; ++p) {
    const std::string id = "p" + std::to_string(1'000'000'000'000 + p);
    const std::string cause = std::string(R"({"record":")") + sources[p % 4] + std::to_string(p) + R"(","run":"1"})";
    std::int64_t at = year0 + static_cast<std::int64_t>(rng() % 300) * day;
    const int depth = static_cast<int>(rng() % stages.size()) + 1;
    std::string prev;
    for (int k = 0; k < depth; ++k) {
      const auto& st = (rng() % 20 == 0 && k + 1 < depth) ? stages[static_cast<std::size_t>(k + 1)] : stages[static_cast<std::size_t>(k)];
      batch.emplace_back(id, "stage", "", prev, st, from_epoch_ms(at), cause);
      prev = st;
      if (st == "purchase") {
        const double ltv = 50.0 + static_cast<double>(rng() % 500);
        batch.emplace_back(id, "kpi", "order_count", "", "1", from_epoch_ms(at), cause);
        batch.emplace_back(id, "kpi", "lifetime_value", "", std::to_string(ltv), from_epoch_ms(at), cause);
        batch.emplace_back(id, "kpi", "average_order_value", "", std::to_string(ltv), from_epoch_ms(at), cause);
      }
      at += static_cast<std::int64_t>(1 + rng() % 30) * day;
    }
    if (p % 3 == 0) batch.emplace_back(id, "kpi", "nps", "", std::to_string(rng() % 11), from_epoch_ms(at), cause);
    if (p % 5 == 0)
      batch.emplace_back(id, "kpi", "csat_average", "", std::to_string(static_cast<double>(rng() % 101) / 100), from_epoch_ms(at), cause);
    if (p % 10 == 0) batch.emplace_back(id, "segment", p % 20 == 0 ? "vip" : "churn_risk", "out", "in", from_epoch_ms(at), cause);
    if (batch.size() >= 20000) {
      rows += static_cast<std::int64_t>(batch.size());
      must(store::wait(s.history_append(std::move(batch))), "history_append");
      batch.clear();
    }
  }
  rows += static_cast<std::int64_t>(batch.size());
  if (!batch.empty()) must(store::wait(s.history_append(std::move(batch))), "history_append");
  const double gen_ms = ms_since(gen0);

  // Load: what the daemon does once (pipeline_history.cpp), split into reading the pages and taking them in.
  const double rss_before = rss_mb();
  analytics::history_index index;
  double read_ms = 0, add_ms = 0;
  const auto load0 = clk::now();
  store::history_filter f;
  f.limit = 10000;
  for (;;) {
    const auto r0 = clk::now();
    auto page = must(store::wait(s.history_query(f)), "history_query");
    read_ms += ms_since(r0);
    if (page.empty()) break;
    f.after_id = page.back().id;
    const auto a0 = clk::now();
    index.add(page);
    add_ms += ms_since(a0);
  }
  const double load_ms = ms_since(load0);
  const double rss_index = rss_mb() - rss_before;
  const auto stats = index.stats();

  // Reference: reading just the stage rows of the year back from the store, by the kind index, one page at a time.
  const auto ref0 = clk::now();
  store::history_filter sf("stage", "", "", from_epoch_ms(year0), from_epoch_ms(year0 + 400 * day), 0, 10000);
  std::int64_t stage_rows = 0;
  for (;;) {
    auto page = must(store::wait(s.history_query(sf)), "history_query");
    if (page.empty()) break;
    sf.after_id = page.back().id;
    stage_rows += static_cast<std::int64_t>(page.size());
  }
  const double ref_ms = ms_since(ref0);

  // The index and reports as they were before the arena (tests/unit/daemon/analytics/reference_*), fed the same
  // rows, as the reference in the same run: its reports' times, and its tables, which must equal the new ones.
  analytics::reference::history_index old;
  {
    store::history_filter of;
    of.limit = 10000;
    for (;;) {
      auto page = must(store::wait(s.history_query(of)), "history_query");
      if (page.empty()) break;
      of.after_id = page.back().id;
      old.add(page);
    }
  }

  std::printf("{\"profiles\":%ld,\"rows\":%lld,\"backend\":\"%s\",\"generate_ms\":%.0f,\"load_index_ms\":%.0f,"
              "\"load_read_pages_ms\":%.0f,\"load_add_ms\":%.0f,\"index_mb\":%.0f,\"index_rss_mb\":%.0f,"
              "\"arena_rows\":%zu,\"read_stage_rows_from_store_ms\":%.0f,\"stage_rows\":%lld,\"reports\":{",
              n, static_cast<long long>(rows), std::string(s.kind()).c_str(), gen_ms, load_ms, read_ms, add_ms,
              static_cast<double>(stats.bytes) / 1048576.0, rss_index, stats.arena_rows, ref_ms,
              static_cast<long long>(stage_rows));
  analytics::report_window w{year0, year0 + 400 * day, analytics::period::month, std::nullopt};
  bool first = true;
  for (const auto& name : analytics::report_names()) {
    const auto c0 = clk::now();
    auto r = analytics::compute(name, index, w);
    const double cold = ms_since(c0);
    const auto [warm_median, warm_max] = timed(5, [&] { r = analytics::compute(name, index, w); });
    std::optional<analytics::report> before;
    const auto [old_median, old_max] = timed(3, [&] { before = analytics::reference::compute(name, old, w); });
    bool equal = r && before && r->tables.size() == before->tables.size();
    for (std::size_t i = 0; equal && i < r->tables.size(); ++i)
      equal = r->tables[i].columns == before->tables[i].columns && r->tables[i].rows == before->tables[i].rows;
    std::printf("%s\"%s\":{\"cold_ms\":%.1f,\"warm_median_ms\":%.1f,\"warm_max_ms\":%.1f,\"before_median_ms\":%.1f,"
                "\"equal_to_before\":%s}",
                first ? "" : ",", name.c_str(), cold, warm_median, warm_max, old_median, equal ? "true" : "false");
    first = false;
  }
  std::printf("}}\n");
  return 0;
}
