#include "daemon/ctl/cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/version.hpp"

namespace omnisync::ctl {

std::unique_ptr<cli> make_cli() {
  auto c = std::make_unique<cli>();
  auto& app = c->app;
  app.set_version_flag("--version", std::string("omnisyncctl ") + omnisync::version_string);
  app.require_subcommand(1);
  if (const char* env = std::getenv("OMNISYNC_SOCKET"); env && *env) c->options.socket = env;
  // type_name FILE: shown by --help, and the generated shell completions complete paths for it.
  app.add_option("--socket,-s", c->options.socket, "Control socket path (env OMNISYNC_SOCKET)")
      ->capture_default_str()
      ->type_name("FILE");
  app.add_flag("--json,-j", c->options.json, "Print replies as JSON (for scripts)");
  app.add_option("--timeout", c->timeout, "Longest silence to wait for the daemon, e.g. 30s, 500ms")
      ->capture_default_str();

  c->commands = daemon_subcommands();
  for (auto& x : extension_subcommands()) c->commands.push_back(std::move(x));
  for (const auto& x : c->commands) {
    auto* sub = app.add_subcommand(x.name, x.description);
    x.configure(*sub);
    c->added.emplace_back(sub, &x);
  }
  return c;
}

bool parse_timeout(cli& c) {
  char unit[3] = {};
  long value = 0;
  if (std::sscanf(c.timeout.c_str(), "%ld%2s", &value, unit) < 1 || value <= 0) {
    std::cerr << "omnisyncctl: --timeout: expected a duration like 30s or 500ms, got \"" << c.timeout << "\"\n";
    return false;
  }
  std::string u(unit);
  if (u == "ms") c.options.timeout = std::chrono::milliseconds(value);
  else if (u == "s" || u.empty()) c.options.timeout = std::chrono::seconds(value);
  else if (u == "m") c.options.timeout = std::chrono::minutes(value);
  else {
    std::cerr << "omnisyncctl: --timeout: unknown unit \"" << u << "\" (use ms, s or m)\n";
    return false;
  }
  return true;
}

}  // namespace omnisync::ctl
