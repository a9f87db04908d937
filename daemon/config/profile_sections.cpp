#include "daemon/config/sections.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "daemon/profile/book.hpp"

namespace omnisync::config {

void read_profile_sections(reader& r, const YAML::Node& root, profile::settings& s) {
  using profile::normalizer;
  if (auto id = root["identity"]; id && !id.IsNull() && r.is_map(id, "identity")) {
    r.known_keys(id, "identity", {"match", "ignore", "one_per_profile", "one_record_per_object",
                                  "max_records_per_system", "max_records_per_identifier"});
    auto& c = s.identity;
    if (auto m = id["match"]) {
      if (!m.IsSequence() || m.size() == 0) {
        r.error(m, "identity.match", "expected a list of identity attributes, e.g. [email, phone, external_ids.*]");
      } else {
        c.rules.clear();
        for (std::size_t i = 0; i < m.size(); ++i) {
          const std::string path = "identity.match[" + std::to_string(i) + "]";
          profile::match_rule rule;
          YAML::Node n = m[i];
          if (n.IsScalar()) {
            rule.attribute = n.Scalar();
          } else if (r.is_map(n, path)) {
            r.known_keys(n, path, {"attribute", "name", "normalize", "exclusive", "blocked"});
            if (auto a = n["attribute"]) { if (auto v = r.string(a, path + ".attribute")) rule.attribute = *v; }
            else r.error(n, path + ".attribute", "missing required key \"attribute\"");
            if (auto a = n["name"]) { if (auto v = r.string(a, path + ".name")) rule.name = *v; }
            if (auto a = n["exclusive"]) { if (auto v = r.boolean(a, path + ".exclusive")) rule.exclusive = *v; }
            if (auto a = n["blocked"]) {
              if (a.IsSequence())
                for (std::size_t j = 0; j < a.size(); ++j)
                  if (auto v = r.string(a[j], path + ".blocked")) rule.blocked_values.push_back(*v);
            }
          } else {
            continue;
          }
          if (rule.attribute.empty()) continue;
          // omnisync_id holds the profile id omnisync wrote into a system: matched as a profile reference.
          rule.norm = rule.attribute == "email"         ? normalizer::email
                    : rule.attribute == "phone"         ? normalizer::phone
                    : rule.attribute == "omnisync_id"   ? normalizer::profile_ref
                                                        : normalizer::exact;
          if (rule.attribute.rfind("external_ids.", 0) == 0) rule.exclusive = rule.exclusive || rule.attribute == "external_ids.*";
          if (n.IsMap())
            if (auto a = n["normalize"])
              if (auto v = r.one_of(a, path + ".normalize", {"exact", "email", "phone", "case_insensitive"}))
                rule.norm = *v == "email" ? normalizer::email : *v == "phone" ? normalizer::phone
                          : *v == "case_insensitive" ? normalizer::case_insensitive : normalizer::exact;
          if (rule.name.empty()) rule.name = rule.attribute;
          c.rules.push_back(std::move(rule));
        }
        // Vendor ids always link a system's own records (a ticket's requester id to the user): keep them matching
        // even when the list does not name them.
        const bool has_ids = std::any_of(c.rules.begin(), c.rules.end(), [](const profile::match_rule& x) {
          return x.attribute == "external_ids.*";
        });
        if (!has_ids) {
          profile::match_rule ids;
          ids.name = "external_id";
          ids.attribute = "external_ids.*";
          ids.norm = normalizer::exact;
          ids.exclusive = true;
          c.rules.push_back(std::move(ids));
        }
      }
    }
    if (auto n = id["ignore"]) {
      if (!n.IsSequence()) r.error(n, "identity.ignore", "expected a list such as [\"info@*\", \"noreply@*\"]");
      else
        for (std::size_t i = 0; i < n.size(); ++i) {
          auto v = r.string(n[i], "identity.ignore[" + std::to_string(i) + "]");
          if (!v) continue;
          if (v->size() > 2 && v->substr(v->size() - 2) == "@*") {
            c.generic_local_parts.push_back(v->substr(0, v->size() - 2));
          } else {
            bool placed = false;  // an exact value: blocked for the rule of its kind
            for (auto& rule : c.rules)
              if ((v->find('@') != std::string::npos) == (rule.norm == normalizer::email)) {
                rule.blocked_values.push_back(*v);
                placed = true;
                break;
              }
            if (!placed) r.error(n[i], "identity.ignore[" + std::to_string(i) + "]", "no match rule uses a value like \"" + *v + "\"");
          }
        }
    }
    if (auto n = id["one_per_profile"]) {
      if (!n.IsSequence()) r.error(n, "identity.one_per_profile", "expected a list of connector names");
      else
        for (std::size_t i = 0; i < n.size(); ++i)
          if (auto v = r.string(n[i], "identity.one_per_profile[" + std::to_string(i) + "]")) {
            profile::match_rule rule;
            rule.name = "external_id";
            rule.attribute = "external_ids." + *v;
            rule.exclusive = true;
            c.rules.insert(c.rules.begin(), std::move(rule));
          }
    }
    if (auto n = id["one_record_per_object"]) { if (auto v = r.boolean(n, "identity.one_record_per_object")) c.one_record_per_object = *v; }
    if (auto n = id["max_records_per_system"]) { if (auto v = r.positive(n, "identity.max_records_per_system", 1000)) c.max_records_per_system = static_cast<unsigned>(*v); }
    if (auto n = id["max_records_per_identifier"]) { if (auto v = r.positive(n, "identity.max_records_per_identifier", 100000)) c.max_records_per_identifier = static_cast<unsigned>(*v); }
  }
  static const std::vector<std::string> strategies{"source_priority", "most_recent", "first_non_null", "union",
                                                   "max", "min", "sum"};
  if (auto sv = root["survivorship"]; sv && !sv.IsNull() && r.is_map(sv, "survivorship")) {
    for (const auto& kv : sv) {
      const std::string attr = kv.first.Scalar();
      const std::string path = "survivorship." + attr;
      if (attr == "default") {
        if (auto v = r.one_of(kv.second, path, strategies)) s.survivorship.fallback.how = *profile::parse_strategy(*v);
        continue;
      }
      profile::attribute_rule rule;
      rule.attribute = attr;
      // Start from the shipped rule for the attribute (so `email: {owner: x}` keeps its strategy).
      rule.how = s.survivorship.rule_for(attr).how;
      if (kv.second.IsScalar()) {
        if (auto v = r.one_of(kv.second, path, strategies)) rule.how = *profile::parse_strategy(*v);
      } else if (r.is_map(kv.second, path)) {
        const auto& n = kv.second;
        r.known_keys(n, path, {"policy", "strategy", "order", "priority", "owner", "null_wins"});
        for (const char* k : {"policy", "strategy"})
          if (auto a = n[k]) { if (auto v = r.one_of(a, path + "." + k, strategies)) rule.how = *profile::parse_strategy(*v); }
        for (const char* k : {"order", "priority"})
          if (auto a = n[k]) {
            if (!a.IsSequence()) r.error(a, path + "." + k, "expected a list of connector names");
            else
              for (std::size_t i = 0; i < a.size(); ++i)
                if (auto v = r.string(a[i], path + "." + k)) rule.priority.push_back(*v);
          }
        if (auto a = n["owner"]) { if (auto v = r.string(a, path + ".owner")) rule.owner = *v; }
        if (auto a = n["null_wins"]) { if (auto v = r.boolean(a, path + ".null_wins")) rule.null_wins = *v; }
      } else {
        continue;
      }
      auto& list = s.survivorship.attributes;
      list.erase(std::remove_if(list.begin(), list.end(), [&](const auto& x) { return x.attribute == attr; }), list.end());
      list.push_back(std::move(rule));
    }
  }
  if (auto k = root["kpis"]; k && !k.IsNull() && r.is_map(k, "kpis")) {
    r.known_keys(k, "kpis", {"currency", "rates", "closed_statuses", "lifecycle"});
    if (auto n = k["currency"]) { if (auto v = r.string(n, "kpis.currency")) s.kpis.currency = *v; }
    if (auto n = k["rates"]; n && r.is_map(n, "kpis.rates"))
      for (const auto& kv : n) {
        char* end = nullptr;
        const std::string text = kv.second.IsScalar() ? kv.second.Scalar() : std::string();
        const double rate = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || rate <= 0) r.error(kv.second, "kpis.rates." + kv.first.Scalar(), "expected a positive number");
        else s.kpis.rates.emplace_back(kv.first.Scalar(), rate);
      }
    if (auto n = k["closed_statuses"]) {
      if (!n.IsSequence()) r.error(n, "kpis.closed_statuses", "expected a list of statuses");
      else {
        s.kpis.closed_statuses.clear();
        for (std::size_t i = 0; i < n.size(); ++i)
          if (auto v = r.string(n[i], "kpis.closed_statuses")) s.kpis.closed_statuses.push_back(*v);
      }
    }
    if (auto n = k["lifecycle"]) {
      // [{stage: renewal, when: ["order_count >= 2"]}, ...] in order; the first rule that holds wins.
      if (!n.IsSequence()) r.error(n, "kpis.lifecycle", "expected a list of {stage, when} rules");
      else {
        s.kpis.lifecycle.clear();
        static const std::regex cond(R"(^\s*([A-Za-z_.]+)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$)");
        for (std::size_t i = 0; i < n.size(); ++i) {
          const std::string path = "kpis.lifecycle[" + std::to_string(i) + "]";
          if (!r.is_map(n[i], path)) continue;
          r.known_keys(n[i], path, {"stage", "when"});
          profile::stage_rule rule;
          if (auto a = n[i]["stage"]) { if (auto v = r.string(a, path + ".stage")) rule.stage = *v; }
          if (auto w = n[i]["when"]; w && w.IsSequence())
            for (std::size_t j = 0; j < w.size(); ++j) {
              std::smatch m;
              const std::string text = w[j].IsScalar() ? w[j].Scalar() : std::string();
              if (!std::regex_match(text, m, cond)) {
                r.error(w[j], path + ".when", "expected \"metric op value\", e.g. \"order_count >= 2\"");
                continue;
              }
              profile::stage_condition c;
              c.metric = m[1];
              const std::string op = m[2];
              using sop = profile::stage_condition::op;
              c.cmp = op == ">=" ? sop::ge : op == ">" ? sop::gt : op == "<=" ? sop::le : op == "<" ? sop::lt
                    : op == "==" ? sop::eq : sop::ne;
              const std::string val = m[3];
              char* end = nullptr;
              const double d = std::strtod(val.c_str(), &end);
              if (!val.empty() && *end == '\0') c.number = d;
              else c.text = val;
              rule.when.push_back(std::move(c));
            }
          s.kpis.lifecycle.push_back(std::move(rule));
        }
        for (const auto& problem : s.kpis.validate()) r.error(n, "kpis.lifecycle", problem);
      }
    }
  }
  if (auto pr = root["propagation"]; pr && !pr.IsNull() && r.is_map(pr, "propagation")) {
    r.known_keys(pr, "propagation", {"deletes"});
    if (auto n = pr["deletes"])
      if (auto v = r.one_of(n, "propagation.deletes", {"ignore", "flag", "delete"}))
        s.on_delete = *v == "flag"     ? profile::delete_policy::flag
                      : *v == "delete" ? profile::delete_policy::remove
                                       : profile::delete_policy::ignore;
  }
}


}  // namespace omnisync::config
