// omnisyncd: parse flags, validate the config, run the application. Everything else lives in omnisync_daemon.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "daemon/app/application.hpp"
#include "daemon/app/connect_check.hpp"
#include "daemon/config/loader.hpp"
#include "daemon/app/logging.hpp"
#include "core/version.hpp"
#include "daemon/app/cli.hpp"

int main(int argc, char** argv) {
  using namespace omnisync::app;
  CLI::App cli{description};
  command_line flags;
  add_command_line(cli, flags);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    cli.exit(e);
    return exit_usage;  // CLI11 would answer 105/106..., the daemon's contract is 2
  }
  if (flags.connect && !flags.check_only) {
    std::cerr << "omnisyncd: --connect is used with --check-config\n";
    return exit_usage;
  }
  if (flags.show_version) {
    std::printf("omnisyncd %s\n", omnisync::version_string);
    return exit_ok;
  }

  config_overrides overrides;
  if (!flags.state_dir.empty()) overrides.state_dir = flags.state_dir;
  if (!flags.control_socket.empty()) overrides.control_socket = flags.control_socket;
  overrides.shadow = flags.shadow;
  auto loaded = load_daemon_config(flags.config_file, overrides);
  if (!loaded.ok()) {
    std::cerr << loaded.problems.format();
    std::cerr << flags.config_file << ": " << loaded.problems.size() << " problem(s); "
              << (flags.check_only ? "configuration is invalid" : "not starting") << "\n";
    return exit_config;
  }
  if (flags.check_only) {
    std::cout << flags.config_file << ": configuration OK (" << loaded.config->connectors.size() << " connector(s), "
              << loaded.mappings.size() << " mapping file(s))\n";
    if (flags.connect) return check_connections(*loaded.config, std::cout) ? exit_ok : exit_failure;
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
    application app({flags.config_file, overrides, flags.init_store}, std::move(loaded));
    return app.run();
  } catch (const std::exception& e) {
    logger("app")->critical("start-up failed: {}", e.what());
    return exit_failure;
  }
}
