#pragma once
// Field checks several simulated vendors share (each vendor keeps its own error shapes), and the ASCII lower-casing
// their case-insensitive matches use. Header-only so the
// vendor libraries can use it without linking sim/core.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>

namespace omnisync::sim {

/// An e-mail address as the vendors accept it: one '@', a non-empty local part of printable characters without
/// spaces, quotes, commas, brackets or a leading/trailing/doubled dot, and a domain of dot-separated labels
/// (letters, digits, inner hyphens) ending in an alphabetic top-level label of two or more letters. Stricter
/// than RFC 5322 in the ways the vendors are (no quoted local parts, no IP-literal domains; HubSpot: "Local parts
/// of the address cannot include quotation marks"; "The domain part must end in a valid TLD").
inline bool valid_email(std::string_view s) {
  if (s.size() > 254) return false;
  const auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return false;
  const auto local = s.substr(0, at);
  const auto domain = s.substr(at + 1);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  for (unsigned char c : local) {
    if (c <= 0x20 || c >= 0x7f) return false;
    if (std::string_view("\"(),:;<>@[\\]").find(static_cast<char>(c)) != std::string_view::npos) return false;
  }
  if (domain.empty() || domain.find('.') == std::string_view::npos) return false;
  std::size_t start = 0;
  std::string_view last;
  while (start <= domain.size()) {
    const auto dot = domain.find('.', start);
    const auto label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (unsigned char c : label)
      if (!std::isalnum(c) && c != '-') return false;
    last = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return last.size() >= 2 && std::all_of(last.begin(), last.end(), [](unsigned char c) { return std::isalpha(c); });
}

/// A plain decimal number as text: optional sign, digits, optional fraction, optional exponent; no grouping
/// commas, currency symbols, spaces or units.
inline bool plain_number(std::string_view s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  if (s[i] == '-' || s[i] == '+') ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    std::size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return false;
  }
  return i == s.size();
}

/// `YYYY-MM-DD` with a real month and day (leap years included).
inline bool calendar_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  const int y = std::atoi(std::string(s.substr(0, 4)).c_str());
  const int m = (s[5] - '0') * 10 + (s[6] - '0');
  const int d = (s[8] - '0') * 10 + (s[9] - '0');
  if (m < 1 || m > 12 || d < 1) return false;
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap ? 1 : 0);
}

/// `s` with ASCII letters lower-cased (the vendors compare e-mail addresses and tags this way).
inline std::string ascii_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace omnisync::sim
