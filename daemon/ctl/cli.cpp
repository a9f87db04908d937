#include "daemon/ctl/cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "config/value_syntax.hpp"
#include "core/time.hpp"
#include "core/version.hpp"

namespace omnisync::ctl {

std::unique_ptr<cli> make_cli() {
  auto c = std::make_unique<cli>();
  auto& app = c->app;
  app.set_version_flag("--version", std::string("omnisyncctl ") + omnisync::version_string);
  app.require_subcommand(1);
  // Global options may follow the subcommand too (`omnisyncctl status --json`): subcommands inherit this and hand
  // the options they do not know to the app.
  app.fallthrough();
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

std::optional<std::string> unknown_command(const cli& c, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") return std::nullopt;
    if (a.starts_with("-")) {
      // the global options that take a value in the next word
      if (a == "--socket" || a == "-s" || a == "--timeout") ++i;
      continue;
    }
    std::vector<std::string> names;
    for (const auto& x : c.commands) {
      if (x.name == a) return std::nullopt;
      names.push_back(x.name);
    }
    return "unknown command \"" + std::string(a) + "\"" + config::did_you_mean(a, names) +
           "; `omnisyncctl --help` lists the commands";
  }
  return std::nullopt;
}

CLI::Validator since_validator() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        if (parse_since(s, utc_now())) return {};
        return "expected a UTC time (2026-11-01T00:00:00Z), a time ago (30m, 1h, 7d) or today/yesterday, got \"" + s +
               "\"";
      },
      "");
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
