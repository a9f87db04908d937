#include "core/time.hpp"

#include <array>
#include <charconv>
#include <cstdio>

namespace omnisync {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> weekday_names = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 12> month_names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Exactly `n` decimal digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

bool same_ascii_letters(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

/// The calendar day, or nullopt when it does not exist.
std::optional<sys_days> civil_day(int y, int m, int d) noexcept {
  if (m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

/// Date, hours, minutes and seconds of `t` (floored), for formatting.
struct civil_time {
  year_month_day date;
  weekday wd;
  hh_mm_ss<milliseconds> time;
};

civil_time split(timestamp t) {
  const auto day_start = floor<days>(t);
  return {year_month_day{day_start}, weekday{day_start}, hh_mm_ss<milliseconds>{t - day_start}};
}

}  // namespace

timestamp utc_now() noexcept { return time_point_cast<milliseconds>(system_clock::now()); }

std::optional<timestamp> parse_iso8601(std::string_view s, time_part time) noexcept {
  int y = 0, mo = 0, d = 0;
  if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d))
    return std::nullopt;
  const auto day_start = civil_day(y, mo, d);
  if (!day_start) return std::nullopt;
  if (s.size() == 10) {
    if (time == time_part::required) return std::nullopt;
    return timestamp{*day_start};
  }
  std::size_t p = 10;
  if (s[p] != 'T' && s[p] != 't' && s[p] != ' ') return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  if (!digits(s, p + 1, 2, h) || p + 3 >= s.size() || s[p + 3] != ':' || !digits(s, p + 4, 2, mi))
    return std::nullopt;
  p += 6;
  int frac_ms = 0;
  if (p < s.size() && s[p] == ':') {
    if (!digits(s, p + 1, 2, sec)) return std::nullopt;
    p += 3;
    if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
      ++p;
      const std::size_t first = p;
      int scale = 100;
      for (; p < s.size() && is_digit(s[p]); ++p) {
        frac_ms += (s[p] - '0') * scale;
        scale /= 10;
      }
      if (p == first) return std::nullopt;
    }
  }
  if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
  int offset_min = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      const int sign = s[p] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!digits(s, p + 1, 2, oh)) return std::nullopt;
      p += 3;
      if (p < s.size()) {
        if (s[p] == ':') ++p;
        if (!digits(s, p, 2, om)) return std::nullopt;
        p += 2;
      }
      if (oh > 23 || om > 59) return std::nullopt;
      offset_min = sign * (oh * 60 + om);
    } else {
      return std::nullopt;
    }
  }
  if (p != s.size()) return std::nullopt;
  return timestamp{*day_start} + hours(h) + minutes(mi - offset_min) + seconds(sec) + milliseconds(frac_ms);
}

std::optional<timestamp> parse_epoch_ms(std::string_view s) noexcept {
  const std::size_t sign = !s.empty() && s.front() == '-' ? 1 : 0;
  if (s.size() == sign) return std::nullopt;
  for (std::size_t i = sign; i < s.size(); ++i)
    if (!is_digit(s[i])) return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return from_epoch_ms(v);
}

std::optional<timestamp> parse_vendor_time(std::string_view s) noexcept {
  if (auto t = parse_epoch_ms(s)) return t;
  return parse_iso8601(s);
}

std::optional<timestamp> parse_http_date(std::string_view s) noexcept {
  // "Sun, 06 Nov 1994 08:49:37 GMT": names compared without case, as HTTP dates are; the day of the month may
  // have one digit. The weekday is not checked against the date (RFC 9110 lets recipients ignore it).
  if (s.size() < 5 || s[3] != ',' || s[4] != ' ') return std::nullopt;
  bool named = false;
  for (auto n : weekday_names) named = named || same_ascii_letters(s.substr(0, 3), n);
  if (!named) return std::nullopt;
  std::size_t p = 5;
  int d = 0;
  if (digits(s, p, 2, d)) p += 2;
  else if (digits(s, p, 1, d)) p += 1;
  else return std::nullopt;
  if (p + 4 > s.size() || s[p] != ' ' || s[p + 4] != ' ') return std::nullopt;
  int mo = 0;
  for (std::size_t i = 0; i < month_names.size(); ++i)
    if (same_ascii_letters(s.substr(p + 1, 3), month_names[i])) mo = static_cast<int>(i) + 1;
  if (mo == 0) return std::nullopt;
  p += 5;
  int y = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, p, 4, y) || p + 13 > s.size() || s[p + 4] != ' ' || !digits(s, p + 5, 2, h) || s[p + 7] != ':' ||
      !digits(s, p + 8, 2, mi) || s[p + 10] != ':' || !digits(s, p + 11, 2, sec))
    return std::nullopt;
  if (s.substr(p + 13) != " GMT" || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const auto day_start = civil_day(y, mo, d);
  if (!day_start) return std::nullopt;
  return timestamp{*day_start} + hours(h) + minutes(mi) + seconds(sec);
}

std::string format_iso8601(timestamp t) {
  const auto c = split(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(c.date.year()),
                static_cast<unsigned>(c.date.month()), static_cast<unsigned>(c.date.day()),
                static_cast<int>(c.time.hours().count()), static_cast<int>(c.time.minutes().count()),
                static_cast<int>(c.time.seconds().count()));
  return buf;
}

std::string format_iso8601_ms(timestamp t) {
  const auto c = split(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(c.date.year()),
                static_cast<unsigned>(c.date.month()), static_cast<unsigned>(c.date.day()),
                static_cast<int>(c.time.hours().count()), static_cast<int>(c.time.minutes().count()),
                static_cast<int>(c.time.seconds().count()), static_cast<int>(c.time.subseconds().count()));
  return buf;
}

std::string format_http_date(timestamp t) {
  const auto c = split(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", weekday_names[c.wd.c_encoding()].data(),
                static_cast<unsigned>(c.date.day()), month_names[static_cast<unsigned>(c.date.month()) - 1].data(),
                static_cast<int>(c.date.year()), static_cast<int>(c.time.hours().count()),
                static_cast<int>(c.time.minutes().count()), static_cast<int>(c.time.seconds().count()));
  return buf;
}

std::optional<timestamp> parse_since(std::string_view s, timestamp now) noexcept {
  using std::chrono::milliseconds;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.ends_with(" ago")) s.remove_suffix(4);
  const auto midnight = std::chrono::floor<std::chrono::days>(now);
  if (s == "now") return now;
  if (s == "today") return timestamp(midnight);
  if (s == "yesterday") return timestamp(midnight - std::chrono::days(1));
  long long n = 0;
  if (auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n); ec == std::errc{} && n >= 0 && end != s.data()) {
    const std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
    long long unit_ms = 0;
    if (unit == "s" || unit == "sec" || unit == "min" || unit == "m" || unit == "h" || unit == "d" || unit == "w") {
      unit_ms = unit == "s" || unit == "sec" ? 1000 : unit == "m" || unit == "min" ? 60'000 : unit == "h" ? 3'600'000
                : unit == "d" ? 86'400'000 : 7 * 86'400'000LL;
    }
    if (unit_ms > 0 && n < 1'000'000'000LL / 7) return now - milliseconds(n * unit_ms);
    if (unit_ms > 0) return std::nullopt;
  }
  return parse_iso8601(s);
}

}  // namespace omnisync
