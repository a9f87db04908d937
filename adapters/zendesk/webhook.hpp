#pragma once
/// Zendesk's webhook verification (`make_zendesk_webhook`): authenticity, the inbox dedupe key and the answer.
/// Parsing the stored event into records is the connector's `parse_event`.
///
/// Facts (api-notes §3.6): `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(signing secret, timestamp + body)),
/// with the timestamp from `X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601). Zendesk documents no replay window;
/// we refuse a timestamp more than `max_skew` (±5 minutes) away from our clock. Dedupe key: the event `id`, else
/// the invocation id header, else the body's sha256. Answer 200. Constant-time comparison; never throws on input.
///
/// The endpoint is immutable once built and safe to use from any thread.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/common/webhook_util.hpp"
#include "adapters/webhook.hpp"

namespace omnisync::adapters {

struct zendesk_webhook_options {
  std::string connector;
  std::string signing_secret;
  std::chrono::milliseconds max_skew{300000};
  wall_clock clock;  ///< system clock when empty
};

std::shared_ptr<const webhook_endpoint> make_zendesk_webhook(zendesk_webhook_options o);

/// The signature (exposed for tests against Zendesk's published example): base64.
std::string zendesk_signature(std::string_view secret, std::string_view timestamp, std::string_view body);

}  // namespace omnisync::adapters
