#pragma once
#include <catch2/catch.hpp>

#include <string>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::mapping::testing {

inline std::shared_ptr<const plan> must_compile(const std::string& yaml) {
  config::diagnostics d;
  auto p = compile_mapping(yaml, "m.yaml", default_canonical_attributes(), d);
  INFO(d.format());
  REQUIRE(p != nullptr);
  return p;
}

/// All diagnostics of a mapping that must not compile.
inline std::string compile_errors(const std::string& yaml) {
  config::diagnostics d;
  auto p = compile_mapping(yaml, "m.yaml", default_canonical_attributes(), d);
  CHECK(p == nullptr);
  return d.format();
}

/// Maps one record; returns its JSON or "ERROR: <formatted error>".
inline std::string map_one(evaluator& ev, const std::string& json) {
  record_error err;
  const mapped_record* r = ev.apply(json, err);
  if (!r) return "ERROR: " + err.format();
  return r->to_json(ev.mapping_plan());
}

inline std::string header() { return "system: salesforce\nobject: Contact\ndirection: inbound\nfields:\n"; }

}  // namespace omnisync::mapping::testing
