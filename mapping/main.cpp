// omnisync-map: the mapping dry run as a standalone program (omnisyncctl map calls the same function).
#include <CLI/CLI.hpp>

#include <iostream>

#include "mapping/dry_run.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  omnisync::mapping::map_command_options opts;
  std::string mapping, input, config;
  CLI::App app{"Apply a mapping file to JSON lines (one record per line) and print the mapped records"};
  app.add_option("--mapping,-m", mapping, "mapping file (<kind>/<Object>.<in|out>.yaml)")->required();
  app.add_option("--input,-i", input, "JSON lines file (default: stdin)");
  app.add_option("--config,-c", config, "omnisync.yaml whose canonical: section declares the attributes");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage errors exit 2 (SEAMS)
  }
  opts.mapping = mapping;
  opts.input = input;
  opts.config_file = config;
  return omnisync::mapping::run_map_command(opts);
}
