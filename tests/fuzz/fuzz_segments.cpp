// Fuzzes the segment language (daemon/segments): the input is a segment's `where:` text, parsed, checked
// against the shipped profile schema and, when it compiles, evaluated against a small profile with its flip
// time and explain terms. Users write these expressions in omnisync.yaml: none may crash a config load.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "daemon/profile/kpis.hpp"
#include "daemon/segments/segment_set.hpp"
#include "mapping/canonical.hpp"

namespace {

using namespace omnisync::segments;

const profile_schema& schema() {
  static const omnisync::profile::kpi_rules rules = omnisync::profile::kpi_rules::defaults();
  static const profile_schema s = profile_schema::build(omnisync::mapping::default_canonical_attributes(), rules, {});
  return s;
}

profile_facts sample() {
  profile_facts p;
  p.profile_id = "p0000000000000001";
  p.attributes["email"].set_string("ann@acme.com");
  p.attributes["updated_at"].set_string("2026-01-01T00:00:00Z");
  p.kpis["lifetime_value"].set_number(1200);
  p.kpis["order_count"].set_int(2);
  p.stage = "purchase";
  for (int i = 0; i < 4; ++i) {
    omnisync::profile::event e;
    e.type = i % 2 ? "ticket" : "deal_won";
    e.occurred_at = 1767225600000LL + i * 86'400'000LL * 9;
    e.status = i == 1 ? "solved" : "open";
    e.amount = 100.0 * i;
    e.subject = "hubspot:deals:" + std::to_string(i);
    p.events.push_back(e);
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<segment_def> defs(2);
  defs[0].key = "base";
  defs[0].where = "kpi.order_count >= 1";
  defs[1].key = "fuzzed";
  defs[1].where = text;
  defs[1].holdout_percent = 10;
  std::vector<segment_error> errors;
  const segment_set set = segment_set::compile(defs, schema(), errors);
  if (!errors.empty()) {
    for (const auto& e : errors)
      if (e.message.empty()) std::abort();  // every problem has a sentence
    return 0;
  }
  const profile_facts p = sample();
  const std::int64_t now = 1767225600000LL + 86'400'000LL * 20;
  const int i = *set.index_of("fuzzed");
  const membership m = set.evaluate(i, p, now);
  if (m.flips_at) {
    if (*m.flips_at <= now) std::abort();  // a flip is always in the future
    if (!m.recheck && set.member(i, p, *m.flips_at) == m.member) std::abort();
  }
  (void)set.explain(i, p, now);
  return 0;
}
