#pragma once
/// The daemon's typed configuration: what `omnisync.yaml` turns into after validation.
///
/// Built by `load_config()` (daemon/config/loader.hpp) and immutable afterwards: a reload builds a new
/// `daemon_config` and swaps a shared_ptr, so readers never see a half-applied change. Secret values live in
/// `secret` objects that never print themselves. Components add their own sections here with the schema that
/// parses them declared next to their code.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/secret.hpp"

namespace omnisync::config {

enum class log_format { automatic, text, journal, json };
enum class sync_mode { off, normal, full, extra };  // SQLite PRAGMA synchronous
enum class store_kind { sqlite, postgres };

struct log_config {
  std::string level = "info";                          ///< trace|debug|info|warn|error|critical|off
  log_format format = log_format::automatic;           ///< auto: journald prefixes under systemd, text on a TTY
  std::map<std::string, std::string> components;       ///< per-component level overrides, e.g. store: debug
};

struct daemon_section {
  std::filesystem::path state_dir = "/var/lib/omnisync";
  std::filesystem::path control_socket = "/run/omnisync/control.sock";
  std::string control_group;                           ///< group allowed on the control socket (empty: none)
  std::chrono::milliseconds shutdown_timeout{20000};
  std::chrono::milliseconds control_idle_timeout{30000};
  std::size_t control_max_line = 1 << 20;              ///< longest accepted request line, bytes
  unsigned threads = 2;                                ///< io_context worker threads
  log_config log;
};

struct http_section {
  std::string listen = "127.0.0.1:8088";               ///< host:port; port 0 picks a free port
  std::string public_url;                              ///< how vendors reach us (signed URLs are rebuilt from it)
  std::size_t max_body = 1 << 20;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  unsigned max_connections = 1024;
};

struct store_section {
  store_kind kind = store_kind::sqlite;
  sync_mode synchronous = sync_mode::full;
  std::optional<secret> dsn;                           ///< postgres only
  std::chrono::milliseconds busy_timeout{5000};
  /// postgres: several instances may share the store; the pipeline runs on the holder of a lease this long
  std::chrono::milliseconds lease_ttl{15000};
  std::string instance;                                ///< postgres: this instance's name (default host:pid)
};

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

/// A canonical attribute of the unified profile (declared in `canonical:`; a default set is shipped).
struct attribute_decl {
  std::string name;
  std::string type;                                    ///< string|number|integer|boolean|datetime|string_list|object
  std::string description;
  bool computed = false;                               ///< KPIs and lifecycle_stage: computed by omnisync
};

struct daemon_config {
  std::filesystem::path source_file;                   ///< the YAML file this came from
  daemon_section daemon;
  http_section http;
  store_section store;
  std::filesystem::path mappings_dir;                  ///< relative paths resolve against the config file's folder
  std::vector<connector_common> connectors;
  std::vector<attribute_decl> canonical;
};

}  // namespace omnisync::config
