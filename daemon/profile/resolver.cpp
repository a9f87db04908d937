#include "daemon/profile/resolver.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <tuple>
#include <utility>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "daemon/profile/interner.hpp"
#include "daemon/profile/paged_vector.hpp"

namespace omnisync::profile {
namespace {

constexpr std::uint32_t none = 0xffffffffu;

// A link's identifier index and its flags share one word (identifiers stay below 2^28).
constexpr std::uint32_t ident_mask = 0x0fffffffu;
constexpr std::uint32_t lf_generic = 1u << 28;  // generic e-mail address: never posted, never matches
constexpr std::uint32_t lf_blocked = 1u << 29;  // a blocked value of its rule: never posted, never matches
constexpr std::uint32_t lf_split = 1u << 30;    // removed by split(): posted (it still counts) but unusable
constexpr std::uint32_t lf_unposted = lf_generic | lf_blocked;

// FNV-1a 64 over "system:object:id", then the splitmix64 finaliser for well-spread bits. Both are fixed algorithms,
// so a record gives the same profile id on every machine, build and rebuild.
std::uint64_t stable_hash(std::string_view sys, std::string_view obj, std::string_view id) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
  };
  mix(sys);
  mix(":");
  mix(obj);
  mix(":");
  mix(id);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The normalised form of an identity value; false when the value cannot identify anybody.
bool normalise(normalizer n, std::string_view in, std::string& out) {
  out.clear();
  switch (n) {
    case normalizer::exact:
      out.assign(in.data(), in.size());
      return !out.empty();
    case normalizer::case_insensitive:
    case normalizer::email: {
      for (char c : trim(in)) out.push_back(ascii_lower(c));
      if (n == normalizer::case_insensitive) return !out.empty();
      const auto at = out.find('@');
      return at != std::string::npos && at > 0 && at + 1 < out.size() && out.find('@', at + 1) == std::string::npos;
    }
    case normalizer::phone: {
      std::size_t digits = 0;
      for (char c : trim(in)) {
        if (c >= '0' && c <= '9') {
          out.push_back(c);
          ++digits;
        } else if (c == '+' && out.empty()) {
          out.push_back(c);
        } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t') {
          continue;  // formatting
        } else {
          return false;  // letters, extensions: not a phone number as given
        }
      }
      return digits >= 6;
    }
  }
  return false;
}

// The local part of a normalised address without a "+tag".
std::string_view local_part(std::string_view email) {
  std::string_view local = email.substr(0, email.find('@'));
  return local.substr(0, local.find('+'));
}

}  // namespace

resolver_config resolver_config::defaults() {
  resolver_config c;
  auto rule = [](const char* name, const char* attribute, normalizer n, bool exclusive) {
    match_rule r;
    r.name = name;
    r.attribute = attribute;
    r.norm = n;
    r.exclusive = exclusive;
    return r;
  };
  c.rules.push_back(rule("external_id", "external_ids.*", normalizer::exact, true));
  c.rules.push_back(rule("email", "email", normalizer::email, false));
  c.rules.push_back(rule("phone", "phone", normalizer::phone, false));
  c.generic_local_parts = {"abuse",     "accounts",   "admin",        "administrator", "billing",  "careers",
                           "contact",   "customerservice", "do-not-reply", "donotreply", "enquiries", "hello",
                           "help",      "hostmaster", "hr",           "info",          "inquiries", "jobs",
                           "mail",      "marketing",  "no-reply",     "no_reply",      "noreply",  "office",
                           "postmaster", "privacy",   "root",         "sales",         "security", "service",
                           "support",   "team",       "webmaster"};
  return c;
}

std::string profile_id::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "p%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::optional<profile_id> profile_id::parse(std::string_view text) {
  if (text.size() != 17 || text[0] != 'p') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text.substr(1)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<std::uint64_t>(d);
  }
  return profile_id{v};
}

std::string_view to_string(conflict_reason r) noexcept {
  switch (r) {
    case conflict_reason::exclusive_id: return "exclusive_id";
    case conflict_reason::same_object: return "same_object";
    case conflict_reason::system_cap: return "system_cap";
  }
  return "?";
}

std::string_view to_string(ignored_reason r) noexcept {
  switch (r) {
    case ignored_reason::generic: return "generic";
    case ignored_reason::blocked: return "blocked";
    case ignored_reason::split: return "split";
    case ignored_reason::saturated: return "saturated";
  }
  return "?";
}

// ---- the graph ------------------------------------------------------------------------------------------------
//
// Records, identifiers, links (record holds identifier), edges (accepted links between two records) and conflicts
// (refused ones) live in flat vectors indexed by 32-bit ids; lists are intrusive (next indices), freed slots are
// reused. Components are a union-find forest (`parent_`, path halving, union by size) plus a circular list of
// members per component (`record::next`), so a component's members are enumerable without any per-profile heap
// object.

struct resolver::impl {
  struct record {
    std::int64_t first_seen = 0;
    std::uint64_t pid = 0;  // the profile id this record gives a profile it founds
    std::uint32_t id = 0;   // in strings_
    std::uint16_t sys = 0, obj = 0;  // in names_
    std::uint32_t next = 0, founder = 0, size = 1;  // ring of members; founder and size valid at roots
    std::uint32_t links = none, edges = none, conflicts = none;
    bool inserted = false;  // part of the component structure (false while a region is recomputed)
    bool live = false;      // observed and not forgotten
  };
  struct link {
    std::int64_t since = 0;  // when this record first carried the identifier
    std::uint32_t bits = 0;  // identifier | flags
    std::uint32_t rec = 0, next_in_ident = none, next_in_record = none;
  };
  struct ident {  // its text is keys.view(id): the attribute's names id (2 bytes) then the normalised value
    std::uint16_t attr = 0;   // in names
    std::uint8_t rule = 0;
    bool saturated = false;
    std::uint32_t head = none;  // posted links (not generic/blocked)
    std::uint32_t count = 0;    // posted links
  };
  struct edge {
    std::int64_t at = 0;
    std::uint32_t from = 0, to = 0, ident = 0, next = none;
  };
  struct conflict {
    std::uint32_t a = 0, b = 0, ident = 0, next_a = none, next_b = none, detail = 0;
    conflict_reason reason{};
  };
  struct verdict {
    bool ok = true;
    conflict_reason reason{};
    std::uint32_t detail = 0;
  };

  resolver_config cfg;
  std::vector<std::vector<std::string>> blocked;  // per rule, normalised and sorted
  std::vector<std::string> generic;               // sorted

  interner strings;  // record ids
  interner keys;     // identifiers: 2-byte attribute id + normalised value; the interner id is the identifier id
  interner names;    // systems, objects, attributes
  std::vector<std::int16_t> attr_rule;  // names_ id -> rule index, -1 none, -2 not computed

  paged_vector<record> recs;
  mutable paged_vector<std::uint32_t> parent;
  paged_vector<link> links;
  paged_vector<ident> idents;
  paged_vector<edge> edges;
  paged_vector<conflict> conflicts;
  std::uint32_t free_link = none, free_edge = none, free_conflict = none;

  boost::unordered_flat_map<std::uint64_t, std::uint32_t> record_index;  // sys << 48 | obj << 32 | id
  boost::unordered_flat_map<std::uint64_t, std::uint32_t> pid_index;     // profile id -> founding record
  boost::unordered_flat_set<std::uint64_t> split_set;                    // rec << 32 | ident

  std::uint32_t max_rec = none;  // the record latest in (first_seen, key) order
  std::size_t live_records = 0, live_links = 0, live_edges = 0, live_conflicts = 0;
  std::size_t fast_inserts = 0, recomputes = 0, recomputed_records = 0, ignored_keys = 0, id_collisions = 0;

  // Scratch buffers, reused so that the hot path does not allocate once warm.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> want, have;  // (ident, flags | link)
  std::vector<std::uint32_t> to_remove, flips, region, region_tmp, mine, conflict_nodes;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> to_add;
  struct cand {
    std::uint32_t root, y, m;
  };
  std::vector<cand> cands;
  std::vector<std::uint32_t> s_objs;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> s_sys, s_sys_b, s_excl;
  paged_vector<std::uint32_t> rec_mark, ident_mark;
  std::uint32_t epoch = 0;
  std::string norm, keybuf;
  // Change tracking for the operation in progress.
  change* cur = nullptr;
  bool track_retired = false;
  std::uint32_t appending = none;

  explicit impl(resolver_config c) : cfg(std::move(c)) {
    std::string n;
    for (const auto& r : cfg.rules) {
      std::vector<std::string> b;
      for (const auto& v : r.blocked_values)
        if (normalise(r.norm, v, n)) b.push_back(n);
      std::sort(b.begin(), b.end());
      blocked.push_back(std::move(b));
    }
    for (const auto& g : cfg.generic_local_parts) {
      std::string s;
      for (char c : trim(g)) s.push_back(ascii_lower(c));
      generic.push_back(std::move(s));
    }
    std::sort(generic.begin(), generic.end());
  }

  // ---- names and order -------------------------------------------------------------------------------------

  int rule_index(std::string_view attribute) const {
    for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
      std::string_view a = cfg.rules[i].attribute;
      if (a == attribute) return static_cast<int>(i);
      if (a.size() >= 2 && a.substr(a.size() - 2) == ".*") {
        std::string_view prefix = a.substr(0, a.size() - 1);  // "external_ids."
        if (attribute.size() > prefix.size() && attribute.substr(0, prefix.size()) == prefix &&
            attribute.find('.', prefix.size()) == std::string_view::npos)
          return static_cast<int>(i);
      }
    }
    return -1;
  }

  int cached_rule(std::uint32_t attr) {
    if (attr >= attr_rule.size()) attr_rule.resize(attr + 1, -2);
    if (attr_rule[attr] == -2) attr_rule[attr] = static_cast<std::int16_t>(rule_index(names.view(attr)));
    return attr_rule[attr];
  }

  // (first_seen, system, object, id): the order that founds profiles and breaks every tie.
  bool before(std::uint32_t a, std::uint32_t b) const {
    const record& x = recs[a];
    const record& y = recs[b];
    if (x.first_seen != y.first_seen) return x.first_seen < y.first_seen;
    if (x.sys != y.sys) return names.view(x.sys) < names.view(y.sys);
    if (x.obj != y.obj) return names.view(x.obj) < names.view(y.obj);
    return strings.view(x.id) < strings.view(y.id);
  }

  std::uint32_t find(std::uint32_t x) const {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }

  profile_id pid_of_root(std::uint32_t root) const { return profile_id{recs[recs[root].founder].pid}; }
  profile_id pid_of(std::uint32_t r) const { return pid_of_root(find(r)); }

  static std::uint32_t ident_of(const link& l) { return l.bits & ident_mask; }
  bool usable(std::uint32_t l) const {
    const link& k = links[l];
    return (k.bits & (lf_unposted | lf_split)) == 0 && !idents[ident_of(k)].saturated;
  }

  record_ref ref(std::uint32_t r) const {
    return record_ref{std::string(names.view(recs[r].sys)), std::string(names.view(recs[r].obj)),
                      std::string(strings.view(recs[r].id))};
  }

  std::uint32_t lookup_record(std::string_view system, std::string_view object, std::string_view id) const {
    const std::uint32_t s = names.find(system), o = names.find(object), i = strings.find(id);
    if (s == interner::npos || o == interner::npos || i == interner::npos) return none;
    auto it = record_index.find(std::uint64_t{s} << 48 | std::uint64_t{o} << 32 | i);
    return it == record_index.end() ? none : it->second;
  }

  static void make_key(std::uint32_t attr, std::string_view value, std::string& out) {
    out.clear();
    out.push_back(static_cast<char>(attr & 0xff));
    out.push_back(static_cast<char>(attr >> 8));
    out.append(value.data(), value.size());
  }
  std::string_view ident_value(std::uint32_t i) const { return keys.view(i).substr(2); }

  std::uint32_t lookup_ident(std::string_view attribute, std::string_view value, std::string& buf) const {
    const int rule = rule_index(attribute);
    const std::uint32_t a = names.find(attribute);
    if (rule < 0 || a == interner::npos || a > 0xffff) return none;
    std::string n;
    if (!normalise(cfg.rules[static_cast<std::size_t>(rule)].norm, value, n)) return none;
    make_key(a, n, buf);
    const std::uint32_t id = keys.find(buf);
    return id == interner::npos ? none : id;
  }

  // ---- profile ids --------------------------------------------------------------------------------------------

  void register_pid(std::uint32_t founder) {
    auto [it, fresh] = pid_index.try_emplace(recs[founder].pid, founder);
    if (!fresh && it->second != founder) {
      ++id_collisions;
      it->second = founder;
    }
  }
  void unregister_pid(std::uint32_t founder) {
    auto it = pid_index.find(recs[founder].pid);
    if (it != pid_index.end() && it->second == founder) pid_index.erase(it);
  }

  // ---- allocation of list nodes -------------------------------------------------------------------------------

  std::uint32_t new_link() {
    if (free_link != none) {
      std::uint32_t l = free_link;
      free_link = links[l].next_in_record;
      return l;
    }
    links.emplace_back();
    return static_cast<std::uint32_t>(links.size() - 1);
  }

  void add_edge(std::uint32_t from, std::uint32_t to, std::uint32_t id, std::int64_t at) {
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

  void add_conflict(std::uint32_t a, std::uint32_t b, std::uint32_t id, const verdict& v) {
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

  // ---- merge protection ---------------------------------------------------------------------------------------

  static void bump(std::vector<std::pair<std::uint32_t, std::uint32_t>>& counts, std::uint32_t key) {
    for (auto& [k, n] : counts)
      if (k == key) {
        ++n;
        return;
      }
    counts.emplace_back(key, 1);
  }

  // May the components rooted at a and b merge? Walks both member rings: components are small (the caps bound
  // them), and keeping no summary per component keeps memory flat.
  verdict check(std::uint32_t a, std::uint32_t b) {
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
        const ident& id = idents[ident_of(links[l])];
        if (cfg.rules[id.rule].exclusive) s_excl.emplace_back(id.attr, ident_of(links[l]));
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
        const ident& id = idents[which];
        if (!cfg.rules[id.rule].exclusive) continue;
        for (const auto& [attr, other] : s_excl)
          if (attr == id.attr && other != which) return verdict{false, conflict_reason::exclusive_id, attr};
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

  void unite(std::uint32_t a, std::uint32_t b) {
    if (recs[a].size < recs[b].size) std::swap(a, b);
    parent[b] = a;
    recs[a].size += recs[b].size;
    std::swap(recs[a].next, recs[b].next);  // splice the two member rings
    std::uint32_t fa = recs[a].founder, fb = recs[b].founder;
    if (before(fb, fa)) std::swap(fa, fb);
    recs[a].founder = fa;
    unregister_pid(fb);
    // The record being appended founded only a transient single-record profile: nobody saw that id.
    if (cur && track_retired && fb != appending) cur->retired.push_back(profile_id{recs[fb].pid});
  }

  // ---- the insertion step ---------------------------------------------------------------------------------------
  //
  // Inserts r into the components of the records already inserted: for each of r's usable identifiers in rule
  // order, each component holding it (oldest founder first) is merged when merge protection allows, else the
  // refusal is kept as a conflict. Replaying a region's records through this step in (first_seen, key) order
  // defines the resolution; see README.md.
  void insert_greedy(std::uint32_t r) {
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
      const ident& a = idents[ia];
      const ident& b = idents[ib];
      if (a.rule != b.rule) return a.rule < b.rule;
      if (a.attr != b.attr) return names.view(a.attr) < names.view(b.attr);
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
          add_edge(r, c.y, id, std::max(links[l].since, links[c.m].since));
        } else {
          add_conflict(r, c.y, id, v);
        }
      }
    }
  }

  // ---- regions --------------------------------------------------------------------------------------------------

  // Extends `seeds` (in `region`) to every record reachable through usable links: the records whose resolution
  // can depend on each other. Deduplicates.
  void collect_region() {
    if (++epoch == 0) {  // wrapped: clear the marks once
      rec_mark.assign_all(0);
      ident_mark.assign_all(0);
      epoch = 1;
    }
    rec_mark.resize(recs.size(), 0);
    ident_mark.resize(idents.size(), 0);
    region_tmp.clear();
    for (std::uint32_t s : region)
      if (rec_mark[s] != epoch) {
        rec_mark[s] = epoch;
        region_tmp.push_back(s);
      }
    for (std::size_t i = 0; i < region_tmp.size(); ++i) {
      const std::uint32_t x = region_tmp[i];
      for (std::uint32_t l = recs[x].links; l != none; l = links[l].next_in_record) {
        if (!usable(l)) continue;
        const std::uint32_t id = ident_of(links[l]);
        if (ident_mark[id] == epoch) continue;
        ident_mark[id] = epoch;
        for (std::uint32_t m = idents[id].head; m != none; m = links[m].next_in_ident) {
          const std::uint32_t y = links[m].rec;
          if (rec_mark[y] != epoch && usable(m)) {
            rec_mark[y] = epoch;
            region_tmp.push_back(y);
          }
        }
      }
    }
    region.swap(region_tmp);
  }

  // Recomputes a closed region from scratch: drops its components, edges and conflicts, then inserts its live
  // records again in (first_seen, key) order.
  void replay() {
    ++recomputes;
    recomputed_records += region.size();
    std::vector<profile_id> before_ids;
    if (cur)
      for (std::uint32_t x : region)
        if (recs[x].inserted) before_ids.push_back(pid_of(x));
    for (std::uint32_t x : region) {
      for (std::uint32_t e = recs[x].edges; e != none;) {
        const std::uint32_t next = edges[e].next;
        edges[e].next = free_edge;
        free_edge = e;
        --live_edges;
        e = next;
      }
      recs[x].edges = none;
    }
    conflict_nodes.clear();
    for (std::uint32_t x : region)
      for (std::uint32_t c = recs[x].conflicts; c != none;) {
        const conflict& k = conflicts[c];
        if (k.a == x) conflict_nodes.push_back(c);
        c = k.a == x ? k.next_a : k.next_b;
      }
    for (std::uint32_t c : conflict_nodes) {
      conflicts[c].next_a = free_conflict;
      free_conflict = c;
      --live_conflicts;
    }
    for (std::uint32_t x : region) {
      recs[x].conflicts = none;
      if (recs[x].inserted && parent[x] == x) unregister_pid(recs[x].founder);
    }
    for (std::uint32_t x : region) recs[x].inserted = false;
    std::sort(region.begin(), region.end(), [this](std::uint32_t a, std::uint32_t b) { return before(a, b); });
    const bool saved = track_retired;
    track_retired = false;
    for (std::uint32_t x : region)
      if (recs[x].live) insert_greedy(x);
    track_retired = saved;
    if (cur) {
      std::vector<profile_id> after_ids;
      for (std::uint32_t x : region)
        if (recs[x].live) after_ids.push_back(pid_of(x));
      std::sort(before_ids.begin(), before_ids.end());
      before_ids.erase(std::unique(before_ids.begin(), before_ids.end()), before_ids.end());
      std::sort(after_ids.begin(), after_ids.end());
      after_ids.erase(std::unique(after_ids.begin(), after_ids.end()), after_ids.end());
      std::set_difference(before_ids.begin(), before_ids.end(), after_ids.begin(), after_ids.end(),
                          std::back_inserter(cur->retired));
      cur->touched.insert(cur->touched.end(), after_ids.begin(), after_ids.end());
      cur->recomputed = true;
    }
  }

  // ---- links --------------------------------------------------------------------------------------------------

  // The identifier for attribute `attr` = normalised `value` (created when new); none when unusable.
  std::uint32_t ident_for(std::uint32_t attr, std::string_view value, int rule) {
    make_key(attr, value, keybuf);
    const std::uint32_t id = keys.intern(keybuf);
    if (id == interner::npos || id >= ident_mask) return none;
    if (id == idents.size()) {
      ident k;
      k.attr = static_cast<std::uint16_t>(attr);
      k.rule = static_cast<std::uint8_t>(rule);
      idents.push_back(k);
    }
    return id;
  }

  void attach_link(std::uint32_t r, std::uint32_t id, std::uint32_t flags, std::int64_t since) {
    if (split_set.contains(std::uint64_t{r} << 32 | id)) flags |= lf_split;
    const std::uint32_t l = new_link();
    link& k = links[l];
    k.since = since;
    k.bits = id | flags;
    k.rec = r;
    k.next_in_record = recs[r].links;
    recs[r].links = l;
    k.next_in_ident = none;
    if ((flags & lf_unposted) == 0) {
      k.next_in_ident = idents[id].head;
      idents[id].head = l;
      ++idents[id].count;
    }
    ++live_links;
  }

  void detach_link(std::uint32_t l) {
    const link k = links[l];
    const std::uint32_t id = ident_of(k);
    for (std::uint32_t* p = &recs[k.rec].links; *p != none; p = &links[*p].next_in_record)
      if (*p == l) {
        *p = k.next_in_record;
        break;
      }
    if ((k.bits & lf_unposted) == 0) {
      for (std::uint32_t* p = &idents[id].head; *p != none; p = &links[*p].next_in_ident)
        if (*p == l) {
          *p = k.next_in_ident;
          break;
        }
      --idents[id].count;
    }
    links[l].next_in_record = free_link;
    free_link = l;
    --live_links;
  }

  // Brings r's links to `want` (or none when deleting) and re-resolves what that can change.
  void apply(std::uint32_t r, std::int64_t now, bool deleting) {
    record& R = recs[r];
    have.clear();
    for (std::uint32_t l = R.links; l != none; l = links[l].next_in_record) have.emplace_back(ident_of(links[l]), l);
    std::sort(have.begin(), have.end());
    if (deleting) want.clear();
    to_remove.clear();
    to_add.clear();
    std::size_t i = 0, j = 0;
    while (i < have.size() || j < want.size()) {
      if (j == want.size() || (i < have.size() && have[i].first < want[j].first)) {
        to_remove.push_back(have[i++].second);
      } else if (i == have.size() || want[j].first < have[i].first) {
        to_add.push_back(want[j++]);
      } else {
        ++i;
        ++j;  // unchanged: keeps its `since` and split flag
      }
    }
    if (R.inserted && !deleting && to_remove.empty() && to_add.empty()) return;

    // Identifiers crossing max_records_per_identifier change what links everyone holding them.
    flips.clear();
    const std::uint32_t limit = cfg.max_records_per_identifier;
    for (std::uint32_t l : to_remove) {
      if (links[l].bits & lf_unposted) continue;
      const ident& k = idents[ident_of(links[l])];
      if (k.saturated && k.count - 1 <= limit) flips.push_back(ident_of(links[l]));
    }
    for (const auto& [id, flags] : to_add) {
      if (flags & lf_unposted) continue;
      const ident& k = idents[id];
      if (!k.saturated && k.count + 1 > limit) flips.push_back(id);
    }

    const bool is_new = !R.inserted;
    if (is_new && !deleting && flips.empty() && (max_rec == none || before(max_rec, r))) {
      // Append fast path: r comes after every record in (first_seen, key) order, so inserting it now is exactly
      // the last step of replaying its region.
      for (const auto& [id, flags] : to_add) attach_link(r, id, flags, now);
      ++fast_inserts;
      track_retired = true;
      appending = r;
      insert_greedy(r);
      appending = none;
      track_retired = false;
      max_rec = r;
      if (cur) cur->touched.push_back(pid_of(r));
      return;
    }

    // The region as it is (before the change), then as it will be: the union is recomputed.
    region.clear();
    if (R.inserted) region.push_back(r);
    for (std::uint32_t id : flips)
      for (std::uint32_t m = idents[id].head; m != none; m = links[m].next_in_ident) region.push_back(links[m].rec);
    collect_region();
    for (std::uint32_t l : to_remove) detach_link(l);
    for (const auto& [id, flags] : to_add) attach_link(r, id, flags, now);
    for (std::uint32_t id : flips) {
      idents[id].saturated = idents[id].count > limit;
      for (std::uint32_t m = idents[id].head; m != none; m = links[m].next_in_ident) region.push_back(links[m].rec);
    }
    if (deleting) {
      R.live = false;
      --live_records;
    }
    region.push_back(r);  // a deleted r is reset with its old component, then not inserted again
    collect_region();
    replay();
    if (!deleting && (max_rec == none || before(max_rec, r))) max_rec = r;
  }

  // Re-resolves r's region after a split flag changed on one of its links.
  void toggle_split(std::uint32_t r, std::uint32_t l, bool on) {
    region.clear();
    region.push_back(r);
    collect_region();
    if (on)
      links[l].bits |= lf_split;
    else
      links[l].bits &= ~lf_split;
    region.push_back(r);
    collect_region();
    replay();
  }
};

// ---- public interface ---------------------------------------------------------------------------------------------

resolver::resolver(resolver_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}
resolver::~resolver() = default;
resolver::resolver(resolver&&) noexcept = default;
resolver& resolver::operator=(resolver&&) noexcept = default;

const resolver_config& resolver::config() const noexcept { return impl_->cfg; }

std::optional<profile_id> resolver::observe(const source_record& in, change* out) {
  impl& m = *impl_;
  if (out) *out = change{};
  const std::uint32_t sys = m.names.intern(in.system), obj = m.names.intern(in.object);
  const std::uint32_t id = m.strings.intern(in.id);
  if (sys > 0xffff || obj > 0xffff || id == interner::npos || in.id.empty()) return std::nullopt;
  auto [it, fresh] = m.record_index.try_emplace(std::uint64_t{sys} << 48 | std::uint64_t{obj} << 32 | id, 0);
  if (fresh) {
    impl::record r;
    r.first_seen = in.first_seen;
    r.pid = stable_hash(in.system, in.object, in.id);
    r.id = id;
    r.sys = static_cast<std::uint16_t>(sys);
    r.obj = static_cast<std::uint16_t>(obj);
    m.recs.push_back(r);
    m.parent.push_back(static_cast<std::uint32_t>(m.recs.size() - 1));
    it->second = static_cast<std::uint32_t>(m.recs.size() - 1);
  }
  const std::uint32_t r = it->second;
  if (!m.recs[r].inserted) m.recs[r].first_seen = in.first_seen;  // a forgotten record seen again
  if (!m.recs[r].live) {
    m.recs[r].live = true;
    ++m.live_records;
  }

  m.want.clear();
  for (const identity_key& k : in.keys) {
    const std::uint32_t attr = m.names.intern(k.attribute);
    const int rule = attr > 0xffff ? -1 : m.cached_rule(attr);
    if (rule < 0 || !normalise(m.cfg.rules[static_cast<std::size_t>(rule)].norm, k.value, m.norm)) {
      ++m.ignored_keys;
      continue;
    }
    const std::uint32_t ident = m.ident_for(attr, m.norm, rule);
    if (ident == none) {
      ++m.ignored_keys;
      continue;
    }
    std::uint32_t flags = 0;
    const auto& rule_cfg = m.cfg.rules[static_cast<std::size_t>(rule)];
    if (rule_cfg.norm == normalizer::email &&
        std::binary_search(m.generic.begin(), m.generic.end(), local_part(m.norm), std::less<>{}))
      flags |= lf_generic;
    const auto& b = m.blocked[static_cast<std::size_t>(rule)];
    if (std::binary_search(b.begin(), b.end(), m.norm)) flags |= lf_blocked;
    m.want.emplace_back(ident, flags);
  }
  std::sort(m.want.begin(), m.want.end());
  m.want.erase(std::unique(m.want.begin(), m.want.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               m.want.end());

  m.cur = out;
  m.apply(r, in.observed_at ? in.observed_at : in.first_seen, false);
  m.cur = nullptr;
  const profile_id p = m.pid_of(r);
  if (out) {
    out->profile = p;
    if (out->touched.empty()) out->touched.push_back(p);
  }
  return p;
}

change resolver::forget(std::string_view system, std::string_view object, std::string_view id) {
  impl& m = *impl_;
  change out;
  const std::uint32_t r = m.lookup_record(system, object, id);
  if (r == none || !m.recs[r].live) return out;
  m.cur = &out;
  m.apply(r, 0, true);
  m.cur = nullptr;
  return out;
}

namespace {
// Finds the link of `r` on identifier `id`.
template <class Impl>
std::uint32_t link_on(const Impl& m, std::uint32_t r, std::uint32_t id) {
  for (std::uint32_t l = m.recs[r].links; l != none; l = m.links[l].next_in_record)
    if ((m.links[l].bits & ident_mask) == id) return l;
  return none;
}
}  // namespace

std::optional<change> resolver::split(const link_ref& ref) {
  impl& m = *impl_;
  const std::uint32_t r = m.lookup_record(ref.record.system, ref.record.object, ref.record.id);
  if (r == none || !m.recs[r].live) return std::nullopt;
  std::string buf;
  const std::uint32_t id = m.lookup_ident(ref.attribute, ref.value, buf);
  const std::uint32_t l = id == none ? none : link_on(m, r, id);
  if (l == none) return std::nullopt;
  change out;
  if (m.split_set.insert(std::uint64_t{r} << 32 | id).second) {
    m.cur = &out;
    m.toggle_split(r, l, true);
    m.cur = nullptr;
  }
  out.profile = m.pid_of(r);
  return out;
}

std::optional<change> resolver::restore(const link_ref& ref) {
  impl& m = *impl_;
  const std::uint32_t r = m.lookup_record(ref.record.system, ref.record.object, ref.record.id);
  if (r == none) return std::nullopt;
  std::string buf;
  const std::uint32_t id = m.lookup_ident(ref.attribute, ref.value, buf);
  if (id == none || m.split_set.erase(std::uint64_t{r} << 32 | id) == 0) return std::nullopt;
  change out;
  const std::uint32_t l = link_on(m, r, id);
  if (l != none && m.recs[r].live) {
    m.cur = &out;
    m.toggle_split(r, l, false);
    m.cur = nullptr;
    out.profile = m.pid_of(r);
  }
  return out;
}

bool resolver::preload_split(const link_ref& ref) {
  impl& m = *impl_;
  const std::uint32_t live = m.lookup_record(ref.record.system, ref.record.object, ref.record.id);
  if (live != none && m.recs[live].live) return split(ref).has_value();
  const std::uint32_t sys = m.names.intern(ref.record.system), obj = m.names.intern(ref.record.object);
  const std::uint32_t id = m.strings.intern(ref.record.id), attr = m.names.intern(ref.attribute);
  const int rule = attr > 0xffff ? -1 : m.cached_rule(attr);
  if (sys > 0xffff || obj > 0xffff || id == interner::npos || rule < 0 ||
      !normalise(m.cfg.rules[static_cast<std::size_t>(rule)].norm, ref.value, m.norm))
    return false;
  const std::uint32_t ident = m.ident_for(attr, m.norm, rule);
  if (ident == none) return false;
  // A placeholder record (not live, not inserted): observe() fills it in when the record arrives.
  auto [it, fresh] = m.record_index.try_emplace(std::uint64_t{sys} << 48 | std::uint64_t{obj} << 32 | id, 0);
  if (fresh) {
    impl::record r;
    r.pid = stable_hash(ref.record.system, ref.record.object, ref.record.id);
    r.id = id;
    r.sys = static_cast<std::uint16_t>(sys);
    r.obj = static_cast<std::uint16_t>(obj);
    m.recs.push_back(r);
    m.parent.push_back(static_cast<std::uint32_t>(m.recs.size() - 1));
    it->second = static_cast<std::uint32_t>(m.recs.size() - 1);
  }
  m.split_set.insert(std::uint64_t{it->second} << 32 | ident);
  return true;
}

std::vector<link_ref> resolver::splits() const {
  const impl& m = *impl_;
  std::vector<link_ref> out;
  for (std::uint64_t k : m.split_set) {
    const auto r = static_cast<std::uint32_t>(k >> 32);
    const auto i = static_cast<std::uint32_t>(k);
    out.push_back(link_ref{m.ref(r), std::string(m.names.view(m.idents[i].attr)), std::string(m.ident_value(i))});
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
  const std::uint32_t root = m.find(it->second);
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
  const std::uint32_t root = m.find(it->second);
  std::uint32_t x = root;
  do {
    rs.push_back(x);
    x = m.recs[x].next;
  } while (x != root);
  std::sort(rs.begin(), rs.end(), [&m](std::uint32_t a, std::uint32_t b) { return m.before(a, b); });
  auto attr_of = [&m](std::uint32_t i) { return std::string(m.names.view(m.idents[i].attr)); };
  auto value_of = [&m](std::uint32_t i) { return std::string(m.ident_value(i)); };
  auto rule_of = [&m](std::uint32_t i) { return m.cfg.rules[m.idents[i].rule].name; };
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
      fn(m.names.view(m.recs[r].sys), m.names.view(m.recs[r].obj), m.strings.view(m.recs[r].id), m.pid_of(r));
}

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
  s.memory_bytes = m.strings.memory_bytes() + m.keys.memory_bytes() + m.names.memory_bytes() +
                   m.recs.memory_bytes() + m.parent.memory_bytes() + m.links.memory_bytes() +
                   m.idents.memory_bytes() + m.edges.memory_bytes() + m.conflicts.memory_bytes() +
                   slot(m.record_index, 16) + slot(m.pid_index, 16) +
                   slot(m.split_set, 8) + m.rec_mark.memory_bytes() + m.ident_mark.memory_bytes();
  return s;
}

}  // namespace omnisync::profile
