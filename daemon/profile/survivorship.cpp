#include "daemon/profile/survivorship.hpp"

#include <algorithm>
#include <map>

namespace omnisync::profile {
namespace {

using kind = mapping::value::kind;

bool has_value(const candidate& c) { return c.value != nullptr && !c.value->is_null_or_missing(); }
bool is_numeric(const mapping::value& v) { return v.k == kind::integer || v.k == kind::number; }
double as_double(const mapping::value& v) { return v.k == kind::integer ? static_cast<double>(v.i) : v.d; }

// The position of a system in the rule's priority list; unlisted systems share the last rank.
std::size_t rank(const attribute_rule& rule, std::string_view system) {
  for (std::size_t i = 0; i < rule.priority.size(); ++i)
    if (rule.priority[i] == system) return i;
  return rule.priority.size();
}

// The tie-break every strategy ends with: priority rank, then record key. Total over distinct records.
bool tie_before(const attribute_rule& rule, const candidate& a, const candidate& b) {
  const std::size_t ra = rank(rule, a.system), rb = rank(rule, b.system);
  if (ra != rb) return ra < rb;
  return a.record < b.record;
}

// Newest first, then the tie-break.
bool newer(const attribute_rule& rule, const candidate& a, const candidate& b) {
  if (a.source_ts != b.source_ts) return a.source_ts > b.source_ts;
  return tie_before(rule, a, b);
}

provenance prov(const candidate& c) { return provenance{std::string(c.system), std::string(c.record), c.source_ts}; }

golden_value single(const candidate& c, std::string decided_by) {
  golden_value g;
  g.value = *c.value;
  if (c.cleared) g.value.set_null();
  g.cleared = c.cleared && !has_value(c);
  g.from.push_back(prov(c));
  g.decided_by = std::move(decided_by);
  return g;
}

// Orders two values of the same family for max/min: numbers numerically, else text, else booleans.
int compare_values(const mapping::value& a, const mapping::value& b) {
  if (is_numeric(a) && is_numeric(b)) {
    const double x = as_double(a), y = as_double(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.k == kind::string && b.k == kind::string) return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  if (a.k == kind::boolean && b.k == kind::boolean) return static_cast<int>(a.b) - static_cast<int>(b.b);
  return 0;
}

// For max/min: which kinds compete (numbers if any record holds a number, else strings, else booleans).
int family(const mapping::value& v) { return is_numeric(v) ? 0 : v.k == kind::string ? 1 : v.k == kind::boolean ? 2 : 3; }

std::string text_of(const mapping::value& v) {
  if (v.k == kind::string) return v.s;
  std::string s;
  mapping::append_json(s, v);
  return s;
}

}  // namespace

std::optional<strategy> parse_strategy(std::string_view name) noexcept {
  if (name == "source_priority") return strategy::source_priority;
  if (name == "most_recent") return strategy::most_recent;
  if (name == "first_non_null") return strategy::first_non_null;
  if (name == "union") return strategy::union_all;
  if (name == "max") return strategy::max;
  if (name == "min") return strategy::min;
  if (name == "sum") return strategy::sum;
  return std::nullopt;
}

std::string_view to_string(strategy s) noexcept {
  switch (s) {
    case strategy::source_priority: return "source_priority";
    case strategy::most_recent: return "most_recent";
    case strategy::first_non_null: return "first_non_null";
    case strategy::union_all: return "union";
    case strategy::max: return "max";
    case strategy::min: return "min";
    case strategy::sum: return "sum";
  }
  return "?";
}

const attribute_rule& survivorship_rules::rule_for(std::string_view attribute) const {
  for (const auto& r : attributes)
    if (r.attribute == attribute) return r;
  for (const auto& r : attributes) {
    std::string_view a = r.attribute;
    if (a.size() >= 2 && a.substr(a.size() - 2) == ".*" && attribute.size() > a.size() - 1 &&
        attribute.substr(0, a.size() - 1) == a.substr(0, a.size() - 1))
      return r;
  }
  return fallback;
}

survivorship_rules survivorship_rules::defaults() {
  survivorship_rules s;
  auto rule = [](const char* attribute, strategy how) {
    attribute_rule r;
    r.attribute = attribute;
    r.how = how;
    return r;
  };
  s.attributes.push_back(rule("tags", strategy::union_all));
  s.attributes.push_back(rule("lead_score", strategy::max));
  s.attributes.push_back(rule("email_opt_in", strategy::min));  // consent: one system's opt-out is enough
  s.attributes.push_back(rule("updated_at", strategy::max));
  s.fallback.attribute = "*";
  s.fallback.how = strategy::most_recent;
  return s;
}

std::vector<std::string> survivorship_rules::apply_hints(std::string_view system,
                                                         const std::vector<mapping::attribute_hint>& hints) {
  std::vector<std::string> problems;
  for (const auto& h : hints) {
    auto it = std::find_if(attributes.begin(), attributes.end(),
                           [&h](const attribute_rule& r) { return r.attribute == h.attribute; });
    if (it == attributes.end()) {
      attribute_rule r = rule_for(h.attribute);  // start from what applies today (a family rule or the fallback)
      r.attribute = h.attribute;
      attributes.push_back(std::move(r));
      it = attributes.end() - 1;
    }
    if (h.owner) {
      if (!it->owner.empty() && it->owner != system)
        problems.push_back(h.attribute + ": owned by both " + it->owner + " and " + std::string(system));
      else
        it->owner = std::string(system);
    }
    if (!h.merge.empty()) {
      auto s = parse_strategy(h.merge);
      if (!s)
        problems.push_back(h.attribute + ": unknown merge strategy '" + h.merge +
                           "' (source_priority, most_recent, first_non_null, union, max, min, sum)");
      else
        it->how = *s;
    }
  }
  return problems;
}

golden_value survive(const attribute_rule& rule, std::span<const candidate> candidates) {
  // The owner's value wins whatever the strategy (its newest, when the owner has several records).
  if (!rule.owner.empty()) {
    const candidate* best = nullptr;
    for (const auto& c : candidates)
      if (c.system == rule.owner && has_value(c) && (!best || newer(rule, c, *best))) best = &c;
    if (best) return single(*best, "owner");
  }
  const std::string how(to_string(rule.how));
  switch (rule.how) {
    case strategy::source_priority: {
      const candidate* best = nullptr;
      for (const auto& c : candidates) {
        if (!has_value(c)) continue;
        if (!best) {
          best = &c;
          continue;
        }
        const std::size_t rc = rank(rule, c.system), rb = rank(rule, best->system);
        if (rc < rb || (rc == rb && newer(rule, c, *best))) best = &c;
      }
      if (best) return single(*best, how);
      break;
    }
    case strategy::most_recent: {
      const candidate* best = nullptr;
      for (const auto& c : candidates) {
        const bool counts =
            has_value(c) || (c.cleared && c.value) || (rule.null_wins && c.value != nullptr && !c.value->is_missing());
        if (counts && (!best || newer(rule, c, *best))) best = &c;
      }
      if (best) return single(*best, how);
      break;
    }
    case strategy::first_non_null: {
      const candidate* best = nullptr;
      for (const auto& c : candidates) {
        if (!has_value(c)) continue;
        if (!best || c.source_ts < best->source_ts ||
            (c.source_ts == best->source_ts && tie_before(rule, c, *best)))
          best = &c;
      }
      if (best) return single(*best, how);
      break;
    }
    case strategy::max:
    case strategy::min: {
      int fam = 3;
      for (const auto& c : candidates)
        if (has_value(c)) fam = std::min(fam, family(*c.value));
      const candidate* best = nullptr;
      for (const auto& c : candidates) {
        if (!has_value(c) || family(*c.value) != fam) continue;
        if (!best) {
          best = &c;
          continue;
        }
        int cmp = compare_values(*c.value, *best->value);
        if (rule.how == strategy::min) cmp = -cmp;
        if (cmp > 0 || (cmp == 0 && newer(rule, c, *best))) best = &c;
      }
      if (best) return single(*best, how);
      break;
    }
    case strategy::sum: {
      golden_value g;
      g.decided_by = how;
      bool all_int = true, any = false;
      std::int64_t isum = 0;
      double dsum = 0;
      std::vector<const candidate*> used;
      for (const auto& c : candidates)
        if (has_value(c) && is_numeric(*c.value)) used.push_back(&c);
      // Sum in a fixed order so that the floating-point result does not depend on the candidates' order.
      std::sort(used.begin(), used.end(), [&rule](const candidate* a, const candidate* b) {
        if (a->source_ts != b->source_ts) return a->source_ts < b->source_ts;
        return tie_before(rule, *a, *b);
      });
      for (const candidate* c : used) {
        any = true;
        if (c->value->k == kind::integer)
          isum += c->value->i;
        else
          all_int = false;
        dsum += as_double(*c->value);
        g.from.push_back(prov(*c));
      }
      if (any) {
        if (all_int)
          g.value.set_int(isum);
        else
          g.value.set_number(dsum);
      }
      return g;
    }
    case strategy::union_all: {
      // item text -> (its value, earliest contributor): sorted by text, so the list is the same in any order.
      std::map<std::string, std::pair<mapping::value, const candidate*>> items;
      auto add = [&](const mapping::value& v, const candidate& c) {
        if (v.is_null_or_missing()) return;
        auto [it, fresh] = items.try_emplace(text_of(v), v, &c);
        const candidate& old = *it->second.second;
        if (!fresh && (c.source_ts < old.source_ts || (c.source_ts == old.source_ts && tie_before(rule, c, old))))
          it->second.second = &c;
      };
      for (const auto& c : candidates) {
        if (!has_value(c)) continue;
        if (c.value->k == kind::array)
          for (const auto& item : c.value->items) add(item, c);
        else
          add(*c.value, c);
      }
      golden_value g;
      g.decided_by = how;
      if (items.empty()) return g;
      g.value.k = kind::array;
      for (auto& [text, entry] : items) {
        g.value.items.push_back(std::move(entry.first));
        g.from.push_back(prov(*entry.second));
      }
      return g;
    }
  }
  // No record holds a value: null if one of them says so explicitly, else missing.
  golden_value g;
  g.decided_by = how;
  for (const auto& c : candidates)
    if (c.value && c.value->k == kind::null) {
      g.value.set_null();
      break;
    }
  return g;
}

std::vector<std::pair<std::string, golden_value>> golden_record(const survivorship_rules& rules,
                                                                std::span<const attribute_source> sources) {
  std::map<std::string, std::vector<candidate>, std::less<>> by_attribute;
  for (const auto& s : sources) {
    for (std::size_t i = 0; i < s.attributes.size(); ++i) {
      candidate c{s.system, s.record, s.source_ts, &s.attributes[i].second};
      for (const auto& st : s.states)
        if (st.index == i) {
          if (st.as_of != 0) c.source_ts = st.as_of;
          c.cleared = st.cleared;
        }
      by_attribute[s.attributes[i].first].push_back(c);
    }
  }
  std::vector<std::pair<std::string, golden_value>> out;
  for (auto& [name, cands] : by_attribute) out.emplace_back(name, survive(rules.rule_for(name), cands));
  return out;
}

}  // namespace omnisync::profile
