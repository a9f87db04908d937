#include "daemon/app/cli.hpp"

#include <CLI/CLI.hpp>

namespace omnisync::app {

// OMNISYNC_DEFAULT_CONFIG_FILE comes from CMake (daemon/app/CMakeLists.txt): the config dir the install rules use.
const char* const default_config_file = OMNISYNC_DEFAULT_CONFIG_FILE;

const char* const description =
    "omnisyncd: keeps a 360-degree customer view in sync between Salesforce, HubSpot, Zendesk, ActiveCampaign and "
    "Intercom";

void add_command_line(CLI::App& cli, command_line& into) {
  // type_name FILE/DIR: shown by --help, and the generated shell completions complete paths for them.
  cli.add_option("-c,--config", into.config_file, "configuration file")->capture_default_str()->type_name("FILE");
  cli.add_flag("--check-config", into.check_only, "validate the configuration, print every problem, exit 0 or 78");
  cli.add_flag("--connect", into.connect,
               "with --check-config: also test every enabled connector (resolve, connect, verify TLS, authenticate, "
               "read one page of each object, webhook settings) and exit 1 when a step fails");
  cli.add_option("--state-dir", into.state_dir, "overrides daemon.state_dir")->type_name("DIR");
  cli.add_option("--control-socket", into.control_socket, "overrides daemon.control_socket")->type_name("FILE");
  cli.add_flag("--shadow", into.shadow,
               "shadow mode for every connector this run: every write is computed and queued, none is sent "
               "(omnisyncctl plan shows them)");
  cli.add_flag("--init-store", into.init_store,
               "start with a new, empty store where a used state directory lost a database (missing or empty "
               "state.db or inbox.db); without it omnisyncd refuses to start there");
  cli.add_flag("--version", into.show_version, "print the version and exit");
}

}  // namespace omnisync::app
