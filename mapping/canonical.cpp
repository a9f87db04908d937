#include "mapping/canonical.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>

#include "mapping/mapping.hpp"

namespace omnisync::mapping {

std::vector<config::attribute_decl> default_canonical_attributes() {
  auto a = [](const char* name, const char* type, const char* description, bool computed = false) {
    config::attribute_decl d;
    d.name = name;
    d.type = type;
    d.description = description;
    d.computed = computed;
    return d;
  };
  return {
      a("email", "string", "primary e-mail address, normalised"),
      a("first_name", "string", "given name"),
      a("last_name", "string", "family name"),
      a("phone", "string", "phone number in E.164"),
      a("company", "string", "company or account name"),
      a("lifecycle_stage", "string",
        "omnisync's stage from the lifecycle rules (kpis.lifecycle): awareness, conversion, purchase, activation, "
        "renewal, referral or unknown",
        true),
      a("source_stage", "string",
        "the stage the source systems report (a vendor's own lifecycle stage mapped to omnisync's stage names); "
        "an input of the lifecycle rules, never written as lifecycle_stage"),
      a("lead_score", "number", "lead score from the marketing or CRM system"),
      a("email_opt_in", "boolean", "whether the person accepts marketing e-mail"),
      a("updated_at", "datetime", "when the source record last changed (UTC)"),
      a("external_ids.*", "string", "the person's id in each connected system, e.g. external_ids.salesforce"),
      a("omnisync_id", "string",
        "the profile id omnisync wrote into the record, read back: keeps a record with its profile when its "
        "e-mail and phone change"),
      a("tags", "string_list", "tags and labels, merged across systems"),
      a("lifetime_value", "number", "sum of won deal and order amounts", true),
      a("average_order_value", "number", "lifetime_value / order_count", true),
      a("order_count", "integer", "number of won deals and orders", true),
      a("open_tickets", "integer", "support tickets not solved or closed", true),
      a("total_tickets", "integer", "all support tickets", true),
      a("csat_average", "number", "average satisfaction rating (0..1, good = 1)", true),
      a("nps", "integer", "latest Net Promoter Score answer (0..10)", true),
      a("nps_category", "string", "promoter, passive or detractor", true),
      a("last_interaction_at", "datetime", "most recent timeline event (UTC)", true),
  };
}

const config::attribute_decl* find_attribute(const std::vector<config::attribute_decl>& attrs,
                                             std::string_view name) noexcept {
  for (const auto& a : attrs)
    if (a.name == name) return &a;
  for (const auto& a : attrs) {
    std::string_view n = a.name;
    if (n.size() >= 2 && n.substr(n.size() - 2) == ".*") {
      std::string_view prefix = n.substr(0, n.size() - 1);  // "external_ids."
      if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix &&
          name.find('.', prefix.size()) == std::string_view::npos)
        return &a;
    }
  }
  return nullptr;
}

bool is_known_type(std::string_view type) noexcept {
  static constexpr std::array<std::string_view, 7> types = {"string",   "number",      "integer", "boolean",
                                                            "datetime", "string_list", "object"};
  return std::find(types.begin(), types.end(), type) != types.end();
}

static std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> closest_name(std::string_view name, const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const auto& c : candidates) {
    std::size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::vector<config::attribute_decl> read_canonical_attributes(const std::filesystem::path& config_file,
                                                              config::diagnostics& diags) {
  const std::string file = config_file.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    diags.add(config::location{file, 0, 0}, "", "cannot read the file");
    return {};
  } catch (const YAML::Exception& e) {
    diags.add(config::location{file, e.mark.line + 1, e.mark.column + 1}, "", e.msg);
    return {};
  }
  YAML::Node c = root.IsMap() ? root["canonical"] : YAML::Node();
  if (!c) return default_canonical_attributes();
  std::vector<config::attribute_decl> out;
  auto add = [&](const YAML::Node& where, const std::string& path, std::string name, const YAML::Node& spec) {
    config::attribute_decl a;
    a.name = std::move(name);
    a.type = "string";
    if (spec.IsScalar()) a.type = spec.Scalar();
    else if (spec.IsMap()) {
      if (spec["type"]) a.type = spec["type"].Scalar();
      if (spec["description"]) a.description = spec["description"].Scalar();
      if (spec["computed"]) a.computed = spec["computed"].Scalar() == "true";
    }
    if (!is_known_type(a.type)) diags.add(config::location_of(file, where), path, "unknown type \"" + a.type + "\"");
    out.push_back(std::move(a));
  };
  if (c.IsMap()) {
    for (auto it = c.begin(); it != c.end(); ++it)
      add(it->second, "canonical." + it->first.Scalar(), it->first.Scalar(), it->second);
  } else if (c.IsSequence()) {
    for (std::size_t k = 0; k < c.size(); ++k) {
      if (!c[k].IsMap() || !c[k]["name"]) {
        diags.add(config::location_of(file, c[k]), "canonical[" + std::to_string(k) + "]", "needs a name");
        continue;
      }
      add(c[k], "canonical[" + std::to_string(k) + "]", c[k]["name"].Scalar(), c[k]);
    }
  } else {
    diags.add(config::location_of(file, c), "canonical", "expected a list or map of attributes");
  }
  return out;
}

}  // namespace omnisync::mapping
