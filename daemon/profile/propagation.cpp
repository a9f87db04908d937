#include "daemon/profile/propagation.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

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

std::size_t record_hash(const planned_write& w) {
  std::string k;
  k.reserve(w.connector.size() + w.object.size() + w.target_id.size() + 2);
  k.append(w.connector).append(1, '\0').append(w.object).append(1, '\0').append(w.target_id);
  return std::hash<std::string>{}(k);
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
  const bool cascade_deletes = b.config().on_delete == delete_policy::remove;
  for (const auto& pid : affected) {
    if (!b.contains(pid) || !b.is_person(pid)) continue;
    const std::string canonical = b.canonical_json(pid);
    // `deletes: delete`: a person deleted from one system is deleted from the others (their live records).
    const bool gone = cascade_deletes && !b.gone_from(pid).empty();
    for (const auto& p : plans) {
      if (p->direction() != mapping::direction::outbound) continue;
      for (const auto& dst : destinations) {
        if (dst.kind != p->system()) continue;
        if (only && (dst.connector != only->connector || p->object() != only_object)) continue;
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
  }
  return out;
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
    if (withheld_logged_.insert(std::hash<std::string>{}(pid.str() + '\0' + w.connector + '\0' + w.object)).second)
      spdlog::warn("{}: profile {} not created in {}: its upsert would match on \"{}\" and {}", w.connector,
                   pid.str(), w.object, value, *why);
    return true;
  }
  return false;
}

}  // namespace omnisync::profile
