// omnisyncd: parse flags, validate the config, run the application. Everything else lives in omnisync_daemon.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "daemon/app/application.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/app/logging.hpp"
#include "core/version.hpp"

int main(int argc, char** argv) {
  using namespace omnisync::app;
  CLI::App cli{"omnisyncd: keeps a 360-degree customer view in sync between Salesforce, HubSpot, Zendesk, "
               "ActiveCampaign and Intercom"};
  std::string config_file = "/etc/omnisync/omnisync.yaml";
  std::string state_dir, control_socket;
  bool check_only = false, show_version = false, shadow = false, init_store = false;
  cli.add_option("-c,--config", config_file, "configuration file")->capture_default_str();
  cli.add_flag("--check-config", check_only, "validate the configuration, print every problem, exit 0 or 78");
  cli.add_option("--state-dir", state_dir, "overrides daemon.state_dir");
  cli.add_option("--control-socket", control_socket, "overrides daemon.control_socket");
  cli.add_flag("--shadow", shadow,
               "shadow mode for every connector this run: every write is computed and queued, none is sent "
               "(omnisyncctl plan shows them)");
  cli.add_flag("--init-store", init_store,
               "start with a new, empty store where a used state directory lost a database (missing or empty "
               "state.db or inbox.db); without it omnisyncd refuses to start there");
  cli.add_flag("--version", show_version, "print the version and exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    cli.exit(e);
    return exit_usage;  // CLI11 would answer 105/106..., the daemon's contract is 2
  }
  if (show_version) {
    std::printf("omnisyncd %s\n", omnisync::version_string);
    return exit_ok;
  }

  config_overrides overrides;
  if (!state_dir.empty()) overrides.state_dir = state_dir;
  if (!control_socket.empty()) overrides.control_socket = control_socket;
  overrides.shadow = shadow;
  auto loaded = load_daemon_config(config_file, overrides);
  if (!loaded.ok()) {
    std::cerr << loaded.problems.format();
    std::cerr << config_file << ": " << loaded.problems.size() << " problem(s); "
              << (check_only ? "configuration is invalid" : "not starting") << "\n";
    return exit_config;
  }
  if (check_only) {
    std::cout << config_file << ": configuration OK (" << loaded.config->connectors.size() << " connector(s), "
              << loaded.mappings.size() << " mapping file(s))\n";
    return exit_ok;
  }

  const auto& log = loaded.config->daemon.log;
  init_logging(choose_log_output(log.format == omnisync::config::log_format::json      ? "json"
                                 : log.format == omnisync::config::log_format::journal ? "journal"
                                 : log.format == omnisync::config::log_format::text    ? "text"
                                                                                       : "auto"));
  set_secrets(loaded.secret_values);
  apply_log_levels(log.level, log.components);
  try {
    application app({config_file, overrides, init_store}, std::move(loaded));
    return app.run();
  } catch (const std::exception& e) {
    logger("app")->critical("start-up failed: {}", e.what());
    return exit_failure;
  }
}
