// The Salesforce connector's parse_event: a stored Outbound Message → records typed by the cached describe, or
// (with webhook.refetch) the ids to read whole. Verification happened before storing (webhook.cpp).
#include <spdlog/spdlog.h>

#include "adapters/salesforce/connector_impl.hpp"
#include "adapters/salesforce/outbound_message.hpp"

namespace omnisync::adapters::salesforce {

omnisync::result<event_records> connector_impl::parse_event(const adapters::inbox_event& event) const {
  auto types = [this](const std::string& object, const std::string& field) -> std::optional<std::string> {
    std::lock_guard lk(schemas_mu_);
    auto it = schemas_.find(object);
    if (it == schemas_.end()) return std::nullopt;
    auto t = it->second->types.find(field);
    if (t == it->second->types.end()) return std::nullopt;
    return t->second;
  };
  auto parsed = parse_outbound_message(event.body, types);
  if (!parsed) {
    spdlog::warn("{}: Outbound Message {} is malformed", s_.connector, event.dedupe_key);
    return parsed.error();
  }
  if (s_.webhook_refetch) {
    // The message carries only the fields its definition selects: read whole records instead.
    event_records ids;
    for (auto& r : parsed->records) ids.refetch.emplace_back(r.object, r.record.id);
    return ids;
  }
  return parsed;
}

}  // namespace omnisync::adapters::salesforce
