// omnisyncctl test [CONNECTOR] [--timeout-step 15s]: each connector's connection checked step by step; a report per
// connector as it finishes, exit 1 when any step failed.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <memory>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;

bool flag(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

/// "hs (hubspot): ok" and one line per step: "  pass  tls: certificate verified for 127.0.0.1".
std::string format_report(const json::object& r) {
  std::string out =
      string_field(r, "connector") + " (" + string_field(r, "kind") + "): " + (flag(r, "ok") ? "ok" : "FAILED") + "\n";
  if (auto* steps = r.if_contains("steps"); steps && steps->is_array())
    for (const auto& s : steps->as_array()) {
      if (!s.is_object()) continue;
      const auto& so = s.as_object();
      const char* mark = flag(so, "skipped") ? "skip" : flag(so, "ok") ? "pass" : "FAIL";
      out += "  " + std::string(mark) + "  " + string_field(so, "step") + ": " + string_field(so, "detail") + "\n";
    }
  return out;
}

}  // namespace

subcommand test_subcommand() {
  const auto& spec = control::catalogue::test;
  auto connector = std::make_shared<std::string>();
  auto step_ms = std::make_shared<std::int64_t>(0);
  return subcommand{
      std::string(spec.name), std::string(spec.help) + "; exits 1 when a step failed",
      [connector, step_ms, &spec](CLI::App& app) {
        app.add_option("connector", *connector, std::string(spec.arg("connector")->help));
        app.add_option("--step-timeout-ms", *step_ms, std::string(spec.arg("timeout_ms")->help));
      },
      [connector, step_ms](const ctl_options& o) {
        json::object args;
        if (!connector->empty()) args["connector"] = *connector;
        if (*step_ms > 0) args["timeout_ms"] = *step_ms;
        // Each connector's report is printed as it arrives; the reply then only decides the exit code.
        auto r = call(o.socket, "test", args, o.timeout, [&](const json::object& ev) {
          if (o.json) return;
          if (auto* rep = ev.if_contains("connector_report"); rep && rep->is_object())
            std::cout << format_report(rep->as_object()) << std::flush;
        });
        switch (r.state) {
          case call_result::status::ok: {
            const bool ok = r.result.is_object() && flag(r.result.as_object(), "ok");
            if (o.json) std::cout << json::serialize(r.result) << "\n";
            return ok ? int(exit_code::ok) : int(exit_code::daemon_error);
          }
          case call_result::status::unreachable:
            std::cerr << "omnisyncctl: " << r.message << "\n";
            return int(exit_code::unavailable);
          default:
            if (o.json)
              std::cout << json::serialize(json::object{
                               {"error", json::object{{"code", r.error_code}, {"message", r.message}}}})
                        << "\n";
            std::cerr << "omnisyncctl: test: " << r.message << (r.error_code.empty() ? "" : " (" + r.error_code + ")")
                      << "\n";
            return int(exit_code::daemon_error);
        }
      },
      &spec};
}

}  // namespace omnisync::ctl
