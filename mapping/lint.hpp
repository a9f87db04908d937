#pragma once
/// Checks a compiled mapping against the connected system's metadata, given as data (`object_schema`, what an
/// adapter's `describe` returns): outbound fields that do not exist, are formulas or read-only, values longer
/// than the field holds, an upsert key that is not an external id or unique; inbound source fields the metadata
/// does not know (a renamed or deleted field reads as missing). Pure; `omnisyncctl lint` runs it for every
/// mapping of every connector.
#include <string>
#include <string_view>
#include <vector>

#include "core/vendor_schema.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::mapping {

struct lint_finding {
  std::string severity;  ///< error | warning
  std::string file;
  int line = 0;
  std::string field;     ///< the vendor field concerned
  std::string message;
};

/// The problems of mapping `p` against `schema` (the metadata of `p.object()` in the system named `system`).
std::vector<lint_finding> lint(const plan& p, const object_schema& schema, std::string_view system);

}  // namespace omnisync::mapping
