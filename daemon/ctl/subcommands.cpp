#include "daemon/ctl/subcommands.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <iostream>

#include <unistd.h>

#include "core/json_text.hpp"
#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/cli.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"

namespace omnisync::ctl {

namespace catalogue = control::catalogue;

std::string arg_help(const control::command_spec& spec, std::string_view arg) {
  const auto* a = spec.arg(arg);
  return a ? std::string(a->help) : std::string();
}

std::vector<std::string> arg_choices(const control::command_spec& spec, std::string_view arg) {
  std::vector<std::string> out;
  if (const auto* a = spec.arg(arg))
    for (const auto& c : a->choices) out.emplace_back(c.value);
  return out;
}

namespace {

/// A subcommand that sends daemon command `spec`, described by its declaration.
subcommand daemon_command(const control::command_spec& spec, std::function<void(CLI::App&)> configure,
                          std::function<int(const ctl_options&)> run, std::string description_suffix = {}) {
  return subcommand{std::string(spec.name), std::string(spec.help) + description_suffix, std::move(configure),
                    std::move(run), &spec};
}

}  // namespace

int exit_code_of(std::string_view daemon_error_code) {
  // The daemon refused the words it was given (an argument it does not take, a value it cannot read, a
  // connector that does not exist): a usage error like one omnisyncctl finds itself.
  if (daemon_error_code == "usage" || daemon_error_code == "invalid_args" || daemon_error_code == "unknown_connector" ||
      daemon_error_code == "unknown_object")
    return exit_code::usage;
  return exit_code::daemon_error;
}

int run_daemon_command(const ctl_options& o, const std::string& cmd, const std::string& args_json,
                       const std::function<std::string(const std::string&)>& human) {
  boost::json::object args;
  if (!args_json.empty()) args = boost::json::parse(args_json).as_object();
  auto r = call(o.socket, cmd, args, o.timeout, [&](const boost::json::object& ev) {
    if (o.json) std::cout << to_json_text(ev) << "\n" << std::flush;
    else std::cerr << format_generic(ev) << std::flush;
  });
  switch (r.state) {
    case call_result::status::ok: {
      if (o.json) std::cout << to_json_text(r.result) << "\n";
      else if (human) std::cout << human(to_json_text(r.result));
      else std::cout << format_generic(r.result);
      return exit_code::ok;
    }
    case call_result::status::daemon_error:
      if (o.json) {
        boost::json::object e{{"code", r.error_code}, {"message", r.message}};
        std::cout << boost::json::serialize(boost::json::object{{"error", e}}) << "\n";
      }
      std::cerr << "omnisyncctl: " << cmd << ": " << r.message << " (" << r.error_code << ")\n";
      return exit_code_of(r.error_code);
    case call_result::status::protocol_error:
      std::cerr << "omnisyncctl: " << cmd << ": " << r.message << "\n";
      return exit_code::daemon_error;
    case call_result::status::unreachable:
      std::cerr << "omnisyncctl: " << r.message << "\n";
      return exit_code::unavailable;
  }
  return exit_code::daemon_error;
}

std::vector<subcommand> daemon_subcommands() {
  std::vector<subcommand> out;
  out.push_back(daemon_command(catalogue::status, [](CLI::App&) {}, [](const ctl_options& o) {
    return run_daemon_command(o, "status", "", [](const std::string& j) { return format_status(boost::json::parse(j)); });
  }));
  out.push_back(reload_subcommand());
  for (const auto* spec : {&catalogue::pause, &catalogue::resume}) {
    const std::string verb(spec->name);
    auto connector = std::make_shared<std::string>();
    out.push_back(daemon_command(*spec,
                   [connector, spec](CLI::App& app) {
                     app.add_option("connector", *connector, arg_help(*spec, "connector"));
                   },
                   [verb, connector](const ctl_options& o) {
                     boost::json::object args;
                     if (!connector->empty()) args["connector"] = *connector;
                     return run_daemon_command(o, verb, boost::json::serialize(args),
                                               [verb, connector](const std::string&) {
                                                 return (verb == "pause" ? std::string("paused ") : std::string("resumed ")) +
                                                        (connector->empty() ? std::string("all connectors") : *connector) + "\n";
                                               });
                   }));
  }
  // resync <connector> [object] [--full | --since TIME | --id ID | --email EMAIL] [--fields F,G] [--follow]
  struct resync_args {
    std::string connector, object, since, id, email;
    std::vector<std::string> fields;
    bool full = false, follow = false;
  };
  auto ra = std::make_shared<resync_args>();
  out.push_back(daemon_command(catalogue::resync,
                 [ra](CLI::App& app) {
                   app.add_option("connector", ra->connector, arg_help(catalogue::resync, "connector"))->required();
                   app.add_option("object", ra->object, arg_help(catalogue::resync, "object"));
                   auto* full = app.add_flag("--full", ra->full, arg_help(catalogue::resync, "full"));
                   auto* since = app.add_option("--since", ra->since, arg_help(catalogue::resync, "since"))
                                     ->check(since_validator());
                   auto* id = app.add_option("--id", ra->id, arg_help(catalogue::resync, "id"));
                   auto* email = app.add_option("--email", ra->email, arg_help(catalogue::resync, "email"));
                   full->excludes(since)->excludes(id)->excludes(email);
                   since->excludes(id)->excludes(email);
                   id->excludes(email);
                   app.add_option("--fields", ra->fields, "Only these fields (comma-separated)")->delimiter(',');
                   app.add_flag("--follow,-f", ra->follow, "Show live progress until the resync finished");
                 },
                 [ra](const ctl_options& o) {
                   if (ra->connector == "profile") {
                     // resync profile <id|email|system:id>: re-read each of the profile's records
                     if (ra->object.empty()) {
                       std::cerr << "omnisyncctl: resync profile needs a profile id, e-mail or system:id\n";
                       return int(exit_code::usage);
                     }
                     boost::json::object pargs{{"action", "resync"}, {"query", ra->object}};
                     return run_daemon_command(o, "profile", boost::json::serialize(pargs), [](const std::string& j) {
                       auto v = boost::json::parse(j).as_object();
                       std::string out = "re-reading " + std::to_string(v["records"].as_array().size()) +
                                         " record(s) of " + std::string(v["id"].as_string()) + ":";
                       for (const auto& r : v["records"].as_array()) {
                         const auto& x = r.as_object();
                         out += " " + std::string(x.at("system").as_string()) + "/" + std::string(x.at("object").as_string()) +
                                "/" + std::string(x.at("id").as_string());
                       }
                       return out + "\n";
                     });
                   }
                   boost::json::object args{{"connector", ra->connector}};
                   if (!ra->object.empty()) args["object"] = ra->object;
                   if (!ra->since.empty()) args["since"] = ra->since;
                   if (!ra->id.empty()) args["id"] = ra->id;
                   if (!ra->email.empty()) args["email"] = ra->email;
                   if (!ra->fields.empty()) args["fields"] = boost::json::value_from(ra->fields);
                   args["follow"] = ra->follow;
                   if (!ra->follow || o.json)
                     return run_daemon_command(o, "resync", boost::json::serialize(args), [ra](const std::string& j) {
                       auto v = boost::json::parse(j);
                       std::string out = "resync of " + ra->connector + " started: " + format_generic(v.as_object()["objects"]);
                       // --fields: whether the connector reads just those fields or whole records
                       if (auto* n = v.as_object().if_contains("fields_note"); n && n->is_string())
                         out += (out.ends_with("\n") ? "" : "\n") + std::string("fields: ") + std::string(n->as_string()) + "\n";
                       return out;
                     });
                   // --follow on a terminal: one progress line redrawn in place; elsewhere one line per event.
                   const bool tty = ::isatty(2);
                   auto render = [](const boost::json::object& p) {
                     auto num = [&](const char* k) {
                       auto* v = p.if_contains(k);
                       return v ? (v->is_int64() ? double(v->as_int64()) : v->is_double() ? v->as_double() : 0.0) : 0.0;
                     };
                     const double read = num("read"), stored = num("stored"), rate = num("rate"), total = num("estimated_total");
                     char line[256];
                     std::string bar;
                     if (total > 0) {
                       const int width = 24;
                       const int filled = std::min(width, int(width * read / total));
                       bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
                     }
                     std::string eta;
                     if (total > read && rate > 0) eta = "  ETA " + format_duration((total - read) / rate);
                     std::snprintf(line, sizeof line, "%sread %.0f  stored %.0f  %.0f records/s  %.1f s", bar.c_str(),
                                   read, stored, rate, num("elapsed_s"));
                     // The write-back of what it read: queued, written, refused at the destinations so far.
                     std::string writes;
                     if (auto* w = p.if_contains("writes"); w && w->is_object()) {
                       auto wn = [&](const char* k) {
                         auto* x = w->as_object().if_contains(k);
                         return x && x->is_int64() ? x->as_int64() : std::int64_t(0);
                       };
                       if (wn("queued") > 0 || wn("written") > 0 || wn("refused") > 0)
                         writes = "  writes: queued " + std::to_string(wn("queued")) + " written " +
                                  std::to_string(wn("written")) + " refused " + std::to_string(wn("refused"));
                       if (auto* ph = p.if_contains("phase"); ph && ph->is_string() && ph->as_string() == "write")
                         writes += " (sending, " + std::to_string(wn("pending")) + " queued)";
                     }
                     return std::string(line) + eta + writes;
                   };
                   auto r = call(o.socket, "resync", args, o.timeout, [&](const boost::json::object& ev) {
                     if (tty) std::cerr << "\r\033[K" << render(ev) << std::flush;
                     else std::cerr << render(ev) << "\n";
                   });
                   if (tty) std::cerr << "\r\033[K";
                   if (r.state == call_result::status::ok && r.result.is_object()) {
                     const auto& res = r.result.as_object();
                     std::cout << "resync of " << ra->connector << " finished: " << render(res) << "\n";
                     if (auto* run = res.if_contains("run"); run && run->is_int64() && run->as_int64() > 0) {
                       std::string outcome;
                       if (auto* oc = res.if_contains("outcome"); oc && oc->is_string()) outcome = oc->as_string().c_str();
                       std::cout << "run " << run->as_int64() << (outcome.empty() ? "" : " (" + outcome + ")")
                                 << ": omnisyncctl runs show " << run->as_int64() << "\n";
                       if (auto* pd = res.if_contains("per_destination"); pd && pd->is_array())
                         for (const auto& d : pd->as_array()) {
                           const auto& dobj = d.as_object();
                           std::cout << "  " << dobj.at("destination").as_string().c_str() << ": queued "
                                     << dobj.at("queued").as_int64() << ", written " << dobj.at("written").as_int64()
                                     << ", refused " << dobj.at("refused").as_int64() << "\n";
                         }
                     }
                     if (auto* n = res.if_contains("fields_note"); n && n->is_string())
                       std::cout << "fields: " << n->as_string().c_str() << "\n";
                     if (auto* e = res.if_contains("error"); e && e->is_string() && !e->as_string().empty()) {
                       std::cerr << "omnisyncctl: resync: " << e->as_string().c_str() << "\n";
                       return int(exit_code::daemon_error);
                     }
                     return int(exit_code::ok);
                   }
                   if (r.state == call_result::status::unreachable) {
                     std::cerr << "omnisyncctl: " << r.message << "\n";
                     return int(exit_code::unavailable);
                   }
                   std::cerr << "omnisyncctl: resync: " << r.message << (r.error_code.empty() ? "" : " (" + r.error_code + ")") << "\n";
                   return exit_code_of(r.error_code);
                 },
                 "; `resync profile ID` re-reads one profile's records"));

  out.push_back(lint_subcommand());

  out.push_back(test_subcommand());
  out.push_back(plan_subcommand());
  out.push_back(audit_subcommand());

  out.push_back(dlq_subcommand());
  // profile get|explain|split|restore|resync QUERY; profile list [filters]; profile search TEXT [filters]
  struct profile_args {
    std::string action, query, attribute, record, value;
    profile_list_args list;
  };
  auto pa = std::make_shared<profile_args>();
  out.push_back(daemon_command(catalogue::profile,
                 [pa](CLI::App& app) {
                   app.add_option("action", pa->action, arg_help(catalogue::profile, "action"))
                       ->required()
                       ->check(CLI::IsMember(arg_choices(catalogue::profile, "action")));
                   app.add_option("query", pa->query, arg_help(catalogue::profile, "query"));
                   // The `attribute` argument, given as a positional for explain and as an option for split/restore.
                   app.add_option("attribute_name", pa->attribute, "explain: only this attribute's provenance");
                   app.add_option("--record", pa->record, arg_help(catalogue::profile, "record"));
                   app.add_option("--attribute", pa->attribute, "split/restore: the identifier's attribute (email, phone, ...)");
                   app.add_option("--value", pa->value, arg_help(catalogue::profile, "value"));
                   // list, search
                   app.add_option("--where", pa->list.where, arg_help(catalogue::profile, "where") + " (repeatable)")
                       ->type_name("EXPR");
                   app.add_option("--stage", pa->list.stage, arg_help(catalogue::profile, "stage"));
                   app.add_option("--kpi", pa->list.kpi, arg_help(catalogue::profile, "kpi") + " (repeatable)")
                       ->type_name("EXPR");
                   app.add_option("--fields", pa->list.fields,
                                  "list, search: the columns (attributes) to print, comma-separated")
                       ->delimiter(',');
                   app.add_option("--limit", pa->list.limit, arg_help(catalogue::profile, "limit"))
                       ->check(CLI::Range(1, 1000));
                   app.add_option("--after", pa->list.after, arg_help(catalogue::profile, "after"))->type_name("CURSOR");
                   app.add_flag("--all", pa->list.all, "list, search: every page, not only the first");
                   app.add_flag("--csv", pa->list.csv, "list, search: print CSV (RFC 4180) instead of a table");
                 },
                 [pa](const ctl_options& o) {
                   if (pa->action == "list" || pa->action == "search") {
                     if (pa->action == "search" && pa->query.empty()) {
                       std::cerr << "omnisyncctl: profile search needs the text to look for\n";
                       return int(exit_code::usage);
                     }
                     if (pa->list.csv && o.json) {
                       std::cerr << "omnisyncctl: profile " << pa->action << ": --csv and --json exclude each other\n";
                       return int(exit_code::usage);
                     }
                     return run_profile_list(o, pa->action, pa->query, pa->list);
                   }
                   if (pa->query.empty()) {
                     std::cerr << "omnisyncctl: profile " << pa->action << " needs an e-mail, a profile id or system:id\n";
                     return int(exit_code::usage);
                   }
                   boost::json::object args{{"action", pa->action}, {"query", pa->query}};
                   if (!pa->attribute.empty()) args["attribute"] = pa->attribute;
                   if (!pa->record.empty()) args["record"] = pa->record;
                   if (!pa->value.empty()) args["value"] = pa->value;
                   return run_daemon_command(o, "profile", boost::json::serialize(args), [pa](const std::string& j) {
                     return format_profile(boost::json::parse(j), pa->action);
                   });
                 }));
  out.push_back(daemon_command(catalogue::version, [](CLI::App&) {},
                               [](const ctl_options& o) { return run_daemon_command(o, "version", ""); }));
  out.push_back(remap_subcommand());
  out.push_back(sample_subcommand());
  out.push_back(fields_subcommand());
  out.push_back(runs_subcommand());
  out.push_back(report_subcommand());
  out.push_back(record_subcommand());
  out.push_back(segment_subcommand());
  return out;
}

}  // namespace omnisync::ctl
