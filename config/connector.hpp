#pragma once
/// What every connector block of `omnisync.yaml` says, as the adapters receive it (the contract between the
/// config loader and the adapters; see docs/configuration.md). Immutable once loaded.
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/secret.hpp"

namespace omnisync::config {

/// The part of a connector's config every kind shares. Kind-specific keys stay as the validated YAML
/// subtree in `settings` (with locations), parsed by the adapter's own schema.
struct connector_common {
  std::string name;                                    ///< the key under `connectors:`
  std::string kind;                                    ///< salesforce | hubspot | zendesk | activecampaign | intercom
  std::string base_url;                                ///< or login_url for Salesforce
  std::optional<std::filesystem::path> ca_file;        ///< tls.ca_file: extra trust anchor (the simulator's CA)
  bool tls_verify = true;
  std::chrono::milliseconds poll_interval{30000};
  bool enabled = true;
  std::vector<std::string> objects;
  std::chrono::milliseconds settle_lag{15000};         ///< incremental polls stay this far behind "now"
  std::size_t batch_size = 0;                          ///< write batch size; 0: the vendor's maximum
  std::string api_version;                             ///< Salesforce API version, e.g. "62.0"
  std::string subdomain;                               ///< Zendesk subdomain (base_url wins when both are set)
  /// Other scalar keys of the connector's `auth`, `webhook`, `sync` and `rate_limit` blocks, flattened with
  /// dots ("auth.flow", "webhook.signature_version", "sync.page_size"). Never holds secrets.
  std::map<std::string, std::string> settings;
  /// Resolved secrets of the `auth` and `webhook` blocks by dotted key without the `_file` suffix:
  /// `auth: {client_secret_file: F}` gives "auth.client_secret"; `private_key: {credential: N}` gives
  /// "auth.private_key"; a scalar holding `${ENV}` is a secret under its own key.
  std::map<std::string, secret> secrets;
  /// settings value or `fallback`.
  std::string setting(const std::string& key, std::string fallback = {}) const {
    auto it = settings.find(key);
    return it == settings.end() ? fallback : it->second;
  }
  /// secret value or empty.
  const secret* find_secret(const std::string& key) const {
    auto it = secrets.find(key);
    return it == secrets.end() ? nullptr : &it->second;
  }
};

}  // namespace omnisync::config
