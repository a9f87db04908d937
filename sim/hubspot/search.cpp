#include "sim/hubspot/search.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>

#include <boost/json.hpp>

#include "core/time.hpp"

namespace omnisync::sim::hubspot {
namespace {

const std::vector<std::string>& known_operators() {
  static const std::vector<std::string> ops = {"EQ",  "NEQ",     "GT",           "GTE",    "LT",
                                               "LTE", "BETWEEN", "IN",           "NOT_IN", "HAS_PROPERTY",
                                               "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"};
  return ops;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(const std::string& s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<std::int64_t> parse_iso_ms(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || mo < 1 || mo > 12 || d < 1 || d > 31) {
    return std::nullopt;
  }
  std::size_t pos = 10;
  if (pos < s.size()) {
    if (s[pos] != 'T' || !digits(s, 11, 2, h) || s.size() < 19 || s[13] != ':' || !digits(s, 14, 2, mi) ||
        s[16] != ':' || !digits(s, 17, 2, sec)) {
      return std::nullopt;
    }
    pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int scale = 100;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        ms += (s[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
    }
    if (pos != s.size() - 1 || s[pos] != 'Z') return std::nullopt;
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + ms;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Negative, zero or positive like strcmp; numbers compare numerically, text case-insensitively (HubSpot's
// string filters ignore case).
int compare(const std::string& a, const std::string& b) {
  const auto na = numeric_value(a);
  const auto nb = numeric_value(b);
  if (na && nb) return *na < *nb ? -1 : (*na > *nb ? 1 : 0);
  const std::string la = lower(a), lb = lower(b);
  return la < lb ? -1 : (la > lb ? 1 : 0);
}

bool has_token(const std::string& text, const std::string& token) {
  // CONTAINS_TOKEN matches whole words; a leading/trailing '*' makes it a prefix/suffix wildcard.
  std::string needle = lower(token);
  const bool star_front = !needle.empty() && needle.front() == '*';
  const bool star_back = !needle.empty() && needle.back() == '*';
  if (star_front) needle.erase(0, 1);
  if (star_back && !needle.empty()) needle.pop_back();
  const std::string hay = lower(text);
  std::size_t start = 0;
  while (start <= hay.size()) {
    std::size_t end = start;
    while (end < hay.size() && (std::isalnum(static_cast<unsigned char>(hay[end])) || hay[end] == '@' ||
                                hay[end] == '.' || hay[end] == '_' || hay[end] == '-' || hay[end] == '+')) {
      ++end;
    }
    const std::string word = hay.substr(start, end - start);
    if (!word.empty()) {
      if (star_front && star_back ? word.find(needle) != std::string::npos
          : star_front            ? word.size() >= needle.size() && word.ends_with(needle)
          : star_back             ? word.starts_with(needle)
                                  : word == needle) {
        return true;
      }
    }
    start = end + 1;
  }
  return false;
}

}  // namespace

std::optional<double> numeric_value(const std::string& text) {
  if (text.empty()) return std::nullopt;
  double out = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec == std::errc{} && ptr == end) return out;
  if (const auto ms = parse_iso_ms(text)) return static_cast<double>(*ms);
  return std::nullopt;
}

std::variant<search_request, std::string> parse_search_request(const boost::json::value& body,
                                                                const search_limits& limits) {
  if (!body.is_object()) return std::string("Invalid input JSON: expected an object");
  const auto& obj = body.get_object();
  search_request req;
  std::size_t total_filters = 0;
  if (const auto* groups = obj.if_contains("filterGroups")) {
    if (!groups->is_array()) return std::string("filterGroups must be an array");
    if (groups->get_array().size() > limits.max_groups) {
      return "Too many filter groups: at most " + std::to_string(limits.max_groups) + " are allowed";
    }
    for (const auto& group : groups->get_array()) {
      const auto* filters = group.is_object() ? group.get_object().if_contains("filters") : nullptr;
      if (filters == nullptr || !filters->is_array()) return std::string("each filterGroup needs a filters array");
      if (filters->get_array().size() > limits.max_filters_per_group) {
        return "Too many filters in a group: at most " + std::to_string(limits.max_filters_per_group);
      }
      std::vector<search_filter> parsed;
      for (const auto& f : filters->get_array()) {
        if (!f.is_object()) return std::string("filter must be an object");
        const auto& fo = f.get_object();
        search_filter filter;
        const auto* name = fo.if_contains("propertyName");
        const auto* op = fo.if_contains("operator");
        if (name == nullptr || !name->is_string()) return std::string("filter.propertyName is required");
        if (op == nullptr || !op->is_string()) return std::string("filter.operator is required");
        filter.property = std::string(name->get_string());
        filter.op = std::string(op->get_string());
        if (std::find(known_operators().begin(), known_operators().end(), filter.op) == known_operators().end()) {
          return "Invalid operator: " + filter.op;
        }
        if (const auto* v = fo.if_contains("value")) filter.value = scalar_text(*v);
        if (const auto* v = fo.if_contains("highValue")) filter.high_value = scalar_text(*v);
        if (const auto* vs = fo.if_contains("values"); vs != nullptr && vs->is_array()) {
          for (const auto& v : vs->get_array()) filter.values.push_back(scalar_text(v));
        }
        const bool needs_value = filter.op != "HAS_PROPERTY" && filter.op != "NOT_HAS_PROPERTY" &&
                                 filter.op != "IN" && filter.op != "NOT_IN";
        if (needs_value && fo.if_contains("value") == nullptr) {
          return "filter on " + filter.property + " with operator " + filter.op + " needs a value";
        }
        if ((filter.op == "IN" || filter.op == "NOT_IN") && filter.values.empty()) {
          return "filter on " + filter.property + " with operator " + filter.op + " needs values";
        }
        if (filter.op == "BETWEEN" && fo.if_contains("highValue") == nullptr) {
          return "filter on " + filter.property + " with operator BETWEEN needs a highValue";
        }
        parsed.push_back(std::move(filter));
      }
      total_filters += parsed.size();
      req.filter_groups.push_back(std::move(parsed));
    }
    if (total_filters > limits.max_filters_total) {
      return "Too many filters: at most " + std::to_string(limits.max_filters_total) + " in total";
    }
  }
  if (const auto* sorts = obj.if_contains("sorts"); sorts != nullptr && sorts->is_array()) {
    for (const auto& s : sorts->get_array()) {
      search_sort sort;
      if (s.is_string()) {  // older form: a bare property name, "-name" for descending
        std::string name(s.get_string());
        if (!name.empty() && name.front() == '-') {
          sort.ascending = false;
          name.erase(0, 1);
        }
        sort.property = name;
      } else if (s.is_object()) {
        const auto* name = s.get_object().if_contains("propertyName");
        if (name == nullptr || !name->is_string()) return std::string("sort.propertyName is required");
        sort.property = std::string(name->get_string());
        if (const auto* dir = s.get_object().if_contains("direction"); dir != nullptr && dir->is_string()) {
          const std::string d = upper(std::string(dir->get_string()));
          if (d != "ASCENDING" && d != "DESCENDING") return "Invalid sort direction: " + d;
          sort.ascending = d == "ASCENDING";
        }
      } else {
        return std::string("sorts must hold objects");
      }
      req.sorts.push_back(std::move(sort));
    }
  }
  if (const auto* props = obj.if_contains("properties"); props != nullptr && props->is_array()) {
    for (const auto& p : props->get_array()) {
      if (p.is_string()) req.properties.emplace_back(p.get_string());
    }
  }
  if (const auto* q = obj.if_contains("query"); q != nullptr && q->is_string()) {
    req.query = std::string(q->get_string());
    if (req.query.size() > 3000) return std::string("query is longer than 3000 characters");
  }
  if (const auto* limit = obj.if_contains("limit"); limit != nullptr && !limit->is_null()) {
    std::int64_t n = 0;
    if (limit->is_int64()) {
      n = limit->get_int64();
    } else if (limit->is_uint64()) {
      n = static_cast<std::int64_t>(std::min<std::uint64_t>(limit->get_uint64(), 1u << 30));
    } else {
      return std::string("limit must be an integer");
    }
    if (n < 1) return std::string("limit must be at least 1");
    if (static_cast<std::size_t>(n) > limits.max_limit) {
      return "limit must be at most " + std::to_string(limits.max_limit);
    }
    req.limit = static_cast<std::size_t>(n);
  }
  if (const auto* after = obj.if_contains("after"); after != nullptr && !after->is_null()) {
    const std::string text = scalar_text(*after);
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || ptr != text.data() + text.size()) return "Invalid after: " + text;
    req.after = n;
  }
  return req;
}

bool matches(const search_filter& filter, const properties& props) {
  const auto it = props.find(filter.property);
  const bool present = it != props.end() && !it->second.empty();
  const std::string& op = filter.op;
  if (op == "HAS_PROPERTY") return present;
  if (op == "NOT_HAS_PROPERTY") return !present;
  if (op == "NEQ") return !present || compare(it->second, filter.value) != 0;
  if (op == "NOT_IN") {
    if (!present) return true;
    return std::none_of(filter.values.begin(), filter.values.end(),
                        [&](const std::string& v) { return compare(it->second, v) == 0; });
  }
  if (op == "NOT_CONTAINS_TOKEN") return !present || !has_token(it->second, filter.value);
  if (!present) return false;
  const std::string& actual = it->second;
  if (op == "EQ") return compare(actual, filter.value) == 0;
  if (op == "GT") return compare(actual, filter.value) > 0;
  if (op == "GTE") return compare(actual, filter.value) >= 0;
  if (op == "LT") return compare(actual, filter.value) < 0;
  if (op == "LTE") return compare(actual, filter.value) <= 0;
  if (op == "BETWEEN") return compare(actual, filter.value) >= 0 && compare(actual, filter.high_value) <= 0;
  if (op == "IN") {
    return std::any_of(filter.values.begin(), filter.values.end(),
                       [&](const std::string& v) { return compare(actual, v) == 0; });
  }
  if (op == "CONTAINS_TOKEN") return has_token(actual, filter.value);
  return false;
}

bool matches(const search_request& request, const properties& props) {
  if (request.filter_groups.empty()) return true;
  return std::any_of(request.filter_groups.begin(), request.filter_groups.end(), [&](const auto& group) {
    return std::all_of(group.begin(), group.end(), [&](const search_filter& f) { return matches(f, props); });
  });
}

bool sorts_before(const search_request& request, const properties& a, std::int64_t a_id, const properties& b,
                  std::int64_t b_id) {
  static const std::string empty;
  for (const auto& sort : request.sorts) {
    const auto ia = a.find(sort.property);
    const auto ib = b.find(sort.property);
    const int c = compare(ia == a.end() ? empty : ia->second, ib == b.end() ? empty : ib->second);
    if (c != 0) return sort.ascending ? c < 0 : c > 0;
  }
  return a_id < b_id;
}

std::string iso_ms(std::int64_t epoch_ms) { return format_iso8601_ms(from_epoch_ms(epoch_ms)); }

std::string scalar_text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return {};
  return boost::json::serialize(v);  // true and false as such
}

}  // namespace omnisync::sim::hubspot
