#include "daemon/sync/history_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace omnisync::sync::detail {
namespace {

std::string json_text(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

std::string cause_json(const std::string& system, const std::string& object, const store::source_record* c,
                       std::int64_t run) {
  std::string out = "{";
  if (c) out += "\"record\":" + json_text(system + ":" + object + "/" + c->id);
  if (run > 0) out += std::string(out.size() > 1 ? "," : "") + "\"run\":\"" + std::to_string(run) + "\"";
  return out + "}";
}

omnisync::timestamp at_ms(std::int64_t v) { return omnisync::timestamp(std::chrono::milliseconds(v)); }

}  // namespace

const std::vector<std::string>& tracked_kpis() {
  static const std::vector<std::string> names{"lifetime_value", "average_order_value", "order_count",
                                              "open_tickets",   "csat_average",        "nps"};
  return names;
}

std::string kpi_text(double v) {
  if (!std::isfinite(v) || v == 0) return {};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::uint32_t history_writer::stage_id(const std::string& s) {
  auto it = std::find(stages_.begin(), stages_.end(), s);
  if (it != stages_.end()) return static_cast<std::uint32_t>(it - stages_.begin());
  stages_.push_back(s);
  return static_cast<std::uint32_t>(stages_.size() - 1);
}

history_writer::snapshot history_writer::snap(const profile::kpi_values& k) {
  constexpr double none = std::numeric_limits<double>::quiet_NaN();
  snapshot s;
  s.stage = stage_id(k.lifecycle_stage);
  // Kept as text: what the rows say, compared as the rows would be.
  s.kpis = {kpi_text(k.lifetime_value),
            kpi_text(k.average_order_value.value_or(none)),
            kpi_text(static_cast<double>(k.order_count)),
            kpi_text(static_cast<double>(k.open_tickets)),
            k.csat_average ? kpi_text(*k.csat_average) : std::string(),
            // An NPS answer of 0 is an answer (a detractor), not "none".
            k.nps ? std::to_string(*k.nps) : std::string()};
  return s;
}

std::vector<store::history_entry> history_writer::changes(const profile::book& b,
                                                          const std::set<profile::profile_id>& affected,
                                                          const std::string& system, const std::string& object,
                                                          const std::vector<store::source_record>& causes,
                                                          std::int64_t run, omnisync::timestamp now) {
  std::vector<store::history_entry> out;
  if (affected.empty()) return out;
  // Which profile each cause's record belongs to now (the first cause of a profile wins).
  std::unordered_map<std::uint64_t, const store::source_record*> cause_of;
  for (const auto& c : causes)
    if (auto pid = b.find(profile::record_key(system, object, c.id))) cause_of.try_emplace(pid->value, &c);
  const auto& names = tracked_kpis();
  for (const auto& pid : affected) {
    auto k = b.kpis(pid);
    if (!k) {
      known_.erase(pid.value);  // merged away: its successor carries on
      continue;
    }
    auto now_snap = snap(*k);
    auto it = known_.find(pid.value);
    const snapshot before = it == known_.end() ? snapshot{} : it->second;
    // A profile new to the history compares with the empty snapshot: its first stage and KPIs come from "".
    const store::source_record* c = nullptr;
    if (auto ci = cause_of.find(pid.value); ci != cause_of.end()) c = ci->second;
    else if (!causes.empty()) c = &causes.front();
    const auto at = c && c->source_updated_at.time_since_epoch().count() > 0 ? c->source_updated_at : now;
    const auto cause = cause_json(system, object, c, run);
    const auto id = pid.str();
    if (now_snap.stage != before.stage)
      out.emplace_back(id, "stage", "", stages_[before.stage], stages_[now_snap.stage], at, cause);
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string& old = i < before.kpis.size() ? before.kpis[i] : std::string();
      if (old != now_snap.kpis[i]) out.emplace_back(id, "kpi", names[i], old, now_snap.kpis[i], at, cause);
    }
    known_[pid.value] = std::move(now_snap);
  }
  return out;
}

std::vector<store::history_entry> history_writer::reset(const profile::book& b, bool seed) {
  known_.clear();
  std::vector<store::history_entry> out;
  const auto& names = tracked_kpis();
  for (const auto& pid : b.profiles()) {
    auto k = b.kpis(pid);
    if (!k) continue;
    auto s = snap(*k);
    if (seed) {
      std::int64_t first = std::numeric_limits<std::int64_t>::max();
      if (auto v = b.view(pid))
        for (const auto& m : v->members) first = std::min(first, m.first_seen);
      const auto at = at_ms(first == std::numeric_limits<std::int64_t>::max() ? 0 : first);
      const auto id = pid.str();
      if (s.stage != 0) out.emplace_back(id, "stage", "", "", stages_[s.stage], at, R"({"seed":true})");
      for (std::size_t i = 0; i < names.size(); ++i)
        if (!s.kpis[i].empty()) out.emplace_back(id, "kpi", names[i], "", s.kpis[i], at, R"({"seed":true})");
    }
    known_.emplace(pid.value, std::move(s));
  }
  return out;
}

}  // namespace omnisync::sync::detail
