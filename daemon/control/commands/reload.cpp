// reload: the application loads the configuration file again (as on SIGHUP), lints the mapping files it adds or
// changes, and applies it or keeps the old one; this renders what it did, warnings and next steps included.
#include <boost/json.hpp>

#include <set>

#include "config/connector.hpp"
#include "daemon/config/daemon_config.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/control/commands/groups.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

json::object finding_json(const sync::lint_finding& f) {
  return json::object{{"severity", f.severity}, {"connector", f.connector}, {"object", f.object}, {"file", f.file},
                      {"line", f.line},         {"field", f.field},         {"message", f.message}};
}

/// What to do after inbound mappings changed: the one place this advice is worded.
std::vector<std::string> next_steps(const reload_result& r, const config::daemon_config* cfg) {
  std::set<std::string> connectors;
  for (const auto& m : r.mappings) {
    if (m.direction != "in") continue;
    if (cfg)
      for (const auto& cc : cfg->connectors)
        if (cc.kind == m.kind) connectors.insert(cc.name);
  }
  std::vector<std::string> out;
  for (const auto& c : connectors)
    out.push_back("inbound mapping of " + c + " changed: the profiles were rebuilt from the stored records with it; "
                  "run `omnisyncctl remap " + c + "` to re-apply it to " + c + "'s stored records and write what "
                  "changes to the destinations");
  return out;
}

reply reload_reply(const reload_result& r, const config::daemon_config* cfg) {
  json::array warnings, mappings, lint, rechecks, steps;
  for (const auto& w : r.warnings) warnings.push_back(json::string(w));
  for (const auto& m : r.mappings)
    mappings.push_back(json::object{{"kind", m.kind}, {"object", m.object}, {"file", m.file},
                                    {"direction", m.direction}, {"change", m.change}});
  for (const auto& f : r.lint) lint.push_back(finding_json(f));
  for (const auto& c : r.rechecks)
    rechecks.push_back(json::object{{"connector", c.connector},
                                    {"object", c.object},
                                    {"checked", static_cast<std::int64_t>(c.checked)},
                                    {"to_write", static_cast<std::int64_t>(c.to_write)},
                                    {"creates", static_cast<std::int64_t>(c.creates)},
                                    {"shadow", c.shadow}});
  switch (r.what) {
    case reload_result::outcome::applied: {
      for (auto& s : next_steps(r, cfg)) steps.push_back(json::string(s));
      json::object o{{"reloaded", true},  {"config_file", r.config_file}, {"connectors", r.connectors},
                     {"forced", r.forced}, {"warnings", std::move(warnings)}, {"mappings", std::move(mappings)},
                     {"lint", std::move(lint)}, {"rechecks", std::move(rechecks)}, {"next_steps", std::move(steps)}};
      if (!r.recheck_note.empty()) o["recheck_note"] = r.recheck_note;
      return reply::success(std::move(o));
    }
    case reload_result::outcome::stopping:
      return reply::failure("stopping", "the daemon is stopping; not reloading");
    case reload_result::outcome::refused: {
      std::string text;
      std::size_t errors = 0;
      for (const auto& f : r.lint) {
        if (f.severity != "error") continue;
        ++errors;
        text += "\n" + f.file + ":" + std::to_string(f.line) + ": error: " + f.connector + "/" + f.object + ": " +
                f.message;
      }
      return reply::failure("lint_errors", "configuration refused, previous one kept: lint found " +
                                               std::to_string(errors) + " error(s) in the changed mappings (--force "
                                               "applies it anyway):" + text);
    }
    case reload_result::outcome::rejected:
      break;
  }
  return reply::failure("config_invalid", "configuration rejected, previous one kept:\n" + r.problems);
}

asio::awaitable<reply> reload(const context& ctx, json::object args) {
  reload_request req;  // (no braced initializer of strings in a coroutine: GCC 12 destroys them twice)
  req.trigger = "control command";
  if (const auto* f = args.if_contains("force"); f && f->is_bool()) req.force = f->as_bool();
  auto r = co_await ctx.reload(std::move(req));
  auto cfg = ctx.config();
  co_return reload_reply(r, cfg.get());
}

}  // namespace

void add_reload_command(command_table& table, const context& ctx) {
  table.add(catalogue::reload, [&ctx](json::object args, event_sink&) { return reload(ctx, std::move(args)); });
}

}  // namespace omnisync::control::commands
