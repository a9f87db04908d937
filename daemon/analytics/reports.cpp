// The five reports (reports.hpp), each one pass over the profiles' compact rows. docs/analytics.md defines every
// number; the unit tests (tests/unit/daemon/analytics) check them on small histories worked out by hand.
#include "daemon/analytics/reports.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "daemon/analytics/periods.hpp"

namespace omnisync::analytics {

const std::vector<std::string>& report_names() {
  static const std::vector<std::string> names{"funnel", "retention", "satisfaction", "value", "segment_size"};
  return names;
}

const std::vector<std::string>& funnel_stages() {
  static const std::vector<std::string> stages{"awareness", "conversion", "purchase", "activation", "renewal",
                                               "referral"};
  return stages;
}

namespace {

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
    std::vector<char> seen(n);
    for (const auto& p : v.profiles) {
      std::fill(seen.begin(), seen.end(), 0);
      std::size_t next = 0;
      const compact_row* prev = nullptr;
      int prev_k = -1;
      for (const auto& r : v.rows_of(p)) {
        if (r.key != key || r.at >= w.to) continue;
        const int k = index_of(r.to);
        // Time in the previous stage: from its entry (in the window) to this exit.
        if (prev && prev_k >= 0 && in(w, prev->at)) durations[static_cast<std::size_t>(prev_k)].push_back(r.at - prev->at);
        prev = &r;
        prev_k = k;
        if (!in(w, r.at) || k < 0) continue;
        const auto uk = static_cast<std::size_t>(k);
        if (!seen[uk]) {
          seen[uk] = 1;
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
  // Every bucket the data spans, so that a row's bucket is found by walking forward (a profile's rows are in time
  // order) instead of a calendar conversion per row; the offset between two buckets is the difference of their
  // places (bucket_offset counts whole buckets). A span beyond `span_limit` buckets uses the calendar per row.
  constexpr std::size_t span_limit = 1 << 20;
  std::vector<std::int64_t> span;
  if (v.rows > 0)
    for (auto b = bucket_start(v.first_at, w.by); b <= v.last_at && span.size() <= span_limit; b = next_bucket(b, w.by))
      span.push_back(b);
  const bool walk = !span.empty() && span.size() <= span_limit;
  struct cohort_acc {
    std::int64_t size = 0;
    std::vector<std::int64_t> active;  // by offset
  };
  std::map<std::int64_t, cohort_acc> cohorts;
  std::int64_t most = 0;
  for (const auto& p : v.profiles) {
    const auto rows = v.rows_of(p);
    std::size_t first_i = rows.size();
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.at >= w.to) break;
      if ((r.key == stage_key && r.to == purchase && purchase != symbols::npos) ||
          (r.key == orders_key && orders_key != symbols::npos && v.number(r) >= 1)) {
        first_i = i;
        break;
      }
    }
    if (first_i == rows.size()) continue;
    const std::int64_t first = rows[first_i].at;
    if (first < 0 || !in(w, first)) continue;
    const auto cohort = bucket_start(first, w.by);
    auto& c = cohorts[cohort];
    ++c.size;
    std::int64_t last_offset = -1;
    std::size_t place = 0, cohort_place = 0;
    if (walk) {
      place = static_cast<std::size_t>(std::upper_bound(span.begin(), span.end(), first) - span.begin()) - 1;
      cohort_place = place;
    }
    // Rows before `first` in time order are none (rows are sorted; ties sit beside it): start at the first row of
    // its time, as the full walk's `r.at < first` test would.
    std::size_t i = first_i;
    while (i > 0 && rows[i - 1].at == first) --i;
    for (; i < rows.size(); ++i) {
      const auto& r = rows[i];
      if (r.at >= w.to) break;
      if (!activity[r.key]) continue;
      std::int64_t off;
      if (walk) {
        while (place + 1 < span.size() && span[place + 1] <= r.at) ++place;
        off = static_cast<std::int64_t>(place - cohort_place);
      } else {
        off = bucket_offset(cohort, bucket_start(r.at, w.by), w.by);
      }
      if (off == last_offset) continue;
      last_offset = off;
      if (c.active.size() <= static_cast<std::size_t>(off)) c.active.resize(static_cast<std::size_t>(off) + 1);
      ++c.active[static_cast<std::size_t>(off)];
      most = std::max(most, off);
    }
  }
  auto out = start("retention", w);
  table t{"cohorts", {"cohort", "size"}, {}};
  for (std::int64_t k = 0; k <= most && !cohorts.empty(); ++k) t.columns.push_back("active_" + std::to_string(k));
  for (const auto& [cohort, c] : cohorts) {
    std::vector<std::string> row{period_label(cohort, w.by), num(c.size)};
    for (std::int64_t k = 0; k <= most; ++k)
      row.push_back(num(static_cast<std::size_t>(k) < c.active.size() ? c.active[static_cast<std::size_t>(k)] : std::int64_t{0}));
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
  if (!buckets.empty() && (nps != symbols::npos || csat != symbols::npos || ces != symbols::npos))
    for (const auto& p : v.profiles)
      for (const auto& r : v.rows_of(p)) {
        if (r.key != nps && r.key != csat && r.key != ces) continue;
        const double x = v.number(r);
        if (!in(w, r.at) || std::isnan(x) || r.at < buckets.front()) continue;
        for (acc* a : {&per[bucket_index(buckets, r.at)], &total}) {
          if (r.key == nps) {
            ++a->nps_n;
            if (x >= 9) ++a->promoters;
            else if (x >= 7) ++a->passives;
            else ++a->detractors;
          } else if (r.key == csat) {
            ++a->csat_n;
            a->csat_sum += x;
          } else {
            ++a->ces_n;
            a->ces_sum += x;
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

/// Whether segment `key` is configured now (report_window::segments).
static bool configured(const report_window& w, std::string_view key) {
  return !w.segments || w.segments->find(key) != w.segments->end();
}

namespace {

/// Per-profile segment membership while walking its rows: (segment key, member), few per profile.
class memberships {
 public:
  void clear() { m_.clear(); }
  bool& operator[](std::uint32_t key) {
    for (auto& [k, in] : m_)
      if (k == key) return in;
    return m_.emplace_back(key, false).second;
  }
  /// In key order, as the std::map this replaces gave them.
  std::vector<std::pair<std::uint32_t, bool>>& sorted() {
    std::sort(m_.begin(), m_.end());
    return m_;
  }

 private:
  std::vector<std::pair<std::uint32_t, bool>> m_;
};

/// "segment\t<key>" of a configured segment → its place among the segment keys, -1 for other keys.
std::vector<int> segment_places(const history_view& v, const report_window& w, std::vector<std::uint32_t>* keys) {
  std::vector<int> place(v.keys.size(), -1);
  for (std::uint32_t k = 0; k < v.keys.size(); ++k)
    if (v.keys.name(k).rfind("segment\t", 0) == 0 && configured(w, std::string_view(v.keys.name(k)).substr(8))) {
      place[k] = static_cast<int>(keys->size());
      keys->push_back(k);
    }
  return place;
}

}  // namespace

report value(const history_view& v, const report_window& w) {
  const auto stage_key = v.keys.find(row_key("stage", ""));
  const auto ltv_key = v.keys.find(row_key("kpi", "lifetime_value"));
  const auto aov_key = v.keys.find(row_key("kpi", "average_order_value"));
  std::vector<std::uint32_t> segment_keys;
  const auto segment_place = segment_places(v, w, &segment_keys);
  const auto in_sym = v.values.find("in");
  struct group {
    std::int64_t profiles = 0, aov_n = 0;
    double ltv = 0, aov = 0;
  };
  // Groups by interned id (the last slot: "unknown", or the interned "unknown" itself when a stage or source is
  // called that, so that both land in one group as they did when groups were looked up by label).
  const auto unknown_stage = v.values.find("unknown"), unknown_source = v.sources.find("unknown");
  std::vector<group> by_stage(v.values.size() + 1), by_source(v.sources.size() + 1), by_segment(segment_keys.size());
  std::vector<char> stage_used(by_stage.size()), source_used(by_source.size()), segment_used(by_segment.size());
  const auto buckets = buckets_of(v, w);
  std::vector<double> added(buckets.size());
  memberships member;
  for (const auto& p : v.profiles) {
    double ltv = std::numeric_limits<double>::quiet_NaN(), aov = ltv, prev_ltv = 0;
    std::uint32_t stage = symbols::npos;
    member.clear();
    for (const auto& r : v.rows_of(p)) {
      if (r.at >= w.to) break;
      if (r.key == ltv_key && !std::isnan(v.number(r))) {
        const double x = v.number(r);
        if (in(w, r.at) && x > prev_ltv && !buckets.empty() && r.at >= buckets.front())
          added[bucket_index(buckets, r.at)] += x - prev_ltv;
        prev_ltv = x;
        ltv = x;
      } else if (r.key == aov_key) {
        aov = v.number(r);
      } else if (r.key == stage_key) {
        stage = r.to;
      } else if (segment_place[r.key] >= 0) {
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
    const std::size_t st = stage != symbols::npos ? stage : unknown_stage != symbols::npos ? unknown_stage : v.values.size();
    count(by_stage[st]);
    stage_used[st] = 1;
    const std::size_t so = p.source != symbols::npos ? p.source
                           : unknown_source != symbols::npos ? unknown_source : v.sources.size();
    count(by_source[so]);
    source_used[so] = 1;
    for (const auto& [k, is_member] : member.sorted())
      if (is_member) {
        const auto i = static_cast<std::size_t>(segment_place[k]);
        count(by_segment[i]);
        segment_used[i] = 1;
      }
  }
  auto out = start("value", w);
  auto emit = [&](std::string name, std::string first, const std::map<std::string, const group*>& groups) {
    table t{std::move(name), {std::move(first), "profiles", "ltv_total", "ltv_average", "aov_average", "aov_profiles"}, {}};
    for (const auto& [label, g] : groups)
      t.rows.push_back({label, num(g->profiles), num(g->ltv), ratio(g->ltv, static_cast<double>(g->profiles)),
                        ratio(g->aov, static_cast<double>(g->aov_n)), num(g->aov_n)});
    out.tables.push_back(std::move(t));
  };
  auto labelled = [](const std::vector<group>& groups, const std::vector<char>& used, auto label) {
    std::map<std::string, const group*> m;
    for (std::size_t i = 0; i < groups.size(); ++i)
      if (used[i]) m.emplace(label(i), &groups[i]);
    return m;
  };
  // By segment when segments exist (membership as of `to`), and always by lifecycle stage and first-touch source.
  if (!segment_keys.empty())
    emit("by_segment", "segment",
         labelled(by_segment, segment_used, [&](std::size_t i) { return v.keys.name(segment_keys[i]).substr(8); }));
  emit("by_stage", "stage", labelled(by_stage, stage_used, [&](std::size_t i) {
         return i == v.values.size() ? std::string("unknown") : v.values.name(static_cast<std::uint32_t>(i));
       }));
  emit("by_source", "source", labelled(by_source, source_used, [&](std::size_t i) {
         return i == v.sources.size() ? std::string("unknown") : v.sources.name(static_cast<std::uint32_t>(i));
       }));
  table t{"ltv_added_by_period", {"period", "ltv_added"}, {}};
  for (std::size_t i = 0; i < buckets.size(); ++i) t.rows.push_back({period_label(buckets[i], w.by), num(added[i])});
  out.tables.push_back(std::move(t));
  return out;
}

report segment_size(const history_view& v, const report_window& w) {
  std::vector<std::uint32_t> segment_keys;
  const auto segment_place = segment_places(v, w, &segment_keys);
  const auto in_sym = v.values.find("in");
  const auto buckets = buckets_of(v, w);
  struct counts {
    std::int64_t base = 0;
    std::vector<std::int64_t> entered, exited;
  };
  std::vector<counts> per(segment_keys.size());
  for (auto& c : per) {
    c.entered.resize(buckets.size());
    c.exited.resize(buckets.size());
  }
  memberships member;
  if (!segment_keys.empty())
    for (const auto& p : v.profiles) {
      member.clear();
      for (const auto& r : v.rows_of(p)) {
        if (r.at >= w.to) break;
        const int place = segment_place[r.key];
        if (place < 0) continue;
        auto& c = per[static_cast<std::size_t>(place)];
        const bool now_in = r.to == in_sym && in_sym != symbols::npos;
        bool& was = member[r.key];
        if (now_in == was) continue;  // a repeated row changes nothing
        was = now_in;
        if (r.at < w.from || buckets.empty() || r.at < buckets.front()) {
          c.base += now_in ? 1 : -1;
          continue;
        }
        const auto b = bucket_index(buckets, r.at);
        ++(now_in ? c.entered[b] : c.exited[b]);
      }
    }
  auto out = start("segment_size", w);
  table t{"sizes", {"period", "segment", "size", "entered", "exited"}, {}};
  for (std::size_t s = 0; s < segment_keys.size(); ++s) {
    const auto name = v.keys.name(segment_keys[s]).substr(8);
    auto& c = per[s];
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

}  // namespace omnisync::analytics
