// omnisyncctl: the control client of omnisyncd. Exit codes: 0 ok, 1 the daemon reported an error, 2 usage,
// 69 daemon unreachable.
#include "daemon/ctl/cli.hpp"

#include <iostream>

int main(int argc, char** argv) {
  using namespace omnisync::ctl;
  auto c = make_cli();
  if (auto unknown = unknown_command(*c, argc, argv)) {
    std::cerr << "omnisyncctl: " << *unknown << "\n";
    return exit_code::usage;
  }
  try {
    c->app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; every other parse problem is a usage error (2), not CLI11's default codes.
    int code = c->app.exit(e);
    return code == 0 ? exit_code::ok : exit_code::usage;
  }
  if (!parse_timeout(*c)) return exit_code::usage;
  for (auto& [sub, command] : c->added)
    if (sub->parsed()) return command->run(c->options);
  return exit_code::usage;
}
