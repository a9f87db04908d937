// The old reports (see reference_index.hpp), verbatim apart from the namespace.
#include "tests/unit/daemon/analytics/reference_index.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "daemon/analytics/periods.hpp"

namespace omnisync::analytics::reference {

namespace {

constexpr std::int64_t day_ms = 86'400'000;

/// The buckets a window spans, clipped to the data (an open window does not start in 1970).
std::vector<std::int64_t> buckets_of(const history_view& v, const report_window& w) {
  std::vector<std::int64_t> out;
  if (v.rows == 0) return out;
  const std::int64_t from = std::max(w.from, v.first_at);
  const std::int64_t to = std::min(w.to, v.last_at + 1);
  for (auto b = bucket_start(from, w.by); b < to && out.size() < max_buckets; b = next_bucket(b, w.by)) out.push_back(b);
  return out;
}

std::size_t bucket_index(const std::vector<std::int64_t>& buckets, std::int64_t at) {
  auto it = std::upper_bound(buckets.begin(), buckets.end(), at);
  return static_cast<std::size_t>(it - buckets.begin()) - 1;  // callers pass at >= buckets.front()
}

bool in(const report_window& w, std::int64_t at) { return at >= w.from && at < w.to; }

report start(std::string name, const report_window& w) {
  report r;
  r.name = std::move(name);
  r.window = w;
  return r;
}

std::string median_days(std::vector<std::int64_t>& d) {
  if (d.empty()) return "";
  const auto mid = d.size() / 2;
  std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(mid), d.end());
  double m = static_cast<double>(d[mid]);
  if (d.size() % 2 == 0) {
    const auto lower = *std::max_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(mid));
    m = (m + static_cast<double>(lower)) / 2;
  }
  return num(m / static_cast<double>(day_ms));
}

std::string ratio(double a, double b) { return b > 0 ? num(a / b) : std::string(); }

}  // namespace

report funnel(const history_view& v, const report_window& w) {
  const auto& stages = funnel_stages();
  const std::size_t n = stages.size();
  const auto key = v.keys.find(row_key("stage", ""));
  std::vector<std::uint32_t> stage_sym(n);
  for (std::size_t k = 0; k < n; ++k) stage_sym[k] = v.values.find(stages[k]);
  // Stage index by interned value (one lookup per row instead of a search).
  std::vector<int> stage_of(v.values.size(), -1);
  for (std::size_t k = 0; k < n; ++k)
    if (stage_sym[k] != symbols::npos) stage_of[stage_sym[k]] = static_cast<int>(k);
  auto index_of = [&](std::uint32_t sym) -> int { return sym < stage_of.size() ? stage_of[sym] : -1; };
  const auto buckets = buckets_of(v, w);
  std::vector<std::int64_t> any(n), ordered(n);
  std::vector<std::vector<std::int64_t>> durations(n), per_bucket(buckets.size(), std::vector<std::int64_t>(n));
  if (key != symbols::npos) {
    std::vector<bool> seen(n);
    for (const auto& p : v.profiles) {
      std::fill(seen.begin(), seen.end(), false);
      std::size_t next = 0;
      const compact_row* prev = nullptr;
      int prev_k = -1;
      for (const auto& r : p.rows) {
        if (r.key != key || r.at >= w.to) continue;
        const int k = index_of(r.to);
        // Time in the previous stage: from its entry (in the window) to this exit.
        if (prev && prev_k >= 0 && in(w, prev->at)) durations[static_cast<std::size_t>(prev_k)].push_back(r.at - prev->at);
        prev = &r;
        prev_k = k;
        if (!in(w, r.at) || k < 0) continue;
        const auto uk = static_cast<std::size_t>(k);
        if (!seen[uk]) {
          seen[uk] = true;
          ++any[uk];
        }
        if (uk == next && next < n) {
          ++ordered[next];
          ++next;
        }
        if (!buckets.empty() && r.at >= buckets.front()) ++per_bucket[bucket_index(buckets, r.at)][uk];
      }
    }
  }
  auto out = start("funnel", w);
  table t{"stages",
          {"stage", "entered_any_order", "reached_in_order", "conversion_in_order", "conversion_any_order",
           "median_days_in_stage", "time_in_stage_samples"},
          {}};
  for (std::size_t k = 0; k < n; ++k)
    t.rows.push_back({stages[k], num(any[k]), num(ordered[k]),
                      k == 0 ? std::string() : ratio(static_cast<double>(ordered[k]), static_cast<double>(ordered[k - 1])),
                      k == 0 ? std::string() : ratio(static_cast<double>(any[k]), static_cast<double>(any[k - 1])),
                      median_days(durations[k]), num(static_cast<std::int64_t>(durations[k].size()))});
  out.tables.push_back(std::move(t));
  table b{"entries_by_period", {"period"}, {}};
  for (const auto& s : stages) b.columns.push_back(s);
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    std::vector<std::string> row{period_label(buckets[i], w.by)};
    for (std::size_t k = 0; k < n; ++k) row.push_back(num(per_bucket[i][k]));
    b.rows.push_back(std::move(row));
  }
  out.tables.push_back(std::move(b));
  return out;
}

report retention(const history_view& v, const report_window& w) {
  const auto stage_key = v.keys.find(row_key("stage", ""));
  const auto orders_key = v.keys.find(row_key("kpi", "order_count"));
  const auto purchase = v.values.find("purchase");
  // Stage and KPI rows are activity; segment rows are not (one flag per interned key, not a string test per row).
  std::vector<char> activity(v.keys.size());
  for (std::uint32_t k = 0; k < v.keys.size(); ++k)
    activity[k] = k == stage_key || v.keys.name(k).rfind("kpi\t", 0) == 0;
  std::map<std::int64_t, std::pair<std::int64_t, std::map<std::int64_t, std::int64_t>>> cohorts;  // size, offset→n
  std::int64_t most = 0;
  for (const auto& p : v.profiles) {
    std::int64_t first = -1;
    for (const auto& r : p.rows) {
      if (r.at >= w.to) break;
      if ((r.key == stage_key && r.to == purchase && purchase != symbols::npos) ||
          (r.key == orders_key && orders_key != symbols::npos && r.number >= 1)) {
        first = r.at;
        break;
      }
    }
    if (first < 0 || !in(w, first)) continue;
    const auto cohort = bucket_start(first, w.by);
    auto& c = cohorts[cohort];
    ++c.first;
    std::int64_t last_offset = -1;
    for (const auto& r : p.rows) {
      if (r.at < first || r.at >= w.to) continue;
      if (!activity[r.key]) continue;
      const auto off = bucket_offset(cohort, bucket_start(r.at, w.by), w.by);
      if (off == last_offset) continue;
      last_offset = off;
      ++c.second[off];
      most = std::max(most, off);
    }
  }
  auto out = start("retention", w);
  table t{"cohorts", {"cohort", "size"}, {}};
  for (std::int64_t k = 0; k <= most && !cohorts.empty(); ++k) t.columns.push_back("active_" + std::to_string(k));
  for (const auto& [cohort, c] : cohorts) {
    std::vector<std::string> row{period_label(cohort, w.by), num(c.first)};
    for (std::int64_t k = 0; k <= most; ++k) {
      auto it = c.second.find(k);
      row.push_back(num(it == c.second.end() ? std::int64_t{0} : it->second));
    }
    t.rows.push_back(std::move(row));
  }
  out.tables.push_back(std::move(t));
  return out;
}

report satisfaction(const history_view& v, const report_window& w) {
  const auto nps = v.keys.find(row_key("kpi", "nps"));
  const auto csat = v.keys.find(row_key("kpi", "csat_average"));
  const auto ces = v.keys.find(row_key("kpi", "ces"));
  const auto buckets = buckets_of(v, w);
  struct acc {
    std::int64_t nps_n = 0, promoters = 0, passives = 0, detractors = 0, csat_n = 0, ces_n = 0;
    double csat_sum = 0, ces_sum = 0;
  };
  std::vector<acc> per(buckets.size());
  acc total;
  for (const auto& p : v.profiles)
    for (const auto& r : p.rows) {
      if (!in(w, r.at) || std::isnan(r.number) || buckets.empty() || r.at < buckets.front()) continue;
      if (r.key != nps && r.key != csat && r.key != ces) continue;
      for (acc* a : {&per[bucket_index(buckets, r.at)], &total}) {
        if (r.key == nps) {
          ++a->nps_n;
          if (r.number >= 9) ++a->promoters;
          else if (r.number >= 7) ++a->passives;
          else ++a->detractors;
        } else if (r.key == csat) {
          ++a->csat_n;
          a->csat_sum += r.number;
        } else {
          ++a->ces_n;
          a->ces_sum += r.number;
        }
      }
    }
  auto out = start("satisfaction", w);
  table t{"trend",
          {"period", "nps", "nps_samples", "promoters", "passives", "detractors", "csat_average", "csat_samples",
           "ces_average", "ces_samples"},
          {}};
  auto row = [](std::string label, const acc& a) {
    return std::vector<std::string>{
        std::move(label),
        a.nps_n ? num(100.0 * static_cast<double>(a.promoters - a.detractors) / static_cast<double>(a.nps_n)) : "",
        num(a.nps_n), num(a.promoters), num(a.passives), num(a.detractors),
        a.csat_n ? num(a.csat_sum / static_cast<double>(a.csat_n)) : "", num(a.csat_n),
        a.ces_n ? num(a.ces_sum / static_cast<double>(a.ces_n)) : "", num(a.ces_n)};
  };
  for (std::size_t i = 0; i < buckets.size(); ++i) t.rows.push_back(row(period_label(buckets[i], w.by), per[i]));
  t.rows.push_back(row("total", total));
  out.tables.push_back(std::move(t));
  return out;
}

report value(const history_view& v, const report_window& w) {
  const auto stage_key = v.keys.find(row_key("stage", ""));
  const auto ltv_key = v.keys.find(row_key("kpi", "lifetime_value"));
  const auto aov_key = v.keys.find(row_key("kpi", "average_order_value"));
  // Segment keys: interned "segment\t<key>".
  std::vector<std::uint32_t> segment_keys;
  std::vector<char> is_segment(v.keys.size());
  for (std::uint32_t k = 0; k < v.keys.size(); ++k)
    if (v.keys.name(k).rfind("segment\t", 0) == 0) {
      segment_keys.push_back(k);
      is_segment[k] = 1;
    }
  const auto in_sym = v.values.find("in");
  struct group {
    std::int64_t profiles = 0, aov_n = 0;
    double ltv = 0, aov = 0;
  };
  std::map<std::string, group> by_stage, by_segment, by_source;
  const auto buckets = buckets_of(v, w);
  std::vector<double> added(buckets.size());
  for (const auto& p : v.profiles) {
    double ltv = std::numeric_limits<double>::quiet_NaN(), aov = ltv, prev_ltv = 0;
    std::uint32_t stage = symbols::npos;
    std::map<std::uint32_t, bool> member;
    for (const auto& r : p.rows) {
      if (r.at >= w.to) break;
      if (r.key == ltv_key && !std::isnan(r.number)) {
        if (in(w, r.at) && r.number > prev_ltv && !buckets.empty() && r.at >= buckets.front())
          added[bucket_index(buckets, r.at)] += r.number - prev_ltv;
        prev_ltv = r.number;
        ltv = r.number;
      } else if (r.key == aov_key) {
        aov = r.number;
      } else if (r.key == stage_key) {
        stage = r.to;
      } else if (is_segment[r.key]) {
        member[r.key] = r.to == in_sym;
      }
    }
    if (std::isnan(ltv) && stage == symbols::npos) continue;  // nothing known of this profile by `to`
    auto count = [&](group& g) {
      ++g.profiles;
      if (!std::isnan(ltv)) g.ltv += ltv;
      if (!std::isnan(aov)) {
        ++g.aov_n;
        g.aov += aov;
      }
    };
    count(by_stage[stage == symbols::npos ? std::string("unknown") : v.values.name(stage)]);
    count(by_source[p.source == symbols::npos ? std::string("unknown") : v.sources.name(p.source)]);
    for (const auto& [k, is_member] : member)
      if (is_member) count(by_segment[v.keys.name(k).substr(8)]);
  }
  auto out = start("value", w);
  auto emit = [&](std::string name, std::string first, const std::map<std::string, group>& groups) {
    table t{std::move(name), {std::move(first), "profiles", "ltv_total", "ltv_average", "aov_average", "aov_profiles"}, {}};
    for (const auto& [label, g] : groups)
      t.rows.push_back({label, num(g.profiles), num(g.ltv), ratio(g.ltv, static_cast<double>(g.profiles)),
                        ratio(g.aov, static_cast<double>(g.aov_n)), num(g.aov_n)});
    out.tables.push_back(std::move(t));
  };
  // By segment when segments exist (membership as of `to`), and always by lifecycle stage and first-touch source.
  if (!segment_keys.empty()) emit("by_segment", "segment", by_segment);
  emit("by_stage", "stage", by_stage);
  emit("by_source", "source", by_source);
  table t{"ltv_added_by_period", {"period", "ltv_added"}, {}};
  for (std::size_t i = 0; i < buckets.size(); ++i) t.rows.push_back({period_label(buckets[i], w.by), num(added[i])});
  out.tables.push_back(std::move(t));
  return out;
}

report segment_size(const history_view& v, const report_window& w) {
  std::map<std::uint32_t, std::string> segments;
  for (std::uint32_t k = 0; k < v.keys.size(); ++k)
    if (v.keys.name(k).rfind("segment\t", 0) == 0) segments[k] = v.keys.name(k).substr(8);
  const auto in_sym = v.values.find("in");
  const auto buckets = buckets_of(v, w);
  struct counts {
    std::int64_t base = 0;
    std::vector<std::int64_t> entered, exited;
  };
  std::map<std::uint32_t, counts> per;
  for (auto& [k, name] : segments) {
    per[k].entered.resize(buckets.size());
    per[k].exited.resize(buckets.size());
  }
  for (const auto& p : v.profiles) {
    std::map<std::uint32_t, bool> member;
    for (const auto& r : p.rows) {
      if (r.at >= w.to) break;
      auto it = per.find(r.key);
      if (it == per.end()) continue;
      const bool now_in = r.to == in_sym && in_sym != symbols::npos;
      bool& was = member[r.key];
      if (now_in == was) continue;  // a repeated row changes nothing
      was = now_in;
      if (r.at < w.from || buckets.empty() || r.at < buckets.front()) {
        it->second.base += now_in ? 1 : -1;
        continue;
      }
      const auto b = bucket_index(buckets, r.at);
      ++(now_in ? it->second.entered[b] : it->second.exited[b]);
    }
  }
  auto out = start("segment_size", w);
  table t{"sizes", {"period", "segment", "size", "entered", "exited"}, {}};
  for (const auto& [k, name] : segments) {
    auto& c = per[k];
    std::int64_t size = c.base;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      size += c.entered[i] - c.exited[i];
      t.rows.push_back({period_label(buckets[i], w.by), name, num(size), num(c.entered[i]), num(c.exited[i])});
    }
  }
  out.tables.push_back(std::move(t));
  return out;
}

std::optional<report> compute(std::string_view name, const history_index& index, const report_window& w) {
  std::optional<report> out;
  index.read([&](const history_view& v) {
    if (name == "funnel") out = funnel(v, w);
    else if (name == "retention") out = retention(v, w);
    else if (name == "satisfaction") out = satisfaction(v, w);
    else if (name == "value") out = value(v, w);
    else if (name == "segment_size") out = segment_size(v, w);
  });
  return out;
}

}  // namespace omnisync::analytics::reference
