#pragma once
/// The ActiveCampaign connector's settings: their schema (every key the adapter reads, with type, range,
/// default and meaning; the config loader validates connector blocks against it and docs/configuration.md's
/// "ActiveCampaign" table is generated from it) and the typed struct it binds into, read once when the
/// connector is built. A combination that cannot work (no token, no API URL) throws `config::setting_error`
/// naming the key. Immutable after construction; safe to read from any thread.
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "adapters/pacing/api_call.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"
#include "config/secret.hpp"

namespace omnisync::adapters::activecampaign {

struct settings {
  std::string base_url;              ///< base_url, else https://<subdomain>.api-us1.com; no trailing slash
  std::string subdomain;
  std::vector<std::string> objects;
  config::secret api_token;          ///< auth.api_token, sent as the Api-Token header
  config::secret url_token;          ///< webhook.url_token: enables the endpoint
  std::int64_t page_size = 100;
  std::int64_t segment_list = 0;     ///< sync.segment_list: list an added segment member is subscribed to
  http::client_options http;
  pacing::call_policy policy;
  double per_second = 5;
};

/// Every key the ActiveCampaign adapter reads (the common connector keys are config::connector_common_schema's).
const config::schema& settings_schema();

/// Binds the connector's validated block into `settings` and checks what the schema cannot; throws
/// config::setting_error on the first unusable combination.
settings read_settings(const config::connector_common& cfg);

}  // namespace omnisync::adapters::activecampaign
