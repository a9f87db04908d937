#pragma once
/// Salesforce Outbound Messages as a webhook (`make_salesforce_outbound_endpoint`): SOAP, no signature (api-notes
/// §1.8). The message's `OrganizationId` must match the configured org (15- and 18-character forms compare by
/// their first 15), parsed with pugixml (no entity expansion; a message with a DOCTYPE is refused as malformed);
/// the dedupe key is the notification ids; the documented `<Ack>true</Ack>` answer is sent only once the message
/// is stored (a 100-notification message must fit `max_body`). Turning the stored message into records is
/// outbound_message.hpp. Never throws on input.
///
/// The endpoint is immutable once built and safe to use from any thread.
#include <cstddef>
#include <memory>
#include <string>

#include "adapters/webhook.hpp"

namespace omnisync::adapters {

struct salesforce_outbound_options {
  std::string connector;
  std::string organization_id;      ///< 15 or 18 characters; empty accepts any (not recommended)
  std::size_t max_body = 8u << 20;  ///< 100 notifications with many fields must fit
};

std::shared_ptr<const webhook_endpoint> make_salesforce_outbound_endpoint(salesforce_outbound_options o);

/// The SOAP acknowledgement Salesforce expects for an Outbound Message.
std::string salesforce_outbound_ack();

}  // namespace omnisync::adapters
