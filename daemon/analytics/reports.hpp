#pragma once
/// The analytics reports over the history (history_index.hpp): funnel, retention, satisfaction, value,
/// segment_size. Pure code: a report reads the index once, under its lock, and returns tables of numbers; the
/// same result feeds `omnisyncctl report NAME` (JSON or CSV) and the console's analytics pages. docs/analytics.md
/// says what each number means.
///
/// Thread safety: free functions; the index locks itself.
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/analytics/history_index.hpp"

namespace omnisync::analytics {

enum class period { day, week, month };

/// What a report covers: rows with `at` in [from, to), bucketed by `by` (UTC; weeks start on Monday).
struct report_window {
  std::int64_t from = 0;                                    ///< ms since the epoch
  std::int64_t to = std::numeric_limits<std::int64_t>::max();
  period by = period::month;
  /// The segments configured now: the rows of any other segment (one removed from the config) are left out of
  /// segment_size and value's by_segment. nullopt: every segment in the history.
  std::optional<std::set<std::string, std::less<>>> segments;
};

/// One table of a report: named columns and rows of numbers or text.
struct table {
  std::string name;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  ///< cells as text (numbers formatted), one per column
};

struct report {
  std::string name;
  report_window window;
  std::vector<table> tables;
};

/// The report names, in the order `omnisyncctl report` lists them.
const std::vector<std::string>& report_names();
/// The funnel's stages, in order.
const std::vector<std::string>& funnel_stages();

/// Computes report `name` (one of report_names()); nullopt for an unknown name.
std::optional<report> compute(std::string_view name, const history_index& index, const report_window& w);

report funnel(const history_view& v, const report_window& w);
report retention(const history_view& v, const report_window& w);
report satisfaction(const history_view& v, const report_window& w);
report value(const history_view& v, const report_window& w);
report segment_size(const history_view& v, const report_window& w);

/// `{"report":..,"from":ISO,"to":ISO,"by":..,"tables":{name:{"columns":[..],"rows":[[..]..]}}}` with numbers as
/// JSON numbers.
boost::json::object to_json(const report& r);
/// One CSV section per table: a line `# table NAME`, the header, the rows (RFC 4180 quoting).
std::string to_csv(const report& r);

/// "day" | "week" | "month".
std::optional<period> parse_period(std::string_view s);
std::string_view period_name(period p);
/// The start of the bucket holding `at`, and the start of the next one.
std::int64_t bucket_start(std::int64_t at, period p);
std::int64_t next_bucket(std::int64_t start, period p);

}  // namespace omnisync::analytics
