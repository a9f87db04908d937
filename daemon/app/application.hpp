#pragma once
/// The omnisyncd application: owns the io_context and its worker threads, starts the components in order
/// (logging -> config -> store -> control socket -> connectors, sync engine, HTTP listener -> signals/watchdog
/// -> READY=1) and stops them in reverse. The control commands themselves live in daemon/control/commands; the
/// application hands them a small context (config snapshot, store, engine, its own state, reload).
///
/// Lifecycle: construct with the already validated config, call `run()` once from main; it returns the
/// process exit code after SIGTERM/SIGINT (0 when the drain finished within daemon.shutdown_timeout), or a
/// non-zero code with one logged sentence when start-up fails. SIGHUP and the control command `reload` load
/// the config file again and swap it atomically; a config with problems is rejected with all diagnostics and
/// the old one keeps running. Asio stays out of this header (pimpl).
#include <filesystem>
#include <memory>

#include "daemon/config/loader.hpp"

namespace omnisync::app {

/// Exit codes of omnisyncd (sysexits.h where one fits).
enum exit_code : int {
  exit_ok = 0,
  exit_failure = 1,      ///< start-up failed (store cannot open, control socket in use, ...)
  exit_usage = 2,        ///< bad command line
  exit_config = 78,      ///< EX_CONFIG: the config file has problems
};

struct app_options {
  std::filesystem::path config_file;
  config_overrides overrides;
  /// `--init-store`: a state directory that held a store but lost a database file starts afresh instead of being
  /// refused (store::options::init_store).
  bool init_store = false;
};

class application {
 public:
  application(app_options opts, loaded_config initial);
  ~application();
  application(const application&) = delete;
  application& operator=(const application&) = delete;

  /// Runs until stopped; returns the process exit code.
  int run();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace omnisync::app
