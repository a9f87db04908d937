// segments_bench: segment membership at scale, without the network — 50 segments compiled against the shipped
// profile schema, N synthetic profiles generated on the fly (nothing held per profile), the SQLite store.
//
//   segments_bench --mode backfill --profiles N --dir DIR    every profile × 50 segments evaluated, verdicts stored
//                                                           with segment_apply, 1,000 profiles per transaction (as
//                                                           the daemon's backfill does)
//   segments_bench --mode evaluate --profiles N             the same evaluation, nothing stored: a full
//                                                           recomputation's floor
//   segments_bench --mode change --profiles N --dir DIR      after a backfill: C single-profile changes (a new
//                                                           ticket or order), each diffed (diff_facts), evaluated
//                                                           for the segments it touches and stored in one
//                                                           segment_apply with the terms of its transitions (what a
//                                                           page of one record costs): latency p50/p99 of change ->
//                                                           stored transition; every other change evaluates all 50
//                                                           segments instead (the reference, same run)
//   segments_bench --mode timers --profiles N --dir DIR      after a backfill: T timers due over the next 5 s of the
//                                                           real clock, fired by a loop like the daemon's (due timers
//                                                           read every 200 ms, evaluated, stored): lateness p50/p99/max
//                                                           of the stored exit after its deadline
// One JSON line on stdout: mode, profiles, seconds, peak_rss_mb (VmHWM), members, and for change p50_ms/p99_ms.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/profile/kpis.hpp"
#include "daemon/segments/segment_set.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "mapping/canonical.hpp"

using namespace omnisync;
using namespace omnisync::segments;

namespace {

constexpr std::int64_t day = 86'400'000;
constexpr std::int64_t now_ms = 1'796'083'200'000;  // 2026-12-01T00:00:00Z

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

/// 50 segments: ten thresholds of five shapes (KPI, open-ticket window, no-purchase window, stage + KPI,
/// recency of any event), like a marketing team's list.
segment_set fifty(const profile_schema& schema) {
  std::vector<segment_def> defs;
  for (int k = 0; k < 10; ++k) {
    auto add = [&](std::string key, std::string where) {
      segment_def d;
      d.key = std::move(key);
      d.where = std::move(where);
      d.file = "bench.yaml";
      defs.push_back(std::move(d));
    };
    add("ltv_" + std::to_string(k), "kpi.lifetime_value >= " + std::to_string(500 * (k + 1)));
    add("ticket_" + std::to_string(k),
        "count(events, e.type == \"ticket\" && e.status != \"closed\", within: " + std::to_string(10 * (k + 1)) + "d) >= 1");
    add("lapsed_" + std::to_string(k),
        "kpi.order_count >= 1 && none(events, e.type == \"deal_won\", within: " + std::to_string(30 * (k + 1)) + "d)");
    add("stage_" + std::to_string(k), "stage != \"awareness\" && kpi.order_count >= " + std::to_string(k));
    add("active_" + std::to_string(k), "any(events, within: " + std::to_string(3 * (k + 1)) + "d)");
  }
  std::vector<segment_error> errors;
  auto set = segment_set::compile(std::move(defs), schema, errors);
  for (const auto& e : errors) std::cerr << e.key << ": " << e.message << "\n";
  if (!errors.empty()) std::exit(2);
  return set;
}

/// Profile i (deterministic): 0-6 orders and 0-3 tickets spread over the last 200 days.
profile_facts person(std::uint64_t i, std::uint64_t salt = 0) {
  static const auto rules = profile::kpi_rules::defaults();
  std::uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ salt;
  auto next = [&x] {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
  };
  profile_facts p;
  char id[24];
  std::snprintf(id, sizeof id, "p%016llx", static_cast<unsigned long long>(i));
  p.profile_id = id;
  const int orders = static_cast<int>(next() % 7), tickets = static_cast<int>(next() % 4);
  for (int k = 0; k < orders + tickets; ++k) {
    profile::event e;
    const bool order = k < orders;
    e.type = order ? "deal_won" : "ticket";
    e.occurred_at = now_ms - static_cast<std::int64_t>(next() % (200 * day));
    if (order) {
      e.amount = static_cast<double>(next() % 2000);
      e.currency = "USD";
    } else {
      e.status = next() % 2 ? "open" : "closed";
    }
    p.events.push_back(std::move(e));
  }
  std::sort(p.events.begin(), p.events.end(), [](const auto& a, const auto& b) { return a.occurred_at < b.occurred_at; });
  const auto k = profile::timeline::compute(rules, p.events);
  for (auto& [name, v] : k.to_attributes())
    if (name != "lifecycle_stage") p.kpis.emplace(name, v);
  p.stage = k.lifecycle_stage;
  return p;
}

void verdicts_of(const segment_set& set, const profile_facts& p, std::vector<store::segment_verdict>& out,
                 std::size_t& members) {
  for (int s = 0; s < static_cast<int>(set.segments().size()); ++s) {
    const auto m = set.evaluate(s, p, now_ms);
    std::optional<timestamp> next;
    if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
    if (m.member) ++members;
    out.emplace_back(set.segments()[static_cast<std::size_t>(s)].def.key, p.profile_id, m.member, next);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "backfill", dir;
  std::uint64_t n = 100'000, changes = 2'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--mode")) mode = argv[i + 1];
    else if (!std::strcmp(argv[i], "--profiles")) n = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--changes")) changes = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
  }
  static const auto rules = profile::kpi_rules::defaults();
  const auto schema = profile_schema::build(mapping::default_canonical_attributes(), rules, {});
  const auto set = fifty(schema);
  std::unique_ptr<store::store> db;
  if (mode != "evaluate") {
    store::options o;
    o.state_dir = dir;
    std::string why;
    auto opened = store::open_store(o, &why);
    if (!opened) {
      std::cerr << why << "\n";
      return 1;
    }
    db = std::move(*opened);
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::size_t members = 0;
  std::vector<double> lat;
  if (mode == "backfill" || mode == "evaluate" || mode == "change") {
    std::vector<store::segment_verdict> batch;
    constexpr std::uint64_t chunk = 1000;
    for (std::uint64_t i = 0; i < n; ++i) {
      verdicts_of(set, person(i), batch, members);
      if (mode == "evaluate") {
        batch.clear();
        continue;
      }
      if ((i + 1) % chunk == 0 || i + 1 == n) {
        auto r = store::wait(db->segment_apply(std::move(batch), timestamp(std::chrono::milliseconds(now_ms))));
        if (!r) return 1;
        batch.clear();
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> full;  // change: the reference (every segment evaluated)
  std::size_t evaluated = 0, evaluated_full = 0;
  if (mode == "change") {
    // A profile changes (a new ticket or order now); what changed decides which segments are evaluated, and the
    // transitions are explained (the term) inside segment_apply's transaction, as the daemon does.
    const auto t_now = timestamp(std::chrono::milliseconds(now_ms));
    lat.reserve(changes);
    std::size_t ignored = 0;
    const auto c0 = std::chrono::steady_clock::now();
    for (std::uint64_t c = 0; c < changes; ++c) {
      const auto a = std::chrono::steady_clock::now();
      const auto before = person((c * 7919) % n);
      auto after = before;
      profile::event e;
      e.type = c % 4 < 2 ? "ticket" : "deal_won";
      e.occurred_at = now_ms - 1;
      if (e.type == "ticket") e.status = "open";
      else e.amount = 900, e.currency = "USD";
      after.events.push_back(e);
      static const auto rules = profile::kpi_rules::defaults();
      const auto k = profile::timeline::compute(rules, after.events);
      after.kpis.clear();
      for (auto& [name, v] : k.to_attributes())
        if (name != "lifecycle_stage") after.kpis.emplace(name, v);
      after.stage = k.lifecycle_stage;
      const bool reference = c % 2 == 1;
      std::vector<int> which;
      if (reference) {
        for (int i = 0; i < static_cast<int>(set.segments().size()); ++i) which.push_back(i);
      } else {
        which = set.affected(diff_facts(before, after));
      }
      (reference ? evaluated_full : evaluated) += which.size();
      std::vector<store::segment_verdict> batch;
      for (int i : which) {
        const auto m = set.evaluate(i, after, now_ms);
        std::optional<timestamp> next;
        if (m.flips_at) next = timestamp(std::chrono::milliseconds(*m.flips_at));
        if (m.member) ++ignored;
        batch.emplace_back(set.segments()[static_cast<std::size_t>(i)].def.key, after.profile_id, m.member, next);
      }
      store::segment_describer describe = [&set, &after](const store::segment_verdict& v, bool) {
        std::string term;
        if (auto i = set.index_of(v.segment))
          for (const auto& t : set.explain(*i, after, now_ms)) term += t.value;
        return "{\"term\":\"" + term + "\"}";
      };
      auto r = store::wait(db->segment_apply(std::move(batch), t_now, describe));
      if (!r) return 1;
      (reference ? full : lat).push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    std::sort(lat.begin(), lat.end());
    std::sort(full.begin(), full.end());
  }
  if (mode == "timers") {
    // `changes` timers on the real clock, due over the next 5 s; the loop reads the due ones every 200 ms (the
    // daemon's segment loop), evaluates each (segment, profile) and stores the verdict: an exit, no timer.
    using clock = std::chrono::system_clock;
    auto real_now = [] { return std::chrono::time_point_cast<std::chrono::milliseconds>(clock::now()); };
    const auto start = real_now();
    std::vector<store::segment_verdict> arm;
    for (std::uint64_t c = 0; c < changes; ++c) {
      const auto due = start + std::chrono::milliseconds(1000 + static_cast<std::int64_t>((c * 2654435761u) % 5000));
      arm.emplace_back("active_9", person((c * 7919) % n).profile_id, true, timestamp(due.time_since_epoch()));
    }
    if (!store::wait(db->segment_apply(std::move(arm), timestamp(start.time_since_epoch())))) return 1;
    std::size_t fired = 0;
    const auto c0 = std::chrono::steady_clock::now();
    while (fired < changes) {
      auto due = store::wait(db->segment_timers_due(timestamp(real_now().time_since_epoch()), 1000));
      if (!due) return 1;
      if (due->empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      std::vector<store::segment_verdict> batch;
      const auto idx = *set.index_of("active_9");
      for (const auto& t : *due) {
        profile_facts p;  // its events are gone: the exit the timer was set for
        p.profile_id = t.profile;
        const auto m = set.evaluate(idx, p, real_now().time_since_epoch().count());
        batch.emplace_back(t.segment, t.profile, m.member, std::nullopt);
      }
      if (!store::wait(db->segment_apply(std::move(batch), timestamp(real_now().time_since_epoch())))) return 1;
      const auto stored = real_now();
      for (const auto& t : *due) lat.push_back(static_cast<double>((stored.time_since_epoch() - t.due_at.time_since_epoch()).count()));
      fired += due->size();
    }
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    std::sort(lat.begin(), lat.end());
  }
  std::printf("{\"mode\":\"%s\",\"profiles\":%llu,\"segments\":%zu,\"seconds\":%.3f,\"peak_rss_mb\":%.1f,\"members\":%zu",
              mode.c_str(), static_cast<unsigned long long>(n), set.segments().size(), seconds, peak_rss_mb(), members);
  auto pct = [](const std::vector<double>& v, std::size_t num) { return v[std::min(v.size() - 1, v.size() * num / 100)]; };
  if (!lat.empty())
    std::printf(",\"changes\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f", lat.size(), pct(lat, 50),
                pct(lat, 99), lat.back());
  if (!full.empty())
    std::printf(",\"full_p50_ms\":%.3f,\"full_p99_ms\":%.3f,\"evaluated_per_change\":%.2f,"
                "\"evaluated_per_change_full\":%.2f",
                pct(full, 50), pct(full, 99), static_cast<double>(evaluated) / static_cast<double>(lat.size()),
                static_cast<double>(evaluated_full) / static_cast<double>(full.size()));
  std::printf("}\n");
  return 0;
}
