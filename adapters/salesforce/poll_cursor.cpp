#include "adapters/salesforce/poll_cursor.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace omnisync::adapters::salesforce {
namespace json = boost::json;

bool poll_cursor::saw(const std::string& id, std::int64_t stamp) const {
  auto it = seen.find(stamp);
  return it != seen.end() && it->second.count(id) > 0;
}

void poll_cursor::remember(const std::string& id, std::int64_t stamp) { seen[stamp].insert(id); }

void poll_cursor::prune(std::size_t max_seen) {
  if (lower) seen.erase(seen.begin(), seen.lower_bound(*lower));
  std::size_t n = 0;
  for (const auto& [stamp, ids] : seen) n += ids.size();
  // Too many pairs: raise the lower bound stamp by stamp. Pairs at the watermark itself are always kept (the
  // next read starts there), so the bound is soft when a single instant holds more changes than max_seen.
  while (n > max_seen && !seen.empty() && watermark && seen.begin()->first < *watermark) {
    n -= seen.begin()->second.size();
    seen.erase(seen.begin());
    lower = seen.empty() ? *watermark : std::min(seen.begin()->first, *watermark);
  }
}

std::string poll_cursor::encode() const {
  json::object o;
  o["v"] = 1;
  if (watermark) o["w"] = *watermark;
  if (lower) o["l"] = *lower;
  if (!seen.empty()) {
    json::object s;
    for (const auto& [stamp, ids] : seen) {
      json::array a;
      for (const auto& id : ids) a.emplace_back(id);
      s[std::to_string(stamp)] = std::move(a);
    }
    o["seen"] = std::move(s);
  }
  if (next_url) {
    o["next"] = *next_url;
    o["hi"] = query_upper;
  }
  if (formula_done) o["fr"] = *formula_done;
  if (formula_after) o["fa"] = *formula_after;
  if (deleted_checked) o["gd"] = *deleted_checked;
  if (!deleted_reported.empty()) {
    json::array a;
    for (const auto& id : deleted_reported) a.emplace_back(id);
    o["gdi"] = std::move(a);
  }
  return json::serialize(o);
}

std::optional<poll_cursor> poll_cursor::decode(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto* ver = o.if_contains("v");
  if (!ver || !ver->is_int64() || ver->as_int64() != 1) return std::nullopt;
  auto int_of = [&](const char* k) -> std::optional<std::int64_t> {
    auto* x = o.if_contains(k);
    if (x && x->is_int64()) return x->as_int64();
    if (x && x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
    return std::nullopt;
  };
  auto str_of = [&](const char* k) -> std::optional<std::string> {
    auto* x = o.if_contains(k);
    if (x && x->is_string()) return std::string(x->as_string());
    return std::nullopt;
  };
  poll_cursor c;
  c.watermark = int_of("w");
  c.lower = int_of("l");
  if (auto* s = o.if_contains("seen"); s && s->is_object()) {
    for (const auto& [k, ids] : s->as_object()) {
      std::int64_t stamp = 0;
      try {
        stamp = std::stoll(std::string(k));
      } catch (const std::exception&) {
        return std::nullopt;
      }
      if (!ids.is_array()) return std::nullopt;
      for (const auto& id : ids.as_array())
        if (id.is_string()) c.seen[stamp].insert(std::string(id.as_string()));
    }
  }
  c.next_url = str_of("next");
  c.query_upper = int_of("hi").value_or(0);
  c.formula_done = int_of("fr");
  c.formula_after = str_of("fa");
  c.deleted_checked = int_of("gd");
  if (auto* a = o.if_contains("gdi"); a && a->is_array())
    for (const auto& id : a->as_array())
      if (id.is_string()) c.deleted_reported.emplace_back(id.as_string());
  return c;
}

std::optional<std::int64_t> parse_sf_datetime(std::string_view sv) {
  std::string s(sv);
  int y, mo, d, h, mi, sec, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return std::nullopt;
  std::string rest = s.substr(static_cast<std::size_t>(n));
  int ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    std::size_t i = 1;
    std::string frac;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) frac += rest[i++];
    if (frac.empty()) return std::nullopt;
    ms = std::stoi((frac + "000").substr(0, 3));
    rest = rest.substr(i);
  }
  long offset = 0;
  if (rest == "Z") {
  } else if ((rest.size() == 5 || rest.size() == 6) && (rest[0] == '+' || rest[0] == '-')) {
    std::string digits = rest.substr(1);
    digits.erase(std::remove(digits.begin(), digits.end(), ':'), digits.end());
    if (digits.size() != 4 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
    offset = (std::stoi(digits.substr(0, 2)) * 3600 + std::stoi(digits.substr(2)) * 60) * (rest[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return (static_cast<std::int64_t>(timegm(&tm)) - offset) * 1000 + ms;
}

namespace {
std::tm utc(std::int64_t epoch_ms) {
  // Floor towards the past for negative values too.
  std::int64_t secs = epoch_ms / 1000 - (epoch_ms % 1000 < 0 ? 1 : 0);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string soql_datetime(std::int64_t epoch_ms) {
  auto tm = utc(epoch_ms);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string iso_datetime(std::int64_t epoch_ms) {
  auto tm = utc(epoch_ms);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

std::optional<std::int64_t> parse_http_date(std::string_view sv) {
  std::string s(sv);
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

std::string soql_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "'";
}

bool is_record_id(std::string_view s) {
  return (s.size() == 15 || s.size() == 18) &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace omnisync::adapters::salesforce
