// Subcommands that live in other libraries. Each is one entry here.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "daemon/ctl/subcommands.hpp"
#include "mapping/dry_run.hpp"
#include "mapping/test_runner.hpp"

namespace omnisync::ctl {

std::vector<subcommand> extension_subcommands() {
  std::vector<subcommand> out;

  // `omnisyncctl map`: the mapping dry run (--mapping) or the mapping test runner (--test DIR), no daemon needed
  // (exit codes: see mapping/dry_run.hpp and mapping/test_runner.hpp).
  struct map_state {
    mapping::map_command_options run;
    mapping::map_test_options test;
  };
  auto map = std::make_shared<map_state>();
  out.push_back({"map",
                 "Apply a mapping file to JSON lines locally (stdin when no --input): mapped records on stdout, "
                 "per-record errors on stderr; or run the mapping fixtures under a directory (--test DIR)",
                 [map](CLI::App& app) {
                   auto* m = app.add_option("--mapping,-m", map->run.mapping, "Mapping file (YAML)")->type_name("FILE");
                   app.add_option("--input,-i", map->run.input, "JSON lines file (default: stdin)")->type_name("FILE");
                   app.add_option("--config,-c", map->run.config_file,
                                  "omnisync.yaml whose canonical attributes to use (default: the shipped set)")
                       ->type_name("FILE");
                   auto* t = app.add_option("--test", map->test.fixtures,
                                            "Run the fixtures under DIR: <name>.input.jsonl with <name>.expected.jsonl "
                                            "beside mapping <name>.yaml; a field-level diff for each record that differs")
                                 ->type_name("DIR");
                   app.add_option("--mappings", map->test.mappings,
                                  "With --test: the mappings' directory when the fixtures live apart (same layout)")
                       ->type_name("DIR");
                   app.add_flag("--require-fixtures", map->test.require_fixtures,
                                "With --test: a mapping without a fixture fails");
                   app.add_flag("--update", map->test.update,
                                "With --test: write the current output as the expected files (review the diff)");
                   app.add_flag("--verbose,-v", map->test.verbose, "With --test: list passing fixtures too");
                   m->excludes(t);
                 },
                 [map](const ctl_options&) {
                   if (!map->test.fixtures.empty()) {
                     map->test.config_file = map->run.config_file;
                     return mapping::run_map_tests(map->test);
                   }
                   if (map->run.mapping.empty()) {
                     std::cerr << "omnisyncctl map: --mapping FILE or --test DIR is required\n";
                     return static_cast<int>(exit_code::usage);
                   }
                   return mapping::run_map_command(map->run);
                 }});
  return out;
}

}  // namespace omnisync::ctl
