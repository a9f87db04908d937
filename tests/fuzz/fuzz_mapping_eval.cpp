// Fuzzes the evaluator with arbitrary bytes as a record, against a mapping that uses every kind of rule.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace {
constexpr std::string_view k_mapping = R"(system: fuzz
object: record
direction: inbound
fields:
  email: { from: [Email, properties.email], transform: [email], on_error: null }
  first_name: { from: Name, transform: [trim, collapse_spaces, upper, lower, { truncate: 5 }] }
  last_name: { template: "{Account.Name} {@first_name} {tags[0]}" }
  phone: { from: Phone, transform: [{ e164: { region: US } }], on_error: omit }
  company: { from: "items[*].name", transform: [{ join: ", " }, sha256] }
  lifecycle_stage: { from: Stage, map: { a: awareness, "1": purchase }, default: unknown }
  lead_score: { from: Score, when: { path: Kind, in: [x, y] }, on_error: null }
  email_opt_in: { from: OptOut, transform: [not], on_error: null }
  updated_at: { from: [Mod, "dates[1]"], on_error: null }
  tags: { from: Tags, transform: [{ split: ";" }], on_error: null }
  external_ids.fuzz: { from: Id, transform: [digits, { prepend: "#" }] }
identity: [email, external_ids.fuzz]
events:
  - type: e
    id: Id
    occurred_at: { from: When, transform: [epoch_seconds], on_error: null }
    person: { external_ids.fuzz: "@external_ids.fuzz" }
    amount: { from: Amount, on_error: null }
)";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto plan = [] {
    omnisync::config::diagnostics d;
    auto p = omnisync::mapping::compile_mapping(k_mapping, "fuzz.yaml",
                                                omnisync::mapping::default_canonical_attributes(), d);
    if (!p) std::abort();  // the fixed mapping must compile
    return p;
  }();
  static omnisync::mapping::evaluator ev(plan);
  omnisync::mapping::record_error err;
  if (const auto* r = ev.apply(std::string_view(reinterpret_cast<const char*>(data), size), err)) {
    std::string out;
    r->append_json(*plan, out);
    (void)r->identity_keys(*plan);
  } else {
    (void)err.format();
  }
  return 0;
}
