// The Zendesk connector's parse_event: a stored webhook event (event-subscribed `zen:event-type:...` bodies, or a
// trigger's custom body) → deleted records and (object, id) pairs to refetch. Verification happened before
// storing (webhook.cpp).
#include <boost/json.hpp>

#include <algorithm>

#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/connector_impl.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::zendesk {

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
