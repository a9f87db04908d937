#pragma once
/// Human-readable rendering of control replies for `omnisyncctl` (the `--json` flag prints them raw instead).
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace omnisync::ctl {

/// `omnisyncctl status`: headline, paused connectors, a per-connector table, store counts, then any other keys.
std::string format_status(const boost::json::value& status);
/// `omnisyncctl plan`: one line per field change (record, field, before -> after, why), then the totals.
std::string format_plan(const boost::json::value& plan);
/// Generic rendering: scalars as "key: value", nested objects indented, tables for objects of objects.
std::string format_generic(const boost::json::value& v);
/// `omnisyncctl profile get|explain|split|restore`: golden values with their sources, records, KPIs, timeline;
/// explain adds the links (which rule joined which records) and the refused merges.
std::string format_profile(const boost::json::value& reply, const std::string& action);
/// A reply's value as text: a string as it is, null as `null_text`, anything else as JSON.
std::string reply_text(const boost::json::value& v, std::string_view null_text = "");
/// `o[key]` when it is a string, else "".
std::string string_field(const boost::json::object& o, const char* key);
/// `o[key]` when it is a whole number, else 0.
std::int64_t int_field(const boost::json::object& o, const char* key);
/// `o[key]` when it is a number, else 0.
double number_field(const boost::json::object& o, const char* key);

/// The columns `s` takes on a terminal, counted in code points ("—" is one).
std::size_t columns(std::string_view s);
/// `s` followed by spaces up to `width` columns (counted in code points: "—" is one column).
std::string pad(const std::string& s, std::size_t width);

/// "3d 4h", "12m 5s", "42s".
std::string format_duration(double seconds);
/// "412 MB", "3.1 KB".
std::string format_bytes(double bytes);

}  // namespace omnisync::ctl
