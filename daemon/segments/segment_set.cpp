#include "daemon/segments/segment_set.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace omnisync::segments {
namespace {

/// How many candidate instants `evaluate` tries before it settles for a re-check instant.
constexpr int max_flip_candidates = 256;
constexpr int max_dependency_depth = 64;

/// The file position of byte `offset` of a `where:` text that starts at (line, column). Lines after the first
/// of a multi-line (block) scalar start at the same column as the first.
std::pair<int, int> position(const segment_def& d, std::size_t offset) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < d.lines.size(); ++i) {
    const auto& l = d.lines[i];
    if (offset <= start + l.length || i + 1 == d.lines.size())
      return {l.line, l.column + static_cast<int>(offset > start ? offset - start : 0)};
    start += l.length + 1;
  }
  int line = d.line, col = d.column;
  const std::size_t end = std::min(offset, d.where.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (d.where[i] == '\n') {
      ++line;
      col = d.column;
    } else {
      ++col;
    }
  }
  return {line, col};
}

std::uint64_t fnv1a(std::string_view a, std::string_view b) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  mix(a);
  mix(std::string_view("\n", 1));
  mix(b);
  return h;
}

bool same_value(const mapping::value& x, const mapping::value& y) {
  if (x.k != y.k || x.b != y.b || x.i != y.i || x.s != y.s || x.keys != y.keys || x.items.size() != y.items.size())
    return false;
  if (!(x.d == y.d) && !(x.d != x.d && y.d != y.d)) return false;  // NaN equals NaN here
  for (std::size_t i = 0; i < x.items.size(); ++i)
    if (!same_value(x.items[i], y.items[i])) return false;
  return true;
}

void remap(node& n, const std::vector<int>& new_index) {
  if (n.kind == node_kind::member_of && n.segment >= 0) n.segment = new_index[static_cast<std::size_t>(n.segment)];
  for (auto& c : n.children) remap(c, new_index);
}

}  // namespace

segment_set segment_set::compile(std::vector<segment_def> defs, const profile_schema& schema,
                                 std::vector<segment_error>& errors) {
  const std::size_t before = errors.size();
  std::vector<std::string> keys;
  std::map<std::string, int, std::less<>> index;
  for (std::size_t i = 0; i < defs.size(); ++i) {
    keys.push_back(defs[i].key);
    if (!index.emplace(defs[i].key, static_cast<int>(i)).second)
      errors.push_back({defs[i].key, defs[i].file, defs[i].line, defs[i].column, "segment key declared twice"});
  }
  auto lookup = [&index](std::string_view k) -> std::optional<int> {
    auto it = index.find(k);
    return it == index.end() ? std::nullopt : std::optional<int>(it->second);
  };
  auto report = [&errors](const segment_def& d, std::size_t offset, const std::string& message) {
    const auto [line, col] = position(d, offset);
    errors.push_back({d.key, d.file, line, col, message});
  };

  std::vector<compiled_segment> all(defs.size());
  for (std::size_t i = 0; i < defs.size(); ++i) {
    compiled_segment& s = all[i];
    s.def = std::move(defs[i]);
    auto parsed = parse_expression(s.def.where);
    if (auto* e = std::get_if<expr_error>(&parsed)) {
      report(s.def, e->offset, e->message);
      continue;
    }
    s.root = std::move(std::get<node>(parsed));
    for (const auto& e : check_expression(s.root, schema, s.inputs, lookup, keys)) report(s.def, e.offset, e.message);
    for (const auto& k : s.inputs.segments) s.depends.push_back(index.at(k));
    for (const auto& k : s.inputs.segment_events)
      if (!s.inputs.segments.count(k)) s.depends.push_back(index.at(k));
    if (!s.def.priority_group.empty())
      for (std::size_t j = 0; j < i; ++j)
        if (all[j].def.priority_group == s.def.priority_group) s.depends.push_back(static_cast<int>(j));
  }

  // member_of must form a DAG: a depth-first walk names the first cycle it meets.
  std::vector<int> state(all.size(), 0), order;  // 0 new, 1 on the path, 2 done
  std::vector<int> path;
  bool cyclic = false;
  std::function<void(int)> walk = [&](int v) {
    state[static_cast<std::size_t>(v)] = 1;
    path.push_back(v);
    for (int w : all[static_cast<std::size_t>(v)].depends) {
      if (state[static_cast<std::size_t>(w)] == 1 && !cyclic) {
        cyclic = true;
        std::string cycle;
        auto from = std::find(path.begin(), path.end(), w);
        for (auto it = from; it != path.end(); ++it) cycle += all[static_cast<std::size_t>(*it)].def.key + " -> ";
        cycle += all[static_cast<std::size_t>(w)].def.key;
        const auto& d = all[static_cast<std::size_t>(v)].def;
        errors.push_back({d.key, d.file, d.line, d.column, "member_of forms a cycle: " + cycle});
      } else if (state[static_cast<std::size_t>(w)] == 0) {
        walk(w);
      }
    }
    path.pop_back();
    state[static_cast<std::size_t>(v)] = 2;
    order.push_back(v);
  };
  for (std::size_t i = 0; i < all.size(); ++i)
    if (state[i] == 0) walk(static_cast<int>(i));

  segment_set out;
  if (errors.size() != before) return out;
  std::vector<int> new_index(all.size());
  for (std::size_t k = 0; k < order.size(); ++k) new_index[static_cast<std::size_t>(order[k])] = static_cast<int>(k);
  for (int v : order) {
    compiled_segment s = std::move(all[static_cast<std::size_t>(v)]);
    remap(s.root, new_index);
    for (auto& d : s.depends) d = new_index[static_cast<std::size_t>(d)];
    out.segments_.push_back(std::move(s));
  }
  return out;
}

std::optional<int> segment_set::index_of(std::string_view key) const {
  for (std::size_t i = 0; i < segments_.size(); ++i)
    if (segments_[i].def.key == key) return static_cast<int>(i);
  return std::nullopt;
}

bool segment_set::held_out(int i, std::string_view profile_id) const {
  const auto& d = segments_[static_cast<std::size_t>(i)].def;
  return d.holdout_percent > 0 && fnv1a(profile_id, d.key) % 100 < static_cast<std::uint64_t>(d.holdout_percent);
}

segment_hooks segment_set::hooks(const profile_facts& p, int depth) const {
  segment_hooks h;
  h.member = [this, &p](int s, std::int64_t at) { return member(s, p, at); };
  h.next_change = [this, &p, depth](int s, std::int64_t after) { return next_change(s, p, after, depth + 1); };
  return h;
}

namespace {

/// `where` holds and no earlier segment of the priority group claims the profile (which segment does, if any).
bool claims(const std::vector<compiled_segment>& segs, int i, const profile_facts& p, std::int64_t now,
            const segment_hooks& h, std::string* outranked_by, bool* matches) {
  const auto& s = segs[static_cast<std::size_t>(i)];
  const bool m = evaluate(s.root, p, now, h).b;
  if (matches) *matches = m;
  if (!m) return false;
  if (s.def.priority_group.empty()) return true;
  for (int j : s.depends) {
    const auto& o = segs[static_cast<std::size_t>(j)];
    if (o.def.priority_group != s.def.priority_group) continue;
    if (claims(segs, j, p, now, h, nullptr, nullptr)) {
      if (outranked_by) *outranked_by = o.def.key;
      return false;
    }
  }
  return true;
}

}  // namespace

bool segment_set::member(int i, const profile_facts& p, std::int64_t now) const {
  if (held_out(i, p.profile_id)) return false;
  return claims(segments_, i, p, now, hooks(p, 0), nullptr, nullptr);
}

std::optional<std::int64_t> segment_set::next_change(int i, const profile_facts& p, std::int64_t now, int depth) const {
  if (depth > max_dependency_depth) return std::nullopt;
  const auto& s = segments_[static_cast<std::size_t>(i)];
  std::optional<std::int64_t> best = segments::next_change(s.root, p, now, hooks(p, depth));
  for (int j : s.depends)
    if (auto t = next_change(j, p, now, depth + 1); t && (!best || *t < *best)) best = t;
  return best;
}

membership segment_set::evaluate(int i, const profile_facts& p, std::int64_t now) const {
  membership m;
  m.held_out = held_out(i, p.profile_id);
  const bool claimed = claims(segments_, i, p, now, hooks(p, 0), &m.outranked_by, &m.matches);
  m.member = claimed && !m.held_out;
  if (m.held_out) return m;  // never a member, whatever the clock does
  std::int64_t t = now;
  for (int k = 0; k < max_flip_candidates; ++k) {
    const auto c = next_change(i, p, t, 0);
    if (!c) return m;
    if (member(i, p, *c) != m.member) {
      m.flips_at = c;
      return m;
    }
    t = *c;
  }
  m.flips_at = t;
  m.recheck = true;
  return m;
}

std::vector<term_value> segment_set::explain(int i, const profile_facts& p, std::int64_t now) const {
  std::vector<term_value> out;
  const auto& s = segments_[static_cast<std::size_t>(i)];
  collect_terms(s.root, s.def.where, p, now, hooks(p, 0), out);
  return out;
}

std::vector<int> segment_set::affected(const profile_change& c) const {
  std::vector<int> out;
  std::vector<bool> hit(segments_.size(), false);
  auto intersects = [](const auto& a, const auto& b) {
    for (const auto& x : a)
      if (b.count(x)) return true;
    return false;
  };
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const auto& s = segments_[i];
    bool h = c.all || (c.stage && s.inputs.stage) || intersects(c.attributes, s.inputs.attributes) ||
             intersects(c.kpis, s.inputs.kpis) || (s.inputs.any_event && !c.event_types.empty()) ||
             intersects(c.event_types, s.inputs.event_types) || intersects(c.segment_events, s.inputs.segment_events);
    for (int d : s.depends) h = h || hit[static_cast<std::size_t>(d)];
    hit[i] = h;
    if (h) out.push_back(static_cast<int>(i));
  }
  return out;
}

profile_change diff_facts(const profile_facts& before, const profile_facts& after) {
  profile_change c;
  auto diff_map = [](const auto& a, const auto& b, auto& out) {
    for (const auto& [k, v] : a) {
      auto it = b.find(k);
      if (it == b.end() || !same_value(it->second, v)) out.insert(k);
    }
    for (const auto& [k, v] : b)
      if (!a.count(k)) out.insert(k);
  };
  diff_map(before.attributes, after.attributes, c.attributes);
  diff_map(before.kpis, after.kpis, c.kpis);
  c.stage = before.stage != after.stage;
  // Event types: a type whose events (in time order, every field) differ.
  std::map<std::string_view, std::vector<const profile::event*>> b, a;
  for (const auto& e : before.events) b[e.type].push_back(&e);
  for (const auto& e : after.events) a[e.type].push_back(&e);
  auto same = [](const profile::event& x, const profile::event& y) {
    return x.occurred_at == y.occurred_at && x.subject == y.subject && x.amount == y.amount &&
           x.currency == y.currency && x.status == y.status && x.score == y.score;
  };
  auto differ = [&](const std::vector<const profile::event*>& x, const std::vector<const profile::event*>& y) {
    if (x.size() != y.size()) return true;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(*x[i], *y[i])) return true;
    return false;
  };
  static const std::vector<const profile::event*> none;
  for (const auto& [t, v] : b) {
    auto it = a.find(t);
    if (differ(v, it == a.end() ? none : it->second)) c.event_types.emplace(t);
  }
  for (const auto& [t, v] : a)
    if (!b.count(t)) c.event_types.emplace(t);
  return c;
}

}  // namespace omnisync::segments
