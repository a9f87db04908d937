#pragma once
/// Filters over canonical profile records for `omnisyncctl profile list|search`: attribute conditions
/// (`--where`), the lifecycle stage, KPI ranges (`--kpi`) and free text, parsed from their command-line syntax
/// and matched against one profile's canonical record (golden values + KPIs, as `book::canonical_record` gives it).
///
/// Syntax (docs/operations.md, "Finding profiles"):
///   --where 'ATTR=VALUE'   equal (text: ASCII case ignored; numbers by value; true, false, null)
///   --where 'ATTR!=VALUE'  not equal (a profile without the attribute matches)
///   --where 'ATTR~TEXT'    contains TEXT (ASCII case ignored; in a list: any item)
///   --where 'ATTR?'        has a value;  --where '!ATTR?'  has none
///   --kpi 'NAME>=N'        also >, <=, <, =, != ; a KPI with no value (no CSAT yet) never matches
///   --stage STAGE          lifecycle_stage equals STAGE
/// ATTR is a canonical attribute, dotted for nested ones (`external_ids.hubspot`). Every condition must hold.
///
/// Values only; parse once, match from any thread.
#include <boost/json/fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::profile {

struct attribute_condition {
  enum class op : std::uint8_t { eq, ne, contains, exists, missing };
  std::string attribute;  ///< dotted path into the canonical record
  op cmp = op::eq;
  std::string value;
};

struct kpi_condition {
  enum class op : std::uint8_t { ge, gt, le, lt, eq, ne };
  std::string kpi;
  op cmp = op::ge;
  double number = 0;
};

struct profile_filter {
  std::vector<attribute_condition> where;
  std::vector<kpi_condition> kpis;
  std::string stage;  ///< empty: any
  std::string text;   ///< search: any text value (or the profile id) contains it, ASCII case ignored; empty: any

  /// Whether the canonical record (with `_profile_id`) satisfies every condition.
  bool matches(const boost::json::object& canonical) const;
  bool empty() const noexcept { return where.empty() && kpis.empty() && stage.empty() && text.empty(); }
};

/// The KPI names `--kpi` accepts (numeric KPIs of kpis.hpp's kpi_values).
const std::vector<std::string>& numeric_kpi_names();

/// Parses one `--where` expression; on a syntax error returns nullopt and sets `error` to a sentence that
/// shows the accepted forms.
std::optional<attribute_condition> parse_where(std::string_view expr, std::string& error);
/// Parses one `--kpi` expression (`lifetime_value>=1000`); unknown KPI names are errors ("did you mean").
std::optional<kpi_condition> parse_kpi(std::string_view expr, std::string& error);

/// The value at a dotted path of a canonical record, or nullptr.
const boost::json::value* value_at(const boost::json::object& canonical, std::string_view path);

}  // namespace omnisync::profile
