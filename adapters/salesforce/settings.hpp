#pragma once
/// The Salesforce connector's settings: their schema (every key the adapter reads, with type, range, default
/// and meaning; the config loader validates connector blocks against it and docs/configuration.md's
/// "Salesforce" table is generated from it) and the typed struct it binds into, read once when the connector is
/// built. A combination that cannot work throws `config::setting_error` naming the key, so the daemon refuses
/// to start instead of misbehaving later. Immutable after construction; safe to read from any thread.
#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "adapters/pacing/api_call.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"

namespace omnisync::adapters::salesforce {

using std::chrono::milliseconds;

enum class auth_flow { refresh_token, client_credentials, jwt_bearer };

struct auth_settings {
  auth_flow flow = auth_flow::client_credentials;
  std::string token_url;       ///< login URL + /services/oauth2/token (auth.token_url overrides)
  std::string client_id;       ///< auth.client_id (the connected app's consumer key)
  std::string client_secret;   ///< secret auth.client_secret
  std::string refresh_token;   ///< secret auth.refresh_token
  std::string private_key_pem; ///< secret auth.private_key (JWT bearer)
  std::string username;        ///< auth.username (JWT `sub`)
  std::string audience;        ///< auth.audience (JWT `aud`), default: the login URL
  std::string login_url;       ///< base_url: the token answer's instance_url is used for everything else
};

/// Per-object choices: which columns to read and which external id to upsert on.
struct object_settings {
  std::vector<std::string> fields;        ///< sync.<Object>.fields: replaces the describe-derived list
  std::vector<std::string> extra_fields;  ///< sync.<Object>.extra_fields: relationship columns (Account.Name)
  std::string upsert_key;                 ///< sync.<Object>.upsert_key
};

struct settings {
  std::string connector;
  std::vector<std::string> objects;
  std::string api_version = "62.0";
  auth_settings auth;
  http::client_options http;
  pacing::call_policy policy;
  double budget_share = 0.5;                 ///< sync.budget_share: of the org's daily API limit
  std::size_t page_size = 2000;              ///< sync.page_size: Sforce-Query-Options batchSize (200..2000)
  std::size_t batch_size = 200;              ///< writes per sObject Collections call (≤ 200)
  milliseconds settle_lag{15000};            ///< settle_lag: reads stay this far behind the org's clock
  milliseconds overlap{60000};               ///< sync.overlap: re-read window below the watermark
  std::size_t max_seen = 5000;               ///< sync.max_seen: most (Id, SystemModstamp) pairs a cursor keeps
  milliseconds formula_refresh{3600000};     ///< sync.formula_refresh: 0 = off
  milliseconds get_deleted_interval{900000}; ///< sync.get_deleted_interval: 0 = off
  milliseconds describe_refresh{3600000};    ///< sync.describe_refresh
  std::size_t fetch_chunk = 100;             ///< ids per `WHERE Id IN (...)` query
  std::string campaign_member_status = "Sent";  ///< sync.campaign_member_status: Status of inserted members
  bool webhook_enabled = false;              ///< webhook.enabled, or implied by webhook.organization_id
  std::string organization_id;               ///< webhook.organization_id (15 or 18 characters)
  bool webhook_refetch = false;              ///< webhook.refetch: fetch notified records instead of using them
  std::map<std::string, object_settings> per_object;

  /// Keys whose effective value above depends on others, as the file wrote them (read_settings derives).
  struct as_written {
    std::optional<auth_flow> flow;          ///< auth.flow; nullopt: chosen from the secrets present
    std::optional<bool> webhook_enabled;    ///< webhook.enabled; nullopt: with organization_id
    std::optional<std::string> token_url;   ///< auth.token_url
    std::optional<std::string> audience;    ///< auth.audience
    config::secret client_secret, refresh_token, private_key;
  } written;

  const object_settings& object(const std::string& name) const;
};

/// Every key the Salesforce adapter reads (the common connector keys are config::connector_common_schema's).
const config::schema& settings_schema();

/// Binds the connector's validated block into `settings` and checks what the schema cannot (the auth flow's
/// credentials); throws config::setting_error("connector NAME: key: problem") on the first unusable value.
settings read_settings(const config::connector_common& cfg);

}  // namespace omnisync::adapters::salesforce
