#pragma once
/// The Intercom connector's settings: their schema (every key the adapter reads, with type, range, default and
/// meaning; the config loader validates connector blocks against it and docs/configuration.md's "Intercom" table
/// is generated from it) and the typed struct it binds into, read once when the connector is built. A
/// combination that cannot work (no token) throws `config::setting_error` naming the key. Immutable after
/// construction; safe to read from any thread.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "adapters/pacing/api_call.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"
#include "config/secret.hpp"

namespace omnisync::adapters::intercom {

struct settings {
  std::string base_url;               ///< no trailing slash
  std::vector<std::string> objects;
  config::secret access_token;        ///< auth.access_token, sent as Authorization: Bearer
  config::secret webhook_secret;      ///< webhook.client_secret: enables the endpoint
  std::string api_version = "2.11";   ///< the Intercom-Version header
  std::int64_t page_size = 150;
  std::chrono::milliseconds overlap{600000};
  std::string upsert_key = "external_id";  ///< external_id | email
  std::string role = "user";               ///< user | lead
  http::client_options http;
  pacing::call_policy policy;
  double per_minute = 10000;
};

/// Every key the Intercom adapter reads (the common connector keys are config::connector_common_schema's).
const config::schema& settings_schema();

/// Binds the connector's validated block into `settings` and checks what the schema cannot; throws
/// config::setting_error on the first unusable combination.
settings read_settings(const config::connector_common& cfg);

}  // namespace omnisync::adapters::intercom
