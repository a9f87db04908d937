// omnisyncctl runs: the run history — a table of runs (list) or one run with its writes per destination (show).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

std::string help_of(std::string_view arg) {
  const auto* a = catalogue::runs.arg(arg);
  return a ? std::string(a->help) : std::string();
}

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

std::int64_t num(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : 0;
}

std::string duration_text(const json::object& r) {
  const auto* d = r.if_contains("duration_s");
  if (!d || !d->is_double()) return "running";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", d->as_double());
  return buf;
}

/// "queued 12  written 10  refused 2" of a run's writes ("" when it caused none).
std::string writes_text(const json::object& w) {
  if (num(w, "queued") == 0 && num(w, "written") == 0 && num(w, "refused") == 0) return "-";
  std::string out = std::to_string(num(w, "queued")) + "/" + std::to_string(num(w, "written")) + "/" +
                    std::to_string(num(w, "refused"));
  return out;
}

std::string format_list(const json::value& v) {
  const auto& r = v.as_object();
  const auto& items = r.at("items").as_array();
  if (items.empty()) return "no runs recorded\n";
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-6s %-7s %-14s %-18s %-20s %-9s %-9s %7s %7s %6s %6s  %s\n", "ID", "KIND",
                "CONNECTOR", "OBJECTS", "STARTED", "DURATION", "OUTCOME", "READ", "STORED", "FAILED", "CALLS",
                "WRITES q/w/r");
  out += line;
  for (const auto& it : items) {
    const auto& run = it.as_object();
    std::string objects = text(run.at("objects"));
    if (objects.size() > 18) objects = objects.substr(0, 15) + "...";
    std::string outcome = text(run.at("outcome"));
    if (num(run, "idle_cycles") > 0) outcome += " +" + std::to_string(num(run, "idle_cycles")) + " idle";
    std::snprintf(line, sizeof line, "%-6lld %-7s %-14s %-18s %-20s %-9s %-9s %7lld %7lld %6lld %6lld  %s\n",
                  static_cast<long long>(num(run, "id")), text(run.at("kind")).c_str(),
                  text(run.at("connector")).empty() ? "-" : text(run.at("connector")).c_str(),
                  objects.empty() ? "-" : objects.c_str(), text(run.at("started_at")).c_str(),
                  duration_text(run).c_str(), outcome.c_str(), static_cast<long long>(num(run, "read")),
                  static_cast<long long>(num(run, "stored")), static_cast<long long>(num(run, "failed")),
                  static_cast<long long>(num(run, "api_calls")), writes_text(run.at("writes").as_object()).c_str());
    out += line;
  }
  if (num(r, "next_after") != 0) out += "more: --after " + std::to_string(num(r, "next_after")) + "\n";
  return out;
}

std::string format_show(const json::value& v) {
  const auto& r = v.as_object();
  std::string out;
  auto field = [&out](const std::string& name, const std::string& value) { out += name + ": " + value + "\n"; };
  field("run", std::to_string(num(r, "id")) + " (" + text(r.at("kind")) + ")");
  if (!text(r.at("connector")).empty()) field("connector", text(r.at("connector")));
  if (!text(r.at("objects")).empty()) field("objects", text(r.at("objects")));
  field("started", text(r.at("started_at")));
  field("ended", r.at("ended_at").is_null() ? std::string("(running)") : text(r.at("ended_at")));
  field("duration", duration_text(r));
  field("outcome", text(r.at("outcome")));
  if (!text(r.at("error")).empty()) field("error", text(r.at("error")));
  field("records", "read " + std::to_string(num(r, "read")) + ", stored " + std::to_string(num(r, "stored")) +
                       ", mapped " + std::to_string(num(r, "mapped")) + ", failed " + std::to_string(num(r, "failed")) +
                       (num(r, "failed") > 0 ? " (omnisyncctl dlq list --stage mapping)" : ""));
  field("api", std::to_string(num(r, "api_calls")) + " call(s), quota used " + std::to_string(num(r, "quota_used")));
  if (num(r, "idle_cycles") > 0)
    field("idle cycles since", std::to_string(num(r, "idle_cycles")) + " (last " + text(r.at("last_idle_at")) + ")");
  const auto& w = r.at("writes").as_object();
  field("writes", "queued " + std::to_string(num(w, "queued")) + ", written " + std::to_string(num(w, "written")) +
                      ", refused " + std::to_string(num(w, "refused")) + ", unchanged " +
                      std::to_string(num(w, "unchanged")) +
                      (num(w, "refused") > 0 ? " (omnisyncctl dlq stats --stage write)" : ""));
  for (const auto& d : w.at("per_destination").as_array()) {
    const auto& o = d.as_object();
    out += "  " + text(o.at("destination")) + ": queued " + std::to_string(num(o, "queued")) + ", written " +
           std::to_string(num(o, "written")) + ", refused " + std::to_string(num(o, "refused")) + ", unchanged " +
           std::to_string(num(o, "unchanged")) + "\n";
  }
  return out;
}

}  // namespace

subcommand runs_subcommand() {
  struct args {
    std::string action = "list", target, connector, kind;
    std::int64_t after = 0, limit = 0;
  };
  auto a = std::make_shared<args>();
  return subcommand{
      std::string(catalogue::runs.name), std::string(catalogue::runs.help),
      [a](CLI::App& app) {
        std::vector<std::string> actions;
        for (const auto& c : catalogue::runs.arg("action")->choices) actions.emplace_back(c.value);
        app.add_option("action", a->action, help_of("action"))->check(CLI::IsMember(actions));
        app.add_option("id", a->target, help_of("id"));
        app.add_option("--connector", a->connector, help_of("connector"));
        std::vector<std::string> kinds;
        for (const auto& c : catalogue::runs.arg("kind")->choices) kinds.emplace_back(c.value);
        app.add_option("--kind", a->kind, help_of("kind"))->check(CLI::IsMember(kinds));
        app.add_option("--after", a->after, help_of("after"));
        app.add_option("--limit", a->limit, help_of("limit"));
      },
      [a](const ctl_options& o) {
        json::object args{{"action", a->action}};
        if (a->action == "show") {
          std::int64_t id = 0;
          auto [end, ec] = std::from_chars(a->target.data(), a->target.data() + a->target.size(), id);
          if (a->target.empty() || ec != std::errc{} || end != a->target.data() + a->target.size() || id <= 0) {
            std::cerr << "omnisyncctl: runs show needs a run id (omnisyncctl runs lists them)\n";
            return int(exit_code::usage);
          }
          args["id"] = id;
          return run_daemon_command(o, "runs", json::serialize(args),
                                    [](const std::string& j) { return format_show(json::parse(j)); });
        }
        if (!a->target.empty()) {
          std::cerr << "omnisyncctl: runs list takes no id (runs show ID shows one run)\n";
          return int(exit_code::usage);
        }
        if (!a->connector.empty()) args["connector"] = a->connector;
        if (!a->kind.empty()) args["kind"] = a->kind;
        if (a->after > 0) args["after"] = a->after;
        if (a->limit > 0) args["limit"] = a->limit;
        return run_daemon_command(o, "runs", json::serialize(args),
                                  [](const std::string& j) { return format_list(json::parse(j)); });
      },
      &catalogue::runs};
}

}  // namespace omnisync::ctl
