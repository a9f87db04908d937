// omnisyncctl segment: list | show KEY | members KEY | explain KEY PROFILE | preview KEY | backfill KEY |
// pause KEY | resume KEY | release KEY [--connector C] — the daemon's `segment` command, printed for people
// (--json: the reply as is).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

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
  const auto* a = catalogue::segment.arg(arg);
  return a ? std::string(a->help) : std::string();
}

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "-";
  return json::serialize(v);
}

std::string destinations_text(const json::array& a) {
  std::string out;
  for (const auto& d : a) {
    const auto& o = d.as_object();
    out += (out.empty() ? "" : ", ") + text(o.at("connector")) + ":" + text(o.at("list"));
  }
  return out.empty() ? "-" : out;
}

std::string format(const std::string& action, const json::value& v) {
  const auto& r = v.as_object();
  std::string out;
  char line[512];
  if (action == "list") {
    const auto& items = r.at("items").as_array();
    if (items.empty()) return "no segments configured (omnisync.yaml: segments:)\n";
    std::snprintf(line, sizeof line, "%-28s %10s %-7s %s\n", "KEY", "SIZE", "PAUSED", "DESTINATIONS");
    out += line;
    for (const auto& it : items) {
      const auto& s = it.as_object();
      std::snprintf(line, sizeof line, "%-28s %10s %-7s %s\n", text(s.at("key")).c_str(), text(s.at("size")).c_str(),
                    s.at("paused").as_bool() ? "yes" : "no", destinations_text(s.at("destinations").as_array()).c_str());
      out += line;
    }
    return out;
  }
  if (action == "show") {
    out += "segment: " + text(r.at("key")) + "\n";
    out += "where: " + text(r.at("where")) + "\n";
    if (r.at("holdout_percent").as_int64() > 0) out += "holdout: " + text(r.at("holdout_percent")) + "%\n";
    if (!text(r.at("priority_group")).empty()) out += "priority group: " + text(r.at("priority_group")) + "\n";
    out += "size: " + text(r.at("size")) + "\n";
    out += std::string("paused: ") + (r.at("paused").as_bool() ? "yes" : "no") + "\n";
    out += "sync: " + destinations_text(r.at("sync").as_array()) + "\n";
    if (const auto* held = r.if_contains("held"); held && held->is_object())
      for (const auto& [connector, why] : held->as_object())
        out += "held at " + std::string(connector) + ": " + text(why) + " (omnisyncctl segment release " +
               text(r.at("key")) + ")\n";
    return out;
  }
  if (action == "members") {
    for (const auto& it : r.at("items").as_array()) {
      const auto& m = it.as_object();
      out += text(m.at("profile")) + "  since " + text(m.at("since")) + "\n";
    }
    if (!text(r.at("next_after")).empty() && text(r.at("next_after")) != "-")
      out += "more: --after " + text(r.at("next_after")) + "\n";
    return out;
  }
  if (action == "explain") {
    out += "profile " + text(r.at("profile")) + " in segment " + text(r.at("key")) + ": " +
           (r.at("member").as_bool() ? "member" : "not a member") + "\n";
    if (r.at("held_out").as_bool()) out += "  held out (control group)\n";
    if (!text(r.at("outranked_by")).empty()) out += "  outranked by " + text(r.at("outranked_by")) + "\n";
    for (const auto& t : r.at("terms").as_array()) {
      const auto& o = t.as_object();
      out += "  " + text(o.at("value")) + "  " + text(o.at("text"));
      if (!text(o.at("detail")).empty()) out += "   (" + text(o.at("detail")) + ")";
      out += "\n";
    }
    out += "next flip: " + (r.at("flips_at").is_null() ? std::string("none (no time-window term changes it)")
                                                        : text(r.at("flips_at")) +
                                                              (r.at("recheck").as_bool() ? " (re-check)" : "")) + "\n";
    return out;
  }
  if (action == "preview") {
    out += "segment " + text(r.at("key")) + ": " + text(r.at("size")) + " of " + text(r.at("profiles")) +
           " profile(s) now (stored: " + text(r.at("current")) + "); would enter " + text(r.at("would_enter")) +
           ", would exit " + text(r.at("would_exit")) + "\n";
    out += "sample: " + json::serialize(r.at("sample")) + "\n";
    for (const auto& d : r.at("destinations").as_array()) {
      const auto& o = d.as_object();
      // What the next membership sync would send there, against what it acknowledged.
      out += "  " + text(o.at("connector")) + ":" + text(o.at("list")) + ": acknowledged " + text(o.at("acknowledged")) +
             ", next sync +" + text(o.at("adds")) + " -" + text(o.at("removes"));
      if (o.at("unresolved").as_int64() > 0) out += ", " + text(o.at("unresolved")) + " linking no record there";
      out += std::string(o.at("paused").as_bool() ? " (paused)" : "") + "\n";
    }
    return out;
  }
  if (action == "backfill")
    return "segment " + text(r.at("key")) + ": " + text(r.at("members")) + " member(s) of " + text(r.at("profiles")) +
           " profile(s); " + text(r.at("entered")) + " entered, " + text(r.at("exited")) + " exited\n";
  if (action == "release") {
    for (const auto& x : r.at("released").as_array()) {
      const auto& o = x.as_object();
      out += "segment " + text(r.at("key")) + " released at " + text(o.at("connector")) + " by " + text(r.at("by")) +
             ": " + text(o.at("writes")) + " queued write(s) pass the brake once (it was held: " + text(o.at("held")) +
             ")\n";
    }
    return out;
  }
  out = "segment " + text(r.at("key")) + ": membership writes " + (r.at("paused").as_bool() ? "paused" : "resumed") + "\n";
  if (const auto* queued = r.if_contains("queued"); queued && queued->is_array())
    for (const auto& x : queued->as_array()) {
      const auto& o = x.as_object();
      out += "  " + text(o.at("connector")) + ": catch-up queued +" + text(o.at("adds")) + " -" + text(o.at("removes"));
      if (o.at("already_queued").as_int64() > 0) out += " (" + text(o.at("already_queued")) + " already queued)";
      out += "\n";
    }
  return out;
}

}  // namespace

subcommand segment_subcommand() {
  struct args {
    std::string action = "list", key, profile, after, connector;
    std::int64_t limit = 0;
    bool follow = false;
  };
  auto a = std::make_shared<args>();
  return subcommand{
      std::string(catalogue::segment.name), std::string(catalogue::segment.help),
      [a](CLI::App& app) {
        std::vector<std::string> actions;
        for (const auto& c : catalogue::segment.arg("action")->choices) actions.emplace_back(c.value);
        app.add_option("action", a->action, help_of("action"))->check(CLI::IsMember(actions));
        app.add_option("key", a->key, help_of("key"));
        app.add_option("profile", a->profile, help_of("profile"));
        app.add_option("--after", a->after, help_of("after"));
        app.add_option("--limit", a->limit, help_of("limit"));
        app.add_flag("--follow", a->follow, help_of("follow"));
        app.add_option("--connector", a->connector, help_of("connector"));
      },
      [a](const ctl_options& o) {
        json::object args{{"action", a->action}};
        if (a->action != "list" && a->key.empty()) {
          std::cerr << "omnisyncctl: segment " << a->action << " needs a segment key (omnisyncctl segment list)\n";
          return int(exit_code::usage);
        }
        if (!a->key.empty()) args["key"] = a->key;
        if (a->action == "explain") {
          if (a->profile.empty()) {
            std::cerr << "omnisyncctl: segment explain needs a segment key and a profile\n";
            return int(exit_code::usage);
          }
          args["profile"] = a->profile;
        } else if (!a->profile.empty()) {
          std::cerr << "omnisyncctl: segment " << a->action << " takes one key\n";
          return int(exit_code::usage);
        }
        if (!a->after.empty()) args["after"] = a->after;
        if (a->limit > 0) args["limit"] = a->limit;
        if (a->follow) args["follow"] = true;
        if (!a->connector.empty()) {
          if (a->action != "release") {
            std::cerr << "omnisyncctl: --connector is for segment release\n";
            return int(exit_code::usage);
          }
          args["connector"] = a->connector;
        }
        const std::string action = a->action;
        return run_daemon_command(o, "segment", json::serialize(args),
                                  [action](const std::string& j) { return format(action, json::parse(j)); });
      },
      &catalogue::segment};
}

}  // namespace omnisync::ctl
