#include "config/value_syntax.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <regex>

namespace omnisync::config {

using std::chrono::milliseconds;

std::optional<milliseconds> parse_duration(std::string_view s) {
  if (s == "0") return milliseconds(0);
  if (s.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i || j - i > 12) return std::nullopt;
    const std::int64_t v = std::stoll(std::string(s.substr(i, j - i)));
    std::int64_t unit = 0;
    if (s.substr(j, 2) == "ms") unit = 1, j += 2;
    else if (j < s.size() && s[j] == 's') unit = 1000, ++j;
    else if (j < s.size() && s[j] == 'm') unit = 60000, ++j;
    else if (j < s.size() && s[j] == 'h') unit = 3600000, ++j;
    else if (j < s.size() && s[j] == 'd') unit = 86400000, ++j;
    else return std::nullopt;
    total += v * unit;
    i = j;
  }
  return milliseconds(total);
}

std::string format_duration(milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0";
  std::string out;
  if (ms < 0) out = "-", ms = -ms;
  struct unit {
    std::int64_t size;
    const char* name;
  };
  // Days only when whole: "36h" reads better than "1d12h".
  if (ms % 86400000 == 0) return out + std::to_string(ms / 86400000) + "d";
  for (const unit u : {unit{3600000, "h"}, unit{60000, "m"}, unit{1000, "s"}, unit{1, "ms"}})
    if (ms >= u.size) {
      out += std::to_string(ms / u.size) + u.name;
      ms %= u.size;
    }
  return out;
}

std::optional<bool> parse_boolean(std::string_view s) {
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  static const std::regex re(R"(^(\d{1,12})\s*(|B|kB|KB|KiB|MB|MiB|GB|GiB)$)");
  const std::string s(text);
  std::smatch m;
  if (!std::regex_match(s, m, re)) return std::nullopt;
  const std::string u = m[2].str();
  const std::uint64_t unit = u == "kB" || u == "KB" ? 1000
                             : u == "KiB"           ? 1024
                             : u == "MB"            ? 1000000
                             : u == "MiB"           ? 1048576
                             : u == "GB"            ? 1000000000
                             : u == "GiB"           ? 1073741824
                                                    : 1;
  return std::stoull(m[1].str()) * unit;
}

bool is_http_url(std::string_view text) {
  static const std::regex re(R"(^https?://[^/\s:]+(:\d{1,5})?(/\S*)?$)");
  return std::regex_match(std::string(text), re);
}

namespace {

std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = 3;
  for (const auto& c : candidates) {
    const std::size_t d = distance(word, c);
    if (d < best_d && d < word.size()) best = c, best_d = d;
  }
  return best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string s = closest(word, candidates);
  return s.empty() ? std::string() : " (did you mean \"" + s + "\"?)";
}

std::optional<std::string> expand_env(std::string_view text, std::string* missing, bool* found) {
  static const std::regex ref(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  std::string rest(text), out;
  std::smatch m;
  if (found) *found = false;
  while (std::regex_search(rest, m, ref)) {
    if (found) *found = true;
    const char* v = std::getenv(m[1].str().c_str());
    if (!v) {
      if (missing) *missing = m[1].str();
      return std::nullopt;
    }
    out += m.prefix().str() + v;
    rest = m.suffix().str();
  }
  return out + rest;
}

std::string join_list(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += separator;
    out += i;
  }
  return out;
}

std::string key_path(const std::string& prefix, const std::string& key) {
  if (prefix.empty()) return key;
  if (key.empty()) return prefix;
  return prefix + "." + key;
}

std::string format_number(double v) {
  if (std::abs(v) < 1e15 && v == std::floor(v)) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace omnisync::config
