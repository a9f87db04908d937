// Calendar buckets (periods.hpp) and the reports' JSON and CSV forms (reports.hpp).
#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>

#include "daemon/analytics/periods.hpp"
#include "daemon/analytics/reports.hpp"

namespace omnisync::analytics {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Howard Hinnant's days_from_civil / civil_from_days.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
  std::int64_t y;
  unsigned m, d;
};
civil civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

/// A cell as a JSON value: a number when it is one, null when empty, else text.
boost::json::value cell(const std::string& s) {
  if (s.empty()) return nullptr;
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc() && p == s.data() + s.size()) {
    if (s.find_first_of(".eE") == std::string::npos) return static_cast<std::int64_t>(d);
    return d;
  }
  return boost::json::value(s);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string iso(std::int64_t ms) {
  const auto c = civil_from_days(floor_div(ms, day_ms));
  const auto in_day = ms - floor_div(ms, day_ms) * day_ms;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(c.y), c.m, c.d,
                static_cast<long long>(in_day / 3'600'000), static_cast<long long>(in_day / 60'000 % 60),
                static_cast<long long>(in_day / 1000 % 60));
  return buf;
}

}  // namespace

std::optional<period> parse_period(std::string_view s) {
  if (s == "day") return period::day;
  if (s == "week") return period::week;
  if (s == "month") return period::month;
  return std::nullopt;
}

std::string_view period_name(period p) {
  switch (p) {
    case period::day: return "day";
    case period::week: return "week";
    case period::month: return "month";
  }
  return "month";
}

std::int64_t bucket_start(std::int64_t at, period p) {
  const auto days = floor_div(at, day_ms);
  switch (p) {
    case period::day: return days * day_ms;
    case period::week: return (days - ((days + 3) % 7 + 7) % 7) * day_ms;  // 1970-01-01 was a Thursday
    case period::month: {
      const auto c = civil_from_days(days);
      return days_from_civil(c.y, c.m, 1) * day_ms;
    }
  }
  return at;
}

std::int64_t next_bucket(std::int64_t start, period p) {
  switch (p) {
    case period::day: return start + day_ms;
    case period::week: return start + 7 * day_ms;
    case period::month: {
      const auto c = civil_from_days(floor_div(start, day_ms));
      return (c.m == 12 ? days_from_civil(c.y + 1, 1, 1) : days_from_civil(c.y, c.m + 1, 1)) * day_ms;
    }
  }
  return start + day_ms;
}

std::int64_t bucket_offset(std::int64_t cohort, std::int64_t at, period p) {
  switch (p) {
    case period::day: return (at - cohort) / day_ms;
    case period::week: return (at - cohort) / (7 * day_ms);
    case period::month: {
      const auto a = civil_from_days(floor_div(cohort, day_ms)), b = civil_from_days(floor_div(at, day_ms));
      return (b.y * 12 + b.m) - (a.y * 12 + a.m);
    }
  }
  return 0;
}

std::string period_label(std::int64_t start, period p) {
  const auto c = civil_from_days(floor_div(start, day_ms));
  char buf[64];
  if (p == period::month)
    std::snprintf(buf, sizeof buf, "%04lld-%02u", static_cast<long long>(c.y), c.m);
  else
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.y), c.m, c.d);
  return buf;
}

std::string num(std::int64_t v) { return std::to_string(v); }

std::string num(double v) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

boost::json::object to_json(const report& r) {
  boost::json::object o;
  o["report"] = r.name;
  o["from"] = r.window.from > 0 ? boost::json::value(iso(r.window.from)) : boost::json::value(nullptr);
  o["to"] = r.window.to < std::numeric_limits<std::int64_t>::max() ? boost::json::value(iso(r.window.to))
                                                                    : boost::json::value(nullptr);
  o["by"] = period_name(r.window.by);
  boost::json::object tables;
  for (const auto& t : r.tables) {
    boost::json::array cols, rows;
    for (const auto& c : t.columns) cols.emplace_back(c);
    for (const auto& row : t.rows) {
      boost::json::array a;
      for (const auto& c : row) a.push_back(cell(c));
      rows.push_back(std::move(a));
    }
    tables[t.name] = boost::json::object{{"columns", std::move(cols)}, {"rows", std::move(rows)}};
  }
  o["tables"] = std::move(tables);
  return o;
}

std::string to_csv(const report& r) {
  std::string out;
  for (const auto& t : r.tables) {
    out += "# table " + t.name + "\n";
    for (std::size_t i = 0; i < t.columns.size(); ++i) out += (i ? "," : "") + csv_field(t.columns[i]);
    out += "\n";
    for (const auto& row : t.rows) {
      for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_field(row[i]);
      out += "\n";
    }
  }
  return out;
}

}  // namespace omnisync::analytics
