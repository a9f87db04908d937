#include "mapping/lint.hpp"

#include <set>

#include "mapping/plan_impl.hpp"

namespace omnisync::mapping {

std::vector<lint_finding> lint(const plan& p, const object_schema& schema, std::string_view system) {
  std::vector<lint_finding> out;
  const auto& impl = p.impl();
  const std::string sys(system);
  auto add = [&](std::string severity, int line, std::string field, std::string message) {
    out.push_back(lint_finding{std::move(severity), impl.file, line, std::move(field), std::move(message)});
  };
  // The vendor field a mapping name stands for: the name itself, else its last dotted part (HubSpot
  // `properties.email`, Zendesk `user_fields.plan`).
  auto lookup = [&](const std::string& name) -> const field_info* {
    if (auto* f = schema.find(name)) return f;
    auto dot = name.rfind('.');
    return dot == std::string::npos ? nullptr : schema.find(name.substr(dot + 1));
  };
  if (p.direction() == direction::outbound) {
    for (const auto& f : impl.fields) {
      const auto* info = lookup(f.target);
      if (!info) {
        add("error", f.line, f.target, "no field " + f.target + " on " + p.object() + " in " + sys);
        continue;
      }
      if (info->calculated)
        add("error", f.line, f.target, f.target + " is a formula (calculated) field: it cannot be written");
      else if (!info->updateable)
        add("error", f.line, f.target, f.target + " is read-only in " + sys);
      // (lengths of 10,000 and more are text areas: nothing a mapping needs to cut for)
      if (info->length > 0 && info->length < 10000 && (f.max_length == 0 || f.max_length > info->length))
        add("warning", f.line, f.target,
            f.target + " holds at most " + std::to_string(info->length) + " characters but the mapping allows " +
                (f.max_length == 0 ? std::string("any length") : std::to_string(f.max_length)) +
                ": set max_length (or a truncate transform)");
      if (f.target == p.upsert_key() && !info->external_id && !info->unique)
        add("error", f.line, f.target, "upsert_key " + f.target + " is not an external id or unique field in " + sys);
    }
    return out;
  }
  // Inbound: fields are top-level keys, or under `properties` (HubSpot); other nested paths and the record
  // envelope (ids, stamps, associations) are not in the metadata.
  static const std::set<std::string> envelope{"id",         "createdAt",  "updatedAt", "archived", "url",
                                              "created_at", "updated_at", "type",      "attributes"};
  for (const auto& f : impl.fields)
    for (const auto& src : f.sources) {
      if (src.ref_field >= 0 || src.keys.empty()) continue;
      std::string path;
      if (src.keys.size() == 1 && !envelope.count(src.keys[0])) path = src.keys[0];
      else if (src.keys.size() == 2 && src.keys[0] == "properties") path = src.keys[1];
      if (path.empty() || lookup(path)) continue;
      add("warning", f.line, path,
          "the source field " + path + " is not in " + sys + "'s " + p.object() +
              " metadata (a renamed or deleted field reads as missing)");
    }
  return out;
}

}  // namespace omnisync::mapping
