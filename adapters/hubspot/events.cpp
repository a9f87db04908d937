// The HubSpot connector's parse_event: a stored webhook delivery (a JSON array of events) → deleted records and
// (object, id) pairs to refetch, and what propertyChange events announced. Verification happened before storing (webhook.cpp).
#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "adapters/hubspot/connector_impl.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::hubspot {
namespace {

/// The object a webhook event names: "contact.propertyChange" → contacts; new-platform events carry
/// objectTypeId ("0-1") instead.
std::string object_of_event(std::string_view subscription_type, std::string_view type_id) {
  if (!type_id.empty()) {
    if (type_id == "0-1") return "contacts";
    if (type_id == "0-2") return "companies";
    if (type_id == "0-3") return "deals";
    if (type_id == "0-5") return "tickets";
    if (type_id == "0-19") return "feedback_submissions";
    return std::string(type_id);  // a custom object's type id is also its API name
  }
  auto dot = subscription_type.find('.');
  std::string_view s = subscription_type.substr(0, dot);
  if (s == "company") return "companies";
  return std::string(s) + "s";
}

}  // namespace

omnisync::result<event_records> connector_impl::parse_event(const adapters::inbox_event& event) const {
  auto v = rest::parse_json(event.body);
  if (!v || !v->is_array() || v->get_array().empty()) return errc::invalid_input;
  event_records out;
  std::set<std::pair<std::string, std::string>> refetch;
  std::set<std::pair<std::string, std::string>> deleted;
  for (const auto& e : v->get_array()) {
    if (!e.is_object()) return errc::invalid_input;
    const std::string type = rest::member_text(e, "subscriptionType");
    const std::string id = rest::member_text(e, "objectId");
    if (type.empty() || id.empty() || type.find('.') == std::string::npos) return errc::invalid_input;
    const std::string object = object_of_event(type, rest::member_text(e, "objectTypeId"));
    if (std::find(objects_.begin(), objects_.end(), object) == objects_.end()) continue;  // not synced here
    const std::string action = type.substr(type.find('.') + 1);
    const auto when = to_int(rest::member_text(e, "occurredAt")).value_or(to_epoch_ms(utc_now()));
    if (action == "deletion" || action == "privacyDeletion") {
      if (deleted.insert({object, id}).second) out.records.emplace_back(object, deleted_record(id, when));
      continue;
    }
    if (action == "merge") {
      // The merged-away records are gone; the surviving one changed.
      if (const auto* m = e.as_object().if_contains("mergedObjectIds"); m && m->is_array())
        for (const auto& x : m->get_array()) {
          std::string gone = x.is_string() ? std::string(x.get_string()) : json::serialize(x);
          if (deleted.insert({object, gone}).second) out.records.emplace_back(object, deleted_record(gone, when));
        }
      const std::string primary = rest::member_text(e, "primaryObjectId");
      refetch.insert({object, primary.empty() ? id : primary});
      continue;
    }
    // Omnisync's own write coming back (the origin tag HubSpot offers): a change made through the API by the
    // same app these webhooks belong to (changeSource INTEGRATION, sourceId = appId) needs no read. Changes by
    // anyone else — a user, an import, another integration — are read as usual.
    if (rest::member_text(e, "changeSource") == "INTEGRATION") {
      const std::string source = rest::member_text(e, "sourceId"), app = rest::member_text(e, "appId");
      if (!source.empty() && source == app) continue;
    }
    refetch.insert({object, id});
    // A propertyChange says what the property became and when: evidence beside the record read now, which may be
    // older (a read replica) or hold a stale value written after the change.
    const auto occurred = to_int(rest::member_text(e, "occurredAt"));
    if (action == "propertyChange" && occurred) {
      const auto* name = e.as_object().if_contains("propertyName");
      const auto* value = e.as_object().if_contains("propertyValue");
      if (name && name->is_string() && !name->get_string().empty() && value && (value->is_string() || value->is_null())) {
        json::object props;
        props[name->get_string()] = *value;
        event_records::announcement a;
        a.object = object;
        a.id = id;
        a.payload = json::serialize(json::object{{"properties", std::move(props)}});
        a.at = *occurred;
        out.announced.push_back(std::move(a));
      }
    }
  }
  for (const auto& r : refetch)
    if (!deleted.count(r)) out.refetch.push_back(r);
  return out;
}

std::vector<std::pair<std::string, std::string>> connector_impl::records_named(const adapters::inbox_event& event) const {
  std::vector<std::pair<std::string, std::string>> out;
  auto v = rest::parse_json(event.body);
  if (!v || !v->is_array()) return out;
  for (const auto& e : v->get_array()) {
    if (!e.is_object()) continue;
    const std::string id = rest::member_text(e, "objectId");
    const std::string type = rest::member_text(e, "subscriptionType");
    const std::string type_id = rest::member_text(e, "objectTypeId");
    if (id.empty() || (type_id.empty() && type.find('.') == std::string::npos)) continue;
    std::pair<std::string, std::string> named(object_of_event(type, type_id), id);
    if (std::find(out.begin(), out.end(), named) == out.end()) out.push_back(std::move(named));
  }
  return out;
}

}  // namespace omnisync::adapters::hubspot
