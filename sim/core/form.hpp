#pragma once
// application/x-www-form-urlencoded (OAuth token requests, query strings) as the simulated vendors read it.
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
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

}  // namespace omnisync::sim
