#pragma once
/// The `webhook_endpoint` of each vendor: how omnisyncd decides that a webhook really comes from the vendor,
/// which key de-duplicates it, and what the vendor expects as an answer once it is stored.
///
/// Facts from the vendors' documentation (see ../shared/api-notes.md §1.8, §2.8, §3.6, §4.1, §5.1):
/// - HubSpot: v3 `X-HubSpot-Signature-v3` = base64(HMAC-SHA256(client secret, method + URI + body + timestamp)),
///   rejected when the `X-HubSpot-Request-Timestamp` (ms) is older than 5 minutes; v1 (sha256 hex of
///   secret + body) and v2 (secret + method + URI + body) where configured. The URI is rebuilt from
///   `http.public_url` because behind a proxy the daemon never sees the URL HubSpot called.
/// - Zendesk: `X-Zendesk-Webhook-Signature` = base64(HMAC-SHA256(signing secret, timestamp + body)); Zendesk
///   documents no replay window, we enforce ±5 minutes on the ISO 8601 timestamp header.
/// - Intercom: `X-Hub-Signature: sha1=` hex(HMAC-SHA1(client secret, body)); HEAD validation answered 200.
/// - ActiveCampaign signs nothing: a secret token in the URL (`/webhooks/<name>/<token>`), form-encoded body.
/// - Salesforce Outbound Messages: SOAP, no signature; the OrganizationId must match the configured org; the
///   documented `<Ack>true</Ack>` answer is sent only after the message is stored; de-duplicated on the
///   notification ids.
/// Secrets are compared in constant time. Verifiers never throw on input.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "adapters/webhook.hpp"

namespace omnisync::adapters {

using wall_clock = std::function<std::chrono::system_clock::time_point()>;

struct hubspot_webhook_options {
  std::string connector;                 ///< name in config (the URL path segment)
  std::string client_secret;
  std::string public_url;                ///< e.g. https://sync.example.com — the daemon's public base URL
  enum class version { v1, v2, v3 } signature_version = version::v3;
  std::chrono::milliseconds max_age{300000};
  wall_clock clock;                      ///< system clock when empty
};

struct zendesk_webhook_options {
  std::string connector;
  std::string signing_secret;
  std::chrono::milliseconds max_skew{300000};
  wall_clock clock;
};

struct intercom_webhook_options {
  std::string connector;
  std::string client_secret;
};

struct activecampaign_webhook_options {
  std::string connector;
  std::string url_token;                 ///< the secret path segment
};

struct salesforce_outbound_options {
  std::string connector;
  std::string organization_id;           ///< 15 or 18 characters; empty accepts any (not recommended)
  std::size_t max_body = 8u << 20;       ///< 100 notifications with many fields must fit
};

std::shared_ptr<const adapters::webhook_endpoint> make_hubspot_webhook(hubspot_webhook_options o);
std::shared_ptr<const adapters::webhook_endpoint> make_zendesk_webhook(zendesk_webhook_options o);
std::shared_ptr<const adapters::webhook_endpoint> make_intercom_webhook(intercom_webhook_options o);
std::shared_ptr<const adapters::webhook_endpoint> make_activecampaign_webhook(activecampaign_webhook_options o);
std::shared_ptr<const adapters::webhook_endpoint> make_salesforce_outbound_endpoint(salesforce_outbound_options o);

/// HubSpot's URI normalisation before signing (v3): decodes only %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B.
std::string hubspot_normalize_uri(std::string_view uri);

/// The signatures themselves (exposed for tests against the vendors' published vectors).
std::string hubspot_signature_v1(std::string_view secret, std::string_view body);                       ///< hex
std::string hubspot_signature_v2(std::string_view secret, std::string_view method, std::string_view uri,
                                 std::string_view body);                                                  ///< hex
std::string hubspot_signature_v3(std::string_view secret, std::string_view method, std::string_view uri,
                                 std::string_view body, std::string_view timestamp);                      ///< base64
std::string zendesk_signature(std::string_view secret, std::string_view timestamp, std::string_view body);  ///< base64
std::string intercom_signature(std::string_view secret, std::string_view body);  ///< "sha1=<hex>"

/// The SOAP acknowledgement Salesforce expects for an Outbound Message.
std::string salesforce_outbound_ack();

}  // namespace omnisync::adapters
