// The Analytics page: each report of `omnisyncctl report NAME` drawn as hand-written SVG on the server (no script,
// no third-party code, nothing inline that the Content-Security-Policy would refuse: sizes and colours are SVG
// attributes), each chart followed by its numbers as a table and a CSV link. The funnel is drawn as horizontal
// bars with the conversion between stages, retention as a cohort heatmap with its numbers in the cells, NPS and
// CSAT and segment sizes as lines over the periods, value as bars. Each table's rows are walked once: the numbers
// table is written and the chart's columns gathered in the same pass.
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

/// One table of a report, walked once: its numbers table (HTML) and, per column, what the charts need.
struct walked_table {
  std::string name;
  std::vector<std::string> columns;
  std::vector<std::vector<double>> numbers;     ///< per column, per row: the number, NaN when the cell is none
  std::vector<std::vector<std::string>> texts;  ///< per column, per row: the cell as text
  std::vector<char> numeric;                    ///< per column: every non-empty cell is a number, and one is
  std::string html;                             ///< the numbers table

  std::size_t rows() const { return texts.empty() ? 0 : texts.front().size(); }
  /// The column called `c`, or npos.
  std::size_t column(std::string_view c) const {
    auto it = std::find(columns.begin(), columns.end(), c);
    return it == columns.end() ? std::string::npos : static_cast<std::size_t>(it - columns.begin());
  }
};

/// Walks the rows of one table of `omnisyncctl report`'s result (`{columns: [..], rows: [[..]..]}`,
/// daemon/analytics/reports.hpp to_json) once: the numbers table (what the chart shows, readable by a screen reader
/// and copyable) is written and the columns gathered for the chart in the same pass.
walked_table walk(std::string name, const json::value& t, std::string_view id, std::string_view caption) {
  walked_table w;
  w.name = std::move(name);
  const auto* cols = at(t, "columns").if_array();
  const auto* rows = at(t, "rows").if_array();
  if (cols)
    for (const auto& c : *cols) w.columns.push_back(c.is_string() ? std::string(c.as_string()) : std::string());
  const std::size_t n = w.columns.size();
  w.numbers.resize(n);
  w.texts.resize(n);
  std::vector<char> any(n), all_numbers(n, 1);
  w.html = "<table id=\"" + escape(id) + "-table\" class=\"numbers\"><caption>" + escape(caption) +
           " — the numbers</caption><thead><tr>";
  for (const auto& c : w.columns) w.html += "<th scope=\"col\">" + escape(c) + "</th>";
  w.html += "</tr></thead><tbody>";
  std::size_t count = 0;
  static const json::value none;
  for (const auto& r : rows ? *rows : json::array{}) {
    const auto* cells = r.if_array();
    if (!cells) continue;
    ++count;
    w.html += "<tr>";
    for (std::size_t i = 0; i < n; ++i) {
      const auto& v = i < cells->size() ? (*cells)[i] : none;
      w.html += v.is_number() ? num_cell(v) : cell(v);
      w.texts[i].push_back(v.is_null() ? std::string() : text(v));
      w.numbers[i].push_back(v.is_number() ? v.to_number<double>() : std::numeric_limits<double>::quiet_NaN());
      if (!v.is_null()) {
        any[i] = 1;
        all_numbers[i] = all_numbers[i] && v.is_number();
      }
    }
    w.html += "</tr>";
  }
  if (count == 0) w.html += "<tr><td>No data yet.</td></tr>";
  w.html += "</tbody></table>";
  w.numeric.resize(n);
  for (std::size_t i = 0; i < n; ++i) w.numeric[i] = any[i] && all_numbers[i];
  return w;
}

svg::data_series series_of(const walked_table& t, std::size_t col, std::string name = {}) {
  svg::data_series s;
  s.name = name.empty() ? t.columns[col] : std::move(name);
  s.values = t.numbers[col];
  return s;
}

/// Grouped bars of the first text column against the numeric columns named (all numeric ones when none are).
std::string bars(const walked_table& t, std::string_view id, std::string_view title, std::vector<std::string_view> only = {}) {
  svg::bar_chart chart;
  chart.id = std::string(id);
  chart.title = std::string(title);
  std::size_t label = std::string::npos;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    if (!t.numeric[c] && label == std::string::npos && !t.texts[c].empty()) label = c;
    const bool wanted = only.empty() || std::find(only.begin(), only.end(), t.columns[c]) != only.end();
    if (t.numeric[c] && wanted) chart.series.push_back(series_of(t, c));
  }
  chart.labels = label == std::string::npos ? std::vector<std::string>(t.rows()) : t.texts[label];
  return svg::render(chart);
}

/// The funnel's stages as horizontal bars (reached in order, entered in any order), with the conversion from each
/// stage to the next between them.
std::string funnel_chart(const walked_table& t, std::string_view id, std::string_view title) {
  const auto stage = t.column("stage"), ordered = t.column("reached_in_order"), anyway = t.column("entered_any_order"),
             conv_o = t.column("conversion_in_order"), conv_a = t.column("conversion_any_order");
  if (stage == std::string::npos || ordered == std::string::npos || anyway == std::string::npos) return bars(t, id, title);
  svg::hbar_chart c;
  c.id = std::string(id);
  c.title = std::string(title);
  c.labels = t.texts[stage];
  c.series = {series_of(t, ordered, "reached in order"), series_of(t, anyway, "entered in any order")};
  auto pct = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100 * v);
    return std::string(buf);
  };
  for (std::size_t i = 1; i < t.rows(); ++i) {
    std::string step;
    if (conv_o != std::string::npos && std::isfinite(t.numbers[conv_o][i])) step = pct(t.numbers[conv_o][i]) + " in order";
    if (conv_a != std::string::npos && std::isfinite(t.numbers[conv_a][i]))
      step += (step.empty() ? "" : ", ") + pct(t.numbers[conv_a][i]) + " in any order";
    c.steps.push_back(step.empty() ? std::string() : "conversion " + step);
  }
  return svg::render(c);
}

/// Cohorts × periods since the first purchase, each cell the cohort's active profiles, shaded by their share of
/// the cohort's size.
std::string retention_chart(const walked_table& t, std::string_view id, std::string_view title) {
  const auto cohort = t.column("cohort"), size = t.column("size");
  if (cohort == std::string::npos || size == std::string::npos) return bars(t, id, title);
  svg::heatmap h;
  h.id = std::string(id);
  h.title = std::string(title);
  h.rows = t.texts[cohort];
  h.base = t.numbers[size];
  std::vector<std::size_t> cols;
  for (std::size_t c = 0; c < t.columns.size(); ++c)
    if (t.columns[c].rfind("active_", 0) == 0) {
      cols.push_back(c);
      h.columns.push_back("+" + t.columns[c].substr(7));
    }
  h.values.assign(t.rows(), std::vector<double>(cols.size()));
  for (std::size_t r = 0; r < t.rows(); ++r)
    for (std::size_t j = 0; j < cols.size(); ++j) h.values[r][j] = t.numbers[cols[j]][r];
  return svg::render(h);
}

/// A line chart of the columns named, over the rows labelled by `label` (rows labelled `skip` left out).
std::string lines(const walked_table& t, std::string_view id, std::string_view title, std::string_view label,
                  std::vector<std::string_view> cols, std::string_view skip = {}) {
  svg::line_chart c;
  c.id = std::string(id);
  c.title = std::string(title);
  const auto l = t.column(label);
  std::vector<std::size_t> keep;
  for (std::size_t r = 0; r < t.rows(); ++r)
    if (l == std::string::npos || skip.empty() || t.texts[l][r] != skip) keep.push_back(r);
  for (auto r : keep) c.labels.push_back(l == std::string::npos ? std::string() : t.texts[l][r]);
  for (auto name : cols) {
    const auto col = t.column(name);
    if (col == std::string::npos) continue;
    svg::data_series s;
    s.name = std::string(name);
    for (auto r : keep) s.values.push_back(t.numbers[col][r]);
    c.series.push_back(std::move(s));
  }
  return svg::render(c);
}

/// Segment sizes: one line per segment over the periods (the table has a row per period and segment).
std::string segment_chart(const walked_table& t, std::string_view id, std::string_view title) {
  const auto period = t.column("period"), segment = t.column("segment"), size = t.column("size");
  if (period == std::string::npos || segment == std::string::npos || size == std::string::npos) return bars(t, id, title);
  svg::line_chart c;
  c.id = std::string(id);
  c.title = std::string(title);
  for (std::size_t r = 0; r < t.rows(); ++r) {
    const auto& p = t.texts[period][r];
    auto pi = std::find(c.labels.begin(), c.labels.end(), p);
    if (pi == c.labels.end()) pi = c.labels.insert(c.labels.end(), p);
    auto si = std::find_if(c.series.begin(), c.series.end(), [&](const auto& s) { return s.name == t.texts[segment][r]; });
    if (si == c.series.end()) {
      c.series.push_back({t.texts[segment][r], {}});
      si = c.series.end() - 1;
    }
    const auto i = static_cast<std::size_t>(pi - c.labels.begin());
    if (si->values.size() <= i) si->values.resize(i + 1, std::numeric_limits<double>::quiet_NaN());
    si->values[i] = t.numbers[size][r];
  }
  return svg::render(c);
}

/// The chart(s) of one table, by report and table.
std::string charts_of(std::string_view report, const walked_table& t, const std::string& id, const std::string& title) {
  if (report == "funnel" && t.name == "stages") return funnel_chart(t, id, title);
  if (report == "retention" && t.name == "cohorts") return retention_chart(t, id, title);
  if (report == "satisfaction" && t.name == "trend")
    return lines(t, id + "-nps", title + " (NPS)", "period", {"nps"}, "total") +
           lines(t, id + "-csat", title + " (CSAT and CES averages)", "period", {"csat_average", "ces_average"}, "total");
  if (report == "segment_size" && t.name == "sizes") return segment_chart(t, id, title);
  if (report == "value" && t.name.rfind("by_", 0) == 0) return bars(t, id, title, {"ltv_average", "aov_average"});
  return bars(t, id, title);
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
    const auto* tables = result ? at(*result, "tables").if_object() : nullptr;
    if (!tables || tables->empty()) {
      body += "<p class=\"empty\">Not available: " + std::string(reports ? "the report gave no tables" :
              "this daemon has no history reports yet") + ".</p></section>";
      continue;
    }
    for (const auto& [table, value] : *tables) {
      const std::string id = name + "-" + std::string(table);
      const std::string caption = std::string(t.title) + ": " + std::string(table);
      const auto walked = walk(std::string(table), value, id, caption);
      body += "<h3 id=\"" + escape(id) + "-title\">" + escape(table) + "</h3>";
      body += charts_of(name, walked, id, caption);
      body += walked.html;
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
