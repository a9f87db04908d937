// omnisyncctl record show CONNECTOR OBJECT ID: the record inspector — one source record's stored payload, what its
// mapping makes of it, which golden values it supplies, and the writes it caused with the vendors' answers.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

const json::value& at(const json::object& o, const char* k) {
  static const json::value none;
  const auto* v = o.if_contains(k);
  return v ? *v : none;
}

std::string format_record(const json::value& v) {
  const auto& r = v.as_object();
  std::string out;
  auto field = [&out](const std::string& name, const std::string& value) { out += name + ": " + value + "\n"; };
  field("record", reply_text(at(r, "connector")) + ":" + reply_text(at(r, "object")) + ":" + reply_text(at(r, "id")) +
                      (at(r, "deleted").is_bool() && at(r, "deleted").as_bool() ? " (deleted)" : ""));
  field("updated at the source", reply_text(at(r, "source_updated_at")));
  field("stored", reply_text(at(r, "stored_at")) + " (first seen " + reply_text(at(r, "first_seen")) + ")");
  field("profile", at(r, "profile").is_null() ? std::string("(none)") : reply_text(at(r, "profile")));
  out += "payload: " + reply_text(at(r, "payload")) + "\n";
  const auto& m = at(r, "mapping");
  if (const auto* mo = m.if_object(); mo && !at(*mo, "file").is_null()) {
    out += "mapping: " + reply_text(at(*mo, "file")) + "\n";
    if (!at(*mo, "error").is_null()) out += "  refused: " + reply_text(at(*mo, "error")) + "\n";
    if (const auto* mapped = at(*mo, "mapped").if_object())
      for (const auto& [k, val] : *mapped) out += "  " + std::string(k) + " = " + reply_text(val) + "\n";
  } else {
    out += "mapping: (no inbound mapping for this object)\n";
  }
  if (const auto* prov = at(r, "provenance").if_array(); prov && !prov->empty()) {
    out += "golden values (* = supplied by this record):\n";
    for (const auto& p : *prov) {
      const auto& po = p.as_object();
      const bool mine = at(po, "supplied").is_bool() && at(po, "supplied").as_bool();
      out += std::string(mine ? "  * " : "    ") + reply_text(at(po, "attribute")) + " = " +
             reply_text(at(po, "value")) + " (" + reply_text(at(po, "decided_by")) + ")\n";
    }
  }
  const auto& writes = at(r, "writes");
  if (const auto* wa = writes.if_array(); wa && !wa->empty()) {
    out += "writes it caused (newest first):\n";
    for (const auto& w : *wa) {
      const auto& wo = w.as_object();
      out += "  " + reply_text(at(wo, "at")) + " " + reply_text(at(wo, "destination")) + " " +
             reply_text(at(wo, "field")) + ": " + reply_text(at(wo, "before")) + " -> " + reply_text(at(wo, "after")) +
             " [" + reply_text(at(wo, "outcome")) + "]";
      if (const std::string a = reply_text(at(at(wo, "response").as_object(), "answer")); !a.empty()) out += " " + a;
      out += "\n";
    }
  } else {
    out += "writes it caused: none\n";
  }
  return out;
}

}  // namespace

subcommand record_subcommand() {
  struct args {
    std::string action = "show", connector, object, id;
    std::int64_t limit = 0;
  };
  auto a = std::make_shared<args>();
  return subcommand{
      std::string(catalogue::record.name), std::string(catalogue::record.help),
      [a](CLI::App& app) {
        const auto actions = arg_choices(catalogue::record, "action");
        app.add_option("action", a->action, arg_help(catalogue::record, "action"))
            ->required()
            ->check(CLI::IsMember(actions));
        app.add_option("connector", a->connector, arg_help(catalogue::record, "connector"))->required();
        app.add_option("object", a->object, arg_help(catalogue::record, "object"))->required();
        app.add_option("id", a->id, arg_help(catalogue::record, "id"))->required();
        app.add_option("--limit", a->limit, arg_help(catalogue::record, "limit"));
      },
      [a](const ctl_options& o) {
        json::object args{{"action", a->action}, {"connector", a->connector}, {"object", a->object}, {"id", a->id}};
        if (a->limit > 0) args["limit"] = a->limit;
        return run_daemon_command(o, "record", json::serialize(args),
                                  [](const std::string& j) { return format_record(json::parse(j)); });
      },
      &catalogue::record};
}

}  // namespace omnisync::ctl
