// The profile book taking records in: apply, announcements, omnisync's own writes, the facts stored with each
// record (book.hpp; its state is book_impl.hpp, its answers book_queries.cpp).
#include "daemon/profile/book.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_set>

#include "daemon/profile/book_impl.hpp"
#include "daemon/profile/from_mapping.hpp"
#include "daemon/profile/value_json.hpp"
#include "mapping/plan_impl.hpp"

namespace omnisync::profile {

std::string record_key(std::string_view system, std::string_view object, std::string_view id) {
  std::string k;
  k.reserve(system.size() + object.size() + id.size() + 2);
  k.append(system).append(":").append(object).append(":").append(id);
  return k;
}

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
    auto* held = d.find_person(r.system, r.object, r.id);
    if (!held) return;
    held->deleted = true;
    if (auto pid = d.res.profile_of(r.system, r.object, r.id)) affected.insert(*pid);
    return;
  }
  // As the store does: a copy older than the one held (a resync page read before a webhook's change) changes
  // nothing, or it would bring back values the source no longer has.
  const auto* held = d.find_person(r.system, r.object, r.id);
  if (held && r.source_ts < held->source_ts) return;
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
  // A record read for the first time that already holds the profile id of the profile it joins was created by
  // omnisync (only omnisync writes that id, and it writes it into records it links only after reading them).
  bool created_by_us = false;
  if (!held && joins)
    for (const auto& [name, v] : ident.pairs)
      if (name == "omnisync_id" && v == joins->str()) created_by_us = true;
  // The record is decoded, changed and packed again (book_impl.hpp, person_rec).
  impl::person_data old = held ? d.load(*held) : impl::person_data{};
  impl::person_data now;
  now.source_ts = r.source_ts;
  now.attrs = attributes_of(p, *m);
  if (r.replay) {
    impl::read_facts(now, r.stored_facts);
  } else {
    now.announced = std::move(old.announced);
    d.derive_facts(now, key, old.attrs, old.states, old.source_ts, before, created_by_us);
  }
  const std::int64_t first_seen = held ? d.first_seen(r.system, r.object, r.id) : r.first_seen;
  source_record src;
  src.system = r.system;
  src.object = r.object;
  src.id = r.id;
  src.first_seen = first_seen;
  src.observed_at = r.source_ts;
  src.keys = keys_now;
  change ch;
  d.res.observe(src, &ch);
  if (auto* slot = d.slot_for(r.system, r.object, r.id)) {
    auto& rec = *slot;
    if (!rec.present) {
      rec.present = true;
      ++d.people_count;
      d.objects.emplace(std::string(r.system), std::string(r.object));
    }
    rec.source_ts = r.source_ts;
    rec.deleted = r.deleted;
    d.packed_bytes -= d.codec.size(rec.attrs);
    d.codec.release(rec.attrs);  // its block is reused by the next of its size (often this record's new one)
    rec.attrs = d.codec.encode(now.attrs);
    d.packed_bytes += d.codec.size(rec.attrs);
    d.store_facts(rec, std::move(now.states), std::move(now.announced));
    // A person is a record that carries an e-mail or a phone (book.hpp), not one whose mapping merely could: a
    // Contact with neither is linked by nothing but its own system's id, so a copy written elsewhere comes back
    // as a new, unlinked record that would be written back again — a loop creating records in every system.
    rec.person = std::any_of(ident.pairs.begin(), ident.pairs.end(),
                             [](const auto& kv) { return kv.first == "email" || kv.first == "phone"; });
  }
  d.after_change(ch, affected);
  d.wake_waiting(ident.pairs, affected);
}

void book::announce(std::string_view system, std::string_view object, std::string_view id,
                    std::span<const announced_value> values, std::set<profile_id>& affected) {
  const auto key = record_key(system, object, id);
  auto* stored = impl_->find_person(system, object, id);
  if (!stored) return;
  auto rec = impl_->load(*stored);
  bool changed = false;
  for (const auto& a : values) {
    const auto i = rec.index_of(a.attribute);
    // Only news: a value the record does not hold already, newer than the information of the one it holds —
    // and not the event of omnisync's own write (its value is as old as the write's information).
    if (i && (same_value(rec.attrs[*i].second, a.value) || rec.as_of(*i) >= a.at)) continue;
    if (impl_->written_value(key, a.attribute, a.value)) continue;
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
  if (!changed) return;
  impl_->store_facts(*stored, std::move(rec.states), std::move(rec.announced));
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
  const auto* r = impl_->find_person(system, object, id);
  return r ? impl::write_facts(impl_->load(*r)) : std::string();
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
  if (impl_->find_person(system, object, id)) return impl_->first_seen(system, object, id);
  if (auto it = impl_->interactions.find(key); it != impl_->interactions.end()) return it->second.first_seen;
  return std::nullopt;
}

}  // namespace omnisync::profile
