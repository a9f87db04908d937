#pragma once
// Internal to daemon/profile: the profile book's state (book::impl) and the helpers its parts share. book.cpp
// takes records in (apply, announcements, omnisync's own writes, the facts stored with records); book_queries.cpp
// answers what the daemon asks (canonical records, members, match risks, lookups, views, splits, statistics).
#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/profile/attribute_codec.hpp"
#include "daemon/profile/book.hpp"
#include "daemon/profile/interner.hpp"
#include "daemon/profile/paged_vector.hpp"
#include "daemon/profile/from_mapping.hpp"
#include "daemon/profile/value_json.hpp"
#include "mapping/plan_impl.hpp"

namespace omnisync::profile {
namespace json = boost::json;  // internal header: only the book's own files include it
using vkind = mapping::value::kind;
namespace detail {

/// Two mapping values alike as JSON (numbers by value: 5 and 5.0 are the same).
inline bool same_value(const mapping::value& a, const mapping::value& b) {
  if (a.is_null_or_missing() || b.is_null_or_missing()) return a.is_null_or_missing() && b.is_null_or_missing();
  std::string x, y;
  mapping::append_json(x, a);
  mapping::append_json(y, b);
  return x == y;
}


/// A rough normal form for the index of interactions waiting for their person (the resolver decides the match).
inline std::string hint_key(std::string_view attribute, std::string_view value) {
  std::string v;
  if (attribute == "email") {
    for (char c : value)
      if (!std::isspace(static_cast<unsigned char>(c))) v += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  } else if (attribute == "phone") {
    for (char c : value)
      if (std::isdigit(static_cast<unsigned char>(c)) || c == '+') v += c;
  } else {
    v.assign(value);
  }
  std::string k(attribute);
  k += '\x1f';
  k += v;
  return k;
}

}  // namespace detail

using detail::hint_key;
using detail::same_value;

struct book::impl {
  explicit impl(const settings& s) : res(s.identity), identifiers(res) { codec.share(&identifiers); }

  /// The identity graph's identifiers as the codec's shared strings: a record's e-mail, phone and vendor ids are
  /// kept once, in the graph, and its packed attributes refer to them (attribute_codec.hpp).
  struct resolver_strings final : shared_strings {
    explicit resolver_strings(const resolver& r) : res(r) {}
    std::uint32_t find(std::string_view attribute, std::string_view value) const override {
      return res.identifier_id(attribute, value);
    }
    std::string_view view(std::uint32_t id) const override { return res.identifier_text(id); }
    const resolver& res;
  };

  /// A person record's attributes and facts, decoded (transient: the book keeps `person_rec`).
  struct person_data {
    std::int64_t source_ts = 0;
    std::vector<std::pair<std::string, mapping::value>> attrs;
    std::vector<attribute_state> states;  // sparse: attributes whose information time or clear differs
    std::vector<announced_value> announced;  // values events announced, newer than the record's own
    /// The information time of attribute i (its state's, else the record's modification time).
    std::int64_t as_of(std::size_t i) const {
      for (const auto& st : states)
        if (st.index == i && st.as_of != 0) return st.as_of;
      return source_ts;
    }
    const attribute_state* state(std::size_t i) const {
      for (const auto& st : states)
        if (st.index == i) return &st;
      return nullptr;
    }
    std::optional<std::size_t> index_of(std::string_view attribute) const {
      for (std::size_t i = 0; i < attrs.size(); ++i)
        if (attrs[i].first == attribute) return i;
      return std::nullopt;
    }
  };
  /// Facts beyond the attributes' own values, held by few records (README.md, "Memory").
  struct person_facts {
    std::vector<attribute_state> states;
    std::vector<announced_value> announced;
  };
  /// One person record as the book keeps it: 16 bytes plus its packed attributes (a block in the codec's arena,
  /// attribute_codec.hpp), in a table indexed by the resolver's handle of the record (resolver::handle_of; its
  /// first_seen is the resolver's too), so the record's key is kept once, in the identity graph. Its facts, which
  /// few records have, are in `facts` keyed by the record's address (a paged_vector never moves its elements).
  struct person_rec {
    std::int64_t source_ts = 0;
    packed_attributes attrs;
    bool present = false;
    bool deleted = false;
    bool person = false;     // has an e-mail or phone identity
    bool has_facts = false;  // `facts` holds its states and announced values
  };
  static_assert(sizeof(person_rec) == 16);
  struct interaction {
    std::int64_t first_seen = 0, source_ts = 0;
    bool deleted = false;
    std::vector<event> events;
    std::vector<std::pair<std::string, std::string>> person;
    std::optional<std::uint64_t> attached;
  };

  resolver res;
  resolver_strings identifiers;
  /// Person records by their resolver handle (every person record is observed by the resolver first).
  paged_vector<person_rec> people;
  std::size_t people_count = 0;
  /// The facts of the person records that have any (person_rec::has_facts), by the record's address.
  boost::unordered_flat_map<const person_rec*, person_facts> facts;
  std::size_t packed_bytes = 0;  // sum of the packed attributes' sizes
  attribute_codec codec;

  const person_rec* find_person(std::string_view system, std::string_view object, std::string_view id) const {
    const auto i = res.handle_of(system, object, id);
    if (i == resolver::no_handle || i >= people.size() || !people[i].present) return nullptr;
    return &people[i];
  }
  person_rec* find_person(std::string_view system, std::string_view object, std::string_view id) {
    return const_cast<person_rec*>(std::as_const(*this).find_person(system, object, id));
  }
  /// When a person record (one `find_person` finds) was first stored: the resolver keeps it.
  std::int64_t first_seen(std::string_view system, std::string_view object, std::string_view id) const {
    return res.first_seen_of(res.handle_of(system, object, id));
  }
  /// The record's slot, added (not present) when new; nullptr when the resolver does not know the record (an id
  /// it refuses, e.g. longer than its interner keeps). Called after the resolver observed it.
  person_rec* slot_for(std::string_view system, std::string_view object, std::string_view id) {
    const auto i = res.handle_of(system, object, id);
    if (i == resolver::no_handle) return nullptr;
    while (people.size() <= i) people.push_back(person_rec{});
    return &people[i];
  }
  /// The decoded attributes and facts of a record.
  person_data load(const person_rec& r) const {
    person_data d;
    d.source_ts = r.source_ts;
    codec.decode(r.attrs, d.attrs);
    if (const auto* f = facts_of(r)) {
      d.states = f->states;
      d.announced = f->announced;
    }
    return d;
  }
  const person_facts* facts_of(const person_rec& r) const {
    if (!r.has_facts) return nullptr;
    auto it = facts.find(&r);
    return it == facts.end() ? nullptr : &it->second;
  }
  /// Keeps a record's facts (states and announced values) compactly: nothing when it has none.
  void store_facts(person_rec& r, std::vector<attribute_state> states, std::vector<announced_value> announced) {
    if (states.empty() && announced.empty()) {
      if (r.has_facts) facts.erase(&r);
      r.has_facts = false;
      return;
    }
    auto& f = facts[&r];
    r.has_facts = true;
    f.states = std::move(states);
    f.announced = std::move(announced);
    f.states.shrink_to_fit();
    f.announced.shrink_to_fit();
  }
  /// record key -> what omnisync last wrote there (attribute, golden value, its information time): book::note_written.
  std::unordered_map<std::string, std::vector<announced_value>> written;
  static constexpr std::size_t written_cap = 200'000;
  static constexpr std::size_t written_per_attribute = 4;
  const announced_value* written_value(const std::string& key, std::string_view attribute,
                                       const mapping::value& v) const {
    auto it = written.find(key);
    if (it == written.end()) return nullptr;
    for (const auto& w : it->second)
      if (w.attribute == attribute && same_value(w.value, v)) return &w;
    return nullptr;
  }
  std::unordered_map<std::string, interaction> interactions;
  std::unordered_map<std::uint64_t, std::set<std::string>> events_by_profile;
  std::unordered_map<std::string, std::set<std::string>> waiting;  // hint key -> interactions not yet attached
  std::set<std::pair<std::string, std::string>> objects;           // (system, object) of people seen
  std::size_t merges = 0, unattached = 0;

  void unwait(const std::string& subject, const interaction& in) {
    for (const auto& [a, v] : in.person) {
      auto it = waiting.find(hint_key(a, v));
      if (it == waiting.end()) continue;
      it->second.erase(subject);
      if (it->second.empty()) waiting.erase(it);
    }
  }

  /// Attaches an interaction's events to the profile its person keys resolve to now.
  void attach(const std::string& subject, std::set<profile_id>& affected) {
    auto it = interactions.find(subject);
    if (it == interactions.end()) return;
    auto& in = it->second;
    std::optional<profile_id> to;
    if (!in.deleted && !in.events.empty()) {
      mapped_identity who;
      who.pairs = in.person;
      const auto keys = who.keys();
      to = res.resolve(keys);
    }
    const std::optional<std::uint64_t> target = to ? std::optional<std::uint64_t>(to->value) : std::nullopt;
    if (in.attached && in.attached != target) {
      auto e = events_by_profile.find(*in.attached);
      if (e != events_by_profile.end()) {
        e->second.erase(subject);
        if (e->second.empty()) events_by_profile.erase(e);
      }
      affected.insert(profile_id{*in.attached});
    }
    const bool was_waiting = !in.attached;
    if (target) {
      if (in.attached != target) affected.insert(*to);
      events_by_profile[*target].insert(subject);
      if (was_waiting) unwait(subject, in);
    } else if (!in.deleted && !in.events.empty()) {
      for (const auto& [a, v] : in.person) waiting[hint_key(a, v)].insert(subject);
    }
    in.attached = target;
  }

  /// After the resolver changed: events of the profiles involved are attached again.
  void after_change(const change& ch, std::set<profile_id>& affected) {
    std::vector<profile_id> involved = ch.retired;
    involved.insert(involved.end(), ch.touched.begin(), ch.touched.end());
    if (ch.profile) involved.push_back(*ch.profile);
    for (const auto& p : ch.touched) affected.insert(p);
    if (ch.profile) affected.insert(*ch.profile);
    merges += ch.retired.size();
    std::vector<std::string> again;
    for (const auto& p : involved) {
      auto e = events_by_profile.find(p.value);
      if (e == events_by_profile.end()) continue;
      again.insert(again.end(), e->second.begin(), e->second.end());
    }
    for (const auto& s : again) attach(s, affected);
  }

  /// Interactions waiting for one of these keys try again.
  void wake_waiting(const std::vector<std::pair<std::string, std::string>>& keys, std::set<profile_id>& affected) {
    if (waiting.empty()) return;
    std::vector<std::string> again;
    for (const auto& [a, v] : keys) {
      auto it = waiting.find(hint_key(a, v));
      if (it != waiting.end()) again.insert(again.end(), it->second.begin(), it->second.end());
    }
    for (const auto& s : again) attach(s, affected);
  }

  /// A member of a profile that the book holds as a person record.
  struct member {
    record_ref ref;
    std::string key;
    const person_rec* rec;
  };
  std::vector<member> member_recs(profile_id id) const {
    std::vector<member> out;
    for (auto& m : res.members(id)) {
      if (const auto* r = find_person(m.system, m.object, m.id)) {
        auto key = m.key();
        out.push_back(member{std::move(m), std::move(key), r});
      }
    }
    return out;
  }

  std::vector<std::pair<std::string, golden_value>> golden(profile_id id, const settings& s) const {
    std::vector<attribute_source> sources;
    // Each record's attributes decoded; records with announced values take part with those values (and their
    // times) in place of their own.
    std::vector<std::vector<std::pair<std::string, mapping::value>>> effective;
    std::vector<std::vector<attribute_state>> effective_states;
    const auto recs = member_recs(id);
    // `effective` and `effective_states` must not reallocate while `sources` views them.
    effective.reserve(recs.size());
    effective_states.reserve(recs.size());
    for (const auto& [ref, key, r] : recs) {
      if (r->deleted) continue;
      auto& attrs = effective.emplace_back();
      codec.decode(r->attrs, attrs);
      auto& states = effective_states.emplace_back();
      if (const auto* f = facts_of(*r)) {
        states = f->states;
        for (const auto& a : f->announced) {
          std::size_t i = 0;
          while (i < attrs.size() && attrs[i].first != a.attribute) ++i;
          if (i == attrs.size()) attrs.emplace_back(a.attribute, a.value);
          else attrs[i].second = a.value;
          std::erase_if(states, [i](const attribute_state& st) { return st.index == i; });
          states.push_back(attribute_state{static_cast<std::uint32_t>(i), a.at, false});
        }
      }
      sources.push_back(attribute_source{ref.system, key, r->source_ts, attrs, states});
    }
    return golden_record(s.survivorship, sources);
  }

  /// The facts of a record arriving live (see book::facts): derived from its previous copy and from the golden
  /// values of its profile before the change.
  void derive_facts(person_data& rec, const std::string& key, const std::vector<std::pair<std::string, mapping::value>>& old,
                    const std::vector<attribute_state>& old_states, std::int64_t old_ts,
                    const std::vector<std::pair<std::string, golden_value>>& gold, bool created_by_us) {
    auto old_as_of = [&](std::size_t i) {
      for (const auto& st : old_states)
        if (st.index == i && st.as_of != 0) return st.as_of;
      return old_ts;
    };
    std::vector<attribute_state> states;
    for (std::size_t i = 0; i < rec.attrs.size(); ++i) {
      const auto& [name, v] = rec.attrs[i];
      std::size_t j = 0;
      while (j < old.size() && old[j].first != name) ++j;
      const bool had = j < old.size();
      if (had && same_value(old[j].second, v)) {
        // Unchanged: its information is as old as before (another field's change does not make it newer).
        const auto* st = [&]() -> const attribute_state* {
          for (const auto& x : old_states)
            if (x.index == j) return &x;
          return nullptr;
        }();
        const std::int64_t t = old_as_of(j);
        if (t != rec.source_ts || (st && st->cleared))
          states.push_back(attribute_state{static_cast<std::uint32_t>(i), t, st && st->cleared});
        continue;
      }
      if (v.is_null_or_missing()) {
        // A value removed by this change is a clear, with this change's time; a null that never held a value
        // is just no value.
        if (had && !old[j].second.is_null_or_missing())
          states.push_back(attribute_state{static_cast<std::uint32_t>(i), 0, true});
        continue;
      }
      // Omnisync's own write coming back: its information is as old as the write's. If the record held a value
      // with newer information before (a person's edit that reached the vendor after omnisync computed the write
      // and before the write landed), that edit was overwritten by older information: it stays in force.
      if (const auto* w = written_value(key, name, v)) {
        states.push_back(attribute_state{static_cast<std::uint32_t>(i), w->at, false});
        if (had && !old[j].second.is_null_or_missing() && old_as_of(j) > w->at) {
          announced_value kept{name, old[j].second, old_as_of(j)};
          const auto& attribute = name;  // clang-14 (the fuzz build) cannot capture a structured binding
          auto held = std::find_if(rec.announced.begin(), rec.announced.end(),
                                   [&](const announced_value& x) { return x.attribute == attribute; });
          if (held == rec.announced.end()) rec.announced.push_back(std::move(kept));
          else if (held->at < kept.at) *held = std::move(kept);
        }
        continue;
      }
      // A new value equal to the profile's golden value held by another record is a copy of it (omnisync's own
      // write coming back, or a person typing the same): its information is the golden value's, not newer.
      bool copy = false;
      for (const auto& [gname, g] : gold) {
        if (gname != name) continue;
        if (!g.from.empty() && g.from.front().record != key && same_value(g.value, v) &&
            g.from.front().source_ts < rec.source_ts) {
          states.push_back(attribute_state{static_cast<std::uint32_t>(i), g.from.front().source_ts, false});
          copy = true;
        }
        break;
      }
      // A record omnisync created holds values copied from the profile when the create was computed; one that is
      // not the golden value now is older information than whatever replaced it (an edit read since), not a
      // change made at the record's creation time. (Its own system's edits before this read are announced by
      // their events.) This holds when the instance that sent the create died before noting it.
      if (!copy && created_by_us && !v.is_null_or_missing())
        states.push_back(attribute_state{static_cast<std::uint32_t>(i), 1, false});
    }
    rec.states = std::move(states);
    // Announced values stay while the record holds another value with older information.
    std::erase_if(rec.announced, [&](const announced_value& a) {
      auto i = rec.index_of(a.attribute);
      if (!i) return false;
      return same_value(rec.attrs[*i].second, a.value) || rec.as_of(*i) >= a.at;
    });
  }

  /// Facts as stored: {"t":{attr:ms},"c":[attr,...],"e":{attr:{"v":value,"t":ms}}} (attributes by name, so a
  /// mapping that adds or drops an attribute leaves the others right).
  static void read_facts(person_data& rec, std::string_view text) {
    if (text.empty()) return;
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    auto state_for = [&rec](std::size_t i) -> attribute_state& {
      for (auto& st : rec.states)
        if (st.index == i) return st;
      return rec.states.emplace_back(attribute_state{static_cast<std::uint32_t>(i), 0, false});
    };
    if (const auto* t = o.if_contains("t"); t && t->is_object())
      for (const auto& kv : t->as_object())
        if (auto i = rec.index_of(kv.key()); i && kv.value().is_int64()) state_for(*i).as_of = kv.value().as_int64();
    if (const auto* c = o.if_contains("c"); c && c->is_array())
      for (const auto& x : c->as_array())
        if (x.is_string())
          if (auto i = rec.index_of(x.as_string())) state_for(*i).cleared = true;
    if (const auto* e = o.if_contains("e"); e && e->is_object())
      for (const auto& kv : e->as_object()) {
        if (!kv.value().is_object()) continue;
        const auto* val = kv.value().as_object().if_contains("v");
        const auto* at = kv.value().as_object().if_contains("t");
        if (!val || !at || !at->is_int64()) continue;
        rec.announced.push_back(announced_value{std::string(kv.key()), from_json(*val), at->as_int64()});
      }
  }

  static std::string write_facts(const person_data& rec) {
    if (rec.states.empty() && rec.announced.empty()) return {};
    json::object o;
    json::object t;
    json::array c;
    for (const auto& st : rec.states) {
      if (st.index >= rec.attrs.size()) continue;
      if (st.as_of != 0) t[rec.attrs[st.index].first] = st.as_of;
      if (st.cleared) c.push_back(json::value(rec.attrs[st.index].first));
    }
    if (!t.empty()) o["t"] = std::move(t);
    if (!c.empty()) o["c"] = std::move(c);
    if (!rec.announced.empty()) {
      json::object e;
      for (const auto& a : rec.announced) e[a.attribute] = json::object{{"v", to_json(a.value)}, {"t", a.at}};
      o["e"] = std::move(e);
    }
    return o.empty() ? std::string() : json::serialize(o);
  }

  timeline events_of_profile(profile_id id, const settings& s) const {
    timeline t(s.kpis);
    auto e = events_by_profile.find(id.value);
    if (e == events_by_profile.end()) return t;
    for (const auto& subject : e->second) {
      auto in = interactions.find(subject);
      if (in == interactions.end() || in->second.deleted) continue;
      for (const auto& ev : in->second.events) t.add(ev);
    }
    return t;
  }
};

}  // namespace omnisync::profile
