// omnisyncctl runs: the run history — a table of runs (list) or one run with its writes per destination (show).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

std::string duration_text(const json::object& r) {
  const auto* d = r.if_contains("duration_s");
  if (!d || !d->is_double()) return "running";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", d->as_double());
  return buf;
}

/// "queued 12  written 10  refused 2" of a run's writes ("" when it caused none).
std::string writes_text(const json::object& w) {
  if (int_field(w, "queued") == 0 && int_field(w, "written") == 0 && int_field(w, "refused") == 0) return "-";
  std::string out = std::to_string(int_field(w, "queued")) + "/" + std::to_string(int_field(w, "written")) + "/" +
                    std::to_string(int_field(w, "refused"));
  return out;
}

std::string format_runs(const json::value& v) {
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
    std::string objects = reply_text(run.at("objects"));
    if (objects.size() > 18) objects = objects.substr(0, 15) + "...";
    std::string outcome = reply_text(run.at("outcome"));
    if (int_field(run, "idle_cycles") > 0) outcome += " +" + std::to_string(int_field(run, "idle_cycles")) + " idle";
    std::snprintf(line, sizeof line, "%-6lld %-7s %-14s %-18s %-20s %-9s %-9s %7lld %7lld %6lld %6lld  %s\n",
                  static_cast<long long>(int_field(run, "id")), reply_text(run.at("kind")).c_str(),
                  reply_text(run.at("connector")).empty() ? "-" : reply_text(run.at("connector")).c_str(),
                  objects.empty() ? "-" : objects.c_str(), reply_text(run.at("started_at")).c_str(),
                  duration_text(run).c_str(), outcome.c_str(), static_cast<long long>(int_field(run, "read")),
                  static_cast<long long>(int_field(run, "stored")), static_cast<long long>(int_field(run, "failed")),
                  static_cast<long long>(int_field(run, "api_calls")),
                  writes_text(run.at("writes").as_object()).c_str());
    out += line;
  }
  if (int_field(r, "next_after") != 0) out += "more: --after " + std::to_string(int_field(r, "next_after")) + "\n";
  return out;
}

std::string format_run(const json::value& v) {
  const auto& r = v.as_object();
  std::string out;
  auto field = [&out](const std::string& name, const std::string& value) { out += name + ": " + value + "\n"; };
  field("run", std::to_string(int_field(r, "id")) + " (" + reply_text(r.at("kind")) + ")");
  if (!reply_text(r.at("connector")).empty()) field("connector", reply_text(r.at("connector")));
  if (!reply_text(r.at("objects")).empty()) field("objects", reply_text(r.at("objects")));
  field("started", reply_text(r.at("started_at")));
  field("ended", r.at("ended_at").is_null() ? std::string("(running)") : reply_text(r.at("ended_at")));
  field("duration", duration_text(r));
  field("outcome", reply_text(r.at("outcome")));
  if (!reply_text(r.at("error")).empty()) field("error", reply_text(r.at("error")));
  field("records", "read " + std::to_string(int_field(r, "read")) + ", stored " +
                       std::to_string(int_field(r, "stored")) + ", mapped " + std::to_string(int_field(r, "mapped")) +
                       ", failed " + std::to_string(int_field(r, "failed")) +
                       (int_field(r, "failed") > 0 ? " (omnisyncctl dlq list --stage mapping)" : ""));
  field("api", std::to_string(int_field(r, "api_calls")) + " call(s), quota used " +
                   std::to_string(int_field(r, "quota_used")));
  if (int_field(r, "idle_cycles") > 0)
    field("idle cycles since",
          std::to_string(int_field(r, "idle_cycles")) + " (last " + reply_text(r.at("last_idle_at")) + ")");
  const auto& w = r.at("writes").as_object();
  field("writes", "queued " + std::to_string(int_field(w, "queued")) + ", written " +
                      std::to_string(int_field(w, "written")) + ", refused " + std::to_string(int_field(w, "refused")) +
                      ", unchanged " + std::to_string(int_field(w, "unchanged")) +
                      (int_field(w, "refused") > 0 ? " (omnisyncctl dlq stats --stage write)" : ""));
  for (const auto& d : w.at("per_destination").as_array()) {
    const auto& o = d.as_object();
    out += "  " + reply_text(o.at("destination")) + ": queued " + std::to_string(int_field(o, "queued")) +
           ", written " + std::to_string(int_field(o, "written")) + ", refused " +
           std::to_string(int_field(o, "refused")) + ", unchanged " + std::to_string(int_field(o, "unchanged")) + "\n";
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
        const auto actions = arg_choices(catalogue::runs, "action");
        app.add_option("action", a->action, arg_help(catalogue::runs, "action"))->check(CLI::IsMember(actions));
        app.add_option("id", a->target, arg_help(catalogue::runs, "id"));
        app.add_option("--connector", a->connector, arg_help(catalogue::runs, "connector"));
        const auto kinds = arg_choices(catalogue::runs, "kind");
        app.add_option("--kind", a->kind, arg_help(catalogue::runs, "kind"))->check(CLI::IsMember(kinds));
        app.add_option("--after", a->after, arg_help(catalogue::runs, "after"));
        app.add_option("--limit", a->limit, arg_help(catalogue::runs, "limit"));
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
                                    [](const std::string& j) { return format_run(json::parse(j)); });
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
                                  [](const std::string& j) { return format_runs(json::parse(j)); });
      },
      &catalogue::runs};
}

}  // namespace omnisync::ctl
