#include "daemon/profile/book.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_set>

#include "daemon/profile/from_mapping.hpp"
#include "daemon/profile/value_json.hpp"
#include "mapping/plan_impl.hpp"

namespace omnisync::profile {
namespace json = boost::json;
using vkind = mapping::value::kind;

std::string record_key(std::string_view system, std::string_view object, std::string_view id) {
  std::string k;
  k.reserve(system.size() + object.size() + id.size() + 2);
  k.append(system).append(":").append(object).append(":").append(id);
  return k;
}

json::value to_json(const mapping::value& v) {
  switch (v.k) {
    case vkind::missing:
    case vkind::null: return nullptr;
    case vkind::boolean: return v.b;
    case vkind::integer: return v.i;
    case vkind::number: return v.d;
    case vkind::string: return json::string(v.s);
    case vkind::array: {
      json::array a;
      for (const auto& x : v.items) a.push_back(to_json(x));
      return a;
    }
    case vkind::object: {
      json::object o;
      for (std::size_t i = 0; i < v.items.size() && i < v.keys.size(); ++i) o[v.keys[i]] = to_json(v.items[i]);
      return o;
    }
  }
  return nullptr;
}

mapping::value from_json(const json::value& j) {
  mapping::value v;
  switch (j.kind()) {
    case json::kind::null: v.set_null(); break;
    case json::kind::bool_: v.set_bool(j.get_bool()); break;
    case json::kind::int64: v.set_int(j.get_int64()); break;
    case json::kind::uint64: v.set_int(static_cast<std::int64_t>(j.get_uint64())); break;
    case json::kind::double_: v.set_number(j.get_double()); break;
    case json::kind::string: v.set_string(std::string(j.get_string())); break;
    case json::kind::array:
      v.k = vkind::array;
      for (const auto& x : j.get_array()) v.items.push_back(from_json(x));
      break;
    case json::kind::object:
      v.k = vkind::object;
      for (const auto& kv : j.get_object()) {
        v.keys.emplace_back(kv.key());
        v.items.push_back(from_json(kv.value()));
      }
      break;
  }
  return v;
}

namespace {

/// Sets `a.b.c` in `root` as nested objects (what outbound mappings read as dotted paths).
void put_path(json::object& root, std::string_view path, json::value v) {
  json::object* at = &root;
  for (;;) {
    auto dot = path.find('.');
    if (dot == std::string_view::npos) {
      (*at)[path] = std::move(v);
      return;
    }
    auto& next = (*at)[path.substr(0, dot)];
    if (!next.is_object()) next = json::object();
    at = &next.as_object();
    path.remove_prefix(dot + 1);
  }
}

/// Two mapping values alike as JSON (numbers by value: 5 and 5.0 are the same).
bool same_value(const mapping::value& a, const mapping::value& b) {
  if (a.is_null_or_missing() || b.is_null_or_missing()) return a.is_null_or_missing() && b.is_null_or_missing();
  std::string x, y;
  mapping::append_json(x, a);
  mapping::append_json(y, b);
  return x == y;
}


/// A rough normal form for the index of interactions waiting for their person (the resolver decides the match).
std::string hint_key(std::string_view attribute, std::string_view value) {
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

}  // namespace

struct book::impl {
  explicit impl(const settings& s) : res(s.identity) {}

  struct person_rec {
    std::string system, object, id;
    std::int64_t first_seen = 0, source_ts = 0;
    bool deleted = false;
    bool person = false;  // has an e-mail or phone identity
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
  struct interaction {
    std::int64_t first_seen = 0, source_ts = 0;
    bool deleted = false;
    std::vector<event> events;
    std::vector<std::pair<std::string, std::string>> person;
    std::optional<std::uint64_t> attached;
  };

  resolver res;
  std::unordered_map<std::string, person_rec> people;
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

  std::vector<const person_rec*> member_recs(profile_id id) const {
    std::vector<const person_rec*> out;
    for (const auto& m : res.members(id)) {
      auto it = people.find(m.key());
      if (it != people.end()) out.push_back(&it->second);
    }
    return out;
  }

  std::vector<std::pair<std::string, golden_value>> golden(profile_id id, const settings& s) const {
    std::vector<attribute_source> sources;
    std::vector<std::string> keys;
    // Records with announced values take part with those values (and their times) in place of their own.
    std::vector<std::vector<std::pair<std::string, mapping::value>>> effective;
    std::vector<std::vector<attribute_state>> effective_states;
    const auto recs = member_recs(id);
    keys.reserve(recs.size());
    effective.reserve(recs.size());
    effective_states.reserve(recs.size());
    for (const auto* r : recs) {
      if (r->deleted) continue;
      keys.push_back(record_key(r->system, r->object, r->id));
      if (r->announced.empty()) {
        sources.push_back(attribute_source{r->system, keys.back(), r->source_ts, r->attrs, r->states});
        continue;
      }
      auto& attrs = effective.emplace_back(r->attrs);
      auto& states = effective_states.emplace_back(r->states);
      for (const auto& a : r->announced) {
        std::size_t i = 0;
        while (i < attrs.size() && attrs[i].first != a.attribute) ++i;
        if (i == attrs.size()) attrs.emplace_back(a.attribute, a.value);
        else attrs[i].second = a.value;
        std::erase_if(states, [i](const attribute_state& st) { return st.index == i; });
        states.push_back(attribute_state{static_cast<std::uint32_t>(i), a.at, false});
      }
      sources.push_back(attribute_source{r->system, keys.back(), r->source_ts, attrs, states});
    }
    // `keys` must not reallocate while `sources` views it.
    for (std::size_t i = 0; i < sources.size(); ++i) sources[i].record = keys[i];
    return golden_record(s.survivorship, sources);
  }

  /// The facts of a record arriving live (see book::facts): derived from its previous copy and from the golden
  /// values of its profile before the change.
  void derive_facts(person_rec& rec, const std::string& key, const std::vector<std::pair<std::string, mapping::value>>& old,
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
          auto held = std::find_if(rec.announced.begin(), rec.announced.end(),
                                   [&](const announced_value& x) { return x.attribute == name; });
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
  static void read_facts(person_rec& rec, std::string_view text) {
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

  static std::string write_facts(const person_rec& rec) {
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

book::book(std::shared_ptr<const settings> s) : impl_(std::make_unique<impl>(*s)), settings_(std::move(s)) {}
book::~book() = default;

void book::apply(const record_meta& r, const mapping::plan& p, const mapping::mapped_record* m,
                 std::set<profile_id>& affected) {
  auto key = record_key(r.system, r.object, r.id);
  auto& d = *impl_;
  if (!p.impl().events.empty()) {
    // An interaction: its events follow its person; it is not a person itself.
    auto [it, fresh] = d.interactions.try_emplace(key);
    auto& in = it->second;
    if (!fresh && r.source_ts < in.source_ts) return;  // an older copy (a page read before a webhook's change)
    if (fresh) in.first_seen = r.first_seen;
    in.source_ts = r.source_ts;
    in.deleted = r.deleted;
    if (!in.attached) d.unwait(key, in);  // indexed under its old person keys
    if (m && !r.deleted) {  // a deleted copy may carry only what the vendor keeps of it: the last events stay
      in.events = events_of(*m);
      for (auto& e : in.events) e.subject = key;
      in.person.clear();
      for (const auto& e : m->events)
        for (auto& kv : person_of(e).pairs)
          if (std::find(in.person.begin(), in.person.end(), kv) == in.person.end()) in.person.push_back(std::move(kv));
    }
    if (in.attached) affected.insert(profile_id{*in.attached});  // its events changed
    d.attach(key, affected);
    return;
  }
  if (!m || r.deleted) {
    // Deleted: marked, with its last content and links (what a vendor returns of a deleted record may carry
    // nothing but its id, which would unlink it from its profile and hide the deletion from that profile).
    auto it = d.people.find(key);
    if (it == d.people.end()) return;
    it->second.deleted = true;
    if (auto pid = d.res.profile_of(r.system, r.object, r.id)) affected.insert(*pid);
    return;
  }
  // As the store does: a copy older than the one held (a resync page read before a webhook's change) changes
  // nothing, or it would bring back values the source no longer has.
  if (auto held = d.people.find(key); held != d.people.end() && r.source_ts < held->second.source_ts) return;
  auto ident = identity_of(p, *m);
  if (ident.pairs.empty()) return;  // nothing to resolve by: not part of any profile
  const auto keys_now = ident.keys();
  // The golden values of the profile this record belongs to (or is about to join) before it changes: a new value
  // equal to one of them, held by another record, is a copy of it (derive_facts).
  std::vector<std::pair<std::string, golden_value>> before;
  std::optional<profile_id> joins;
  if (!r.replay) {
    joins = d.res.profile_of(r.system, r.object, r.id);
    if (!joins) joins = d.res.resolve(keys_now);
    if (joins) before = d.golden(*joins, *settings_);
  }
  auto& rec = d.people[key];
  // A record read for the first time that already holds the profile id of the profile it joins was created by
  // omnisync (only omnisync writes that id, and it writes it into records it links only after reading them).
  bool created_by_us = false;
  if (rec.system.empty() && joins)
    for (const auto& [name, v] : ident.pairs)
      if (name == "omnisync_id" && v == joins->str()) created_by_us = true;
  if (rec.system.empty()) {
    rec.system = std::string(r.system);
    rec.object = std::string(r.object);
    rec.id = std::string(r.id);
    rec.first_seen = r.first_seen;
    d.objects.emplace(rec.system, rec.object);
  }
  auto old_attrs = std::move(rec.attrs);
  auto old_states = std::move(rec.states);
  const auto old_ts = rec.source_ts;
  rec.source_ts = r.source_ts;
  rec.deleted = r.deleted;
  rec.attrs = attributes_of(p, *m);
  if (r.replay) {
    rec.states.clear();
    rec.announced.clear();
    impl::read_facts(rec, r.stored_facts);
  } else {
    d.derive_facts(rec, key, old_attrs, old_states, old_ts, before, created_by_us);
  }
  // A person is a record that carries an e-mail or a phone (book.hpp), not one whose mapping merely could: a
  // Contact with neither is linked by nothing but its own system's id, so a copy written elsewhere comes back as
  // a new, unlinked record that would be written back again — a loop creating records in every system.
  rec.person = std::any_of(ident.pairs.begin(), ident.pairs.end(),
                           [](const auto& kv) { return kv.first == "email" || kv.first == "phone"; });
  const auto& keys = keys_now;
  source_record src;
  src.system = r.system;
  src.object = r.object;
  src.id = r.id;
  src.first_seen = rec.first_seen;
  src.observed_at = r.source_ts;
  src.keys = keys;
  change ch;
  d.res.observe(src, &ch);
  d.after_change(ch, affected);
  d.wake_waiting(ident.pairs, affected);
}

void book::announce(std::string_view system, std::string_view object, std::string_view id,
                    std::span<const announced_value> values, std::set<profile_id>& affected) {
  auto it = impl_->people.find(record_key(system, object, id));
  if (it == impl_->people.end()) return;
  auto& rec = it->second;
  bool changed = false;
  for (const auto& a : values) {
    const auto i = rec.index_of(a.attribute);
    // Only news: a value the record does not hold already, newer than the information of the one it holds —
    // and not the event of omnisync's own write (its value is as old as the write's information).
    if (i && (same_value(rec.attrs[*i].second, a.value) || rec.as_of(*i) >= a.at)) continue;
    if (impl_->written_value(it->first, a.attribute, a.value)) continue;
    auto held = std::find_if(rec.announced.begin(), rec.announced.end(),
                             [&](const announced_value& x) { return x.attribute == a.attribute; });
    if (held != rec.announced.end()) {
      if (held->at >= a.at) continue;
      *held = a;
    } else {
      rec.announced.push_back(a);
    }
    changed = true;
  }
  if (changed)
    if (auto pid = impl_->res.profile_of(system, object, id)) affected.insert(*pid);
}

void book::note_written(std::string_view system, std::string_view object, std::string_view id,
                        std::span<const announced_value> values) {
  if (values.empty()) return;
  auto& d = *impl_;
  if (d.written.size() >= impl::written_cap) d.written.clear();  // bounded: forgetting only narrows the echo rule
  auto& list = d.written[record_key(system, object, id)];
  // Every value of the last few writes counts: the echo of an earlier write may be read after a later one was
  // sent (a poll between their arrivals).
  for (const auto& v : values) {
    std::erase_if(list, [&](const announced_value& x) { return x.attribute == v.attribute && same_value(x.value, v.value); });
    list.push_back(v);
    std::size_t same_attribute = 0;
    for (auto it = list.rbegin(); it != list.rend(); ++it)
      if (it->attribute == v.attribute && ++same_attribute > impl::written_per_attribute) {
        list.erase(std::next(it).base());
        break;
      }
  }
}

std::string book::facts(std::string_view system, std::string_view object, std::string_view id) const {
  auto it = impl_->people.find(record_key(system, object, id));
  return it == impl_->people.end() ? std::string() : impl::write_facts(it->second);
}

std::optional<golden_value> book::golden_of(profile_id id, std::string_view attribute) const {
  if (!impl_->res.contains(id)) return std::nullopt;
  for (auto& [a, g] : impl_->golden(id, *settings_))
    if (a == attribute) return std::move(g);
  return std::nullopt;
}

std::optional<std::int64_t> book::first_seen(std::string_view system, std::string_view object,
                                             std::string_view id) const {
  const auto key = record_key(system, object, id);
  if (auto it = impl_->people.find(key); it != impl_->people.end()) return it->second.first_seen;
  if (auto it = impl_->interactions.find(key); it != impl_->interactions.end()) return it->second.first_seen;
  return std::nullopt;
}

bool book::contains(profile_id id) const { return impl_->res.contains(id); }

std::vector<profile_id> book::profiles() const {
  std::vector<profile_id> out;
  std::unordered_set<std::uint64_t> seen;
  impl_->res.for_each_record([&](std::string_view, std::string_view, std::string_view, profile_id p) {
    if (seen.insert(p.value).second) out.push_back(p);
  });
  return out;
}

bool book::is_person(profile_id id) const {
  for (const auto* r : impl_->member_recs(id))
    if (r->person) return true;
  return false;
}

std::string book::canonical_json(profile_id id) const {
  json::object o;
  o["_profile_id"] = id.str();
  std::string stage;
  for (const auto& [attr, gv] : impl_->golden(id, *settings_)) {
    if (gv.value.is_missing()) continue;
    if (attr == "lifecycle_stage" && gv.value.k == vkind::string) stage = gv.value.s;
    put_path(o, attr, to_json(gv.value));
  }
  const auto k = impl_->events_of_profile(id, *settings_).values(stage);
  for (const auto& [attr, v] : k.to_attributes()) put_path(o, attr, to_json(v));
  if (settings_->on_delete == delete_policy::flag) {
    json::array gone;
    for (const auto* r : impl_->member_recs(id))
      if (r->deleted && std::find(gone.begin(), gone.end(), json::value(r->system)) == gone.end())
        gone.push_back(json::value(r->system));
    o["deleted_in"] = std::move(gone);
  }
  return json::serialize(o);
}

std::optional<std::string> book::record_json(std::string_view system, std::string_view object,
                                             std::string_view id) const {
  auto it = impl_->people.find(record_key(system, object, id));
  if (it == impl_->people.end()) return std::nullopt;
  json::object o;
  // The profile id the record holds is the one omnisync wrote there and read back (omnisync_id), not the id of
  // the profile it belongs to now: a record that never got it must not look as if it had.
  for (const auto& [attr, v] : it->second.attrs) {
    if (attr == "omnisync_id") {
      if (v.k == vkind::string) o["_profile_id"] = v.s;
      continue;
    }
    put_path(o, attr, to_json(v));
  }
  return json::serialize(o);
}

std::vector<std::string> book::gone_from(profile_id id) const {
  std::map<std::string_view, bool> live;  // system -> any live record
  for (const auto* r : impl_->member_recs(id)) live[r->system] = live[r->system] || !r->deleted;
  std::vector<std::string> out;
  for (const auto& [system, any] : live)
    if (!any) out.emplace_back(system);
  return out;
}

std::optional<std::string> book::match_risk(profile_id id, std::string_view value) const {
  return impl_->res.match_risk(id, value);
}

std::optional<std::string> book::member_id(profile_id id, std::string_view system, std::string_view object,
                                           bool* deleted) const {
  bool any_deleted = false;
  std::optional<std::string> live;
  for (const auto* r : impl_->member_recs(id)) {
    if (r->system != system || r->object != object) continue;
    if (r->deleted) any_deleted = true;
    else if (!live) live = r->id;
  }
  if (deleted) *deleted = !live && any_deleted;
  return live;
}

std::optional<profile_id> book::find(std::string_view q) const {
  const auto& d = *impl_;
  if (auto pid = profile_id::parse(q); pid && d.res.contains(*pid)) return pid;
  if (q.find('@') != std::string_view::npos) return d.res.find("email", q);
  if (auto c1 = q.find(':'); c1 != std::string_view::npos) {
    const auto system = q.substr(0, c1);
    auto rest = q.substr(c1 + 1);
    if (auto c2 = rest.find(':'); c2 != std::string_view::npos) {
      if (auto pid = d.res.profile_of(system, rest.substr(0, c2), rest.substr(c2 + 1))) return pid;
    }
    for (const auto& [s, o] : d.objects)
      if (s == system)
        if (auto pid = d.res.profile_of(s, o, rest)) return pid;
    return std::nullopt;
  }
  return d.res.find("phone", q);
}

std::optional<profile_view> book::view(profile_id id) const {
  if (!impl_->res.contains(id)) return std::nullopt;
  profile_view v;
  v.id = id;
  v.golden = impl_->golden(id, *settings_);
  std::string stage;
  for (const auto& [a, g] : v.golden)
    if (a == "lifecycle_stage" && g.value.k == vkind::string) stage = g.value.s;
  auto t = impl_->events_of_profile(id, *settings_);
  v.kpis = t.values(stage);
  v.timeline = t.events();
  for (const auto* r : impl_->member_recs(id))
    v.members.push_back(member_view{r->system, r->object, r->id, r->deleted, r->first_seen, r->source_ts});
  return v;
}

std::optional<explanation> book::explain(profile_id id) const { return impl_->res.explain(id); }

bool book::split(const link_ref& link, std::set<profile_id>& affected) {
  auto ch = impl_->res.split(link);
  if (!ch) return false;
  impl_->after_change(*ch, affected);
  // The profile id omnisync wrote into the record would hold it in the profile all the same: splitting any of a
  // record's identifiers splits that link too (the record then gets its new profile's id written).
  if (link.attribute != "omnisync_id")
    if (auto it = impl_->people.find(link.record.key()); it != impl_->people.end())
      if (auto i = it->second.index_of("omnisync_id"); i && it->second.attrs[*i].second.k == vkind::string) {
        link_ref id_link{link.record, "omnisync_id", it->second.attrs[*i].second.s};
        if (auto ch2 = impl_->res.split(id_link)) impl_->after_change(*ch2, affected);
      }
  return true;
}

bool book::restore(const link_ref& link, std::set<profile_id>& affected) {
  auto ch = impl_->res.restore(link);
  if (!ch) return false;
  impl_->after_change(*ch, affected);
  if (link.attribute != "omnisync_id")
    for (const auto& l : impl_->res.splits())
      if (l.record == link.record && l.attribute == "omnisync_id")
        if (auto ch2 = impl_->res.restore(l)) impl_->after_change(*ch2, affected);
  return true;
}

bool book::preload_split(const link_ref& link) { return impl_->res.preload_split(link); }
std::vector<link_ref> book::splits() const { return impl_->res.splits(); }

book_stats book::stats() const {
  book_stats s;
  s.profiles = impl_->res.profile_count();
  s.records = impl_->people.size();
  s.interaction_records = impl_->interactions.size();
  for (const auto& [k, in] : impl_->interactions) {
    s.events += in.events.size();
    if (!in.attached && !in.events.empty() && !in.deleted) ++s.unattached_interactions;
  }
  s.merges = impl_->merges;
  return s;
}

}  // namespace omnisync::profile
