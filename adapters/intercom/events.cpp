// The Intercom connector's parse_event: a stored notification → the record it carries, a deletion, or a contact
// to refetch. Verification happened before storing (webhook.cpp).
#include <boost/json.hpp>

#include <algorithm>

#include "adapters/intercom/connector_impl.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::intercom {

omnisync::result<event_records> connector_impl::parse_event(const adapters::inbox_event& event) const {
  auto v = rest::parse_json(event.body);
  if (!v || !v->is_object()) return errc::invalid_input;
  const std::string topic = rest::member_text(*v, "topic");
  if (topic.empty()) return errc::invalid_input;
  event_records out;
  if (topic == "ping") return out;
  const auto* data = v->get_object().if_contains("data");
  const auto* item = data && data->is_object() ? data->get_object().if_contains("item") : nullptr;
  if (!item || !item->is_object()) return errc::invalid_input;
  const std::string type = rest::member_text(*item, "type");
  const std::string id = rest::member_text(*item, "id");
  auto wanted = [&](const char* object) {
    return std::find(objects_.begin(), objects_.end(), object) != objects_.end();
  };
  if (type == "contact" || type == "conversation") {
    if (id.empty()) return errc::invalid_input;
    const char* object = type == "contact" ? "contacts" : "conversations";
    if (!wanted(object)) return out;
    if (topic.ends_with(".deleted") || topic.ends_with(".archived")) {
      // A deleted contact's last state; stamped with the notification's time, which is after its last change.
      auto rec = to_record(*item, true);
      const std::int64_t when = std::max(seconds_of(*v, "created_at"), updated_s(*item));
      rec.source_updated_at = from_epoch_ms(when * 1000);
      out.records.emplace_back(object, std::move(rec));
    } else {
      out.records.emplace_back(object, to_record(*item));
    }
    return out;
  }
  // Legacy user/lead items, and items that carry a contact (contact.tag.created: {"type":"contact_tag",...}).
  std::string contact_id;
  if (type == "user" || type == "lead") contact_id = id;
  else if (const auto* c = item->get_object().if_contains("contact"); c && c->is_object())
    contact_id = rest::member_text(*c, "id");
  if (!contact_id.empty() && wanted("contacts")) out.refetch.emplace_back("contacts", contact_id);
  return out;
}

}  // namespace omnisync::adapters::intercom
