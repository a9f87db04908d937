#pragma once
/// What the control commands may use of the running daemon, handed to every command group when the command table
/// is built, instead of the whole application: the current config snapshot, the store, the sync engine, the
/// daemon's own state (phase, last reload, HTTP port), the paused set, and the few actions that belong to the
/// application (reload, spawning a task it awaits at shutdown, telling systemd the status line).
#include <spdlog/logger.h>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "daemon/sync/status.hpp"

namespace omnisync::config {
struct daemon_config;
}
namespace omnisync::store {
class store;
}
namespace omnisync::sync {
class engine;
}

namespace omnisync::control::commands {

class paused_set;

/// One reload as `status` shows the last one (`last_reload`).
struct reload_record {
  std::string at;       ///< UTC, e.g. 2026-11-01T00:00:00Z
  std::string trigger;  ///< "SIGHUP" or "control command"
  bool ok = false;
  std::vector<std::string> diagnostics;  ///< when rejected: every problem, `file:line:col: path: message`
};

/// What a reload is asked to do: who asked, and whether mapping errors found by lint are overridden.
struct reload_request {
  std::string trigger;  ///< "SIGHUP" or "control command"
  bool force = false;   ///< apply even when lint finds errors in the changed mappings
};

/// A mapping file a reload adds, changes or removes (compared by content with the one in effect).
struct mapping_change {
  std::string kind, object, file;
  std::string direction;  ///< in | out
  std::string change;     ///< added | changed | removed
};

/// What a reload did, as the `reload` command answers it.
struct reload_result {
  enum class outcome {
    applied,   ///< the new configuration is in effect
    rejected,  ///< it has problems; the previous one stays
    refused,   ///< lint found errors in the changed mappings (no force); the previous one stays
    stopping,  ///< the daemon is stopping; nothing was read
  };
  outcome what = outcome::rejected;
  std::string config_file;     ///< applied: the file read
  std::size_t connectors = 0;  ///< applied: how many it configures
  std::string problems;        ///< rejected: every problem, one per line, by location
  bool forced = false;         ///< applied despite lint errors (force)
  /// Everything the caller should know that did not stop the reload: settings that wait for a restart, webhook
  /// routes that stay as they were, metadata that could not be read. Also logged at warn.
  std::vector<std::string> warnings;
  std::vector<mapping_change> mappings;    ///< the mapping files that differ from the ones in effect
  std::vector<sync::lint_finding> lint;    ///< lint's findings for the added and changed mapping files
  /// Changed outbound mappings: per destination object, the records re-checked and queued (applied only).
  std::vector<sync::recheck_count> rechecks;
  std::string recheck_note;  ///< why the re-check did not run or finish, when it did not
};

/// The daemon's own state as `status` reports it: phase (starting, running, reloading, stopping), the last reload,
/// the port the HTTP listener got, and when the daemon started. Written by the application, read by commands.
/// Thread-safe: every member function may be called from any thread.
class daemon_state {
 public:
  daemon_state() = default;
  daemon_state(const daemon_state&) = delete;
  daemon_state& operator=(const daemon_state&) = delete;

  std::string phase() const;
  void set_phase(std::string phase);
  /// Enters "reloading" unless the daemon is stopping (then false: no reload starts).
  bool begin_reload();
  /// Records the reload and returns to "running", unless a stop began meanwhile.
  void end_reload(reload_record r);
  std::optional<reload_record> last_reload() const;
  unsigned short http_port() const;
  void set_http_port(unsigned short port);
  /// The web console's bound port; 0 while it is off.
  unsigned short console_port() const;
  void set_console_port(unsigned short port);
  std::chrono::steady_clock::time_point started() const noexcept { return started_; }

 private:
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  mutable std::mutex mutex_;
  std::string phase_ = "starting";
  std::optional<reload_record> last_reload_;
  unsigned short http_port_ = 0;
  unsigned short console_port_ = 0;
};

/// Everything a command handler may use. The application fills it before the control server starts; `engine` is
/// set once the sync engine runs, still before the io_context runs (no command runs earlier), and then never
/// changes; it stays null when the engine did not start. The context must outlive the command table.
struct context {
  /// The current configuration (a reload swaps it; a handler keeps the snapshot it took).
  std::function<std::shared_ptr<const config::daemon_config>()> config;
  /// A component's logger ("control", "sync", "app"), the same the rest of the daemon writes to.
  std::function<std::shared_ptr<spdlog::logger>(const std::string& component)> logger;
  store::store* db = nullptr;
  daemon_state* state = nullptr;
  paused_set* paused = nullptr;
  sync::engine* engine = nullptr;
  /// Loads the configuration file again, lints its changed mappings, and applies it or keeps the old one (the
  /// application's reload, serialised with SIGHUP's).
  std::function<boost::asio::awaitable<reload_result>(reload_request)> reload;
  /// Runs a coroutine among the sync engine's tasks, which the application cancels and awaits first at shutdown.
  std::function<void(std::string name, std::function<boost::asio::awaitable<void>()> task)> spawn_sync_task;
  /// Tells systemd the daemon's status line again (after the paused set changed).
  std::function<void()> status_changed;
};

}  // namespace omnisync::control::commands
