// The profile book's answers: canonical records, members, match risks, lookups, views, splits and statistics
// (book.hpp; its state is book_impl.hpp).
#include <unordered_set>

#include "daemon/profile/book.hpp"
#include "daemon/profile/book_impl.hpp"

namespace omnisync::profile {
namespace {

/// The stage the source systems report, for the lifecycle rules: the golden `source_stage`. A golden
/// `lifecycle_stage` is omnisync's own stage read back from a field it writes (Salesforce's Lifecycle_Stage__c):
/// kept for the write diff (propagation reads records back through their mappings), never an input of the rules,
/// which would otherwise feed the computed stage back into itself.
template <class Golden>
std::string source_stage_of(const Golden& golden) {
  for (const auto& [attr, gv] : golden)
    if (attr == "source_stage" && gv.value.k == vkind::string) return gv.value.s;
  return {};
}

}  // namespace

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
  for (const auto& m : impl_->member_recs(id))
    if (m.rec->person) return true;
  return false;
}

void book::canonical_record(profile_id id, json::object& o) const {
  o.clear();
  o["_profile_id"] = id.str();
  const auto golden = impl_->golden(id, *settings_);
  for (const auto& [attr, gv] : golden) {
    // lifecycle_stage is omnisync's computed stage (below), one value wherever it is written.
    if (gv.value.is_missing() || attr == "lifecycle_stage") continue;
    put_path(o, attr, to_json(gv.value));
  }
  const auto k = impl_->events_of_profile(id, *settings_).values(source_stage_of(golden));
  for (const auto& [attr, v] : k.to_attributes()) put_path(o, attr, to_json(v));
  if (settings_->on_delete == delete_policy::flag) {
    json::array gone;
    for (const auto& m : impl_->member_recs(id))
      if (m.rec->deleted && std::find(gone.begin(), gone.end(), json::value(m.ref.system)) == gone.end())
        gone.push_back(json::value(m.ref.system));
    o["deleted_in"] = std::move(gone);
  }
}

std::string book::canonical_json(profile_id id) const {
  json::object o;
  canonical_record(id, o);
  return json::serialize(o);
}

std::optional<std::int64_t> book::record_modified(std::string_view system, std::string_view object,
                                                 std::string_view id) const {
  const auto* r = impl_->find_person(system, object, id);
  if (!r) return std::nullopt;
  return r->source_ts;
}

std::optional<std::string> book::record_json(std::string_view system, std::string_view object,
                                             std::string_view id) const {
  const auto* r = impl_->find_person(system, object, id);
  if (!r) return std::nullopt;
  json::object o;
  // The profile id the record holds is the one omnisync wrote there and read back (omnisync_id), not the id of
  // the profile it belongs to now: a record that never got it must not look as if it had.
  for (const auto& [attr, v] : impl_->codec.decode(r->attrs)) {
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
  const auto members = impl_->member_recs(id);
  for (const auto& m : members) live[m.ref.system] = live[m.ref.system] || !m.rec->deleted;
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
  for (const auto& m : impl_->member_recs(id)) {
    if (m.ref.system != system || m.ref.object != object) continue;
    if (m.rec->deleted) any_deleted = true;
    else if (!live) live = m.ref.id;
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
  const std::string stage = source_stage_of(v.golden);
  // One stage in the view: the computed one among the KPIs (a golden lifecycle_stage is only omnisync's stage
  // read back from a destination, not a second stage).
  std::erase_if(v.golden, [](const auto& g) { return g.first == "lifecycle_stage"; });
  auto t = impl_->events_of_profile(id, *settings_);
  v.kpis = t.values(stage);
  v.timeline = t.events();
  for (const auto& m : impl_->member_recs(id))
    v.members.push_back(member_view{m.ref.system, m.ref.object, m.ref.id, m.rec->deleted,
                                    impl_->first_seen(m.ref.system, m.ref.object, m.ref.id), m.rec->source_ts});
  return v;
}

std::optional<kpi_values> book::kpis(profile_id id) const {
  if (!impl_->res.contains(id)) return std::nullopt;
  const auto golden = impl_->golden(id, *settings_);
  return impl_->events_of_profile(id, *settings_).values(source_stage_of(golden));
}

std::optional<explanation> book::explain(profile_id id) const { return impl_->res.explain(id); }

bool book::split(const link_ref& link, std::set<profile_id>& affected) {
  auto ch = impl_->res.split(link);
  if (!ch) return false;
  impl_->after_change(*ch, affected);
  // The profile id omnisync wrote into the record would hold it in the profile all the same: splitting any of a
  // record's identifiers splits that link too (the record then gets its new profile's id written).
  if (link.attribute != "omnisync_id")
    if (const auto* r = impl_->find_person(link.record.system, link.record.object, link.record.id))
      if (auto data = impl_->load(*r); auto i = data.index_of("omnisync_id"))
        if (data.attrs[*i].second.k == vkind::string) {
          link_ref id_link{link.record, "omnisync_id", data.attrs[*i].second.s};
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
  s.records = impl_->people_count;
  s.interaction_records = impl_->interactions.size();
  for (const auto& [k, in] : impl_->interactions) {
    s.events += in.events.size();
    if (!in.attached && !in.events.empty() && !in.deleted) ++s.unattached_interactions;
  }
  s.merges = impl_->merges;
  for (auto& [name, bytes] : impl_->res.stats().memory_parts) s.memory_parts.emplace_back("identity graph: " + name, bytes);
  // The facts map's slots hold the key and the facts' two vectors (their elements are counted nowhere: few
  // records have facts).
  s.memory_parts.emplace_back("book: person table", impl_->people.memory_bytes() +
                                                         impl_->facts.bucket_count() *
                                                             (sizeof(const void*) + sizeof(impl::person_facts) + 1));
  s.memory_parts.emplace_back("book: packed attributes", impl_->packed_bytes);
  // The arena's chunks less the blocks' own bytes: rounding to 8, released blocks not yet reused, the open
  // chunk's tail.
  s.memory_parts.emplace_back("book: arena overhead of packed blocks",
                              impl_->codec.arena_bytes() - std::min(impl_->codec.arena_bytes(), impl_->packed_bytes));
  s.memory_parts.emplace_back("book: codec tables", impl_->codec.memory_bytes());

  return s;
}

}  // namespace omnisync::profile
