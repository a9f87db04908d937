#pragma once
/// Reading omnisync.yaml into `config::daemon_config` for the daemon (start-up, --check-config, reload).
///
/// This is the app's own reader of the common sections (daemon, http, store, mappings_dir, connectors' shared
/// keys; adapter-specific connector keys and canonical/identity/survivorship are accepted as YAML subtrees),
/// built on the config area's diagnostics. Every problem is reported at once as file:line:col: path: message;
/// unknown keys are errors. Secret values found (`*_file` keys, `${ENV}` references in `auth` blocks) are
/// returned separately so the logger can mask them; they are never part of a diagnostic.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/config/daemon_config.hpp"
#include "config/diagnostics.hpp"

namespace omnisync::mapping {
class plan;
}
namespace omnisync::profile {
struct settings;
}

namespace omnisync::app {

/// Command-line values that win over the file (omnisyncd --state-dir, --control-socket).
struct config_overrides {
  std::optional<std::filesystem::path> state_dir;
  std::optional<std::filesystem::path> control_socket;
};

struct loaded_config {
  std::shared_ptr<const config::daemon_config> config;  ///< null when there were problems
  config::diagnostics problems;
  std::vector<std::string> secret_values;                ///< for the log redactor only
  /// Every mapping file under `mappings_dir`, compiled against the canonical attributes (start-up,
  /// --check-config and reload all compile them: a mapping error rejects the whole config).
  std::vector<std::shared_ptr<const mapping::plan>> mappings;
  /// The identity, survivorship, KPI and propagation rules (defaults where the file says nothing).
  std::shared_ptr<const profile::settings> profiles;
  bool ok() const noexcept { return config != nullptr; }
};

loaded_config load_daemon_config(const std::filesystem::path& file, const config_overrides& overrides);

}  // namespace omnisync::app
