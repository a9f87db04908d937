#pragma once
/// omnisyncd's command line, declared once. `main.cpp` parses with it; the build walks the same CLI11 app to write
/// omnisyncd(8)'s option list and the shell completions (`packaging/cli_reference.cpp`), so the manual, the
/// completions and `--help` cannot disagree.
///
/// Lifecycle: a `command_line` value is bound to one `CLI::App` by `add_command_line` and must outlive it. Not
/// thread-safe (used on the main thread before anything starts).
#include <string>

namespace CLI {
class App;
}

namespace omnisync::app {

/// The config file omnisyncd reads when `-c` is not given: `<config dir>/omnisync.yaml`, where the config dir is
/// the one the install rules put the config in (`/etc/omnisync` for system installs; see
/// `cmake/OmnisyncInstallDirs.cmake`).
extern const char* const default_config_file;

/// The flags of one omnisyncd invocation.
struct command_line {
  std::string config_file = default_config_file;
  std::string state_dir;       ///< empty: daemon.state_dir
  std::string control_socket;  ///< empty: daemon.control_socket
  bool check_only = false;
  bool connect = false;     ///< with check_only: also test every enabled connector's connection
  bool show_version = false;
  bool shadow = false;      ///< every connector in shadow mode this run (writes queued, none sent)
  bool init_store = false;  ///< start with a new store where a used state directory lost a database
};

/// omnisyncd's one-line description (the first line of `--help`).
extern const char* const description;

/// Adds omnisyncd's options to `cli`, bound to `into`.
void add_command_line(CLI::App& cli, command_line& into);

}  // namespace omnisync::app
