// The Analytics page: each report of `omnisyncctl report NAME` drawn as hand-written SVG on the server (no script,
// no third-party code, nothing inline that the Content-Security-Policy would refuse: sizes and colours are SVG
// attributes), each chart followed by its numbers as a table and a CSV link.
#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/json_text.hpp"
#include "daemon/console/page_parts.hpp"
#include "daemon/console/svg_chart.hpp"

namespace json = boost::json;

namespace omnisync::console::pages {
namespace {

using namespace detail;

/// What each report is called on the page, in the page's order.
struct report_title {
  std::string_view name, title, description;
};
constexpr report_title report_titles[] = {
    {"funnel", "Lifecycle funnel", "profiles that reached each stage, strictly in order and in any order; conversion "
                                   "between stages and the median time spent in each"},
    {"retention", "Cohort retention", "first-purchase month × later months with activity"},
    {"satisfaction", "NPS and CSAT", "scores over time, with the number of answers behind each point"},
    {"value", "Lifetime value and order value", "LTV and AOV by segment and by first-touch source"},
    {"segment_size", "Segment size over time", "members of each segment"},
};

/// A report's tables as (name, rows as objects keyed by column): `omnisyncctl report`'s result holds
/// `tables: {NAME: {columns: [..], rows: [[..]..]}}` (daemon/analytics/reports.hpp, to_json), in the daemon's order.
std::vector<std::pair<std::string, json::array>> tables_of(const json::value& result) {
  std::vector<std::pair<std::string, json::array>> out;
  const auto* tables = at(result, "tables").if_object();
  if (!tables) return out;
  for (const auto& [name, t] : *tables) {
    const auto* cols = at(t, "columns").if_array();
    const auto* rows = at(t, "rows").if_array();
    if (!cols || !rows) continue;
    json::array objects;
    for (const auto& r : *rows) {
      const auto* cells = r.if_array();
      if (!cells) continue;
      json::object o;
      for (std::size_t i = 0; i < cols->size() && i < cells->size(); ++i)
        if (const auto* c = (*cols)[i].if_string()) o[*c] = (*cells)[i];
      objects.push_back(std::move(o));
    }
    out.emplace_back(std::string(name), std::move(objects));
  }
  return out;
}

/// Every column of `rows` in first-seen order.
std::vector<std::string> columns_of(const json::array& rows) {
  std::vector<std::string> cols;
  for (const auto& r : rows)
    if (const auto* o = r.if_object())
      for (const auto& kv : *o)
        if (std::find(cols.begin(), cols.end(), std::string(kv.key())) == cols.end()) cols.emplace_back(kv.key());
  return cols;
}

/// The numbers as a table (what the chart shows, readable by a screen reader and copyable).
std::string numbers_table(std::string_view id, std::string_view caption, const json::array& rows) {
  const auto cols = columns_of(rows);
  std::string out = "<table id=\"" + escape(id) + "-table\" class=\"numbers\"><caption>" + escape(caption) +
                    " — the numbers</caption><thead><tr>";
  for (const auto& c : cols) out += "<th scope=\"col\">" + escape(c) + "</th>";
  out += "</tr></thead><tbody>";
  for (const auto& r : rows) {
    out += "<tr>";
    for (const auto& c : cols) {
      const auto& v = at(r, c);
      out += v.is_number() ? num_cell(v) : cell(v);
    }
    out += "</tr>";
  }
  if (rows.empty()) out += "<tr><td>No data yet.</td></tr>";
  return out + "</tbody></table>";
}

/// A bar chart of the first text column against every numeric column (one series each).
std::string chart_of(std::string_view id, std::string_view title, const json::array& rows) {
  const auto cols = columns_of(rows);
  std::string label_col;
  std::vector<std::string> value_cols;
  for (const auto& c : cols) {
    bool numeric = true, any = false;
    for (const auto& r : rows) {
      const auto& v = at(r, c);
      if (v.is_null()) continue;
      any = true;
      numeric = numeric && v.is_number();
    }
    if (!any) continue;
    if (numeric) value_cols.push_back(c);
    else if (label_col.empty()) label_col = c;
  }
  svg::bar_chart chart;
  chart.id = std::string(id);
  chart.title = std::string(title);
  for (const auto& r : rows) chart.labels.push_back(label_col.empty() ? std::string() : text(at(r, label_col)));
  for (const auto& c : value_cols) {
    svg::data_series s;
    s.name = c;
    for (const auto& r : rows) s.values.push_back(at(r, c).is_number() ? at(r, c).to_number<double>() : 0.0);
    chart.series.push_back(std::move(s));
  }
  return svg::render(chart);
}

}  // namespace

std::string analytics(const frame& f, const json::value* reports, std::string_view note) {
  std::string body;
  if (!note.empty()) body += "<p class=\"notice\" role=\"status\" id=\"analytics-note\">" + escape(note) + "</p>";
  body += "<nav aria-label=\"Reports\"><ul class=\"reports\">";
  for (const auto& t : report_titles)
    body += "<li><a href=\"#" + std::string(t.name) + "\">" + escape(t.title) + "</a></li>";
  body += "</ul></nav>";
  for (const auto& t : report_titles) {
    const std::string name(t.name);
    body += "<section id=\"" + name + "\" class=\"report\" aria-labelledby=\"" + name + "-title\"><h2 id=\"" + name +
            "-title\">" + escape(t.title) + "</h2><p>" + escape(t.description) + "</p>";
    const json::value* result = reports ? reports->as_object().if_contains(name) : nullptr;
    const auto tables = result ? tables_of(*result) : std::vector<std::pair<std::string, json::array>>{};
    if (tables.empty()) {
      body += "<p class=\"empty\">Not available: " + std::string(reports ? "the report gave no tables" :
              "this daemon has no history reports yet") + ".</p></section>";
      continue;
    }
    for (const auto& [table, rows] : tables) {
      const std::string id = name + "-" + table;
      const std::string caption = std::string(t.title) + ": " + table;
      body += "<h3 id=\"" + escape(id) + "-title\">" + escape(table) + "</h3>";
      body += chart_of(id, caption, rows);
      body += numbers_table(id, caption, rows);
    }
    body += "<p><a class=\"csv\" href=\"/analytics/" + name + ".csv\" download>" + escape(t.title) +
            " as CSV</a> (the same as <code>omnisyncctl report " + name + " --csv</code>)</p></section>";
  }
  return layout(f, body);
}

std::string report_csv(const json::value& result) {
  // One section per table, as `omnisyncctl report NAME --csv` prints it: "# table NAME", the header, the rows.
  auto field = [](std::string s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  auto text_of = [](const json::value& v) {
    return v.is_null() ? std::string() : v.is_string() ? std::string(v.as_string()) : to_json_text(v);
  };
  std::string out;
  const auto* tables = at(result, "tables").if_object();
  if (!tables) return out;
  for (const auto& [name, t] : *tables) {
    const auto* cols = at(t, "columns").if_array();
    const auto* rows = at(t, "rows").if_array();
    if (!cols || !rows) continue;
    out += "# table " + std::string(name) + "\n";
    for (std::size_t i = 0; i < cols->size(); ++i) out += (i ? "," : "") + field(text_of((*cols)[i]));
    out += "\n";
    for (const auto& r : *rows) {
      const auto* cells = r.if_array();
      if (!cells) continue;
      for (std::size_t i = 0; i < cells->size(); ++i) out += (i ? "," : "") + field(text_of((*cells)[i]));
      out += "\n";
    }
  }
  return out;
}

}  // namespace omnisync::console::pages
