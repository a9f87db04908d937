// omnisyncctl record show CONNECTOR OBJECT ID: the record inspector — one source record's stored payload, what its
// mapping makes of it, which golden values it supplies, and the writes it caused with the vendors' answers.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <iostream>
#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

std::string help_of(std::string_view arg) {
  const auto* a = catalogue::record.arg(arg);
  return a ? std::string(a->help) : std::string();
}

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

const json::value& at(const json::object& o, const char* k) {
  static const json::value none;
  const auto* v = o.if_contains(k);
  return v ? *v : none;
}

std::string format_show(const json::value& v) {
  const auto& r = v.as_object();
  std::string out;
  auto field = [&out](const std::string& name, const std::string& value) { out += name + ": " + value + "\n"; };
  field("record", text(at(r, "connector")) + ":" + text(at(r, "object")) + ":" + text(at(r, "id")) +
                      (at(r, "deleted").is_bool() && at(r, "deleted").as_bool() ? " (deleted)" : ""));
  field("updated at the source", text(at(r, "source_updated_at")));
  field("stored", text(at(r, "stored_at")) + " (first seen " + text(at(r, "first_seen")) + ")");
  field("profile", at(r, "profile").is_null() ? std::string("(none)") : text(at(r, "profile")));
  out += "payload: " + text(at(r, "payload")) + "\n";
  const auto& m = at(r, "mapping");
  if (const auto* mo = m.if_object(); mo && !at(*mo, "file").is_null()) {
    out += "mapping: " + text(at(*mo, "file")) + "\n";
    if (!at(*mo, "error").is_null()) out += "  refused: " + text(at(*mo, "error")) + "\n";
    if (const auto* mapped = at(*mo, "mapped").if_object())
      for (const auto& [k, val] : *mapped) out += "  " + std::string(k) + " = " + text(val) + "\n";
  } else {
    out += "mapping: (no inbound mapping for this object)\n";
  }
  if (const auto* prov = at(r, "provenance").if_array(); prov && !prov->empty()) {
    out += "golden values (* = supplied by this record):\n";
    for (const auto& p : *prov) {
      const auto& po = p.as_object();
      const bool mine = at(po, "supplied").is_bool() && at(po, "supplied").as_bool();
      out += std::string(mine ? "  * " : "    ") + text(at(po, "attribute")) + " = " + text(at(po, "value")) + " (" +
             text(at(po, "decided_by")) + ")\n";
    }
  }
  const auto& writes = at(r, "writes");
  if (const auto* wa = writes.if_array(); wa && !wa->empty()) {
    out += "writes it caused (newest first):\n";
    for (const auto& w : *wa) {
      const auto& wo = w.as_object();
      out += "  " + text(at(wo, "at")) + " " + text(at(wo, "destination")) + " " + text(at(wo, "field")) + ": " +
             text(at(wo, "before")) + " -> " + text(at(wo, "after")) + " [" + text(at(wo, "outcome")) + "]";
      if (const std::string a = text(at(at(wo, "response").as_object(), "answer")); !a.empty()) out += " " + a;
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
        std::vector<std::string> actions;
        for (const auto& c : catalogue::record.arg("action")->choices) actions.emplace_back(c.value);
        app.add_option("action", a->action, help_of("action"))->required()->check(CLI::IsMember(actions));
        app.add_option("connector", a->connector, help_of("connector"))->required();
        app.add_option("object", a->object, help_of("object"))->required();
        app.add_option("id", a->id, help_of("id"))->required();
        app.add_option("--limit", a->limit, help_of("limit"));
      },
      [a](const ctl_options& o) {
        json::object args{{"action", a->action}, {"connector", a->connector}, {"object", a->object}, {"id", a->id}};
        if (a->limit > 0) args["limit"] = a->limit;
        return run_daemon_command(o, "record", json::serialize(args),
                                  [](const std::string& j) { return format_show(json::parse(j)); });
      },
      &catalogue::record};
}

}  // namespace omnisync::ctl
