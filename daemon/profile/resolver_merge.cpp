// The insertion step of the identity graph (resolver_graph.hpp): for each of a record's usable identifiers in rule
// order, each component holding it (oldest founder first) is merged when merge protection allows, else the
// refusal is kept as a conflict. Replaying a region's records through this step in (first_seen, key) order
// defines the resolution; see README.md.
#include "daemon/profile/resolver_graph.hpp"

#include <algorithm>

namespace omnisync::profile::resolution {
namespace {

void bump(std::vector<std::pair<std::uint32_t, std::uint32_t>>& counts, std::uint32_t key) {
  for (auto& [k, n] : counts)
    if (k == key) {
      ++n;
      return;
    }
  counts.emplace_back(key, 1);
}

}  // namespace

// ---- profile ids ----------------------------------------------------------------------------------------------

void graph::register_pid(std::uint32_t founder) {
  auto it = pid_index.find(pid_of_rec(founder));
  if (it == pid_index.end()) {
    pid_index.insert(founder);
  } else if (*it != founder) {  // another founder hashing to the same id: the newer one holds it
    ++id_collisions;
    pid_index.erase(it);
    pid_index.insert(founder);
  }
}

void graph::unregister_pid(std::uint32_t founder) {
  auto it = pid_index.find(pid_of_rec(founder));
  if (it != pid_index.end() && *it == founder) pid_index.erase(it);
}

// ---- edges and conflicts --------------------------------------------------------------------------------------

void graph::add_edge(std::uint32_t from, std::uint32_t to, std::uint32_t id, std::int64_t at) {
  std::uint32_t e;
  if (free_edge != none) {
    e = free_edge;
    free_edge = edges[e].next;
  } else {
    edges.emplace_back();
    e = static_cast<std::uint32_t>(edges.size() - 1);
  }
  edges[e] = edge{at, from, to, id, recs[from].edges};
  recs[from].edges = e;
  ++live_edges;
}

void graph::add_conflict(std::uint32_t a, std::uint32_t b, std::uint32_t id, const verdict& v) {
  std::uint32_t c;
  if (free_conflict != none) {
    c = free_conflict;
    free_conflict = conflicts[c].next_a;
  } else {
    conflicts.emplace_back();
    c = static_cast<std::uint32_t>(conflicts.size() - 1);
  }
  conflicts[c] = conflict{a, b, id, recs[a].conflicts, recs[b].conflicts, v.detail, v.reason};
  recs[a].conflicts = c;
  recs[b].conflicts = c;
  ++live_conflicts;
}

// ---- merge protection -----------------------------------------------------------------------------------------

// May the components rooted at a and b merge? Walks both member rings: components are small (the caps bound
// them), and keeping no summary per component keeps memory flat.
graph::verdict graph::check(std::uint32_t a, std::uint32_t b) {
  s_objs.clear();
  s_sys.clear();
  s_sys_b.clear();
  s_excl.clear();
  std::uint32_t x = a;
  do {
    const record& r = recs[x];
    s_objs.push_back(std::uint32_t{r.sys} << 16 | r.obj);
    bump(s_sys, r.sys);
    for (std::uint32_t l = r.links; l != none; l = links[l].next_in_record) {
      const std::uint32_t which = ident_of(links[l]);
      if (cfg.rules[ident_rule(which)].exclusive) s_excl.emplace_back(ident_attr(which), which);
    }
    x = r.next;
  } while (x != a);
  x = b;
  do {
    const record& r = recs[x];
    const std::uint32_t obj = std::uint32_t{r.sys} << 16 | r.obj;
    if (cfg.one_record_per_object && std::find(s_objs.begin(), s_objs.end(), obj) != s_objs.end())
      return verdict{false, conflict_reason::same_object, obj};
    bump(s_sys_b, r.sys);
    for (std::uint32_t l = r.links; l != none; l = links[l].next_in_record) {
      const std::uint32_t which = ident_of(links[l]);
      if (!cfg.rules[ident_rule(which)].exclusive) continue;
      const std::uint32_t mine_attr = ident_attr(which);
      for (const auto& [attr, other] : s_excl)
        if (attr == mine_attr && other != which) return verdict{false, conflict_reason::exclusive_id, attr};
    }
    x = r.next;
  } while (x != b);
  for (const auto& [sys, n] : s_sys_b) {
    std::uint32_t total = n;
    for (const auto& [s, m] : s_sys)
      if (s == sys) total += m;
    if (total > cfg.max_records_per_system) return verdict{false, conflict_reason::system_cap, sys};
  }
  return verdict{};
}

void graph::unite(std::uint32_t a, std::uint32_t b) {
  if (recs[a].size < recs[b].size) std::swap(a, b);
  parent[b] = a;
  recs[a].size += recs[b].size;
  std::swap(recs[a].next, recs[b].next);  // splice the two member rings
  std::uint32_t fa = recs[a].founder, fb = recs[b].founder;
  if (before(fb, fa)) std::swap(fa, fb);
  recs[a].founder = fa;
  unregister_pid(fb);
  // The record being appended founded only a transient single-record profile: nobody saw that id.
  if (cur && track_retired && fb != appending) cur->retired.push_back(profile_id{pid_of_rec(fb)});
}

// ---- the insertion step ---------------------------------------------------------------------------------------

void graph::insert_greedy(std::uint32_t r) {
  record& R = recs[r];
  parent[r] = r;
  R.next = r;
  R.founder = r;
  R.size = 1;
  R.inserted = true;
  register_pid(r);
  mine.clear();
  for (std::uint32_t l = R.links; l != none; l = links[l].next_in_record)
    if (usable(l)) mine.push_back(l);
  std::sort(mine.begin(), mine.end(), [this](std::uint32_t p, std::uint32_t q) {
    const std::uint32_t ia = ident_of(links[p]), ib = ident_of(links[q]);
    const std::uint32_t ra = ident_rule(ia), rb = ident_rule(ib), aa = ident_attr(ia), ab = ident_attr(ib);
    if (ra != rb) return ra < rb;
    if (aa != ab) return names.view(aa) < names.view(ab);
    return ident_value(ia) < ident_value(ib);
  });
  for (std::uint32_t l : mine) {
    const std::uint32_t id = ident_of(links[l]);
    cands.clear();
    for (std::uint32_t m = idents[id].head; m != none; m = links[m].next_in_ident) {
      const std::uint32_t y = links[m].rec;
      if (y == r || !recs[y].inserted || !usable(m)) continue;
      cands.push_back(cand{find(y), y, m});
    }
    if (cands.empty()) continue;
    std::sort(cands.begin(), cands.end(), [this](const cand& p, const cand& q) {
      const std::uint32_t fp = recs[p.root].founder, fq = recs[q.root].founder;
      if (fp != fq) return before(fp, fq);
      return before(p.y, q.y);
    });
    std::uint32_t last = none;
    for (const cand& c : cands) {
      if (c.root == last) continue;  // sorted by founder: one component's holders are adjacent; first = anchor
      last = c.root;
      const std::uint32_t a = find(r), b = find(c.root);
      if (a == b) continue;
      const verdict v = check(a, b);
      if (v.ok) {
        unite(a, b);
        add_edge(r, c.y, id, std::max(since_of(l), since_of(c.m)));
      } else {
        add_conflict(r, c.y, id, v);
      }
    }
  }
}

}  // namespace omnisync::profile::resolution
