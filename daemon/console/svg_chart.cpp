#include "daemon/console/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

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

}  // namespace omnisync::console::svg
