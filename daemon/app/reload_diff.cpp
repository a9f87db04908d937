#include "daemon/app/reload_diff.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "daemon/app/logging.hpp"
#include "daemon/console/server.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::app {
namespace {

/// The keys whose values differ between two connector blocks (secrets compared by value, never shown).
std::vector<std::string> changed_keys(const config::setting_values& a, const config::setting_values& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) {
    const auto* other = b.find(k);
    if (!other || !(*other == v)) keys.insert(k);
  }
  for (const auto& [k, v] : b.items())
    if (!a.find(k)) keys.insert(k);
  return {keys.begin(), keys.end()};
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

const config::connector_common* find(const config::daemon_config& c, const std::string& name) {
  for (const auto& cc : c.connectors)
    if (cc.name == name) return &cc;
  return nullptr;
}

}  // namespace

mapping_snapshot snapshot_mappings(const std::vector<std::shared_ptr<const mapping::plan>>& plans) {
  mapping_snapshot s;
  for (const auto& p : plans) {
    std::ifstream in(p->file(), std::ios::binary);
    std::ostringstream text;
    if (in) text << in.rdbuf();
    s.files[p->file()] = {p->system(), p->object(), p->direction() == mapping::direction::inbound ? "in" : "out",
                          text.str()};
  }
  return s;
}

std::vector<control::commands::mapping_change> diff_mappings(const mapping_snapshot& now, const mapping_snapshot& next) {
  std::vector<control::commands::mapping_change> out;
  for (const auto& [file, e] : next.files) {
    auto it = now.files.find(file);
    if (it != now.files.end() && it->second.text == e.text) continue;
    out.push_back({e.kind, e.object, file, e.direction, it == now.files.end() ? "added" : "changed"});
  }
  for (const auto& [file, e] : now.files)
    if (!next.files.count(file)) out.push_back({e.kind, e.object, file, e.direction, "removed"});
  return out;
}

std::vector<std::string> restart_warnings(const config::daemon_config& now, const config::daemon_config& next) {
  std::vector<std::string> out;
  for (const auto& cc : next.connectors) {
    const auto* was = find(now, cc.name);
    if (!was) {
      out.push_back("connector " + cc.name + " is new: it starts at the next restart (until then its webhooks "
                    "answer 404)");
      continue;
    }
    auto keys = changed_keys(was->settings, cc.settings);
    // Applied by the reload itself (write policies and mappings): not worth a warning.
    std::erase_if(keys, [](const std::string& k) {
      return k == "sync.mode" || k == "sync.write_nulls" || k.rfind("sync.fields", 0) == 0;
    });
    if (keys.empty()) continue;
    std::vector<std::string> hooks;
    for (const auto& k : keys)
      if (k.rfind("webhook", 0) == 0) hooks.push_back(k);
    std::string line = "connector " + cc.name + ": " + joined(keys) + " changed: takes effect at the next restart";
    if (!hooks.empty())
      line += "; its webhook routes stay as they are until then, so deliveries sent to the new address (" +
              joined(hooks) + ") answer 404";
    out.push_back(std::move(line));
  }
  for (const auto& cc : now.connectors)
    if (!find(next, cc.name))
      out.push_back("connector " + cc.name + " was removed: it keeps running until the next restart");
  std::vector<std::string> daemon_keys;
  if (next.daemon.state_dir != now.daemon.state_dir) daemon_keys.push_back("daemon.state_dir");
  if (next.daemon.control_socket != now.daemon.control_socket) daemon_keys.push_back("daemon.control_socket");
  if (next.daemon.threads != now.daemon.threads) daemon_keys.push_back("daemon.threads");
  if (next.store.synchronous != now.store.synchronous) daemon_keys.push_back("store.synchronous");
  if (next.http.listen != now.http.listen) daemon_keys.push_back("http.listen");
  if (next.http.dedupe_retention != now.http.dedupe_retention) daemon_keys.push_back("http.dedupe_retention");
  if (!daemon_keys.empty()) out.push_back(joined(daemon_keys) + " changed: takes effect at the next restart");
  return out;
}

std::size_t count_lint_errors(control::commands::reload_result& result) {
  std::size_t errors = 0;
  for (const auto& f : result.lint) {
    if (f.severity == "error") ++errors;
    else if (f.line == 0) result.warnings.push_back(f.file + ": " + f.message);  // metadata not readable
  }
  return errors;
}

void refuse_for_lint(control::commands::reload_result& result, control::commands::reload_record& record,
                     std::size_t errors) {
  auto log = logger("app");
  log->error("reload refused: lint found {} error(s) in the changed mappings; the previous configuration stays "
             "in effect (omnisyncctl reload --force applies it anyway):", errors);
  for (const auto& f : result.lint)
    if (f.severity == "error") {
      log->error("  {}:{}: {}/{}: {}", f.file, f.line, f.connector, f.object, f.message);
      const auto where = f.file + ":" + std::to_string(f.line) + ": " + f.message;
      record.diagnostics.push_back(where);
      // The run history's record of this reload says why it was refused, as the caller was told.
      result.problems += (result.problems.empty() ? "" : "\n") + where;
    }
  result.what = control::commands::reload_result::outcome::refused;
}

void note_recheck(control::commands::reload_result& result,
                  const std::optional<omnisync::result<std::vector<sync::recheck_count>>>& rc) {
  auto log = logger("app");
  if (!rc) {
    result.recheck_note = "the daemon is stopping; the changed outbound mappings were not re-checked";
  } else if (!*rc && rc->error() == make_error_code(errc::not_found)) {
    result.recheck_note = "this instance does not run the pipeline: the one leading the cluster re-checks the "
                          "destinations when it reloads";
  } else if (!*rc && rc->error() == make_error_code(errc::retry)) {
    result.recheck_note = "the profiles are still being rebuilt; the destinations were not re-checked (records "
                          "are written with the new mapping when their profiles change next)";
  } else if (!*rc) {
    result.recheck_note = "re-checking the destinations failed: " + rc->error().message();
  } else {
    result.rechecks = **rc;
    for (const auto& r : result.rechecks)
      log->info("reload: {}/{}: {} record(s) re-checked, {} differ and are queued{}", r.connector, r.object,
                r.checked, r.to_write, r.shadow ? " (shadow mode: not sent)" : "");
  }
  if (!result.recheck_note.empty()) log->warn("reload: {}", result.recheck_note);
}

bool reload_console_tls(console::server* web_console, const config::console_section& next,
                        control::commands::reload_result& result, control::commands::reload_record& record) {
  if (!web_console || next.tls_cert.empty()) return true;
  std::string why;
  if (web_console->reload_tls(next.tls_cert, next.tls_key, &why)) return true;
  if (why.find("needs a restart") != std::string::npos) {  // a plain console cannot switch to HTTPS in place
    result.warnings.push_back("console.tls: " + why);
    return true;
  }
  why = "console.tls: " + why;
  logger("app")->error("reload rejected: {}", why);
  record.diagnostics.push_back(why);
  result.what = control::commands::reload_result::outcome::rejected;
  result.problems = std::move(why);
  return false;
}

}  // namespace omnisync::app
