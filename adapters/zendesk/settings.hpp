#pragma once
/// The Zendesk connector's settings: their schema (every key the adapter reads, with type, range, default and
/// meaning; the config loader validates connector blocks against it and docs/configuration.md's "Zendesk" table
/// is generated from it) and the typed struct it binds into, read once when the connector is built. A
/// combination that cannot work (no credentials, no subdomain) throws `config::setting_error` naming the key.
/// Immutable after construction; safe to read from any thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "adapters/pacing/api_call.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"
#include "config/secret.hpp"

namespace omnisync::adapters::zendesk {

using std::chrono::milliseconds;

struct settings {
  std::string base_url;                  ///< base_url, else https://<subdomain>.zendesk.com; no trailing slash
  std::string subdomain;
  std::vector<std::string> objects;
  std::string email;                     ///< auth.email
  config::secret api_token;              ///< auth.api_token (with auth.email)
  config::secret access_token;           ///< auth.access_token (OAuth)
  config::secret signing_secret;         ///< webhook.signing_secret: enables the endpoint
  milliseconds webhook_max_skew{300000};
  std::int64_t page_size = 1000;
  milliseconds job_poll_interval{1000};
  milliseconds job_timeout{600000};
  http::client_options http;
  pacing::call_policy policy;
  double per_minute = 700;
  double exports_per_minute = 10;
  double user_exports_per_minute = 20;
};

/// Every key the Zendesk adapter reads (the common connector keys are config::connector_common_schema's).
const config::schema& settings_schema();

/// Binds the connector's validated block into `settings` and checks the credentials; throws
/// config::setting_error on the first unusable combination.
settings read_settings(const config::connector_common& cfg);

}  // namespace omnisync::adapters::zendesk
