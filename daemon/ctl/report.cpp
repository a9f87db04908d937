// omnisyncctl report NAME [--from --to --by] [--json | --csv]: the analytics reports (docs/analytics.md) as
// aligned tables, CSV (one section per table) or the daemon's JSON.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <iostream>
#include <string>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace omnisync::ctl {
namespace {

namespace json = boost::json;
namespace catalogue = control::catalogue;

std::string cell(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

/// The report's tables, in the daemon's order of `tables` (Boost.JSON keeps insertion order).
template <class F>
void each_table(const json::value& v, F f) {
  for (const auto& [name, t] : v.as_object().at("tables").as_object()) {
    std::vector<std::string> cols;
    for (const auto& c : t.as_object().at("columns").as_array()) cols.push_back(cell(c));
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : t.as_object().at("rows").as_array()) {
      std::vector<std::string> row;
      for (const auto& c : r.as_array()) row.push_back(cell(c));
      rows.push_back(std::move(row));
    }
    f(std::string(name), cols, rows);
  }
}

std::string format_csv(const json::value& v) {
  std::string out;
  each_table(v, [&](const std::string& name, const auto& cols, const auto& rows) {
    out += "# table " + name + "\n";
    for (std::size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + csv_field(cols[i]);
    out += "\n";
    for (const auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_field(row[i]);
      out += "\n";
    }
  });
  return out;
}

std::string format_text(const json::value& v) {
  const auto& o = v.as_object();
  std::string out = cell(o.at("report")) + " from " + (o.at("from").is_null() ? "the start" : cell(o.at("from"))) +
                    " to " + (o.at("to").is_null() ? "now" : cell(o.at("to"))) + ", by " + cell(o.at("by")) + "\n";
  each_table(v, [&](const std::string& name, const auto& cols, const auto& rows) {
    std::vector<std::size_t> width(cols.size());
    for (std::size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].size();
    for (const auto& row : rows)
      for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l;
      for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i)
        l += (i ? "  " : "") + cells[i] + std::string(width[i] - cells[i].size(), ' ');
      while (!l.empty() && l.back() == ' ') l.pop_back();
      return l + "\n";
    };
    out += "\n" + name + ":\n" + line(cols);
    for (const auto& row : rows) out += line(row);
    if (rows.empty()) out += "(no rows)\n";
  });
  return out;
}

}  // namespace

subcommand report_subcommand() {
  struct args {
    std::string name, from, to, by;
    bool csv = false;
  };
  auto a = std::make_shared<args>();
  return subcommand{
      std::string(catalogue::report.name), std::string(catalogue::report.help),
      [a](CLI::App& app) {
        const auto names = arg_choices(catalogue::report, "name");
        const auto periods = arg_choices(catalogue::report, "by");
        app.add_option("name", a->name, arg_help(catalogue::report, "name"))->required()->check(CLI::IsMember(names));
        app.add_option("--from", a->from, arg_help(catalogue::report, "from"));
        app.add_option("--to", a->to, arg_help(catalogue::report, "to"));
        app.add_option("--by", a->by, arg_help(catalogue::report, "by"))->check(CLI::IsMember(periods));
        app.add_flag("--csv", a->csv, "Print CSV: one section per table (# table NAME, header, rows)");
      },
      [a](const ctl_options& o) {
        json::object args{{"name", a->name}};
        if (!a->from.empty()) args["from"] = a->from;
        if (!a->to.empty()) args["to"] = a->to;
        if (!a->by.empty()) args["by"] = a->by;
        const bool csv = a->csv;
        return run_daemon_command(o, "report", json::serialize(args), [csv](const std::string& j) {
          return csv ? format_csv(json::parse(j)) : format_text(json::parse(j));
        });
      },
      &catalogue::report};
}

}  // namespace omnisync::ctl
