#pragma once
/// Reading omnisync.yaml into `config::daemon_config` for the daemon (start-up, --check-config, reload).
///
/// Every problem is reported at once as file:line:col: path: message; unknown keys are errors at any depth,
/// duplicate keys anywhere too. The daemon-wide sections are read here (sections.hpp); each connector block is
/// validated against its kind's schema from the adapters' registry (adapters/registry.hpp), then each enabled
/// connector is built once so that what its adapter cannot work with is caught too; the mapping files are
/// compiled with the config. Secret values found (`*_file` keys, credentials, `${ENV}` references) are returned
/// separately so the logger can mask them; they are never part of a diagnostic.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "daemon/config/daemon_config.hpp"

namespace omnisync::mapping {
class plan;
}
namespace omnisync::profile {
struct settings;
}
namespace omnisync::segments {
class segment_set;
}

namespace omnisync::config {

/// Command-line values that win over the file (omnisyncd --state-dir, --control-socket).
struct config_overrides {
  std::optional<std::filesystem::path> state_dir;
  std::optional<std::filesystem::path> control_socket;
  bool shadow = false;  ///< omnisyncd --shadow: every connector in sync.mode shadow for this run
};

struct loaded_config {
  std::shared_ptr<const daemon_config> config;  ///< null when there were problems
  diagnostics problems;
  std::vector<std::string> secret_values;       ///< for the log redactor only
  /// Every mapping file under `mappings_dir`, compiled against the canonical attributes (start-up,
  /// --check-config and reload all compile them: a mapping error rejects the whole config).
  std::vector<std::shared_ptr<const mapping::plan>> mappings;
  /// The identity, survivorship, KPI and propagation rules (defaults where the file says nothing).
  std::shared_ptr<const profile::settings> profiles;
  /// The `segments:` section compiled against the profile schema (empty set when the file declares none).
  std::shared_ptr<const segments::segment_set> segments;
  bool ok() const noexcept { return config != nullptr; }
};

loaded_config load_daemon_config(const std::filesystem::path& file, const config_overrides& overrides);

}  // namespace omnisync::config

namespace omnisync::app {
// The application and omnisyncd's main name them here.
using config::config_overrides;
using config::load_daemon_config;
using config::loaded_config;
}  // namespace omnisync::app
