#pragma once
/// Human-readable rendering of control replies for `omnisyncctl` (the `--json` flag prints them raw instead).
#include <boost/json/value.hpp>

#include <string>

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
/// "3d 4h", "12m 5s", "42s".
std::string format_duration(double seconds);
/// "412 MB", "3.1 KB".
std::string format_bytes(double bytes);

}  // namespace omnisync::ctl
