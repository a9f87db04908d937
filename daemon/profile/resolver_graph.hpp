#pragma once
// Internal to omnisync_profile: the identity graph behind `resolver` (resolver.hpp), shared by the files that
// implement it. README.md ("Identity resolution", "Memory") describes the structure and the rule it maintains.
//
//   resolver.cpp           the public values (config defaults, profile ids, reasons) and the operations: observe,
//                          forget, split, restore, preload_split
//   resolver_queries.cpp   profile_of, find, match_risk, members, explain, splits, stats
//   resolver_graph.cpp     identity values (normalise, the stable hash), names and identifiers, links, and keeping
//                          the graph in step with a change: the append fast path or the affected region replayed
//   resolver_merge.cpp     the insertion step: merge protection, union, edges and conflicts, profile ids
//
// Records, identifiers, links (record holds identifier), edges (accepted links between two records) and conflicts
// (refused ones) live in flat vectors indexed by 32-bit ids; lists are intrusive (next indices), freed slots are
// reused. Components are a union-find forest (`parent`, path halving, union by size) plus a circular list of
// members per component (`record::next`), so a component's members are enumerable without any per-profile heap
// object.
//
// Thread safety: none (as the resolver's).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "daemon/profile/interner.hpp"
#include "daemon/profile/paged_vector.hpp"
#include "daemon/profile/resolver.hpp"

namespace omnisync::profile::resolution {

inline constexpr std::uint32_t none = 0xffffffffu;

// A link's identifier index and its flags share one word (identifiers stay below 2^28).
inline constexpr std::uint32_t ident_mask = 0x0fffffffu;
inline constexpr std::uint32_t lf_generic = 1u << 28;  // generic e-mail address: never posted, never matches
inline constexpr std::uint32_t lf_blocked = 1u << 29;  // a blocked value of its rule: never posted, never matches
inline constexpr std::uint32_t lf_split = 1u << 30;    // removed by split(): posted (it still counts) but unusable
inline constexpr std::uint32_t lf_unposted = lf_generic | lf_blocked;
// The link's `since` differs from its record's `link_since`: it is kept in `graph::other_since`. Links attached
// together (a record's identifiers as first read) share one time, so most links keep none of their own.
inline constexpr std::uint32_t lf_own_since = 1u << 31;

/// The profile id a founding record gives: FNV-1a 64 over "system:object:id", then the splitmix64 finaliser.
std::uint64_t stable_hash(std::string_view sys, std::string_view obj, std::string_view id);
/// The normalised form of an identity value into `out`; false when the value cannot identify anybody.
bool normalise(normalizer n, std::string_view in, std::string& out);
/// The local part of a normalised address without a "+tag".
std::string_view local_part(std::string_view email);

/// The identity graph: every table of the resolver and the operations on them (see the file comment for which
/// file defines what). The hot, small accessors are defined here so every file inlines them.
struct graph {
  // The profile id a record gives a profile it founds is stable_hash of its key: computed when asked
  // (`pid_of_rec`) rather than kept, 8 bytes a record.
  struct record {
    std::int64_t first_seen = 0;
    std::int64_t link_since = 0;  // `since` of the record's links that have none of their own (lf_own_since)
    std::uint16_t sys = 0, obj = 0;  // in names_ (also the first 4 bytes of its key in `strings`)
    std::uint32_t next = 0, founder = 0, size = 1;  // ring of members; founder and size valid at roots
    std::uint32_t links = none, edges = none, conflicts = none;
    bool inserted = false;  // part of the component structure (false while a region is recomputed)
    bool live = false;      // observed and not forgotten
  };
  // 16 bytes: when the record first carried the identifier (`since`) is its record's `link_since`, or in
  // `other_since` when lf_own_since is set.
  struct link {
    std::uint32_t bits = 0;  // identifier | flags
    std::uint32_t rec = 0, next_in_ident = none, next_in_record = none;
  };
  struct ident {  // its text is keys.view(id): the attribute's names id (2 bytes) then the normalised value; its
                  // attribute and rule are read from there (ident_attr, ident_rule), so an entry is 8 bytes
    std::uint32_t head = none;  // posted links (not generic/blocked)
    std::uint32_t count : 31 = 0;   // posted links
    std::uint32_t saturated : 1 = 0;
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

  // Record keys: system and object names ids (2 bytes each) then the record's id; the interner id *is* the record
  // index (records are added exactly when a key is interned), so no separate record index is kept.
  interner strings;
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
  boost::unordered_flat_map<std::uint32_t, std::int64_t> other_since;  // link -> since, for lf_own_since links

  // Profile id -> founding record: a set of founders hashed and compared by their records' profile ids (4 bytes
  // a slot instead of a 16-byte (id, record) pair); looked up by the 64-bit id directly.
  struct pid_hash {
    using is_transparent = void;
    const graph* g;
    std::size_t operator()(std::uint32_t founder) const noexcept { return g->pid_of_rec(founder); }
    std::size_t operator()(std::uint64_t pid) const noexcept { return pid; }
  };
  struct pid_equal {
    using is_transparent = void;
    const graph* g;
    bool operator()(std::uint32_t a, std::uint32_t b) const noexcept {
      return a == b || g->pid_of_rec(a) == g->pid_of_rec(b);
    }
    bool operator()(std::uint64_t a, std::uint32_t b) const noexcept { return a == g->pid_of_rec(b); }
    bool operator()(std::uint32_t a, std::uint64_t b) const noexcept { return g->pid_of_rec(a) == b; }
  };
  boost::unordered_flat_set<std::uint32_t, pid_hash, pid_equal> pid_index{0, pid_hash{this}, pid_equal{this}};
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

  explicit graph(resolver_config c);
  graph(const graph&) = delete;  // pid_index's hash and equality point at this graph
  graph& operator=(const graph&) = delete;

  // ---- names and order (resolver_graph.cpp; small ones here) -----------------------------------------------

  int rule_index(std::string_view attribute) const;
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
    return rec_id(a) < rec_id(b);
  }
  /// A record's own id (its key without the system and object prefix).
  std::string_view rec_id(std::uint32_t r) const { return strings.view(r).substr(4); }
  static void make_record_key(std::uint32_t sys, std::uint32_t obj, std::string_view id, std::string& out) {
    out.clear();
    out.push_back(static_cast<char>(sys & 0xff));
    out.push_back(static_cast<char>(sys >> 8));
    out.push_back(static_cast<char>(obj & 0xff));
    out.push_back(static_cast<char>(obj >> 8));
    out.append(id.data(), id.size());
  }
  /// The record (system, object, id), added as a placeholder (neither live nor inserted) when new; none when its
  /// id is empty or too long, or there are more than 65,536 names.
  std::uint32_t record_for(std::string_view system, std::string_view object, std::string_view id);

  std::uint32_t find(std::uint32_t x) const {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }

  /// The profile id record r gives a profile it founds (stable_hash of its system, object and id).
  std::uint64_t pid_of_rec(std::uint32_t r) const {
    return stable_hash(names.view(recs[r].sys), names.view(recs[r].obj), rec_id(r));
  }
  profile_id pid_of_root(std::uint32_t root) const { return profile_id{pid_of_rec(recs[root].founder)}; }
  profile_id pid_of(std::uint32_t r) const { return pid_of_root(find(r)); }

  static std::uint32_t ident_of(const link& l) { return l.bits & ident_mask; }
  /// When link l's record first carried its identifier.
  std::int64_t since_of(std::uint32_t l) const {
    const link& k = links[l];
    return (k.bits & lf_own_since) ? other_since.find(l)->second : recs[k.rec].link_since;
  }
  bool usable(std::uint32_t l) const {
    const link& k = links[l];
    return (k.bits & (lf_unposted | lf_split)) == 0 && !idents[ident_of(k)].saturated;
  }

  record_ref ref(std::uint32_t r) const {
    return record_ref{std::string(names.view(recs[r].sys)), std::string(names.view(recs[r].obj)),
                      std::string(rec_id(r))};
  }

  std::uint32_t lookup_record(std::string_view system, std::string_view object, std::string_view id) const;
  static void make_key(std::uint32_t attr, std::string_view value, std::string& out) {
    out.clear();
    out.push_back(static_cast<char>(attr & 0xff));
    out.push_back(static_cast<char>(attr >> 8));
    out.append(value.data(), value.size());
  }
  std::string_view ident_value(std::uint32_t i) const { return keys.view(i).substr(2); }
  std::uint32_t ident_attr(std::uint32_t i) const {
    const std::string_view k = keys.view(i);
    return std::uint32_t{static_cast<unsigned char>(k[0])} | std::uint32_t{static_cast<unsigned char>(k[1])} << 8;
  }
  // Every identifier's attribute had its rule cached (cached_rule) before the identifier was made.
  std::uint32_t ident_rule(std::uint32_t i) const { return static_cast<std::uint32_t>(attr_rule[ident_attr(i)]); }
  std::uint32_t lookup_ident(std::string_view attribute, std::string_view value, std::string& buf) const;

  // ---- profile ids, list nodes, merge protection and the insertion step (resolver_merge.cpp) -----------------

  void register_pid(std::uint32_t founder);
  void unregister_pid(std::uint32_t founder);
  void add_edge(std::uint32_t from, std::uint32_t to, std::uint32_t id, std::int64_t at);
  void add_conflict(std::uint32_t a, std::uint32_t b, std::uint32_t id, const verdict& v);
  // May the components rooted at a and b merge?
  verdict check(std::uint32_t a, std::uint32_t b);
  void unite(std::uint32_t a, std::uint32_t b);
  // Inserts r into the components of the records already inserted (README.md, "Determinism").
  void insert_greedy(std::uint32_t r);

  // ---- links, regions and changes (resolver_graph.cpp) -------------------------------------------------------

  // The identifier for attribute `attr` = normalised `value` (created when new); none when unusable.
  std::uint32_t ident_for(std::uint32_t attr, std::string_view value, int rule);
  std::uint32_t new_link();
  void attach_link(std::uint32_t r, std::uint32_t id, std::uint32_t flags, std::int64_t since);
  void detach_link(std::uint32_t l);
  // Extends the records in `region` to every record reachable through usable links. Deduplicates.
  void collect_region();
  // Recomputes a closed region from scratch.
  void replay();
  // Brings r's links to `want` (or none when deleting) and re-resolves what that can change.
  void apply(std::uint32_t r, std::int64_t now, bool deleting);
  // Re-resolves r's region after a split flag changed on one of its links.
  void toggle_split(std::uint32_t r, std::uint32_t l, bool on);
};

}  // namespace omnisync::profile::resolution

namespace omnisync::profile {

struct resolver::impl : resolution::graph {
  using graph::graph;
};

}  // namespace omnisync::profile
