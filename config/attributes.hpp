#pragma once
/// The canonical attributes of the unified profile, as `omnisync.yaml` declares them (`canonical:`) — the names
/// mappings map to and from.
#include <string>

namespace omnisync::config {

/// A canonical attribute of the unified profile (declared in `canonical:`; a default set is shipped).
struct attribute_decl {
  std::string name;
  std::string type;                                    ///< string|number|integer|boolean|datetime|string_list|object
  std::string description;
  bool computed = false;                               ///< KPIs and lifecycle_stage: computed by omnisync
};

}  // namespace omnisync::config
