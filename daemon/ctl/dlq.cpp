// omnisyncctl dlq: the dead letters — list (paged), stats, show, and retry or drop one entry or every entry that
// filters match, after a confirmation (a count first, then yes/no on a terminal, or --yes).
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <charconv>
#include <iostream>
#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

/// 2000 as "2,000".
std::string grouped(std::int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

/// The line that says the entries are a removed connector's (the daemon names it in `removed_connector`).
std::string removed_note(const json::object& r) {
  const auto* c = r.if_contains("removed_connector");
  if (!c || !c->is_string()) return {};
  return "connector \"" + reply_text(*c) +
         "\" is no longer configured: these are its stored dead letters (they can be "
         "listed and dropped, not retried)\n";
}

std::string format_dead_letters(const json::value& v, const std::string& more_args) {
  const auto& r = v.as_object();
  if (auto note = removed_note(r); !note.empty() && !r.at("items").as_array().empty())
    return note +
           format_dead_letters(json::object{{"items", r.at("items")}, {"next_after", r.at("next_after")}}, more_args);
  const auto& items = r.at("items").as_array();
  if (items.empty()) return "no dead letters\n";
  std::string out;
  for (const auto& it : items) {
    const auto& d = it.as_object();
    out += "#" + reply_text(d.at("id")) + "  " + reply_text(d.at("created_at")) + "  " + reply_text(d.at("connector")) +
           "/" + reply_text(d.at("object"));
    if (!reply_text(d.at("record_id")).empty()) out += "/" + reply_text(d.at("record_id"));
    out += "  " + reply_text(d.at("stage")) + "  " + reply_text(d.at("reason"));
    if (const auto* res = d.if_contains("resolved_at"); res && res->is_string())
      out += "  (resolved " + reply_text(*res) + ")";
    out += "\n";
  }
  if (const auto next = r.at("next_after").as_int64(); next != 0)
    out += "more: omnisyncctl dlq list --after " + std::to_string(next) + more_args + "\n";
  return out;
}

std::string format_stats(const json::value& v) {
  const auto& r = v.as_object();
  if (auto note = removed_note(r); !note.empty() && !r.at("groups").as_array().empty())
    return note + format_stats(json::object{{"groups", r.at("groups")}, {"total", r.at("total")}});
  const auto& groups = r.at("groups").as_array();
  if (groups.empty()) return "no dead letters\n";
  std::string out;
  for (const auto& g : groups) {
    const auto& o = g.as_object();
    out += grouped(o.at("count").as_int64()) + " \u00d7 " + reply_text(o.at("reason")) + " \u2014 " +
           reply_text(o.at("connector"));
    if (!reply_text(o.at("object")).empty()) out += "/" + reply_text(o.at("object"));
    out +=
        " (" + reply_text(o.at("stage")) + ", " + reply_text(o.at("first")) + " to " + reply_text(o.at("last")) + ")\n";
  }
  out += grouped(r.at("total").as_int64()) + " in all\n";
  return out;
}

std::string format_bulk(const std::string& action, const json::value& v) {
  const auto& r = v.as_object();
  if (action == "drop") return removed_note(r) + grouped(r.at("dropped").as_int64()) + " dead letter(s) dropped\n";
  std::string out = grouped(r.at("matched").as_int64()) + " matched: " + grouped(r.at("retried").as_int64()) +
                    " queued again";
  if (const auto n = r.at("reread").as_int64(); n > 0) out += ", " + grouped(n) + " to be read again from the source";
  if (const auto n = r.at("not_retryable").as_int64(); n > 0)
    out += ", " + grouped(n) + " with nowhere to go back to (left in place)";
  return out + "\n";
}

struct dlq_args {
  std::string action, target, connector, object, stage, reason, since, until;
  std::int64_t after = 0, limit = 0;
  bool all = false, resolved = false, yes = false;
};

/// Asks "…? [y/N]" on the terminal; true for y or yes.
bool confirmed(const std::string& question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

int run_bulk(const ctl_options& o, const dlq_args& a, json::object args) {
  // First the count (a dry run), then the confirmation, then the operation.
  args["dry_run"] = true;
  auto counted = call(o.socket, "dlq", args, o.timeout);
  if (counted.state != call_result::status::ok) return run_daemon_command(o, "dlq", json::serialize(args));
  const auto matched = counted.result.as_object().at("matched").as_int64();
  args.erase("dry_run");
  if (matched == 0) {
    if (o.json) std::cout << json::serialize(json::object{{"matched", 0}}) << "\n";
    else std::cout << "no dead letters match\n";
    return exit_code::ok;
  }
  const std::string what = (a.action == "retry" ? "retry " : "drop ") + grouped(matched) + " dead letter(s)";
  if (!a.yes) {
    if (!::isatty(0) || o.json) {
      std::cerr << "omnisyncctl: dlq " << a.action << " would " << what
                << "; add --yes to confirm when not asked on a terminal\n";
      return exit_code::usage;
    }
    if (!confirmed(a.action == "retry" ? "Retry " + grouped(matched) + " dead letter(s)?"
                                       : "Drop " + grouped(matched) + " dead letter(s)? This cannot be undone.")) {
      std::cerr << "omnisyncctl: nothing done\n";
      return exit_code::daemon_error;
    }
  }
  return run_daemon_command(o, "dlq", json::serialize(args),
                            [a](const std::string& j) { return format_bulk(a.action, json::parse(j)); });
}

}  // namespace

subcommand dlq_subcommand() {
  auto a = std::make_shared<dlq_args>();
  return subcommand{
      std::string(catalogue::dlq.name), std::string(catalogue::dlq.help),
      [a](CLI::App& app) {
        const auto actions = arg_choices(catalogue::dlq, "action");
        app.add_option("action", a->action, arg_help(catalogue::dlq, "action"))
            ->required()
            ->check(CLI::IsMember(actions));
        app.add_option("id", a->target, "Entry id (show, retry, drop), or `all` (retry, drop: every open entry)");
        app.add_option("--connector", a->connector, arg_help(catalogue::dlq, "connector"));
        app.add_option("--object", a->object, arg_help(catalogue::dlq, "object"));
        app.add_option("--stage", a->stage, arg_help(catalogue::dlq, "stage"));
        app.add_option("--reason", a->reason, arg_help(catalogue::dlq, "reason"));
        app.add_option("--since", a->since, arg_help(catalogue::dlq, "since"));
        app.add_option("--until", a->until, arg_help(catalogue::dlq, "until"));
        app.add_flag("--all", a->all,
                     "retry, drop: every entry the filters match (every open entry without filters); list, stats: "
                     "resolved entries too");
        app.add_flag("--resolved", a->resolved, "list, stats: only resolved entries");
        app.add_option("--after", a->after, arg_help(catalogue::dlq, "after"));
        app.add_option("--limit", a->limit, arg_help(catalogue::dlq, "limit"));
        app.add_flag("-y,--yes", a->yes, "retry, drop with filters: do not ask for confirmation");
      },
      [a](const ctl_options& o) {
        json::object args{{"action", a->action}};
        std::int64_t id = 0;
        bool all = a->all;
        if (a->target == "all") {
          all = true;
        } else if (!a->target.empty()) {
          auto [end, ec] = std::from_chars(a->target.data(), a->target.data() + a->target.size(), id);
          if (ec != std::errc{} || end != a->target.data() + a->target.size() || id <= 0) {
            std::cerr << "omnisyncctl: dlq " << a->action << ": \"" << a->target
                      << "\" is neither an entry id nor `all`\n";
            return int(exit_code::usage);
          }
        }
        std::string more;  // the filters again, for the "more:" hint of a list
        for (const auto& [k, v] : {std::pair<const char*, const std::string*>{"connector", &a->connector},
                                   {"object", &a->object}, {"stage", &a->stage}, {"reason", &a->reason},
                                   {"since", &a->since}, {"until", &a->until}})
          if (!v->empty()) {
            args[k] = *v;
            more += std::string(" --") + k + " '" + *v + "'";
          }
        const bool filtered = args.size() > 1;
        const bool bulk_action = a->action == "retry" || a->action == "drop";
        if (a->action == "list" || a->action == "stats") {
          if (id > 0 || a->target == "all") {
            std::cerr << "omnisyncctl: dlq " << a->action << " takes no entry id (filters: --connector, ...)\n";
            return int(exit_code::usage);
          }
          if (a->resolved) args["state"] = "resolved", more += " --resolved";
          else if (a->all) args["state"] = "any", more += " --all";
          if (a->after > 0) args["after"] = a->after;
          if (a->limit != 0) {
            args["limit"] = a->limit;
            more += " --limit " + std::to_string(a->limit);
          }
          if (a->action == "stats")
            return run_daemon_command(o, "dlq", json::serialize(args),
                                      [](const std::string& j) { return format_stats(json::parse(j)); });
          return run_daemon_command(o, "dlq", json::serialize(args),
                                    [more](const std::string& j) { return format_dead_letters(json::parse(j), more); });
        }
        if (id > 0) {
          if (filtered || all) {
            std::cerr << "omnisyncctl: dlq " << a->action << ": an entry id or filters/--all, not both\n";
            return int(exit_code::usage);
          }
          args["id"] = id;
          return run_daemon_command(o, "dlq", json::serialize(args));
        }
        if (!bulk_action) {
          std::cerr << "omnisyncctl: dlq " << a->action << " needs an entry id\n";
          return int(exit_code::usage);
        }
        if (!filtered && !all) {
          std::cerr << "omnisyncctl: dlq " << a->action
                    << " needs an entry id, a filter (--connector, --object, --stage, --reason, --since, --until) "
                       "or --all\n";
          return int(exit_code::usage);
        }
        if (all) args["all"] = true;
        return run_bulk(o, *a, std::move(args));
      },
      &catalogue::dlq};
}

}  // namespace omnisync::ctl
