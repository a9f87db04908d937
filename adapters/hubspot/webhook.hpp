#pragma once
/// HubSpot's webhook verification (`make_hubspot_webhook`): how omnisyncd decides a delivery really comes from
/// HubSpot, which key de-duplicates it in the inbox, and what HubSpot gets back once it is stored. Parsing the
/// stored events into records is the connector's `parse_event` (events.cpp).
///
/// Facts (api-notes §2.8): v3 `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + URI + body +
/// timestamp)), refused when `X-HubSpot-Request-Timestamp` (ms) is more than `max_age` (5 minutes) away from our
/// clock; v1 (sha256 hex of secret + body) and v2 (secret + method + URI + body) where configured. The URI is
/// rebuilt from `http.public_url`: behind a proxy the daemon never sees the URL HubSpot called. The dedupe key is
/// the batch's sorted `eventId`s; the answer 200 `{}`. Secrets are compared in constant time; never throws on input.
///
/// The endpoint is immutable once built and safe to use from any thread.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/common/webhook_util.hpp"
#include "adapters/webhook.hpp"

namespace omnisync::adapters {

struct hubspot_webhook_options {
  std::string connector;                 ///< name in config (the URL path segment)
  std::string client_secret;
  std::string public_url;                ///< e.g. https://sync.example.com — the daemon's public base URL
  enum class version { v1, v2, v3 } signature_version = version::v3;
  std::chrono::milliseconds max_age{300000};
  wall_clock clock;                      ///< system clock when empty
};

std::shared_ptr<const webhook_endpoint> make_hubspot_webhook(hubspot_webhook_options o);

/// HubSpot's URI normalisation before signing (v3): decodes only %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B.
std::string hubspot_normalize_uri(std::string_view uri);

/// The signatures themselves (exposed for tests against HubSpot's published vectors).
std::string hubspot_signature_v1(std::string_view secret, std::string_view body);  ///< hex
std::string hubspot_signature_v2(std::string_view secret, std::string_view method, std::string_view uri,
                                 std::string_view body);  ///< hex
std::string hubspot_signature_v3(std::string_view secret, std::string_view method, std::string_view uri,
                                 std::string_view body, std::string_view timestamp);  ///< base64

}  // namespace omnisync::adapters
