#pragma once
/// What a reload changes, computed from the configuration in effect and the candidate (pure, no I/O besides
/// reading the mapping files' text when a snapshot is taken): which mapping files were added, changed or removed
/// (by content), and which differences wait for a restart (connector settings, webhook routes, daemon.* keys)
/// in words an operator can act on. The application keeps a snapshot of the mappings in effect and compares
/// each candidate with it. Also how a reload's lint findings and destination re-check end up in its result
/// (and in the log), so the application's reload reads as its steps.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/connector.hpp"
#include "daemon/config/daemon_config.hpp"
#include "daemon/control/commands/context.hpp"

namespace omnisync::mapping {
class plan;
}
namespace omnisync::console {
class server;
}

namespace omnisync::app {

/// The mapping files of one configuration: by file, its system, object, direction and text.
struct mapping_snapshot {
  struct entry {
    std::string kind, object, direction, text;
  };
  std::map<std::string, entry> files;
};

/// Reads the text of each plan's file (a file that cannot be read counts as empty text).
mapping_snapshot snapshot_mappings(const std::vector<std::shared_ptr<const mapping::plan>>& plans);

/// The files of `next` that are new or differ from `now`, and those of `now` that `next` lacks; by file name.
std::vector<control::commands::mapping_change> diff_mappings(const mapping_snapshot& now, const mapping_snapshot& next);

/// One sentence per difference between `now` and `next` that a reload does not apply: connectors added,
/// removed or with changed settings (those whose webhook settings changed say that their webhook routes stay as
/// they were, so deliveries to the new address answer 404 until the restart), and daemon/store keys read only
/// at start-up.
std::vector<std::string> restart_warnings(const config::daemon_config& now, const config::daemon_config& next);

/// Sorts the lint findings in `result.lint`: returns how many are errors; a finding without a line (the vendor's
/// metadata could not be read) becomes a warning of the reload.
std::size_t count_lint_errors(control::commands::reload_result& result);

/// A reload refused because its changed mappings have `errors` lint errors: each is logged and goes to the
/// reload record's diagnostics and to the problems the caller and the run history see.
void refuse_for_lint(control::commands::reload_result& result, control::commands::reload_record& record,
                     std::size_t errors);

/// The destinations' re-check after an applied reload: its counts (logged), or a note saying why it did not run
/// (`rc` empty: the daemon is stopping; not_found: another instance leads the cluster; retry: profiles rebuilding).
void note_recheck(control::commands::reload_result& result,
                  const std::optional<omnisync::result<std::vector<sync::recheck_count>>>& rc);

/// The console's TLS certificate and key read again (renewed in place, or new paths), before the reload applies
/// anything else: true when loaded, or when there is nothing to load (console off or plain; a plain console that
/// is given TLS gets a warning that this takes a restart). False when the new pair does not load: the reload is
/// refused (`result` and `record` say why, logged) and the console keeps serving the old pair.
bool reload_console_tls(console::server* web_console, const config::console_section& next,
                        control::commands::reload_result& result, control::commands::reload_record& record);

}  // namespace omnisync::app
