#pragma once
// Shared by the segment tests: the shipped profile schema (default canonical attributes, default KPI rules,
// the shipped mappings' event types) and helpers to build profiles and compile segment sets.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "daemon/profile/kpis.hpp"
#include "daemon/segments/segment_set.hpp"
#include "mapping/canonical.hpp"

namespace seg_test {

using namespace omnisync::segments;

inline const profile_schema& schema() {
  static const profile_schema s = [] {
    static const auto rules = omnisync::profile::kpi_rules::defaults();
    profile_schema out = profile_schema::build(omnisync::mapping::default_canonical_attributes(), rules, {});
    out.event_types.push_back("conversation");
    return out;
  }();
  return s;
}

inline std::int64_t at(const char* iso) { return omnisync::to_epoch_ms(*omnisync::parse_iso8601(iso)); }
constexpr std::int64_t day = 86'400'000;

inline segment_def def(std::string key, std::string where, std::string group = {}, int holdout = 0) {
  segment_def d;
  d.key = std::move(key);
  d.where = std::move(where);
  d.priority_group = std::move(group);
  d.holdout_percent = holdout;
  d.file = "omnisync.yaml";
  d.line = 10;
  d.column = 12;
  return d;
}

/// Compiles, failing the test with every error when there is one.
inline segment_set compile_ok(std::vector<segment_def> defs) {
  std::vector<segment_error> errors;
  auto s = segment_set::compile(std::move(defs), schema(), errors);
  for (const auto& e : errors) FAIL(e.file << ":" << e.line << ":" << e.column << ": " << e.key << ": " << e.message);
  return s;
}

inline std::vector<segment_error> compile_errors(std::vector<segment_def> defs) {
  std::vector<segment_error> errors;
  (void)segment_set::compile(std::move(defs), schema(), errors);
  return errors;
}

inline omnisync::profile::event ev(std::string type, std::int64_t when, std::string status = {},
                                   std::optional<double> amount = {}, std::string subject = {}) {
  omnisync::profile::event e;
  e.type = std::move(type);
  e.occurred_at = when;
  e.status = std::move(status);
  e.amount = amount;
  e.subject = subject.empty() ? "hubspot:x:" + std::to_string(when) : std::move(subject);
  return e;
}

}  // namespace seg_test
