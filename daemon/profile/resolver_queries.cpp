// The resolver's queries: which profile holds a record or an identifier, match risks, members, explanations, the
// splits in force, statistics.
#include "daemon/profile/resolver.hpp"

#include <algorithm>
#include <functional>
#include <tuple>

#include "daemon/profile/resolver_graph.hpp"

namespace omnisync::profile {
namespace {

using resolution::ident_mask;
using resolution::lf_blocked;
using resolution::lf_generic;
using resolution::lf_split;
using resolution::local_part;
using resolution::none;
using resolution::normalise;

}  // namespace

const resolver_config& resolver::config() const noexcept { return impl_->cfg; }

std::vector<link_ref> resolver::splits() const {
  const impl& m = *impl_;
  std::vector<link_ref> out;
  for (std::uint64_t k : m.split_set) {
    const auto r = static_cast<std::uint32_t>(k >> 32);
    const auto i = static_cast<std::uint32_t>(k);
    out.push_back(link_ref{m.ref(r), std::string(m.names.view(m.ident_attr(i))), std::string(m.ident_value(i))});
  }
  std::sort(out.begin(), out.end(), [](const link_ref& a, const link_ref& b) {
    return std::tie(a.record.system, a.record.object, a.record.id, a.attribute, a.value) <
           std::tie(b.record.system, b.record.object, b.record.id, b.attribute, b.value);
  });
  return out;
}

std::optional<profile_id> resolver::profile_of(std::string_view system, std::string_view object,
                                               std::string_view id) const {
  const std::uint32_t r = impl_->lookup_record(system, object, id);
  if (r == none || !impl_->recs[r].live) return std::nullopt;
  return impl_->pid_of(r);
}

std::optional<profile_id> resolver::find(std::string_view attribute, std::string_view value) const {
  const impl& m = *impl_;
  std::string buf;
  const std::uint32_t id = m.lookup_ident(attribute, value, buf);
  if (id == none) return std::nullopt;
  std::uint32_t best = none;
  for (std::uint32_t l = m.idents[id].head; l != none; l = m.links[l].next_in_ident) {
    const std::uint32_t y = m.links[l].rec;
    if (m.usable(l) && m.recs[y].inserted && (best == none || m.before(y, best))) best = y;
  }
  if (best == none) return std::nullopt;
  return m.pid_of(best);
}

std::optional<std::string> resolver::match_risk(profile_id owner, std::string_view value) const {
  const impl& m = *impl_;
  std::string n, buf;
  for (std::size_t i = 0; i < m.cfg.rules.size(); ++i) {
    const match_rule& rule = m.cfg.rules[i];
    if (rule.attribute.ends_with(".*") || !normalise(rule.norm, value, n)) continue;
    if (rule.norm == normalizer::email &&
        std::binary_search(m.generic.begin(), m.generic.end(), local_part(n), std::less<>{}))
      return "it is a generic address (identity: generic e-mails never identify a person)";
    if (std::binary_search(m.blocked[i].begin(), m.blocked[i].end(), n))
      return "it is a blocked value of the " + rule.name + " rule";
    const std::uint32_t id = m.lookup_ident(rule.attribute, value, buf);
    if (id == none) continue;
    if (m.idents[id].saturated) return "more records hold it than identity.max_records_per_identifier allows";
    for (std::uint32_t l = m.idents[id].head; l != none; l = m.links[l].next_in_ident) {
      const std::uint32_t y = m.links[l].rec;
      if (m.recs[y].inserted && m.recs[y].live && m.pid_of(y) != owner)
        return "another profile's record holds it too (" + m.ref(y).key() + ")";
    }
  }
  return std::nullopt;
}

std::optional<profile_id> resolver::resolve(std::span<const identity_key> person) const {
  for (const identity_key& k : person)
    if (auto p = find(k.attribute, k.value)) return p;
  return std::nullopt;
}

bool resolver::contains(profile_id id) const { return impl_->pid_index.contains(id.value); }

std::vector<record_ref> resolver::members(profile_id id) const {
  const impl& m = *impl_;
  std::vector<record_ref> out;
  auto it = m.pid_index.find(id.value);
  if (it == m.pid_index.end()) return out;
  std::vector<std::uint32_t> rs;
  const std::uint32_t root = m.find(*it);
  std::uint32_t x = root;
  do {
    rs.push_back(x);
    x = m.recs[x].next;
  } while (x != root);
  std::sort(rs.begin(), rs.end(), [&m](std::uint32_t a, std::uint32_t b) { return m.before(a, b); });
  for (std::uint32_t r : rs) out.push_back(m.ref(r));
  return out;
}

std::optional<explanation> resolver::explain(profile_id id) const {
  const impl& m = *impl_;
  auto it = m.pid_index.find(id.value);
  if (it == m.pid_index.end()) return std::nullopt;
  explanation ex;
  ex.id = id;
  std::vector<std::uint32_t> rs;
  const std::uint32_t root = m.find(*it);
  std::uint32_t x = root;
  do {
    rs.push_back(x);
    x = m.recs[x].next;
  } while (x != root);
  std::sort(rs.begin(), rs.end(), [&m](std::uint32_t a, std::uint32_t b) { return m.before(a, b); });
  auto attr_of = [&m](std::uint32_t i) { return std::string(m.names.view(m.ident_attr(i))); };
  auto value_of = [&m](std::uint32_t i) { return std::string(m.ident_value(i)); };
  auto rule_of = [&m](std::uint32_t i) { return m.cfg.rules[m.ident_rule(i)].name; };
  for (std::uint32_t r : rs) {
    ex.records.push_back(m.ref(r));
    for (std::uint32_t e = m.recs[r].edges; e != none; e = m.edges[e].next) {
      const auto& k = m.edges[e];
      ex.edges.push_back(edge_info{m.ref(k.from), m.ref(k.to), rule_of(k.ident), attr_of(k.ident),
                                   value_of(k.ident), k.at});
    }
    for (std::uint32_t c = m.recs[r].conflicts; c != none;) {
      const auto& k = m.conflicts[c];
      std::string detail;
      switch (k.reason) {
        case conflict_reason::exclusive_id: detail = std::string(m.names.view(k.detail)); break;
        case conflict_reason::same_object:
          detail = std::string(m.names.view(k.detail >> 16)) + ":" + std::string(m.names.view(k.detail & 0xffff));
          break;
        case conflict_reason::system_cap: detail = std::string(m.names.view(k.detail)); break;
      }
      const std::uint32_t other = k.a == r ? k.b : k.a;
      ex.conflicts.push_back(conflict_info{m.ref(r), m.ref(other), rule_of(k.ident), attr_of(k.ident),
                                           value_of(k.ident), k.reason, std::move(detail)});
      c = k.a == r ? k.next_a : k.next_b;
    }
    for (std::uint32_t l = m.recs[r].links; l != none; l = m.links[l].next_in_record) {
      const auto& k = m.links[l];
      const std::uint32_t i = k.bits & ident_mask;
      std::optional<ignored_reason> why;
      if (k.bits & lf_generic) why = ignored_reason::generic;
      else if (k.bits & lf_blocked) why = ignored_reason::blocked;
      else if (k.bits & lf_split) why = ignored_reason::split;
      else if (m.idents[i].saturated) why = ignored_reason::saturated;
      if (why) ex.ignored.push_back(ignored_info{m.ref(r), attr_of(i), value_of(i), *why});
    }
  }
  return ex;
}

void resolver::for_each_record(const std::function<void(std::string_view, std::string_view, std::string_view,
                                                        profile_id)>& fn) const {
  const impl& m = *impl_;
  for (std::uint32_t r = 0; r < m.recs.size(); ++r)
    if (m.recs[r].live)
      fn(m.names.view(m.recs[r].sys), m.names.view(m.recs[r].obj), m.rec_id(r), m.pid_of(r));
}

std::uint32_t resolver::handle_of(std::string_view system, std::string_view object, std::string_view id) const {
  return impl_->lookup_record(system, object, id);  // resolution::none == no_handle
}

std::uint32_t resolver::identifier_id(std::string_view attribute, std::string_view value) const {
  const impl& m = *impl_;
  const std::uint32_t a = m.names.find(attribute);
  if (a == interner::npos || a > 0xffff) return no_handle;
  thread_local std::string key;  // const lookup on the hot path: no allocation once warm
  m.make_key(a, value, key);
  const std::uint32_t id = m.keys.find(key);
  return id == interner::npos ? no_handle : id;
}

std::string_view resolver::identifier_text(std::uint32_t id) const { return impl_->ident_value(id); }

std::int64_t resolver::first_seen_of(std::uint32_t handle) const { return impl_->recs[handle].first_seen; }

std::size_t resolver::profile_count() const noexcept { return impl_->pid_index.size(); }

resolver_stats resolver::stats() const {
  const impl& m = *impl_;
  resolver_stats s;
  s.records = m.live_records;
  s.profiles = m.pid_index.size();
  s.identifiers = m.idents.size();
  s.links = m.live_links;
  s.edges = m.live_edges;
  s.conflicts = m.live_conflicts;
  s.fast_inserts = m.fast_inserts;
  s.recomputes = m.recomputes;
  s.recomputed_records = m.recomputed_records;
  s.ignored_keys = m.ignored_keys;
  s.id_collisions = m.id_collisions;
  auto slot = [](const auto& map, std::size_t value_bytes) { return map.bucket_count() * (value_bytes + 1); };
  s.memory_parts = {
      {"record keys (interned)", m.strings.memory_bytes()},
      {"identifiers (interned)", m.keys.memory_bytes()},
      {"identifier table", m.idents.memory_bytes()},
      {"records", m.recs.memory_bytes() + m.parent.memory_bytes()},
      {"links", m.links.memory_bytes() + slot(m.other_since, 12)},
      {"edges and conflicts", m.edges.memory_bytes() + m.conflicts.memory_bytes()},
      {"profile id index", slot(m.pid_index, 4)},
      {"other (names, splits, marks)", m.names.memory_bytes() + slot(m.split_set, 8) + m.rec_mark.memory_bytes() +
                                           m.ident_mark.memory_bytes()},
  };
  for (const auto& [name, bytes] : s.memory_parts) s.memory_bytes += bytes;
  return s;
}

}  // namespace omnisync::profile
