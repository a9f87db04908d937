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

/// Horizontal bars, one row per label (top to bottom), one bar per series; between two rows the step's ratio
/// (`steps[i]`: from row i to row i + 1, as text such as "45%") is written, for a funnel's conversions.
struct hbar_chart {
  std::string id, title;
  std::vector<std::string> labels;
  std::vector<data_series> series;
  std::vector<std::string> steps;  ///< labels.size() - 1 texts (or none)
  int width = 720;
};
std::string render(const hbar_chart& chart);

/// A grid of numbers coloured by their share of the row's base (retention: cohort × period, active / cohort size);
/// every cell shows its number, so colour is never the only carrier.
struct heatmap {
  std::string id, title;
  std::vector<std::string> rows, columns;  ///< row labels (cohorts), column labels (periods)
  std::vector<std::vector<double>> values; ///< rows × columns; NaN: no cell
  std::vector<double> base;                ///< per row: what 100 % is (NaN or 0: the row's own maximum)
};
std::string render(const heatmap& chart);

/// Lines over labelled points (periods), one per series; NaN values leave a gap. The y axis spans the data
/// (from 0, or below it when a value is negative, e.g. NPS).
struct line_chart {
  std::string id, title;
  std::vector<std::string> labels;
  std::vector<data_series> series;
  int width = 720, height = 260;
};
std::string render(const line_chart& chart);

/// The smallest "nice" number (1, 2, 2.5 or 5 × 10^n) at or above `v`; 1 for v <= 0.
double nice_ceiling(double v);

}  // namespace omnisync::console::svg
