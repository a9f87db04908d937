// The Zendesk connector's parse_event: a stored webhook event (event-subscribed `zen:event-type:...` bodies, or a
// trigger's custom body) → deleted records and (object, id) pairs to refetch. Verification happened before
// storing (webhook.cpp).
#include <boost/json.hpp>

#include <algorithm>

#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/connector_impl.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::zendesk {

namespace {

/// What a user event says a field became, and when (`time`, to the second): evidence beside the user read now,
/// which may hold a stale value written after the change. The `event` object carries the new value as `current`
/// (a name, an external id; an identity's value for identity events); the field is the one the event type names,
/// or `event.field` where the sender names it. `detail` is not used: it is a snapshot of every field, and a field
/// the event did not change would look as new as the change.
void announce(const json::value& v, const std::string& action, const std::string& id, event_records& out) {
  const auto* ev = v.get_object().if_contains("event");
  if (!ev || !ev->is_object()) return;
  const auto when = parse_vendor_time(rest::member_text(v, "time"));
  if (!when) return;
  const auto& e = ev->get_object();
  const auto* current = e.if_contains("current");
  if (!current) return;
  std::string field = rest::member_text(*ev, "field");
  const json::value* value = current;
  if (field.empty()) {
    if (action == "name_changed") field = "name";
    else if (action == "external_id_changed") field = "external_id";
    else if ((action == "identity_changed" || action == "identity_created") && current->is_object()) {
      // An identity: {"type": "email" | "phone_number", "value": ...}.
      const std::string type = rest::member_text(*current, "type");
      field = type == "email" ? "email" : type == "phone_number" ? "phone" : std::string();
      value = current->get_object().if_contains("value");
    }
  }
  if (field.empty() || !value || !(value->is_string() || value->is_null())) return;
  if (field != "name" && field != "email" && field != "phone" && field != "external_id") return;
  event_records::announcement a;
  a.object = "users";
  a.id = id;
  a.payload = json::serialize(json::object{{field, *value}});
  a.at = to_epoch_ms(*when);
  out.announced.push_back(std::move(a));
}

/// What a `*_changed` user or ticket event reports the change set: `event.field` (or the field the type names)
/// and `event.current`, as a record-shaped object; for an object-valued field (custom user fields), only the keys
/// whose value differs from `event.previous`. Nothing when the event does not say (then it is re-read).
void report(const json::value& v, const std::string& object, const std::string& action, const std::string& id,
            event_records& out) {
  if (!action.ends_with("_changed")) return;
  const auto* ev = v.get_object().if_contains("event");
  if (!ev || !ev->is_object()) return;
  const auto when = parse_vendor_time(rest::member_text(v, "time"));
  if (!when) return;
  const auto& e = ev->get_object();
  const auto* current = e.if_contains("current");
  if (!current) return;
  std::string field = rest::member_text(*ev, "field");
  json::value value = *current;
  if (field.empty()) {
    if (action == "name_changed") field = "name";
    else if (action == "external_id_changed") field = "external_id";
    else if (action == "identity_changed" && current->is_object()) {  // {"type": "email" | "phone_number", ...}
      const std::string type = rest::member_text(*current, "type");
      field = type == "email" ? "email" : type == "phone_number" ? "phone" : std::string();
    }
  }
  if ((field == "email" || field == "phone") && current->is_object()) {
    const auto* inner = current->get_object().if_contains("value");
    if (!inner) return;
    value = *inner;
  }
  if (field.empty() || field.find('.') != std::string::npos) return;
  if (value.is_object()) {
    // Only the keys that changed: the others are the record's, not the change's.
    const auto* previous = e.if_contains("previous");
    const json::object* before = previous && previous->is_object() ? &previous->get_object() : nullptr;
    json::object changed;
    for (const auto& [k, x] : value.get_object())
      if (!before || !before->contains(k) || before->at(k) != x) changed[k] = x;
    if (before)
      for (const auto& [k, x] : *before)
        if (!value.get_object().contains(k)) changed[k] = nullptr;
    value = std::move(changed);
  }
  event_records::announcement a;
  a.object = object;
  a.id = id;
  a.payload = json::serialize(json::object{{field, std::move(value)}});
  a.at = to_epoch_ms(*when);
  out.reported.push_back(std::move(a));
}

}  // namespace

omnisync::result<event_records> connector_impl::parse_event(const adapters::inbox_event& event) const {
  auto v = rest::parse_json(event.body);
  if (!v || !v->is_object()) return errc::invalid_input;
  const auto& o = v->get_object();
  event_records out;
  const std::string type = rest::member_text(*v, "type");
  auto wanted = [&](const std::string& object) {
    return std::find(objects_.begin(), objects_.end(), object) != objects_.end();
  };
  if (type.starts_with("zen:event-type:")) {
    // Event-subscribed webhooks: "zen:event-type:user.created", subject "zen:user:123".
    const std::string what = type.substr(15);
    const auto dot = what.find('.');
    if (dot == std::string::npos) return errc::invalid_input;
    const std::string kind = what.substr(0, dot);
    const std::string action = what.substr(dot + 1);
    std::string id;
    const std::string subject = rest::member_text(*v, "subject");
    if (auto colon = subject.rfind(':'); colon != std::string::npos) id = subject.substr(colon + 1);
    if (id.empty())
      if (const auto* d = o.if_contains("detail"); d && d->is_object()) id = rest::member_text(*d, "id");
    if (id.empty() || !to_int(id)) return errc::invalid_input;
    const std::string object = kind == "user" ? "users" : kind == "ticket" ? "tickets" : std::string();
    if (object.empty() || !wanted(object)) return out;  // an event about something not synced here
    if (action == "deleted" || action == "soft_deleted" || action == "permanently_deleted") {
      const auto when = to_epoch_ms(parse_vendor_time(rest::member_text(*v, "time")).value_or(utc_now()));
      out.records.emplace_back(object, deleted_record(id, when));
    } else {
      out.refetch.emplace_back(object, id);
      if (object == "users") announce(*v, action, id, out);
      report(*v, object, action, id, out);
    }
    return out;
  }
  // Trigger/automation webhooks carry an admin-defined body: accept the ids it names.
  auto add = [&](const std::string& object, const std::string& id) {
    if (!id.empty() && to_int(id) && wanted(object)) out.refetch.emplace_back(object, id);
  };
  bool named = false;
  for (const auto& [key, object] : {std::pair<std::string_view, std::string>{"user_id", "users"},
                                    std::pair<std::string_view, std::string>{"requester_id", "users"},
                                    std::pair<std::string_view, std::string>{"ticket_id", "tickets"}}) {
    if (!o.contains(key)) continue;
    named = true;
    add(object, rest::member_text(*v, key));
  }
  for (const auto& [key, object] : {std::pair<std::string_view, std::string>{"user", "users"},
                                    std::pair<std::string_view, std::string>{"ticket", "tickets"},
                                    std::pair<std::string_view, std::string>{"satisfaction_rating",
                                                                             "satisfaction_ratings"}}) {
    const auto* x = o.if_contains(key);
    if (!x || !x->is_object()) continue;
    named = true;
    add(object, rest::member_text(*x, "id"));
  }
  if (!named) return errc::invalid_input;
  return out;
}

}  // namespace omnisync::adapters::zendesk
