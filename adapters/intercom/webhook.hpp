#pragma once
/// Intercom's webhook verification (`make_intercom_webhook`): authenticity, the inbox dedupe key and the answer.
/// Parsing the stored notification into records is the connector's `parse_event`.
///
/// Facts (api-notes §5.1): `X-Hub-Signature: sha1=` hex(HMAC-SHA1(client secret, body)); Intercom validates the
/// URL with HEAD, answered 200. Dedupe key: the notification `id` (every notification has one, "notif_...").
/// Constant-time comparison; never throws on input.
///
/// The endpoint is immutable once built and safe to use from any thread.
#include <memory>
#include <string>
#include <string_view>

#include "adapters/webhook.hpp"

namespace omnisync::adapters {

struct intercom_webhook_options {
  std::string connector;
  std::string client_secret;
};

std::shared_ptr<const webhook_endpoint> make_intercom_webhook(intercom_webhook_options o);

/// The signature header's value (exposed for tests): "sha1=<hex>".
std::string intercom_signature(std::string_view secret, std::string_view body);

}  // namespace omnisync::adapters
