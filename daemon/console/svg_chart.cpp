#include "daemon/console/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string_view>

#include "daemon/console/pages.hpp"

namespace omnisync::console::svg {
namespace {

// Colours that keep 3:1 contrast against white and stay apart for common colour blindness (Okabe–Ito).
constexpr const char* palette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

std::string num(double v) {
  char buf[32];
  if (std::fabs(v - std::round(v)) < 1e-9) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string attr(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string open_figure(const std::string& id, const std::string& title, double w, double h, std::string_view desc) {
  using pages::escape;
  return "<figure id=\"" + escape(id) + "-chart\" class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
         attr(w) + " " + attr(h) + "\" width=\"" + attr(w) + "\" height=\"" + attr(h) + "\" role=\"img\" aria-labelledby=\"" +
         escape(id) + "-svg-title " + escape(id) + "-svg-desc\"><title id=\"" + escape(id) + "-svg-title\">" + escape(title) +
         "</title><desc id=\"" + escape(id) + "-svg-desc\">" + escape(desc) + "</desc><rect x=\"0\" y=\"0\" width=\"" + attr(w) +
         "\" height=\"" + attr(h) + "\" fill=\"#ffffff\"/>";
}

std::string text(double x, double y, std::string_view anchor, int size, std::string_view fill, const std::string& body) {
  return "<text x=\"" + attr(x) + "\" y=\"" + attr(y) + "\" text-anchor=\"" + std::string(anchor) + "\" font-size=\"" +
         std::to_string(size) + "\" fill=\"" + std::string(fill) + "\">" + pages::escape(body) + "</text>";
}

std::string shorten(std::string s, std::size_t n) { return s.size() > n ? s.substr(0, n - 1) + "…" : s; }

std::string legend(const std::vector<data_series>& series, double x, double y) {
  std::string out;
  for (std::size_t s = 0; s < series.size(); ++s) {
    out += "<rect x=\"" + attr(x) + "\" y=\"" + attr(y) + "\" width=\"10\" height=\"10\" fill=\"" + palette[s % 7] + "\"/>" +
           text(x + 14, y + 9, "start", 11, "#111111", series[s].name);
    x += 24 + 7.0 * double(series[s].name.size());
  }
  return out;
}

}  // namespace

double nice_ceiling(double v) {
  if (!(v > 0) || !std::isfinite(v)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

std::string render(const bar_chart& c) {
  using pages::escape;
  const double left = 56, right = 12, top = 16, bottom = 48;
  const double w = c.width, h = c.height, plot_w = w - left - right, plot_h = h - top - bottom;
  double max = 0;
  std::size_t n = c.labels.size();
  for (const auto& s : c.series) {
    n = std::max(n, s.values.size());
    for (double v : s.values)
      if (std::isfinite(v)) max = std::max(max, v);
  }
  const double ymax = nice_ceiling(max);
  std::string out = "<figure id=\"" + escape(c.id) + "-chart\" class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
                    "viewBox=\"0 0 " + attr(w) + " " + attr(h) + "\" width=\"" + attr(w) + "\" height=\"" + attr(h) +
                    "\" role=\"img\" aria-labelledby=\"" + escape(c.id) + "-svg-title " + escape(c.id) + "-svg-desc\">";
  out += "<title id=\"" + escape(c.id) + "-svg-title\">" + escape(c.title) + "</title><desc id=\"" + escape(c.id) +
         "-svg-desc\">Bar chart; the table below has the same numbers.</desc>";
  out += "<rect x=\"0\" y=\"0\" width=\"" + attr(w) + "\" height=\"" + attr(h) + "\" fill=\"#ffffff\"/>";
  // Grid lines and y labels at quarters of the rounded maximum.
  for (int i = 0; i <= 4; ++i) {
    const double y = top + plot_h - plot_h * i / 4.0;
    out += "<line x1=\"" + attr(left) + "\" x2=\"" + attr(w - right) + "\" y1=\"" + attr(y) + "\" y2=\"" + attr(y) +
           "\" stroke=\"#ccccdd\" stroke-width=\"1\"/><text x=\"" + attr(left - 6) + "\" y=\"" + attr(y + 4) +
           "\" text-anchor=\"end\" font-size=\"11\" fill=\"#333333\">" + num(ymax * i / 4.0) + "</text>";
  }
  if (n == 0 || c.series.empty()) {
    out += "<text x=\"" + attr(w / 2) + "\" y=\"" + attr(top + plot_h / 2) +
           "\" text-anchor=\"middle\" font-size=\"14\" fill=\"#555555\">No data yet</text></svg></figure>";
    return out;
  }
  const double group_w = plot_w / double(n);
  const double bar_w = std::max(1.0, (group_w * 0.8) / double(c.series.size()));
  for (std::size_t i = 0; i < n; ++i) {
    const double gx = left + group_w * double(i) + group_w * 0.1;
    for (std::size_t s = 0; s < c.series.size(); ++s) {
      const double v = i < c.series[s].values.size() && std::isfinite(c.series[s].values[i]) ? c.series[s].values[i] : 0;
      const double bh = plot_h * std::max(0.0, v) / ymax;
      out += "<rect class=\"bar\" x=\"" + attr(gx + bar_w * double(s)) + "\" y=\"" + attr(top + plot_h - bh) +
             "\" width=\"" + attr(bar_w * 0.92) + "\" height=\"" + attr(bh) + "\" fill=\"" + palette[s % 7] +
             "\"><title>" + escape(c.series[s].name) + (i < c.labels.size() ? ", " + escape(c.labels[i]) : std::string()) +
             ": " + num(v) + "</title></rect>";
    }
    if (i < c.labels.size()) {
      std::string label = c.labels[i];
      if (label.size() > 16) label = label.substr(0, 15) + "…";
      out += "<text x=\"" + attr(gx + group_w * 0.4) + "\" y=\"" + attr(top + plot_h + 16) +
             "\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333333\">" + escape(label) + "</text>";
    }
  }
  out += "<line x1=\"" + attr(left) + "\" x2=\"" + attr(w - right) + "\" y1=\"" + attr(top + plot_h) + "\" y2=\"" +
         attr(top + plot_h) + "\" stroke=\"#333333\" stroke-width=\"1\"/>";
  // Legend along the bottom.
  double lx = left;
  for (std::size_t s = 0; s < c.series.size(); ++s) {
    out += "<rect x=\"" + attr(lx) + "\" y=\"" + attr(h - 18) + "\" width=\"10\" height=\"10\" fill=\"" + palette[s % 7] +
           "\"/><text x=\"" + attr(lx + 14) + "\" y=\"" + attr(h - 9) + "\" font-size=\"11\" fill=\"#111111\">" +
           escape(c.series[s].name) + "</text>";
    lx += 24 + 7.0 * double(c.series[s].name.size());
  }
  return out + "</svg></figure>";
}

std::string render(const hbar_chart& c) {
  const double left = 120, right = 64, top = 12, row_h = 18.0 * double(std::max<std::size_t>(1, c.series.size())) + 8,
               gap = c.steps.empty() ? 6 : 18, bottom = 28;
  const double w = c.width, plot_w = w - left - right;
  const double h = top + bottom + double(std::max<std::size_t>(1, c.labels.size())) * (row_h + gap);
  double max = 0;
  for (const auto& s : c.series)
    for (double v : s.values)
      if (std::isfinite(v)) max = std::max(max, v);
  const double xmax = nice_ceiling(max);
  std::string out = open_figure(c.id, c.title, w, h, "Horizontal bars, one row per stage; the table below has the same numbers.");
  if (c.labels.empty() || c.series.empty())
    return out + text(w / 2, h / 2, "middle", 14, "#555555", "No data yet") + "</svg></figure>";
  double y = top;
  for (std::size_t i = 0; i < c.labels.size(); ++i) {
    out += text(left - 8, y + row_h / 2 + 4, "end", 12, "#111111", shorten(c.labels[i], 18));
    for (std::size_t s = 0; s < c.series.size(); ++s) {
      const double v = i < c.series[s].values.size() && std::isfinite(c.series[s].values[i]) ? c.series[s].values[i] : 0;
      const double bw = plot_w * std::max(0.0, v) / xmax, by = y + 4 + 18.0 * double(s);
      out += "<rect class=\"bar\" x=\"" + attr(left) + "\" y=\"" + attr(by) + "\" width=\"" + attr(std::max(bw, 0.5)) +
             "\" height=\"15\" fill=\"" + palette[s % 7] + "\"><title>" + pages::escape(c.series[s].name + ", " + c.labels[i] +
             ": " + num(v)) + "</title></rect>" + text(left + bw + 4, by + 12, "start", 11, "#111111", num(v));
    }
    y += row_h;
    if (i + 1 < c.labels.size() && i < c.steps.size() && !c.steps[i].empty())
      out += text(left + 4, y + gap - 5, "start", 11, "#333333", "↓ " + c.steps[i]);
    y += gap;
  }
  out += "<line x1=\"" + attr(left) + "\" x2=\"" + attr(left) + "\" y1=\"" + attr(top) + "\" y2=\"" + attr(y) +
         "\" stroke=\"#333333\" stroke-width=\"1\"/>";
  return out + legend(c.series, left, h - 18) + "</svg></figure>";
}

std::string render(const heatmap& c) {
  const double left = 80, top = 40, cell_w = 54, cell_h = 24;
  const double w = std::max(320.0, left + cell_w * double(c.columns.size()) + 12);
  const double h = top + cell_h * double(std::max<std::size_t>(1, c.rows.size())) + 12;
  std::string out = open_figure(c.id, c.title, w, h,
                                "Heatmap: each cell's number is written in it, darker is a larger share of the row; the "
                                "table below has the same numbers.");
  if (c.rows.empty() || c.columns.empty())
    return out + text(w / 2, h / 2, "middle", 14, "#555555", "No data yet") + "</svg></figure>";
  for (std::size_t j = 0; j < c.columns.size(); ++j)
    out += text(left + cell_w * (double(j) + 0.5), top - 10, "middle", 11, "#111111", shorten(c.columns[j], 9));
  for (std::size_t i = 0; i < c.rows.size(); ++i) {
    const double y = top + cell_h * double(i);
    out += text(left - 6, y + cell_h / 2 + 4, "end", 11, "#111111", shorten(c.rows[i], 12));
    double base = i < c.base.size() ? c.base[i] : std::numeric_limits<double>::quiet_NaN();
    if (!(base > 0)) {
      base = 0;
      if (i < c.values.size())
        for (double v : c.values[i])
          if (std::isfinite(v)) base = std::max(base, v);
    }
    for (std::size_t j = 0; j < c.columns.size(); ++j) {
      const double v = i < c.values.size() && j < c.values[i].size() ? c.values[i][j] : std::numeric_limits<double>::quiet_NaN();
      if (!std::isfinite(v)) continue;
      const double share = base > 0 ? std::clamp(v / base, 0.0, 1.0) : 0;
      // From near white to the palette's blue (#0072B2); text turns white where the fill is dark.
      const int r = static_cast<int>(std::lround(240 - share * (240 - 0))), g = static_cast<int>(std::lround(246 - share * (246 - 114))),
                b = static_cast<int>(std::lround(252 - share * (252 - 178)));
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02x%02x", r, g, b);
      const double x = left + cell_w * double(j);
      out += "<rect class=\"cell\" x=\"" + attr(x) + "\" y=\"" + attr(y) + "\" width=\"" + attr(cell_w - 2) + "\" height=\"" +
             attr(cell_h - 2) + "\" fill=\"" + fill + "\"><title>" + pages::escape(c.rows[i] + ", " + c.columns[j] + ": " + num(v)) +
             "</title></rect>" + text(x + cell_w / 2 - 1, y + cell_h / 2 + 3, "middle", 11, share > 0.5 ? "#ffffff" : "#111111", num(v));
    }
  }
  return out + "</svg></figure>";
}

std::string render(const line_chart& c) {
  const double left = 56, right = 12, top = 16, bottom = 48;
  const double w = c.width, h = c.height, plot_w = w - left - right, plot_h = h - top - bottom;
  double max = 0, min = 0;
  bool any = false;
  for (const auto& s : c.series)
    for (double v : s.values)
      if (std::isfinite(v)) {
        max = std::max(max, v);
        min = std::min(min, v);
        any = true;
      }
  const double ymax = nice_ceiling(max), ymin = min < 0 ? -nice_ceiling(-min) : 0;
  std::string out = open_figure(c.id, c.title, w, h, "Line chart over periods; the table below has the same numbers.");
  auto y_of = [&](double v) { return top + plot_h - plot_h * (v - ymin) / (ymax - ymin); };
  for (int i = 0; i <= 4; ++i) {
    const double v = ymin + (ymax - ymin) * i / 4.0, y = y_of(v);
    out += "<line x1=\"" + attr(left) + "\" x2=\"" + attr(w - right) + "\" y1=\"" + attr(y) + "\" y2=\"" + attr(y) +
           "\" stroke=\"#ccccdd\" stroke-width=\"1\"/>" + text(left - 6, y + 4, "end", 11, "#333333", num(v));
  }
  if (!any || c.labels.empty())
    return out + text(w / 2, top + plot_h / 2, "middle", 14, "#555555", "No data yet") + "</svg></figure>";
  const std::size_t n = c.labels.size();
  auto x_of = [&](std::size_t i) { return left + (n == 1 ? plot_w / 2 : plot_w * double(i) / double(n - 1)); };
  const std::size_t every = std::max<std::size_t>(1, n / 12);  // at most about 12 x labels
  for (std::size_t i = 0; i < n; i += every) out += text(x_of(i), top + plot_h + 16, "middle", 11, "#333333", shorten(c.labels[i], 12));
  for (std::size_t s = 0; s < c.series.size(); ++s) {
    std::string path, points;
    bool pen = false;
    for (std::size_t i = 0; i < n && i < c.series[s].values.size(); ++i) {
      const double v = c.series[s].values[i];
      if (!std::isfinite(v)) {
        pen = false;
        continue;
      }
      path += (pen ? " L" : " M") + attr(x_of(i)) + " " + attr(y_of(v));
      pen = true;
      points += "<circle class=\"point\" cx=\"" + attr(x_of(i)) + "\" cy=\"" + attr(y_of(v)) + "\" r=\"3\" fill=\"" + palette[s % 7] +
             "\"><title>" + pages::escape(c.series[s].name + ", " + c.labels[i] + ": " + num(v)) + "</title></circle>";
    }
    if (!path.empty())
      out += "<path d=\"" + path.substr(1) + "\" fill=\"none\" stroke=\"" + palette[s % 7] + "\" stroke-width=\"2\"/>";
    out += points;
  }
  out += "<line x1=\"" + attr(left) + "\" x2=\"" + attr(w - right) + "\" y1=\"" + attr(y_of(0)) + "\" y2=\"" + attr(y_of(0)) +
         "\" stroke=\"#333333\" stroke-width=\"1\"/>";
  return out + legend(c.series, left, h - 18) + "</svg></figure>";
}

}  // namespace omnisync::console::svg
