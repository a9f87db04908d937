// omnisyncctl reload [--force] and lint [--config FILE | --mapping FILE...]: changing mappings safely. reload
// prints what the daemon says about the change (warnings, lint findings of the changed mappings, what it
// re-writes, next steps); lint checks the running mappings or a candidate before it is loaded.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <iostream>
#include <memory>

#include "core/json_text.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const json::array& list(const json::object& o, const char* key) {
  static const json::array none;
  auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array() : none;
}

/// "FILE:LINE: SEVERITY: CONNECTOR/OBJECT: MESSAGE", as lint prints each finding.
std::string finding_line(const json::object& f) {
  std::string where =
      string_field(f, "connector").empty() ? "" : string_field(f, "connector") + "/" + string_field(f, "object") + ": ";
  return string_field(f, "file") + ":" + std::to_string(int_field(f, "line")) + ": " + string_field(f, "severity") +
         ": " + where + string_field(f, "message") + "\n";
}

/// The reply of an applied reload in words: what changed, warnings, what it re-writes, what to do next.
std::string format_reload(const json::object& r) {
  std::string out = "reloaded " + string_field(r, "config_file") + ": " + std::to_string(int_field(r, "connectors")) +
                    " connector(s)" +
                    (r.contains("forced") && r.at("forced").as_bool() ? " (forced despite lint errors)" : "") + "\n";
  for (const auto& v : list(r, "mappings")) {
    const auto& m = v.as_object();
    out += "  mapping " + string_field(m, "change") + ": " + string_field(m, "file") + " (" + string_field(m, "kind") +
           "/" + string_field(m, "object") + ", " + string_field(m, "direction") + "bound)\n";
  }
  for (const auto& v : list(r, "lint")) out += "  " + finding_line(v.as_object());
  for (const auto& v : list(r, "rechecks")) {
    const auto& c = v.as_object();
    out += "  " + string_field(c, "connector") + "/" + string_field(c, "object") + ": " +
           std::to_string(int_field(c, "to_write")) + " record(s) to re-write";
    if (int_field(c, "creates") > 0) out += " (" + std::to_string(int_field(c, "creates")) + " new)";
    out += " of " + std::to_string(int_field(c, "checked")) + " checked with the new mapping";
    if (c.contains("shadow") && c.at("shadow").as_bool())
      out += "; shadow mode: not sent, see `omnisyncctl plan --connector " + string_field(c, "connector") + "`";
    out += "\n";
  }
  if (!string_field(r, "recheck_note").empty()) out += "  note: " + string_field(r, "recheck_note") + "\n";
  for (const auto& v : list(r, "warnings")) out += "warning: " + std::string(v.as_string()) + "\n";
  for (const auto& v : list(r, "next_steps")) out += "next: " + std::string(v.as_string()) + "\n";
  return out;
}

}  // namespace

subcommand reload_subcommand() {
  const auto& spec = control::catalogue::reload;
  auto force = std::make_shared<bool>(false);
  return subcommand{
      std::string(spec.name),
      std::string(spec.help) + "; exits 1 when rejected or refused (the previous configuration stays)",
      [force, &spec](CLI::App& app) { app.add_flag("--force", *force, std::string(spec.arg("force")->help)); },
      [force](const ctl_options& o) {
        json::object args;
        if (*force) args["force"] = true;
        return run_daemon_command(o, "reload", json::serialize(args), [&o](const std::string& j) {
          const auto r = json::parse(j).as_object();
          std::string out = format_reload(r);
          // In shadow mode nothing is sent: show the plan of each destination re-written (its first writes).
          for (const auto& v : list(r, "rechecks")) {
            const auto& c = v.as_object();
            if (!c.contains("shadow") || !c.at("shadow").as_bool() || int_field(c, "to_write") == 0) continue;
            auto plan = call(o.socket, "plan", json::object{{"connector", string_field(c, "connector")}, {"limit", 20}},
                             o.timeout);
            if (plan.state == call_result::status::ok && plan.result.is_object())
              out += "plan for " + string_field(c, "connector") + " (first 20 writes):\n" + format_plan(plan.result);
          }
          return out;
        });
      },
      &spec};
}

subcommand lint_subcommand() {
  const auto& spec = control::catalogue::lint;
  struct lint_args {
    std::string config;
    std::vector<std::string> mappings;
  };
  auto la = std::make_shared<lint_args>();
  return subcommand{
      std::string(spec.name), std::string(spec.help) + "; exits 1 when a mapping has errors",
      [la, &spec](CLI::App& app) {
        auto* c = app.add_option("--config", la->config, std::string(spec.arg("config")->help))->check(CLI::ExistingFile);
        auto* m = app.add_option("--mapping", la->mappings, std::string(spec.arg("mapping")->help))
                      ->check(CLI::ExistingFile);
        c->excludes(m);
      },
      [la](const ctl_options& o) {
        json::object args;
        // The daemon reads the files: absolute paths, resolved here against omnisyncctl's working directory.
        if (!la->config.empty()) args["config"] = fs::absolute(la->config).lexically_normal().string();
        if (!la->mappings.empty()) {
          json::array files;
          for (const auto& f : la->mappings) files.push_back(json::string(fs::absolute(f).lexically_normal().string()));
          args["mapping"] = std::move(files);
        }
        auto r = call(o.socket, "lint", args, o.timeout);
        if (r.state == call_result::status::unreachable) {
          std::cerr << "omnisyncctl: " << r.message << "\n";
          return int(exit_code::unavailable);
        }
        if (r.state != call_result::status::ok || !r.result.is_object()) {
          std::cerr << "omnisyncctl: lint: " << r.message << (r.error_code.empty() ? "" : " (" + r.error_code + ")")
                    << "\n";
          return r.state == call_result::status::daemon_error ? exit_code_of(r.error_code) : int(exit_code::daemon_error);
        }
        const auto& res = r.result.as_object();
        if (o.json) {
          std::cout << to_json_text(res) << "\n";
        } else {
          for (const auto& v : list(res, "findings")) std::cout << finding_line(v.as_object());
          std::cout << list(res, "findings").size() << " finding(s), " << int_field(res, "errors") << " error(s)\n";
        }
        return int_field(res, "errors") > 0 ? int(exit_code::daemon_error) : int(exit_code::ok);
      },
      &spec};
}

}  // namespace omnisync::ctl
