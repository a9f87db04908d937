#pragma once
/// The daemon's typed configuration: what `omnisync.yaml` turns into after validation.
///
/// Built by `load_daemon_config()` (daemon/config/loader.hpp) and immutable afterwards: a reload builds a new
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

#include "config/attributes.hpp"
#include "config/connector.hpp"
#include "config/secret.hpp"

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
  /// How long an acknowledged webhook event's dedupe key is kept, so that a redelivery inside this time is
  /// answered as a duplicate; older keys are pruned. Longer than every vendor's redelivery window (Salesforce
  /// and HubSpot retry for about 24 hours).
  std::chrono::milliseconds dedupe_retention{7LL * 24 * 3600 * 1000};
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

/// `audit:` — the log of every field omnisync changed in a destination.
struct audit_section {
  std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};  ///< entries older than this are removed
  std::size_t max_entries = 5'000'000;                           ///< and the oldest beyond this many
};

/// `history:` — the append-only history of lifecycle-stage and KPI changes (and segment entries/exits) that the
/// analytics reports read (docs/analytics.md).
struct history_section {
  std::chrono::milliseconds retention{400LL * 24 * 3600 * 1000};  ///< rows older than this are removed
  /// and the oldest beyond this many (by time): bounds the store and the daemon's in-memory index (about 20 bytes
  /// a row there, docs/analytics.md)
  std::size_t max_rows = 20'000'000;
};

/// `runs:` — the run history (poll cycles, resyncs, reloads, remaps; `omnisyncctl runs`).
struct runs_section {
  std::chrono::milliseconds retention{30LL * 24 * 3600 * 1000};  ///< finished runs older than this are removed
};

/// `dead_letters:` — the retry schedule of writes refused for a transient reason (rate limits, 5xx, timeouts)
/// after the outbox's own attempts, and how long resolved entries are kept.
struct dead_letters_section {
  int retries = 3;                                               ///< scheduled retries per entry; 0: none
  std::chrono::milliseconds retry_backoff{5 * 60 * 1000};        ///< the first after this; doubling
  std::chrono::milliseconds keep_resolved{7LL * 24 * 3600 * 1000};
};

/// `console:` — the web console and its JSON API (daemon/console/). Absent or `enabled: false`: no listener.
/// Two bearer tokens: `token` grants read scope, `write_token` read and write scope.
struct console_section {
  bool enabled = false;
  std::string listen = "127.0.0.1:8089";               ///< host:port; port 0 picks a free port
  std::optional<secret> token;                         ///< read scope
  std::optional<secret> write_token;                   ///< read and write scope; absent: the console only reads
  std::filesystem::path tls_cert, tls_key;             ///< both or neither: HTTPS when set
  unsigned max_connections = 64;
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds session_lifetime{8LL * 3600 * 1000};  ///< a browser sign-in lasts this long
  std::string trusted_proxy;  ///< a reverse proxy's IP address: its X-Forwarded-For/-Proto are honoured; empty: none
};

struct daemon_config {
  std::filesystem::path source_file;                   ///< the YAML file this came from
  daemon_section daemon;
  http_section http;
  store_section store;
  std::filesystem::path mappings_dir;                  ///< relative paths resolve against the config file's folder
  std::vector<connector_common> connectors;
  audit_section audit;
  dead_letters_section dead_letters;
  runs_section runs;
  history_section history;
  console_section console;
  std::vector<attribute_decl> canonical;
};

}  // namespace omnisync::config
