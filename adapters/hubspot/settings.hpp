#pragma once
/// The HubSpot connector's settings: their schema (every key the adapter reads, with type, range, default and
/// meaning; the config loader validates connector blocks against it and docs/configuration.md's "HubSpot" table
/// is generated from it) and the typed struct it binds into, read once when the connector is built. A
/// combination that cannot work (OAuth without its secrets, no token) throws `config::setting_error` naming the
/// key. Immutable after construction; safe to read from any thread.
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "adapters/pacing/api_call.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"
#include "config/secret.hpp"

namespace omnisync::adapters::hubspot {

using std::chrono::milliseconds;

enum class auth_flow {
  private_app,  ///< a static token: auth.private_app_token (or auth.access_token)
  oauth,        ///< a public app's refresh token exchanged at the token endpoint
};

struct settings {
  std::string base_url;                     ///< without a trailing slash
  std::vector<std::string> objects;
  // auth
  auth_flow flow = auth_flow::private_app;
  config::secret token;                     ///< private_app: auth.private_app_token, else auth.access_token
  std::string client_id;                    ///< oauth
  config::secret client_secret;             ///< oauth
  config::secret refresh_token;             ///< oauth
  std::string token_url;                    ///< oauth: auth.token_url, default <base_url>/oauth/v1/token
  // webhook
  config::secret webhook_secret;            ///< webhook.client_secret: enables the endpoint
  std::string signature_version = "v3";     ///< v1 | v2 | v3
  milliseconds webhook_max_age{300000};
  // polling and writing
  std::size_t page_size = 100;
  std::size_t membership_chunk = 1000;  ///< sync.membership_chunk: record ids per list membership request
  milliseconds archived_scan_interval{600000};
  /// sync.properties.<object>: the properties to read; {"all"}: every property. Absent: the shipped defaults.
  std::map<std::string, std::vector<std::string>> properties;
  /// sync.associations.<object>: associated types to attach. Absent: the defaults.
  std::map<std::string, std::vector<std::string>> associations;
  /// sync.upsert_property[.<object>]: the idProperty of upserts; "" holds the value for every object.
  std::map<std::string, std::string> upsert_property;
  http::client_options http;
  pacing::call_policy policy;
  double per_10s = 190;
  double search_per_second = 5;

  /// Keys whose effective value above depends on others, as the file wrote them (read_settings derives).
  struct as_written {
    config::secret private_app_token, access_token;
    std::string token_url;
  } written;
};

/// Every key the HubSpot adapter reads (the common connector keys are config::connector_common_schema's).
const config::schema& settings_schema();

/// Binds the connector's validated block into `settings` and checks the auth flow's credentials; throws
/// config::setting_error on the first unusable combination.
settings read_settings(const config::connector_common& cfg);

}  // namespace omnisync::adapters::hubspot
