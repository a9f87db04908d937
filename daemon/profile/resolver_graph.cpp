// The identity graph (resolver_graph.hpp): identity values, names and identifiers, links, and keeping the graph in
// step with a change — the append fast path, or the affected region dropped and replayed in order.
#include "daemon/profile/resolver_graph.hpp"

#include <algorithm>
#include <iterator>

namespace omnisync::profile::resolution {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

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
    case normalizer::profile_ref: {
      const auto t = trim(in);
      if (!profile_id::parse(t)) return false;
      out.assign(t.data(), t.size());
      return true;
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

graph::graph(resolver_config c) : cfg(std::move(c)) {
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

// ---- names and identifiers ------------------------------------------------------------------------------------

int graph::rule_index(std::string_view attribute) const {
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

std::uint32_t graph::lookup_record(std::string_view system, std::string_view object, std::string_view id) const {
  const std::uint32_t s = names.find(system), o = names.find(object);
  if (s == interner::npos || o == interner::npos || s > 0xffff || o > 0xffff) return none;
  std::string key;
  make_record_key(s, o, id, key);
  const std::uint32_t r = strings.find(key);
  return r == interner::npos ? none : r;
}

std::uint32_t graph::record_for(std::string_view system, std::string_view object, std::string_view id) {
  if (id.empty() || id.size() + 4 > interner::max_length) return none;
  const std::uint32_t sys = names.intern(system), obj = names.intern(object);
  if (sys > 0xffff || obj > 0xffff) return none;
  make_record_key(sys, obj, id, keybuf);
  const std::size_t before_size = strings.size();
  const std::uint32_t r = strings.intern(keybuf);
  if (r == interner::npos) return none;
  if (strings.size() != before_size) {  // new: its slot is the next record
    record rec;
    rec.sys = static_cast<std::uint16_t>(sys);
    rec.obj = static_cast<std::uint16_t>(obj);
    recs.push_back(rec);
    parent.push_back(r);
  }
  return r;
}

std::uint32_t graph::lookup_ident(std::string_view attribute, std::string_view value, std::string& buf) const {
  const int rule = rule_index(attribute);
  const std::uint32_t a = names.find(attribute);
  if (rule < 0 || a == interner::npos || a > 0xffff) return none;
  std::string n;
  if (!normalise(cfg.rules[static_cast<std::size_t>(rule)].norm, value, n)) return none;
  make_key(a, n, buf);
  const std::uint32_t id = keys.find(buf);
  return id == interner::npos ? none : id;
}

std::uint32_t graph::ident_for(std::uint32_t attr, std::string_view value, [[maybe_unused]] int rule) {
  cached_rule(attr);  // ident_rule() reads the cache: it must hold every identifier's attribute
  make_key(attr, value, keybuf);
  const std::uint32_t id = keys.intern(keybuf);
  if (id == interner::npos || id >= ident_mask) return none;
  if (id == idents.size()) {
    idents.push_back(ident{});
  }
  return id;
}

// ---- links ----------------------------------------------------------------------------------------------------

std::uint32_t graph::new_link() {
  if (free_link != none) {
    std::uint32_t l = free_link;
    free_link = links[l].next_in_record;
    return l;
  }
  links.emplace_back();
  return static_cast<std::uint32_t>(links.size() - 1);
}

void graph::attach_link(std::uint32_t r, std::uint32_t id, std::uint32_t flags, std::int64_t since) {
  if (split_set.contains(std::uint64_t{r} << 32 | id)) flags |= lf_split;
  const std::uint32_t l = new_link();
  link& k = links[l];
  if (recs[r].links == none) {
    recs[r].link_since = since;  // the record's first link (again): its time is the record's
  } else if (since != recs[r].link_since) {
    flags |= lf_own_since;
    other_since[l] = since;
  }
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

void graph::detach_link(std::uint32_t l) {
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
  if (k.bits & lf_own_since) other_since.erase(l);
  links[l].next_in_record = free_link;
  free_link = l;
  --live_links;
}

// ---- regions --------------------------------------------------------------------------------------------------

// Extends `seeds` (in `region`) to every record reachable through usable links: the records whose resolution
// can depend on each other. Deduplicates.
void graph::collect_region() {
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
void graph::replay() {
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

// ---- changes --------------------------------------------------------------------------------------------------

// Brings r's links to `want` (or none when deleting) and re-resolves what that can change.
void graph::apply(std::uint32_t r, std::int64_t now, bool deleting) {
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
    if (k.saturated && std::uint32_t{k.count} - 1 <= limit) flips.push_back(ident_of(links[l]));
  }
  for (const auto& [id, flags] : to_add) {
    if (flags & lf_unposted) continue;
    const ident& k = idents[id];
    if (!k.saturated && std::uint32_t{k.count} + 1 > limit) flips.push_back(id);
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
void graph::toggle_split(std::uint32_t r, std::uint32_t l, bool on) {
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

}  // namespace omnisync::profile::resolution
