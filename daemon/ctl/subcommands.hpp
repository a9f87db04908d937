#pragma once
/// `omnisyncctl`'s subcommands, each one function: adding `resync`, `profile`, `dlq` or `lint` means adding
/// one `subcommand` to the list in subcommands.cpp (or, for commands that live in another library such as
/// the mapping dry run, one line in `extension_subcommands()`).
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace omnisync::ctl {

/// Exit codes of omnisyncctl.
enum exit_code : int { ok = 0, daemon_error = 1, usage = 2, unavailable = 69 };

struct ctl_options {
  std::string socket = "/run/omnisync/control.sock";
  bool json = false;
  std::chrono::milliseconds timeout{30000};
};

struct subcommand {
  std::string name;
  std::string description;
  /// Adds the subcommand's own options and positionals (bound to state the closure owns).
  std::function<void(CLI::App&)> configure;
  std::function<int(const ctl_options&)> run;
};

/// The commands that talk to the daemon: status, reload, pause, resume, version.
std::vector<subcommand> daemon_subcommands();
/// Commands provided by other libraries (e.g. `map`, the mapping dry run); defined in extensions.cpp.
std::vector<subcommand> extension_subcommands();

/// Sends one command and prints the reply (human or JSON); returns the exit code.
int run_daemon_command(const ctl_options& o, const std::string& cmd, const std::string& args_json,
                       const std::function<std::string(const std::string& result_json)>& human = {});

}  // namespace omnisync::ctl
