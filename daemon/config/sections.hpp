#pragma once
/// The loader's readers of omnisync.yaml's sections, one function per group (internal to daemon/config; the
/// entry point is loader.hpp). Each reports every problem through the reader and fills what passed.
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/config/daemon_config.hpp"
#include "daemon/config/reader.hpp"

namespace YAML {
class Node;
}
namespace omnisync::profile {
struct settings;
}
namespace omnisync::segments {
struct segment_def;
}

namespace omnisync::config {

/// `daemon:`, `http:`, `store:` (its DSN secret goes to `secret_values` too) and `mappings_dir:`.
void read_daemon_sections(reader& r, const YAML::Node& root, const std::filesystem::path& base, daemon_config& cfg,
                          std::vector<std::string>& secret_values);

/// `console:` (daemon/console/): listener, the read and write tokens (secrets, added to `secret_values`), TLS.
void read_console_section(reader& r, const YAML::Node& root, const std::filesystem::path& base, daemon_config& cfg,
                          std::vector<std::string>& secret_values);

/// `identity:`, `survivorship:`, `kpis:` and `propagation:` (the 360 view's rules; absent sections keep the
/// shipped defaults described in daemon/profile/README.md).
void read_profile_sections(reader& r, const YAML::Node& root, profile::settings& s);

/// `segments:` — the definitions as written (keys, holdout, priority group, `sync:` destinations checked
/// against the connectors); the loader compiles their expressions once the mappings are known.
std::vector<segments::segment_def> read_segments(reader& r, const YAML::Node& root, const daemon_config& cfg);

}  // namespace omnisync::config
