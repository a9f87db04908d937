// omnisync-map: the mapping dry run and the mapping test runner as a standalone program (omnisyncctl map calls
// the same functions).
#include <CLI/CLI.hpp>

#include <iostream>

#include "mapping/dry_run.hpp"
#include "mapping/test_runner.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  omnisync::mapping::map_command_options opts;
  omnisync::mapping::map_test_options tests;
  std::string mapping, input, config;
  CLI::App app{"Apply a mapping file to JSON lines (one record per line) and print the mapped records; "
               "or, with --test DIR, run the mapping fixtures under DIR"};
  auto* m = app.add_option("--mapping,-m", mapping, "mapping file (<kind>/<Object>.<in|out>.yaml)");
  app.add_option("--input,-i", input, "JSON lines file (default: stdin)");
  app.add_option("--config,-c", config, "omnisync.yaml whose canonical: section declares the attributes");
  auto* t = app.add_option("--test", tests.fixtures,
                           "run the fixtures under DIR (<name>.input.jsonl + <name>.expected.jsonl next to <name>.yaml)");
  app.add_option("--mappings", tests.mappings, "--test: the mappings' directory when the fixtures live apart");
  app.add_flag("--require-fixtures", tests.require_fixtures, "--test: fail for every mapping without a fixture");
  app.add_flag("--update", tests.update, "--test: write the current output as the expected files");
  app.add_flag("--verbose,-v", tests.verbose, "--test: list passing fixtures too");
  m->excludes(t);
  try {
    app.parse(argc, argv);
    if (m->count() == 0 && t->count() == 0) throw CLI::RequiredError("--mapping or --test");
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage errors exit 2 (SEAMS)
  }
  if (t->count()) {
    tests.config_file = config;
    return omnisync::mapping::run_map_tests(tests);
  }
  opts.mapping = mapping;
  opts.input = input;
  opts.config_file = config;
  return omnisync::mapping::run_map_command(opts);
}
