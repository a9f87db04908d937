#pragma once
/// Turns a stored Salesforce Outbound Message (SOAP, api-notes §1.8) into records: one per `Notification`, its
/// `sObject` fields as the REST API would show them (`attributes.type` from `xsi:type`, `xsi:nil` → null, values
/// typed by the object's describe when known). Parsed with pugixml without DOCTYPE processing. Pure; thread-safe.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/connector.hpp"

namespace omnisync::adapters::salesforce {

/// The describe type of `field` on `object` ("boolean", "double", "int", ...), nullopt when not known.
using field_type_lookup = std::function<std::optional<std::string>(const std::string& object, const std::string& field)>;

/// errc::invalid_input for anything that is not a well-formed Outbound Message with at least one notification
/// whose sObject has an Id.
omnisync::result<event_records> parse_outbound_message(std::string_view body, const field_type_lookup& types);

}  // namespace omnisync::adapters::salesforce
