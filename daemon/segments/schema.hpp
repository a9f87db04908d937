#pragma once
/// The profile schema segment expressions are checked against: the same names mappings use — canonical
/// attributes with their types (omnisync.yaml `canonical:` or the shipped set), KPI names, lifecycle stages (the
/// `kpis.lifecycle` rules), event types (the inbound mappings' `events:` and the KPI rules) and event fields.
/// Built once per config load; immutable, shareable across threads.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/attributes.hpp"
#include "daemon/segments/ast.hpp"

namespace omnisync::mapping {
class plan;
}
namespace omnisync::profile {
struct kpi_rules;
}

namespace omnisync::segments {

/// The timeline event types of segment transitions (facts.hpp `segment_events`): a predicate that reads them
/// names the segment (`e.segment == "KEY"`), which becomes a dependency like member_of.
inline constexpr const char* segment_entered_type = "segment_entered";
inline constexpr const char* segment_exited_type = "segment_exited";
bool is_segment_event_type(std::string_view type);

struct profile_schema {
  std::map<std::string, value_type, std::less<>> attributes;  ///< "external_ids.*" matches external_ids.<any>
  std::map<std::string, value_type, std::less<>> kpis;
  std::vector<std::string> stages;
  std::vector<std::string> event_types;
  std::map<std::string, value_type, std::less<>> event_fields;

  /// The type of a canonical attribute, or unknown.
  value_type attribute(std::string_view name) const;
  std::vector<std::string> attribute_names() const;

  static profile_schema build(const std::vector<config::attribute_decl>& canonical, const profile::kpi_rules& rules,
                              const std::vector<std::shared_ptr<const mapping::plan>>& plans);
};

/// A canonical attribute type ("integer", "datetime", ...) as an expression type.
value_type type_of_declared(std::string_view declared);

}  // namespace omnisync::segments
