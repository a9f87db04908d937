#pragma once
/// `omnisyncctl map`: applies one mapping file to JSON lines without a daemon.
#include <filesystem>
#include <iosfwd>

namespace omnisync::mapping {

struct map_command_options {
  std::filesystem::path mapping;      ///< the mapping file
  std::filesystem::path input;        ///< JSON lines; empty = stdin
  std::filesystem::path config_file;  ///< optional omnisync.yaml whose `canonical:` is used; empty = default set
};

/// Exit codes (SEAMS): 0 all mapped, 1 some records failed, 65 input is not JSON (bad lines reported, the rest
/// still mapped), 66 input file cannot be opened, 78 bad mapping (diagnostics on `err`).
/// Streams: memory stays flat whatever the input size (longest line + a fixed buffer).
int run_map_command(const map_command_options& opts, std::ostream& out, std::ostream& err);
/// Same, on stdout/stderr (stdout written with large unsynchronised writes).
int run_map_command(const map_command_options& opts);

}  // namespace omnisync::mapping
