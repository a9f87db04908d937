#include "daemon/profile/propagation.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/profile/value_json.hpp"

namespace omnisync::profile {
namespace json = boost::json;
namespace {

agreement compare_value(const json::value& write, const json::value& there, std::string& field) {
  if (write.is_object() && there.is_object()) {
    agreement worst = agreement::holds;
    for (const auto& kv : write.as_object()) {
      const auto* other = there.as_object().if_contains(kv.key());
      if (!other) {
        if (!kv.value().is_null()) worst = agreement::unknown;
        continue;
      }
      const auto a = compare_value(kv.value(), *other, field);
      if (a == agreement::differs) {
        field.insert(0, field.empty() ? std::string(kv.key()) : std::string(kv.key()) + ".");
        return a;
      }
      if (a == agreement::unknown) worst = a;
    }
    return worst;
  }
  if (write.is_number() && there.is_number())
    return write.to_number<double>() == there.to_number<double>() ? agreement::holds : agreement::differs;
  return write == there ? agreement::holds : agreement::differs;
}

/// Applies outbound plan `p` to a canonical record: the write, or nullopt when the destination's required fields
/// (e.g. the upsert key) are missing — that is a subscription filter, not a failure.
std::optional<planned_write> outbound(mapping::evaluator_cache& evals, const std::shared_ptr<const mapping::plan>& p,
                                      const std::string& connector, const std::string& canonical) {
  auto& ev = evals.get(p);
  mapping::record_error err;
  const mapping::mapped_record* o = ev.apply(canonical, err);
  if (!o) return std::nullopt;
  std::string key;
  const auto targets = p->targets();
  for (std::size_t i = 0; i < targets.size() && i < o->fields.size(); ++i) {
    if (targets[i] != p->upsert_key()) continue;
    const auto& v = o->fields[i];
    if (v.k == mapping::value::kind::string) key = v.s;
    else if (v.k == mapping::value::kind::integer) key = std::to_string(v.i);
  }
  if (key.empty()) return std::nullopt;
  planned_write w;
  w.connector = connector;
  w.object = p->object();
  w.record_key = std::move(key);
  o->append_json(*p, w.payload);
  return w;
}

/// The write that deletes a destination record: payload `null` (the record's desired state: absent), by its id.
/// Its key is the one the record's writes use, so it replaces a pending update of it.
planned_write deletion(mapping::evaluator_cache& evals, const std::shared_ptr<const mapping::plan>& p,
                       const std::string& connector, const std::string& canonical, const std::string& target) {
  auto w = outbound(evals, p, connector, canonical);
  planned_write d;
  d.connector = connector;
  d.object = p->object();
  d.record_key = w ? w->record_key : target;
  d.payload = std::string(deleted_payload);
  d.target_id = target;
  return d;
}

/// Leaf members of a JSON object by dotted path ({"a":{"b":1}} -> a.b = 1); objects are descended, arrays are
/// leaves.
void flatten(const json::object& o, const std::string& prefix, std::vector<std::pair<std::string, const json::value*>>& out) {
  for (const auto& kv : o) {
    std::string path = prefix.empty() ? std::string(kv.key()) : prefix + "." + std::string(kv.key());
    if (kv.value().is_object() && !kv.value().as_object().empty()) flatten(kv.value().as_object(), path, out);
    else out.emplace_back(std::move(path), &kv.value());
  }
}

const json::value* at_path(const json::object& o, std::string_view path) {
  const json::object* at = &o;
  for (;;) {
    auto dot = path.find('.');
    const auto* v = at->if_contains(path.substr(0, dot));
    if (!v) return nullptr;
    if (dot == std::string_view::npos) return v;
    if (!v->is_object()) return nullptr;
    at = &v->as_object();
    path.remove_prefix(dot + 1);
  }
}

bool same_json(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : json::object();
}

std::size_t record_hash(const planned_write& w) {
  std::string k;
  k.reserve(w.connector.size() + w.object.size() + w.target_id.size() + 2);
  k.append(w.connector).append(1, '\0').append(w.object).append(1, '\0').append(w.target_id);
  return std::hash<std::string>{}(k);
}

/// The key of one field of one destination record: what the per-field memories are kept under.
std::size_t field_key(const planned_write& w, std::string_view field) {
  return record_hash(w) ^ (std::hash<std::string_view>{}(field) * 0x9e3779b97f4a7c15ull);
}

}  // namespace

agreement compare(const std::string& write, const std::string& there, std::string& field) {
  boost::system::error_code e1, e2;
  auto a = json::parse(write, e1);
  auto b = json::parse(there, e2);
  if (e1 || e2) return agreement::unknown;
  return compare_value(a, b, field);
}

std::vector<planned_write> propagator::writes(const book& b,
                                              const std::vector<std::shared_ptr<const mapping::plan>>& plans,
                                              const std::vector<destination>& destinations,
                                              const std::set<profile_id>& affected, mapping::evaluator_cache& evals,
                                              const destination* only, std::string_view only_object) {
  std::vector<planned_write> out;
  // The (outbound plan, destination) pairs a profile can be written to. None (no destination takes writes, as in
  // a read-only resync): nothing to compute — the golden record of each affected profile is not built at all.
  std::vector<std::pair<const std::shared_ptr<const mapping::plan>*, const destination*>> pairs;
  for (const auto& p : plans) {
    if (p->direction() != mapping::direction::outbound) continue;
    for (const auto& dst : destinations) {
      if (dst.kind != p->system()) continue;
      if (only && (dst.connector != only->connector || p->object() != only_object)) continue;
      pairs.emplace_back(&p, &dst);
    }
  }
  if (pairs.empty()) return out;
  const bool cascade_deletes = b.config().on_delete == delete_policy::remove;
  for (const auto& pid : affected) {
    if (!b.contains(pid) || !b.is_person(pid)) continue;
    const std::string canonical = b.canonical_json(pid);
    // `deletes: delete`: a person deleted from one system is deleted from the others (their live records).
    const bool gone = cascade_deletes && !b.gone_from(pid).empty();
    for (const auto& [pp, dp] : pairs) {
      const auto& p = *pp;
      const auto& dst = *dp;
      bool deleted = false;
      auto target = b.member_id(pid, dst.connector, p->object(), &deleted);
      if (deleted) continue;
      if (gone) {
        if (target) out.push_back(deletion(evals, p, dst.connector, canonical, *target));
        continue;
      }
      // Creating a record: wait until the destination was read once (it is then propagated again).
      if (!target && dst.may_create && !dst.may_create(p->object())) continue;
      auto w = outbound(evals, p, dst.connector, canonical);
      if (!w) continue;
      if (!target && withhold_create(b, pid, dst, *w)) continue;
      if (target) {
        w->target_id = *target;
        if (auto self = b.record_json(dst.connector, p->object(), *target)) {
          auto now_there = outbound(evals, p, dst.connector, *self);
          std::string field;
          const auto a = now_there ? compare(w->payload, now_there->payload, field) : agreement::unknown;
          if (a != agreement::differs) forget_correction(*w);  // agrees with everything it reads back
          if (a == agreement::holds) continue;                   // nothing to change there
          // Changed there since our last write (the owner rule overrules it, or the golden value is another):
          // written even if equal to what was last written — once per payload.
          if (a == agreement::differs) {
            w->force = first_correction(*w);
            spdlog::debug("{}: {} {} holds another {} than the profile{}", w->connector, w->object, w->target_id,
                          field, w->force ? "" : " (corrected once already: left as it is)");
          }
        }
      }
      out.push_back(std::move(*w));
    }
  }
  return out;
}

std::optional<computed_write> propagator::compute(const book& b,
                                                  const std::vector<std::shared_ptr<const mapping::plan>>& plans,
                                                  const destination& dst, profile_id pid, std::string_view object,
                                                  std::string_view queued_target, std::string_view last_written,
                                                  mapping::evaluator_cache& evals, bool preview) {
  const null_policy nulls = dst.nulls;
  std::shared_ptr<const mapping::plan> p;
  for (const auto& x : plans)
    if (x->direction() == mapping::direction::outbound && x->system() == dst.kind && x->object() == object) p = x;
  if (!p || !b.contains(pid) || !b.is_person(pid)) return std::nullopt;
  bool deleted = false;
  const auto target = b.member_id(pid, dst.connector, object, &deleted);
  if (deleted) return std::nullopt;
  // The entry was queued for a record that no longer belongs to this profile (a split, a merge elsewhere): the
  // profile that holds it now queues its own writes.
  if (!queued_target.empty() && target != queued_target) return std::nullopt;
  const std::string canonical = b.canonical_json(pid);
  if (b.config().on_delete == delete_policy::remove && !b.gone_from(pid).empty()) {
    if (!target) return std::nullopt;
    computed_write out;
    out.what = computed_write::kind::remove;
    out.write = deletion(evals, p, dst.connector, canonical, *target);
    out.full_payload = std::string(deleted_payload);
    return out;
  }
  auto w = outbound(evals, p, dst.connector, canonical);
  if (!w) return std::nullopt;
  const json::object desired = parse_object(w->payload);
  std::vector<std::pair<std::string, const json::value*>> fields;
  flatten(desired, "", fields);

  // Why each field has its value: the golden value of the attribute it comes from.
  auto explain = [&](field_change& fc) {
    const auto sources = p->sources_of(fc.field);
    if (sources.empty()) {
      fc.rule = "constant";
      return;
    }
    fc.attribute = sources.front();
    if (fc.attribute == "_profile_id") {
      fc.rule = "profile id";
      return;
    }
    if (auto g = b.golden_of(pid, fc.attribute); g && !g->from.empty()) {
      fc.rule = g->decided_by;
      fc.source = g->from.front().record;
      fc.source_ts = g->from.front().source_ts;
      fc.golden = std::move(g->value);
    } else {
      fc.rule = "kpi";
    }
  };
  // A null is written only as the destination's policy allows (a missing golden value never is).
  auto null_allowed = [&](const std::string& field) {
    if (nulls == null_policy::always) return true;
    if (nulls == null_policy::never) return false;
    for (const auto& a : p->sources_of(field))
      if (auto g = b.golden_of(pid, a); g && g->cleared) return true;
    return false;
  };

  // sync.fields: a field made of attributes the destination may not receive is left out (the profile id and
  // constants always go).
  auto allowed = [&](const std::string& field) {
    if (!dst.may_receive) return true;
    for (const auto& a : p->sources_of(field))
      if (a != "_profile_id" && !dst.may_receive(a)) return false;
    return true;
  };
  computed_write out;
  if (!target) {
    // A create: the whole record, by upsert key — only once the destination was read to the end, and never
    // through an upsert value another person's record there could match.
    if (dst.may_create && !dst.may_create(object)) return std::nullopt;
    if (withhold_create(b, pid, dst, *w)) return std::nullopt;
    json::object body;
    for (const auto& [field, v] : fields) {
      if (v->is_null() || !allowed(field)) continue;  // nothing there to clear; not for this destination
      put_path(body, field, *v);
      field_change fc;
      fc.field = field;
      fc.after = json::serialize(*v);
      explain(fc);
      out.changes.push_back(std::move(fc));
    }
    // Created with exactly this content already and not read back yet (no id links it): nothing new to send.
    if (!last_written.empty() && same_json(json::value(parse_object(last_written)), json::value(body))) return std::nullopt;
    out.what = computed_write::kind::create;
    out.write = *w;
    out.write.payload = json::serialize(body);
    out.full_payload = out.write.payload;
    return out;
  }

  // An update by id: only the fields that differ from what the destination holds.
  const json::object last = parse_object(last_written);
  json::object there;
  if (auto self = b.record_json(dst.connector, object, *target)) {
    // A record that holds no profile id yet is read back through the mapping with a placeholder (the field is
    // required), and the fields made of it are then taken as not read back.
    json::object view = parse_object(*self);
    const bool has_id = view.contains("_profile_id");
    if (!has_id) view["_profile_id"] = "-";
    if (auto now_there = outbound(evals, p, dst.connector, json::serialize(view))) {
      there = parse_object(now_there->payload);
      if (!has_id)
        for (const auto& t : p->targets()) {
          const auto src = p->sources_of(t);
          if (src.size() == 1 && src.front() == "_profile_id") there.erase(t);
        }
    }
  }
  json::object body, full = last;
  w->target_id = *target;
  const std::int64_t version = b.record_modified(dst.connector, object, *target).value_or(0);
  // Fields by which the vendor tells records apart (Zendesk's email): a value another person's record holds is
  // not written here — the vendor would refuse it, or two people would share it.
  const auto unique_fields = dst.upsert_matches ? dst.upsert_matches(object) : std::vector<std::string>{};
  auto taken = [&](const std::string& field, const json::value& v) {
    if (!v.is_string() || std::find(unique_fields.begin(), unique_fields.end(), field) == unique_fields.end())
      return false;
    auto why = b.match_risk(pid, v.as_string());
    if (why && !preview)
      spdlog::debug("{}: {} {}: {} \"{}\" not written: {}", dst.connector, object, *target, field,
                    std::string(v.as_string()), *why);
    return why.has_value();
  };
  for (const auto& [field, v] : fields) {
    if (!allowed(field)) continue;
    const json::value* read_back = at_path(there, field);
    const json::value* was_written = at_path(last, field);
    const json::value* holds = read_back ? read_back : was_written;
    if (holds && same_json(*holds, *v)) {
      if (!preview) forget_repeat(*w, field);
      put_path(full, field, *v);
      continue;
    }
    if (v->is_null() && (!holds || holds->is_null() || !null_allowed(field))) continue;
    if (taken(field, *v)) continue;
    const std::string value_text = json::serialize(*v);
    // What the stored copy holds, and which version of the record it is (a re-read of the same value in a newer
    // version is a change made there, e.g. a person undoing the write).
    const std::string read_text = read_back ? json::serialize(*read_back) + "@" + std::to_string(version) : std::string();
    if (read_back && was_written && same_json(*was_written, *v)) {
      // The value we last wrote here, again. While the stored copy still holds what that write replaced, the
      // record was not read since (the write's echo is on its way): nothing to correct. Otherwise the
      // destination keeps another value: corrected once per value.
      if (still_replaced(*w, field, read_text)) continue;
      if (!(preview ? !repeated(*w, field, value_text) : first_repeat(*w, field, value_text))) continue;
    }
    if (read_back && !preview) note_replaced(*w, field, read_text);
    put_path(body, field, *v);
    put_path(full, field, *v);
    field_change fc;
    fc.field = field;
    fc.before = holds ? json::serialize(*holds) : std::string();
    fc.after = value_text;
    explain(fc);
    out.changes.push_back(std::move(fc));
  }
  if (out.changes.empty()) return std::nullopt;
  out.what = computed_write::kind::update;
  out.write = *w;
  out.write.payload = json::serialize(body);
  out.full_payload = json::serialize(full);
  return out;
}

bool propagator::first_repeat(const planned_write& w, std::string_view field, std::string_view value) {
  const auto h = std::hash<std::string_view>{}(value);
  const auto k = field_key(w, field);
  auto it = field_memory_.find(k);
  if (it == field_memory_.end()) {
    if (field_memory_.size() >= memory_cap) field_memory_.clear();  // forgetting only allows one early write
    it = field_memory_.emplace(k, field_memory{}).first;
  }
  if (it->second.repeated == h) return false;
  it->second.repeated = h;
  return true;
}

bool propagator::repeated(const planned_write& w, std::string_view field, std::string_view value) const {
  auto it = field_memory_.find(field_key(w, field));
  return it != field_memory_.end() && it->second.repeated == std::hash<std::string_view>{}(value);
}

void propagator::forget_repeat(const planned_write& w, std::string_view field) {
  if (!field_memory_.empty()) field_memory_.erase(field_key(w, field));
}

void propagator::note_replaced(const planned_write& w, std::string_view field, std::string_view replaced) {
  const auto k = field_key(w, field);
  auto it = field_memory_.find(k);
  if (it == field_memory_.end()) {
    if (field_memory_.size() >= memory_cap) field_memory_.clear();  // forgetting only allows one early correction
    it = field_memory_.emplace(k, field_memory{}).first;
  }
  it->second.replaced = std::hash<std::string_view>{}(replaced);
}

bool propagator::still_replaced(const planned_write& w, std::string_view field, std::string_view read_back) const {
  auto it = field_memory_.find(field_key(w, field));
  return it != field_memory_.end() && it->second.replaced == std::hash<std::string_view>{}(read_back);
}

bool propagator::first_correction(const planned_write& w) {
  const auto k = record_hash(w);
  const auto h = std::hash<std::string>{}(w.payload);
  auto it = forced_.find(k);
  if (it != forced_.end()) {
    if (it->second == h) return false;
    it->second = h;
    return true;
  }
  if (forced_.size() >= memory_cap) forced_.clear();
  forced_.emplace(k, h);
  return true;
}

void propagator::forget_correction(const planned_write& w) { forced_.erase(record_hash(w)); }

std::map<std::string, std::uint64_t> propagator::withheld_reasons() const {
  std::lock_guard lk(withheld_mu_);
  return withheld_by_reason_;
}

bool propagator::withhold_create(const book& b, profile_id pid, const destination& dst, const planned_write& w) {
  std::vector<std::string> values{w.record_key};
  const auto fields = dst.upsert_matches ? dst.upsert_matches(w.object) : std::vector<std::string>{};
  if (!fields.empty()) {
    boost::system::error_code ec;
    auto v = json::parse(w.payload, ec);
    if (!ec && v.is_object())
      for (const auto& f : fields)
        if (const auto* x = v.as_object().if_contains(f); x && x->is_string()) values.emplace_back(x->as_string());
  }
  for (const auto& value : values) {
    auto why = b.match_risk(pid, value);
    if (!why) continue;
    ++withheld_creates_;
    if (withheld_logged_.size() > memory_cap) withheld_logged_.clear();
    if (!withheld_logged_.insert(std::hash<std::string>{}(pid.str() + '\0' + w.connector + '\0' + w.object)).second)
      return true;  // this profile and destination were counted and summarised already
    // One line per destination and reason a minute, with the count (a first start against overlapping data
    // withholds many); the reason without the record it names, so that equal reasons add up.
    const std::string reason = why->substr(0, why->find(" ("));
    const std::string key = w.connector + "/" + w.object + ": " + reason;
    {
      std::lock_guard lk(withheld_mu_);
      if (withheld_by_reason_.size() < 1000 || withheld_by_reason_.contains(key)) ++withheld_by_reason_[key];
    }
    if (const auto n = withheld_log_.admit(key))
      spdlog::warn("{}: {} profile(s) not created in {}: the upsert would match on a value where {} (e.g. profile {}: "
                   "\"{}\" — {}); counts per reason in omnisyncctl status",
                   w.connector, *n, w.object, reason, pid.str(), value, *why);
    return true;
  }
  return false;
}

}  // namespace omnisync::profile
