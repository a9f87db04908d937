#pragma once
/// ActiveCampaign's webhook verification (`make_activecampaign_webhook`). ActiveCampaign signs nothing (api-notes
/// §4.1): a secret token is the last segment of the URL it posts to (`/webhooks/<connector>/<token>`), compared in
/// constant time; the body is form-encoded and carries no event id, so the dedupe key is the body's sha256 (a
/// redelivery has the same bytes). Answer 200 `ok`. Parsing the body into records is the connector's
/// `parse_event` (with form.hpp). Never throws on input.
///
/// The endpoint is immutable once built and safe to use from any thread.
#include <memory>
#include <string>

#include "adapters/webhook.hpp"

namespace omnisync::adapters {

struct activecampaign_webhook_options {
  std::string connector;
  std::string url_token;  ///< the secret path segment
};

std::shared_ptr<const webhook_endpoint> make_activecampaign_webhook(activecampaign_webhook_options o);

}  // namespace omnisync::adapters
