#pragma once
/// omnisyncctl's command line, built once: the CLI11 app with the global options and one subcommand per entry of
/// `daemon_subcommands()` and `extension_subcommands()`. `main.cpp` parses with it; the build walks the same app
/// (with each subcommand's catalogue declaration) to write omnisyncctl(8)'s option and command lists and the
/// shell completions (`packaging/cli_reference.cpp`).
///
/// Lifecycle: made by `make_cli()`, owned by the caller; the options it parses into live inside it. Not
/// thread-safe (used on the main thread).
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {

struct cli {
  CLI::App app{"omnisyncctl — control omnisyncd through its Unix socket", "omnisyncctl"};
  ctl_options options;
  std::string timeout = "30s";  ///< --timeout as given; `parse_timeout` turns it into options.timeout
  /// Every subcommand, in the order `--help` lists them, with the CLI11 app it was added as.
  std::vector<subcommand> commands;
  std::vector<std::pair<CLI::App*, const subcommand*>> added;
};

/// omnisyncctl's app: global options (their defaults read from OMNISYNC_SOCKET), every subcommand configured.
std::unique_ptr<cli> make_cli();

/// The first word of the command line that is not an option, when it names no subcommand: the message saying
/// so (with "did you mean"); nullopt when the words are fine as far as commands go.
std::optional<std::string> unknown_command(const cli& c, int argc, const char* const* argv);

/// Checks a `--since` value as the daemon reads it (core/time.hpp `parse_since`): 1h, yesterday, an ISO time.
CLI::Validator since_validator();

/// Sets `c.options.timeout` from `c.timeout` ("30s", "500ms", "2m"); false with a message on stderr when it is
/// not a duration.
bool parse_timeout(cli& c);

}  // namespace omnisync::ctl
