// omnisyncctl plan and audit: what the daemon would write now, and what it wrote, field by field.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/cli.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

/// A value as the plan and the audit log print it: JSON (strings quoted), "-" for unknown.
std::string value_text(const json::value& v) { return v.is_null() ? std::string("-") : json::serialize(v); }

/// "(source, rule)" of one field change.
std::string why(const json::object& f) {
  std::string out = "(";
  const std::string source = reply_text(f.at("source"));
  if (!source.empty()) out += source + ", ";
  return out + reply_text(f.at("rule")) + ")";
}

}  // namespace

std::string format_plan(const json::value& v) {
  std::string out;
  const auto& r = v.as_object();
  for (const auto& c : r.at("changes").as_array()) {
    const auto& w = c.as_object();
    const std::string where =
        reply_text(w.at("connector")) + " " + reply_text(w.at("object")) + "/" + reply_text(w.at("record"));
    const std::string what = reply_text(w.at("what"));
    for (const auto& f : w.at("fields").as_array()) {
      const auto& fo = f.as_object();
      out += where + "  " + reply_text(fo.at("field")) + "  ";
      out += what == "create" ? "(new) " : value_text(fo.at("before")) + " -> ";
      out += value_text(fo.at("after")) + "   " + why(fo) + "\n";
    }
    if (const auto* n = w.if_contains("attempts"); n && n->is_int64() && n->as_int64() > 0)
      out += "  (" + std::to_string(n->as_int64()) + " attempt(s), next at " + reply_text(w.at("next_attempt_at")) +
             ", last answer: " + reply_text(w.at("last_error")) + ")\n";
  }
  const auto& t = r.at("totals").as_object();
  std::size_t fields = 0;
  for (const auto& [k, n] : t.at("per_field").as_object()) fields += static_cast<std::size_t>(n.as_int64());
  out += std::to_string(t.at("listed").as_int64()) + " write(s) would change " + std::to_string(fields) +
         " field(s); " + std::to_string(t.at("queued").as_int64()) + " queued, " +
         std::to_string(t.at("unchanged").as_int64()) + " would change nothing now\n";
  for (const auto& [k, n] : t.at("per_connector").as_object())
    out += "  " + std::string(k) + ": " + std::to_string(n.as_int64()) + " write(s)\n";
  for (const auto& [k, n] : t.at("per_field").as_object())
    out += "  " + std::string(k) + ": " + std::to_string(n.as_int64()) + "\n";
  return out;
}

namespace {

std::string format_audit(const json::value& v) {
  std::string out;
  const auto& r = v.as_object();
  const auto& items = r.at("items").as_array();
  if (items.empty()) return "no writes recorded\n";
  for (const auto& it : items) {
    const auto& e = it.as_object();
    out += reply_text(e.at("at")) + "  " + reply_text(e.at("connector")) + ":" + reply_text(e.at("object")) + ":" +
           reply_text(e.at("record")) + "  " + reply_text(e.at("field")) + "  " + value_text(e.at("before")) + " -> " +
           value_text(e.at("after")) + "  " + reply_text(e.at("outcome"));
    if (!reply_text(e.at("answer")).empty()) out += ": " + reply_text(e.at("answer"));
    out += "  " + why(e) + "\n";
  }
  if (r.at("next_before").as_int64() != 0)
    out += "more: --before " + std::to_string(r.at("next_before").as_int64()) + "\n";
  return out;
}

}  // namespace

subcommand plan_subcommand() {
  struct args {
    std::string connector, profile;
    std::int64_t limit = 0;
  };
  auto a = std::make_shared<args>();
  return subcommand{std::string(catalogue::plan.name), std::string(catalogue::plan.help),
                    [a](CLI::App& app) {
                      app.add_option("connector", a->connector, arg_help(catalogue::plan, "connector"));
                      app.add_option("--profile", a->profile, arg_help(catalogue::plan, "profile"));
                      app.add_option("--limit", a->limit, arg_help(catalogue::plan, "limit"));
                    },
                    [a](const ctl_options& o) {
                      json::object args;
                      if (!a->connector.empty()) args["connector"] = a->connector;
                      if (!a->profile.empty()) args["profile"] = a->profile;
                      if (a->limit > 0) args["limit"] = a->limit;
                      return run_daemon_command(o, "plan", json::serialize(args),
                                                [](const std::string& j) { return format_plan(json::parse(j)); });
                    },
                    &catalogue::plan};
}

subcommand audit_subcommand() {
  struct args {
    std::string profile, record, connector, field, source, since;
    std::int64_t before = 0, limit = 0;
  };
  auto a = std::make_shared<args>();
  return subcommand{std::string(catalogue::audit.name), std::string(catalogue::audit.help),
                    [a](CLI::App& app) {
                      app.add_option("--profile", a->profile, arg_help(catalogue::audit, "profile"));
                      app.add_option("--record", a->record, arg_help(catalogue::audit, "record"));
                      app.add_option("--connector", a->connector, arg_help(catalogue::audit, "connector"));
                      app.add_option("--field", a->field, arg_help(catalogue::audit, "field"));
                      app.add_option("--source", a->source, arg_help(catalogue::audit, "source"));
                      app.add_option("--since", a->since, arg_help(catalogue::audit, "since"))
                          ->check(since_validator());
                      app.add_option("--before", a->before, arg_help(catalogue::audit, "before"));
                      app.add_option("--limit", a->limit, arg_help(catalogue::audit, "limit"));
                    },
                    [a](const ctl_options& o) {
                      json::object args;
                      for (const auto& [k, v] : {std::pair<const char*, std::string*>{"profile", &a->profile},
                                                 {"record", &a->record}, {"connector", &a->connector},
                                                 {"field", &a->field}, {"source", &a->source}, {"since", &a->since}})
                        if (!v->empty()) args[k] = *v;
                      if (a->before > 0) args["before"] = a->before;
                      if (a->limit > 0) args["limit"] = a->limit;
                      return run_daemon_command(o, "audit", json::serialize(args),
                                                [](const std::string& j) { return format_audit(json::parse(j)); });
                    },
                    &catalogue::audit};
}

}  // namespace omnisync::ctl
