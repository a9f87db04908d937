// The Zendesk connector's parse_event: a stored webhook event (event-subscribed `zen:event-type:...` bodies, or a
// trigger's custom body) → deleted records and (object, id) pairs to refetch. Verification happened before
// storing (webhook.cpp).
#include <boost/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/connector_impl.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::zendesk {

namespace {

/// The field-changed part of a user or ticket event, read once for both uses below: when (`time`, to the second),
/// the `event` object and its `current` value, and the field: `event.field` where the sender names it, else the
/// one the event type names (an identity's type for identity events). `detail` is not used: it is a snapshot of
/// every field, and a field the event did not change would look as new as the change.
struct field_change {
  std::int64_t at = 0;
  const json::object* event = nullptr;
  const json::value* current = nullptr;
  bool named = false;  // event.field named the field
  std::string field;   // empty when neither the event nor its type names one
  /// The field's new value: `current`, or for an email or phone given as an identity object
  /// ({"type": "email" | "phone_number", "value": ...}) its `value` (nullptr when it has none).
  const json::value* value = nullptr;
};

std::optional<field_change> read_change(const json::value& v, const std::string& action) {
  const auto* ev = v.get_object().if_contains("event");
  if (!ev || !ev->is_object()) return std::nullopt;
  const auto when = parse_vendor_time(rest::member_text(v, "time"));
  if (!when) return std::nullopt;
  field_change c;
  c.at = to_epoch_ms(*when);
  c.event = &ev->get_object();
  c.current = c.event->if_contains("current");
  if (!c.current) return std::nullopt;
  c.field = rest::member_text(*ev, "field");
  c.named = !c.field.empty();
  if (!c.named) {
    if (action == "name_changed") c.field = "name";
    else if (action == "external_id_changed") c.field = "external_id";
    else if ((action == "identity_changed" || action == "identity_created") && c.current->is_object()) {
      const std::string type = rest::member_text(*c.current, "type");
      c.field = type == "email" ? "email" : type == "phone_number" ? "phone" : std::string();
    }
  }
  c.value = (c.field == "email" || c.field == "phone") && c.current->is_object()
                ? c.current->get_object().if_contains("value")
                : c.current;
  return c;
}

/// What a user event says a field became, and when: evidence beside the user read now, which may hold a stale
/// value written after the change. Only a name, email, phone or external id, as a string or null; an identity
/// object counts only where the event type named the field.
void announce(const field_change& c, const std::string& id, event_records& out) {
  const json::value* value = c.named ? c.current : c.value;
  if (c.field.empty() || !value || !(value->is_string() || value->is_null())) return;
  if (c.field != "name" && c.field != "email" && c.field != "phone" && c.field != "external_id") return;
  event_records::announcement a;
  a.object = "users";
  a.id = id;
  a.payload = json::serialize(json::object{{c.field, *value}});
  a.at = c.at;
  out.announced.push_back(std::move(a));
}

/// What a `*_changed` user or ticket event reports the change set: the field and its new value, as a
/// record-shaped object; for an object-valued field (custom user fields), only the keys whose value differs from
/// `event.previous`. Nothing when the event does not say (then it is re-read).
void report(const field_change& c, const std::string& object, const std::string& id, event_records& out) {
  if (!c.value || c.field.empty() || c.field.find('.') != std::string::npos) return;
  json::value value = *c.value;
  if (value.is_object()) {
    // Only the keys that changed: the others are the record's, not the change's.
    const auto* previous = c.event->if_contains("previous");
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
  a.payload = json::serialize(json::object{{c.field, std::move(value)}});
  a.at = c.at;
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
      if (const auto change = read_change(*v, action)) {
        if (object == "users") announce(*change, id, out);
        if (action.ends_with("_changed")) report(*change, object, id, out);
      }
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
