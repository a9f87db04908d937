// omnisyncctl segment: list | show KEY | members KEY | explain KEY PROFILE | preview KEY | backfill KEY |
// pause KEY | resume KEY | release KEY [--connector C] — the daemon's `segment` command, printed for people
// (--json: the reply as is).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

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

std::string destinations_text(const json::array& a) {
  std::string out;
  for (const auto& d : a) {
    const auto& o = d.as_object();
    out += (out.empty() ? "" : ", ") + reply_text(o.at("connector"), "-") + ":" + reply_text(o.at("list"), "-");
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
      std::snprintf(line, sizeof line, "%-28s %10s %-7s %s\n", reply_text(s.at("key"), "-").c_str(),
                    reply_text(s.at("size"), "-").c_str(), s.at("paused").as_bool() ? "yes" : "no",
                    destinations_text(s.at("destinations").as_array()).c_str());
      out += line;
    }
    return out;
  }
  if (action == "show") {
    out += "segment: " + reply_text(r.at("key"), "-") + "\n";
    out += "where: " + reply_text(r.at("where"), "-") + "\n";
    if (r.at("holdout_percent").as_int64() > 0) out += "holdout: " + reply_text(r.at("holdout_percent"), "-") + "%\n";
    if (!reply_text(r.at("priority_group"), "-").empty())
      out += "priority group: " + reply_text(r.at("priority_group"), "-") + "\n";
    out += "size: " + reply_text(r.at("size"), "-") + "\n";
    out += std::string("paused: ") + (r.at("paused").as_bool() ? "yes" : "no") + "\n";
    out += "sync: " + destinations_text(r.at("sync").as_array()) + "\n";
    if (const auto* held = r.if_contains("held"); held && held->is_object())
      for (const auto& [connector, why] : held->as_object())
        out += "held at " + std::string(connector) + ": " + reply_text(why, "-") + " (omnisyncctl segment release " +
               reply_text(r.at("key"), "-") + ")\n";
    return out;
  }
  if (action == "members") {
    for (const auto& it : r.at("items").as_array()) {
      const auto& m = it.as_object();
      out += reply_text(m.at("profile"), "-") + "  since " + reply_text(m.at("since"), "-") + "\n";
    }
    if (!reply_text(r.at("next_after"), "-").empty() && reply_text(r.at("next_after"), "-") != "-")
      out += "more: --after " + reply_text(r.at("next_after"), "-") + "\n";
    return out;
  }
  if (action == "explain") {
    out += "profile " + reply_text(r.at("profile"), "-") + " in segment " + reply_text(r.at("key"), "-") + ": " +
           (r.at("member").as_bool() ? "member" : "not a member") + "\n";
    if (r.at("held_out").as_bool()) out += "  held out (control group)\n";
    if (!reply_text(r.at("outranked_by"), "-").empty())
      out += "  outranked by " + reply_text(r.at("outranked_by"), "-") + "\n";
    for (const auto& t : r.at("terms").as_array()) {
      const auto& o = t.as_object();
      out += "  " + reply_text(o.at("value"), "-") + "  " + reply_text(o.at("text"), "-");
      if (!reply_text(o.at("detail"), "-").empty()) out += "   (" + reply_text(o.at("detail"), "-") + ")";
      out += "\n";
    }
    out += "next flip: " +
           (r.at("flips_at").is_null()
                ? std::string("none (no time-window term changes it)")
                : reply_text(r.at("flips_at"), "-") + (r.at("recheck").as_bool() ? " (re-check)" : "")) +
           "\n";
    return out;
  }
  if (action == "preview") {
    out += "segment " + reply_text(r.at("key"), "-") + ": " + reply_text(r.at("size"), "-") + " of " +
           reply_text(r.at("profiles"), "-") + " profile(s) now (stored: " + reply_text(r.at("current"), "-") +
           "); would enter " + reply_text(r.at("would_enter"), "-") + ", would exit " +
           reply_text(r.at("would_exit"), "-") + "\n";
    out += "sample: " + json::serialize(r.at("sample")) + "\n";
    for (const auto& d : r.at("destinations").as_array()) {
      const auto& o = d.as_object();
      // What the next membership sync would send there, against what it acknowledged.
      out += "  " + reply_text(o.at("connector"), "-") + ":" + reply_text(o.at("list"), "-") + ": acknowledged " +
             reply_text(o.at("acknowledged"), "-") + ", next sync +" + reply_text(o.at("adds"), "-") + " -" +
             reply_text(o.at("removes"), "-");
      if (o.at("unresolved").as_int64() > 0)
        out += ", " + reply_text(o.at("unresolved"), "-") + " linking no record there";
      out += std::string(o.at("paused").as_bool() ? " (paused)" : "") + "\n";
    }
    return out;
  }
  if (action == "backfill")
    return "segment " + reply_text(r.at("key"), "-") + ": " + reply_text(r.at("members"), "-") + " member(s) of " +
           reply_text(r.at("profiles"), "-") + " profile(s); " + reply_text(r.at("entered"), "-") + " entered, " +
           reply_text(r.at("exited"), "-") + " exited\n";
  if (action == "release") {
    for (const auto& x : r.at("released").as_array()) {
      const auto& o = x.as_object();
      out += "segment " + reply_text(r.at("key"), "-") + " released at " + reply_text(o.at("connector"), "-") + " by " +
             reply_text(r.at("by"), "-") + ": " + reply_text(o.at("writes"), "-") +
             " queued write(s) pass the brake once (it was held: " + reply_text(o.at("held"), "-") + ")\n";
    }
    return out;
  }
  out = "segment " + reply_text(r.at("key"), "-") + ": membership writes " +
        (r.at("paused").as_bool() ? "paused" : "resumed") + "\n";
  if (const auto* queued = r.if_contains("queued"); queued && queued->is_array())
    for (const auto& x : queued->as_array()) {
      const auto& o = x.as_object();
      out += "  " + reply_text(o.at("connector"), "-") + ": catch-up queued +" + reply_text(o.at("adds"), "-") + " -" +
             reply_text(o.at("removes"), "-");
      if (o.at("already_queued").as_int64() > 0)
        out += " (" + reply_text(o.at("already_queued"), "-") + " already queued)";
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
        const auto actions = arg_choices(catalogue::segment, "action");
        app.add_option("action", a->action, arg_help(catalogue::segment, "action"))->check(CLI::IsMember(actions));
        app.add_option("key", a->key, arg_help(catalogue::segment, "key"));
        app.add_option("profile", a->profile, arg_help(catalogue::segment, "profile"));
        app.add_option("--after", a->after, arg_help(catalogue::segment, "after"));
        app.add_option("--limit", a->limit, arg_help(catalogue::segment, "limit"));
        app.add_flag("--follow", a->follow, arg_help(catalogue::segment, "follow"));
        app.add_option("--connector", a->connector, arg_help(catalogue::segment, "connector"));
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
