#include "daemon/profile/profile_filter.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "config/value_syntax.hpp"

namespace json = boost::json;

namespace omnisync::profile {

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

/// Whether `hay` contains `needle` (`needle` already lower-case), ASCII case ignored.
bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  if (hay.size() < needle.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(hay[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> number_of(std::string_view s) {
  s = trim_blanks(s);
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<double> number_of(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

bool has_value(const json::value* v) {
  if (!v || v->is_null()) return false;
  if (v->is_string()) return !v->get_string().empty();
  if (v->is_array()) return !v->get_array().empty();
  if (v->is_object()) return !v->get_object().empty();
  return true;
}

/// One scalar equal to `want` as text: strings with ASCII case ignored, numbers by value, booleans by name.
bool scalar_equals(const json::value& v, std::string_view want) {
  if (v.is_string()) return iequals(v.get_string(), want);
  if (auto n = number_of(v)) {
    auto w = number_of(want);
    return w && *w == *n;
  }
  if (v.is_bool()) return want == (v.get_bool() ? "true" : "false");
  if (v.is_null()) return want == "null";
  return false;
}

bool equals(const json::value* v, std::string_view want) {
  if (!has_value(v)) return want == "null" || want.empty();
  if (v->is_array()) {  // a list equals a value it holds (tags=vip)
    for (const auto& x : v->get_array())
      if (scalar_equals(x, want)) return true;
    return false;
  }
  return scalar_equals(*v, want);
}

/// Whether any text in `v` (a scalar's text, a list's items, an object's values) contains `needle` (lower-case);
/// numbers and booleans count as their JSON text unless `strings_only`.
bool contains(const json::value& v, std::string_view needle, bool strings_only = false) {
  if (v.is_string()) return icontains(v.get_string(), needle);
  if (v.is_array()) {
    for (const auto& x : v.get_array())
      if (contains(x, needle, strings_only)) return true;
    return false;
  }
  if (v.is_object()) {
    for (const auto& [k, x] : v.get_object())
      if (contains(x, needle, strings_only)) return true;
    return false;
  }
  if (v.is_null() || strings_only) return false;
  return icontains(json::serialize(v), needle);
}

constexpr std::string_view k_where_forms =
    "expected ATTR=VALUE, ATTR!=VALUE, ATTR~TEXT (contains), ATTR? (has a value) or !ATTR? (has none)";

bool valid_attribute(std::string_view a) {
  if (a.empty() || a.front() == '.' || a.back() == '.') return false;
  for (char c : a)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  return a.find("..") == std::string_view::npos;
}

}  // namespace

const std::vector<std::string>& numeric_kpi_names() {
  static const std::vector<std::string> names{"lifetime_value", "average_order_value", "order_count",
                                              "open_tickets",   "total_tickets",       "csat_average",
                                              "nps"};
  return names;
}

const json::value* value_at(const json::object& canonical, std::string_view path) {
  const json::object* o = &canonical;
  while (true) {
    const auto dot = path.find('.');
    const auto* v = o->if_contains(path.substr(0, dot));
    if (!v || dot == std::string_view::npos) return v;
    if (!v->is_object()) return nullptr;
    o = &v->get_object();
    path.remove_prefix(dot + 1);
  }
}

std::optional<attribute_condition> parse_where(std::string_view expr, std::string& error) {
  const std::string_view original = expr;
  expr = trim_blanks(expr);
  attribute_condition c;
  auto fail = [&](std::string why) -> std::optional<attribute_condition> {
    error = "--where \"" + std::string(original) + "\": " + why;
    return std::nullopt;
  };
  if (!expr.empty() && expr.back() == '?') {
    expr.remove_suffix(1);
    c.cmp = attribute_condition::op::exists;
    if (!expr.empty() && expr.front() == '!') {
      expr.remove_prefix(1);
      c.cmp = attribute_condition::op::missing;
    }
    c.attribute = std::string(trim_blanks(expr));
  } else {
    const auto pos = expr.find_first_of("=~!");
    if (pos == std::string_view::npos) return fail(std::string(k_where_forms));
    std::size_t value_at = pos + 1;
    if (expr[pos] == '=') c.cmp = attribute_condition::op::eq;
    else if (expr[pos] == '~') c.cmp = attribute_condition::op::contains;
    else if (pos + 1 < expr.size() && expr[pos + 1] == '=') c.cmp = attribute_condition::op::ne, value_at = pos + 2;
    else return fail(std::string(k_where_forms));
    c.attribute = std::string(trim_blanks(expr.substr(0, pos)));
    c.value = std::string(trim_blanks(expr.substr(value_at)));
    if (c.cmp == attribute_condition::op::contains) {
      if (c.value.empty()) return fail("nothing to look for after ~");
      c.value = to_lower(c.value);
    }
  }
  if (!valid_attribute(c.attribute))
    return fail(c.attribute.empty() ? "no attribute name; " + std::string(k_where_forms)
                                    : "\"" + c.attribute + "\" is not an attribute name (letters, digits, _, -, dots)");
  return c;
}

std::optional<kpi_condition> parse_kpi(std::string_view expr, std::string& error) {
  const std::string_view original = expr;
  expr = trim_blanks(expr);
  auto fail = [&](std::string why) -> std::optional<kpi_condition> {
    error = "--kpi \"" + std::string(original) + "\": " + why;
    return std::nullopt;
  };
  const auto pos = expr.find_first_of("<>=!");
  if (pos == std::string_view::npos)
    return fail("expected NAME>=N (or >, <=, <, =, !=), e.g. lifetime_value>=1000");
  kpi_condition c;
  c.kpi = std::string(trim_blanks(expr.substr(0, pos)));
  std::string_view rest = expr.substr(pos);
  using op = kpi_condition::op;
  if (rest.starts_with(">=")) c.cmp = op::ge, rest.remove_prefix(2);
  else if (rest.starts_with("<=")) c.cmp = op::le, rest.remove_prefix(2);
  else if (rest.starts_with("!=")) c.cmp = op::ne, rest.remove_prefix(2);
  else if (rest.starts_with("==")) c.cmp = op::eq, rest.remove_prefix(2);
  else if (rest.starts_with(">")) c.cmp = op::gt, rest.remove_prefix(1);
  else if (rest.starts_with("<")) c.cmp = op::lt, rest.remove_prefix(1);
  else if (rest.starts_with("=")) c.cmp = op::eq, rest.remove_prefix(1);
  else return fail("expected NAME>=N (or >, <=, <, =, !=), e.g. lifetime_value>=1000");
  const auto& names = numeric_kpi_names();
  if (std::find(names.begin(), names.end(), c.kpi) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    return fail("unknown KPI \"" + c.kpi + "\"" + config::did_you_mean(c.kpi, names) + " (KPIs: " + known + ")");
  }
  auto n = number_of(rest);
  if (!n) return fail("\"" + std::string(trim_blanks(rest)) + "\" is not a number");
  c.number = *n;
  return c;
}

bool profile_filter::matches(const json::object& canonical) const {
  if (!stage.empty()) {
    const auto* s = canonical.if_contains("lifecycle_stage");
    if (!s || !s->is_string() || !iequals(s->get_string(), stage)) return false;
  }
  for (const auto& k : kpis) {
    const auto* v = canonical.if_contains(k.kpi);
    const auto n = v ? number_of(*v) : std::nullopt;
    if (!n) return false;
    using op = kpi_condition::op;
    bool ok = false;
    switch (k.cmp) {
      case op::ge: ok = *n >= k.number; break;
      case op::gt: ok = *n > k.number; break;
      case op::le: ok = *n <= k.number; break;
      case op::lt: ok = *n < k.number; break;
      case op::eq: ok = *n == k.number; break;
      case op::ne: ok = *n != k.number; break;
    }
    if (!ok) return false;
  }
  for (const auto& w : where) {
    const json::value* v = value_at(canonical, w.attribute);
    using op = attribute_condition::op;
    bool ok = false;
    switch (w.cmp) {
      case op::eq: ok = equals(v, w.value); break;
      case op::ne: ok = !equals(v, w.value); break;
      case op::contains: ok = v && contains(*v, w.value); break;
      case op::exists: ok = has_value(v); break;
      case op::missing: ok = !has_value(v); break;
    }
    if (!ok) return false;
  }
  if (!text.empty()) {
    const std::string needle = to_lower(text);
    bool found = false;
    for (const auto& [k, v] : canonical)
      if (contains(v, needle, true)) {
        found = true;
        break;
      }
    if (!found) return false;
  }
  return true;
}

}  // namespace omnisync::profile
