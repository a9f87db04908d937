#pragma once
/// `omnisyncctl`'s subcommands, each one value: a daemon command is declared in `daemon/control/catalogue.hpp`
/// (its description, argument help and allowed values come from there) and offered here by one `subcommand` in
/// subcommands.cpp; commands that live in another library, such as the mapping dry run, are one entry in
/// `extension_subcommands()`.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}
namespace omnisync::control {
struct command_spec;
}

namespace omnisync::ctl {

/// The help line of argument `arg` of daemon command `spec` (an option or positional that sends that argument).
std::string arg_help(const control::command_spec& spec, std::string_view arg);
/// The values the daemon accepts for argument `arg` of `spec` (its declared choices).
std::vector<std::string> arg_choices(const control::command_spec& spec, std::string_view arg);

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
  /// The daemon command it sends (its declaration in the catalogue); nullptr for commands that need no daemon.
  const control::command_spec* spec = nullptr;
};

/// The commands that talk to the daemon, one per command of the catalogue, in its order.
std::vector<subcommand> daemon_subcommands();
/// plan and audit (writeback.cpp).
subcommand plan_subcommand();
subcommand audit_subcommand();
/// reload [--force] and lint [--config FILE | --mapping FILE...] (mapping_changes.cpp).
subcommand reload_subcommand();
subcommand lint_subcommand();
/// test [CONNECTOR] (test_connection.cpp).
subcommand test_subcommand();
/// dlq (dlq.cpp).
subcommand dlq_subcommand();
/// remap, sample and fields (mapping_tools.cpp).
subcommand remap_subcommand();
subcommand sample_subcommand();
subcommand fields_subcommand();
/// `profile list|search` options (profile_list.cpp).
struct profile_list_args {
  std::vector<std::string> where, kpi, fields;
  std::string stage, after;
  int limit = 0;     ///< 0: 50 per page (1000 with --all)
  bool all = false;  ///< follow the cursor to the last page
  bool csv = false;
};
/// Prints profiles as a table, JSON lines (`--json`) or CSV (`--csv`); returns the exit code.
int run_profile_list(const ctl_options& o, const std::string& action, const std::string& query,
                     const profile_list_args& a);
/// One CSV field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, quote, CR or LF.
std::string csv_field(std::string_view s);

/// runs [list|show ID] (runs.cpp).
subcommand runs_subcommand();
/// report NAME [--from --to --by] [--csv] (report.cpp).
subcommand report_subcommand();
/// record show CONNECTOR OBJECT ID (record.cpp).
subcommand record_subcommand();
/// segment list|show|members|explain|preview|backfill|pause|resume (segment.cpp).
subcommand segment_subcommand();
/// Commands provided by other libraries (e.g. `map`, the mapping dry run); defined in extensions.cpp.
std::vector<subcommand> extension_subcommands();

/// omnisyncctl's exit code for a daemon's error code: 2 for refused arguments (usage, invalid_args,
/// unknown_connector, unknown_object), else 1.
int exit_code_of(std::string_view daemon_error_code);

/// Sends one command and prints the reply (human or JSON); returns the exit code.
int run_daemon_command(const ctl_options& o, const std::string& cmd, const std::string& args_json,
                       const std::function<std::string(const std::string& result_json)>& human = {});

}  // namespace omnisync::ctl
