// Subcommands that live in other libraries. Each is one entry here.
#include <CLI/CLI.hpp>

#include <memory>

#include "daemon/ctl/subcommands.hpp"
#include "mapping/dry_run.hpp"

namespace omnisync::ctl {

std::vector<subcommand> extension_subcommands() {
  std::vector<subcommand> out;

  // `omnisyncctl map`: the mapping dry run, no daemon needed (exit codes: see mapping/dry_run.hpp).
  auto map = std::make_shared<mapping::map_command_options>();
  out.push_back({"map",
                 "Apply a mapping file to JSON lines locally (stdin when no --input): mapped records on stdout, "
                 "per-record errors on stderr",
                 [map](CLI::App& app) {
                   app.add_option("--mapping,-m", map->mapping, "Mapping file (YAML)")->required()->type_name("FILE");
                   app.add_option("--input,-i", map->input, "JSON lines file (default: stdin)")->type_name("FILE");
                   app.add_option("--config,-c", map->config_file,
                                  "omnisync.yaml whose canonical attributes to use (default: the shipped set)")
                       ->type_name("FILE");
                 },
                 [map](const ctl_options&) { return mapping::run_map_command(*map); }});
  return out;
}

}  // namespace omnisync::ctl
