// `omnisyncctl profile list|search`: pages of profiles as a table, JSON lines (--json) or CSV (--csv), one page or
// every page (--all), each page printed as it arrives so memory stays flat on any book size.
#include <boost/json.hpp>

#include <iostream>

#include "core/json_text.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace json = boost::json;

namespace omnisync::ctl {

namespace {

/// The columns the table and CSV show when --fields does not say.
const std::vector<std::string> k_default_columns{"email", "first_name", "last_name", "company", "lifecycle_stage",
                                                 "lifetime_value"};

/// A cell's text: strings as they are, lists of strings joined with "; ", null as nothing, anything else as JSON.
std::string cell_text(const json::value& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_array()) {
    std::string out;
    bool plain = true;
    for (const auto& x : v.get_array()) plain = plain && x.is_string();
    if (!plain) return to_json_text(v);
    for (const auto& x : v.get_array()) out += (out.empty() ? "" : "; ") + std::string(x.get_string());
    return out;
  }
  return to_json_text(v);
}

const json::value* field_of(const json::object& rec, const std::string& path) {
  if (const auto* v = rec.if_contains(path)) return v;  // projected records are keyed by the dotted path
  const json::object* o = &rec;
  std::string_view p = path;
  while (true) {
    const auto dot = p.find('.');
    const auto* v = o->if_contains(p.substr(0, dot));
    if (!v || dot == std::string_view::npos) return v;
    if (!v->is_object()) return nullptr;
    o = &v->get_object();
    p.remove_prefix(dot + 1);
  }
}

}  // namespace

std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

int run_profile_list(const ctl_options& o, const std::string& action, const std::string& query,
                     const profile_list_args& a) {
  const bool whole_records = o.json && a.fields.empty();  // JSON lines without --fields: every attribute
  const std::vector<std::string>& columns = a.fields.empty() ? k_default_columns : a.fields;
  json::object args{{"action", action}};
  if (!query.empty()) args["query"] = query;
  auto list = [](const std::vector<std::string>& v) {
    json::array out;
    for (const auto& s : v) out.emplace_back(s);
    return out;
  };
  if (!a.where.empty()) args["where"] = list(a.where);
  if (!a.kpi.empty()) args["kpi"] = list(a.kpi);
  if (!a.stage.empty()) args["stage"] = a.stage;
  if (!whole_records) args["fields"] = list(columns);
  args["limit"] = a.limit > 0 ? a.limit : (a.all ? 1000 : 50);
  std::string after = a.after;
  std::uint64_t shown = 0;
  bool header_done = false;
  std::vector<std::vector<std::string>> table;  // human output: one page at a time
  while (true) {
    if (!after.empty()) args["after"] = after;
    auto r = call(o.socket, "profile", args, o.timeout);
    if (r.state == call_result::status::daemon_error) {
      std::cerr << "omnisyncctl: profile " << action << ": " << r.message << " (" << r.error_code << ")\n";
      return exit_code_of(r.error_code);
    }
    if (r.state != call_result::status::ok) {
      std::cerr << "omnisyncctl: " << r.message << "\n";
      return r.state == call_result::status::unreachable ? exit_code::unavailable : exit_code::daemon_error;
    }
    const auto& res = r.result.as_object();
    const auto& items = res.at("items").as_array();
    std::string out;
    if (a.csv && !header_done) {
      out += "profile_id";
      for (const auto& c : columns) out += "," + csv_field(c);
      out += "\r\n";
    }
    if (!o.json && !a.csv) table.clear();
    for (const auto& item : items) {
      const auto& rec = item.as_object();
      ++shown;
      if (o.json) {
        out += to_json_text(rec) + "\n";
      } else if (a.csv) {
        out += csv_field(cell_text(rec.at("_profile_id")));
        for (const auto& c : columns) {
          const auto* v = field_of(rec, c);
          out += "," + csv_field(v ? cell_text(*v) : std::string());
        }
        out += "\r\n";
      } else {
        std::vector<std::string> row{cell_text(rec.at("_profile_id"))};
        for (const auto& c : columns) {
          const auto* v = field_of(rec, c);
          row.push_back(v ? cell_text(*v) : std::string());
        }
        table.push_back(std::move(row));
      }
    }
    if (!o.json && !a.csv && !table.empty()) {
      std::vector<std::string> head{"PROFILE"};
      for (const auto& c : columns) {
        std::string h = c;
        for (auto& ch : h) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        head.push_back(h);
      }
      std::vector<std::size_t> width(head.size());
      for (std::size_t i = 0; i < head.size(); ++i) width[i] = ctl::columns(head[i]);
      for (const auto& row : table)
        for (std::size_t i = 0; i < row.size(); ++i)
          width[i] = std::max(width[i], std::min<std::size_t>(ctl::columns(row[i]), 40));
      auto line = [&](const std::vector<std::string>& row) {
        std::string l;
        for (std::size_t i = 0; i < row.size(); ++i) {
          std::string c = row[i].size() > 40 ? row[i].substr(0, 39) + "~" : row[i];
          l += i + 1 < row.size() ? pad(c, width[i]) + "  " : c;
        }
        while (!l.empty() && l.back() == ' ') l.pop_back();
        return l + "\n";
      };
      if (!header_done) out += line(head);
      for (const auto& row : table) out += line(row);
    }
    header_done = header_done || a.csv || !table.empty();
    std::cout << out << std::flush;
    const auto* next = res.if_contains("next_after");
    after = next && next->is_string() ? std::string(next->get_string()) : std::string();
    if (after.empty()) break;
    if (!a.all) {
      // stderr, so the data on stdout stays clean for a pipe
      std::cerr << "more: --after " << after << " (or --all for every page)\n";
      break;
    }
  }
  if (!o.json && !a.csv) {
    if (shown == 0) std::cout << "no profile matches\n";
  }
  return exit_code::ok;
}

}  // namespace omnisync::ctl
