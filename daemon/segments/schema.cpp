#include "daemon/segments/schema.hpp"

#include <algorithm>

#include "daemon/profile/kpis.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::segments {
namespace {

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

bool is_segment_event_type(std::string_view type) {
  return type == segment_entered_type || type == segment_exited_type;
}

value_type type_of_declared(std::string_view t) {
  if (t == "integer" || t == "number") return value_type::number;
  if (t == "boolean") return value_type::boolean;
  if (t == "datetime") return value_type::datetime;
  if (t == "string_list") return value_type::string_list;
  if (t == "string") return value_type::string;
  return value_type::unknown;  // object: not comparable as a whole
}

value_type profile_schema::attribute(std::string_view name) const {
  if (auto it = attributes.find(name); it != attributes.end()) return it->second;
  if (const auto dot = name.find('.'); dot != std::string_view::npos && dot + 1 < name.size()) {
    const std::string wild = std::string(name.substr(0, dot)) + ".*";
    if (auto it = attributes.find(wild); it != attributes.end()) return it->second;
  }
  return value_type::unknown;
}

std::vector<std::string> profile_schema::attribute_names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : attributes) out.push_back(n);
  return out;
}

profile_schema profile_schema::build(const std::vector<config::attribute_decl>& canonical,
                                     const profile::kpi_rules& rules,
                                     const std::vector<std::shared_ptr<const mapping::plan>>& plans) {
  profile_schema s;
  // KPIs (and lifecycle_stage) are canonical attributes too, computed by omnisync: the language reads them as
  // kpi.<name> and stage, so only what the sources hold is an attribute here.
  for (const auto& a : canonical)
    if (!a.computed) s.attributes.emplace(a.name, type_of_declared(a.type));
  for (const auto& [name, v] : profile::kpi_values{}.to_attributes()) {
    if (name == "lifecycle_stage") continue;
    value_type t = value_type::number;
    if (name == "nps_category") t = value_type::string;
    if (name == "last_interaction_at") t = value_type::datetime;
    s.kpis.emplace(name, t);
  }
  for (const auto& r : rules.lifecycle) add_unique(s.stages, r.stage);
  for (const auto& t : rules.order_types) add_unique(s.event_types, t);
  for (const auto& t : rules.ticket_types) add_unique(s.event_types, t);
  for (const auto& c : rules.csat) add_unique(s.event_types, c.type);
  for (const auto& t : rules.nps_types) add_unique(s.event_types, t);
  for (const auto& p : plans)
    for (const auto& t : p->event_types()) add_unique(s.event_types, t);
  add_unique(s.event_types, segment_entered_type);
  add_unique(s.event_types, segment_exited_type);
  s.event_fields = {{"type", value_type::string},   {"segment", value_type::string},   {"occurred_at", value_type::datetime},
                    {"subject", value_type::string}, {"amount", value_type::number},
                    {"currency", value_type::string}, {"status", value_type::string},
                    {"score", value_type::number}};
  return s;
}

}  // namespace omnisync::segments
