#pragma once
// application/x-www-form-urlencoded (OAuth token requests, query strings) as the simulated vendors read it.
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <string_view>

namespace omnisync::sim {

/// `a=1&b=x+y%21` -> {a: "1", b: "x y!"}: '+' is a space, %XX decoded; a key without '=' has an empty value;
/// a later repeat of a key wins.
inline std::map<std::string, std::string> parse_form(std::string_view s) {
  auto decode = [](std::string_view v) {
    std::string plus(v);
    std::replace(plus.begin(), plus.end(), '+', ' ');
    auto d = boost::urls::make_pct_string_view(plus);
    return d ? std::string(d->decode()) : plus;
  };
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto amp = s.find('&', start);
    auto part = s.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    auto eq = part.find('=');
    if (!part.empty()) out[decode(part.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

/// A request target as sent (`/api/v2/users.json?page[size]=2`) with every byte RFC 3986 does not allow in a
/// path or query percent-encoded (`page%5Bsize%5D=2`), so that a strict URL parser reads it. Vendors' docs write
/// query parameters with literal brackets (Zendesk `page[size]`, ActiveCampaign `filters[updated_after]`) and
/// Node's fetch and axios send them that way; the vendors' servers accept both spellings, and so do we.
/// Existing %XX escapes are kept as they are.
inline std::string encode_target(std::string_view target) {
  static constexpr std::string_view allowed = "-._~!$&'()*+,;=:@/?%";
  std::string out;
  out.reserve(target.size());
  for (unsigned char c : target) {
    if (std::isalnum(c) || allowed.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace omnisync::sim
