// omnisyncctl: the control client of omnisyncd. Exit codes: 0 ok, 1 the daemon reported an error, 2 usage,
// 69 daemon unreachable.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "core/version.hpp"
#include "daemon/ctl/subcommands.hpp"

int main(int argc, char** argv) {
  using namespace omnisync::ctl;
  CLI::App app{"omnisyncctl — control omnisyncd through its Unix socket", "omnisyncctl"};
  app.set_version_flag("--version", std::string("omnisyncctl ") + omnisync::version_string);
  app.require_subcommand(1);
  ctl_options options;
  if (const char* env = std::getenv("OMNISYNC_SOCKET"); env && *env) options.socket = env;
  std::string timeout = "30s";
  app.add_option("--socket,-s", options.socket, "Control socket path (env OMNISYNC_SOCKET)")
      ->capture_default_str();
  app.add_flag("--json,-j", options.json, "Print replies as JSON (for scripts)");
  app.add_option("--timeout", timeout, "Longest silence to wait for the daemon, e.g. 30s, 500ms")
      ->capture_default_str();

  std::vector<subcommand> commands = daemon_subcommands();
  for (auto& c : extension_subcommands()) commands.push_back(std::move(c));
  std::vector<std::pair<CLI::App*, const subcommand*>> parsed;
  for (const auto& c : commands) {
    auto* sub = app.add_subcommand(c.name, c.description);
    c.configure(*sub);
    parsed.emplace_back(sub, &c);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse problem is a usage error (2), not CLI11's default codes.
    int code = app.exit(e);
    return code == 0 ? exit_code::ok : exit_code::usage;
  }

  char unit[3] = {};
  long value = 0;
  if (std::sscanf(timeout.c_str(), "%ld%2s", &value, unit) < 1 || value <= 0) {
    std::cerr << "omnisyncctl: --timeout: expected a duration like 30s or 500ms, got \"" << timeout << "\"\n";
    return exit_code::usage;
  }
  std::string u(unit);
  if (u == "ms") options.timeout = std::chrono::milliseconds(value);
  else if (u == "s" || u.empty()) options.timeout = std::chrono::seconds(value);
  else if (u == "m") options.timeout = std::chrono::minutes(value);
  else {
    std::cerr << "omnisyncctl: --timeout: unknown unit \"" << u << "\" (use ms, s or m)\n";
    return exit_code::usage;
  }

  for (auto& [sub, c] : parsed)
    if (sub->parsed()) return c->run(options);
  return exit_code::usage;
}
