#pragma once
/// Charts as hand-written SVG, rendered on the server for the Analytics page: no script, no third-party code, and
/// nothing the console's Content-Security-Policy refuses (geometry and colours are SVG presentation attributes,
/// never `style`). Each chart carries a <title> and <desc> for screen readers; the page puts its numbers in a table
/// next to it. Pure functions, any thread.
#include <string>
#include <vector>

namespace omnisync::console::svg {

struct data_series {
  std::string name;
  std::vector<double> values;  ///< one per label
};

/// Grouped vertical bars: one group per label, one bar per series, a y axis from 0 to a rounded maximum.
struct bar_chart {
  std::string id;     ///< element id (the figure's), unique on the page
  std::string title;
  std::vector<std::string> labels;
  std::vector<data_series> series;
  int width = 720, height = 280;
};

/// A <figure> holding the chart and a legend; "no data" text inside the SVG when there is nothing to draw.
std::string render(const bar_chart& chart);

/// The smallest "nice" number (1, 2, 2.5 or 5 × 10^n) at or above `v`; 1 for v <= 0.
double nice_ceiling(double v);

}  // namespace omnisync::console::svg
