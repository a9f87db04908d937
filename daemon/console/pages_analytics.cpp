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

/// The rows of a report result: its `rows` (or `items`) array of objects, or the result itself when it is one.
const json::array* rows_of(const json::value& result) {
  if (const auto* a = result.if_array()) return a;
  if (const auto* a = at(result, "rows").if_array()) return a;
  if (const auto* a = at(result, "items").if_array()) return a;
  return nullptr;
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
    const json::array* rows = result ? rows_of(*result) : nullptr;
    if (!rows) {
      body += "<p class=\"empty\">Not available: " + std::string(reports ? "the report gave no rows" :
              "this daemon has no history reports yet") + ".</p></section>";
      continue;
    }
    body += chart_of(name, t.title, *rows);
    body += numbers_table(name, t.title, *rows);
    body += "<p><a class=\"csv\" href=\"/analytics/" + name + ".csv\" download>" + escape(t.title) +
            " as CSV</a> (the same as <code>omnisyncctl report " + name + " --csv</code>)</p></section>";
  }
  return layout(f, body);
}

std::string report_csv(const json::value& result) {
  const auto* rows = rows_of(result);
  if (!rows) return {};
  const auto cols = columns_of(*rows);
  auto field = [](std::string s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string out;
  for (std::size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + field(cols[i]);
  out += "\r\n";
  for (const auto& r : *rows) {
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const auto& v = at(r, cols[i]);
      out += (i ? "," : "") + field(v.is_null() ? std::string() : v.is_string() ? std::string(v.as_string()) : to_json_text(v));
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace omnisync::console::pages
