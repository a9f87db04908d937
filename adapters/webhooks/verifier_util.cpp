#include "adapters/webhooks/verifier_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <ctime>

namespace omnisync::adapters::detail {

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
  int y, mo, d, h, mi, sec;
  std::string text(s);
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &consumed) != 6)
    return std::nullopt;
  std::string_view rest = s.substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh = std::atoi(std::string(rest.substr(1, 2)).c_str()), om = std::atoi(std::string(rest.substr(4, 2)).c_str());
    offset = (oh * 3600 + om * 60) * (rest[0] == '+' ? 1 : -1);
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
  time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset);
}

std::optional<std::string> json_member(std::string_view json, std::string_view name) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto* m = v.as_object().if_contains(name);
  if (!m) return std::nullopt;
  if (m->is_string()) return std::string(m->as_string());
  if (m->is_int64()) return std::to_string(m->as_int64());
  if (m->is_uint64()) return std::to_string(m->as_uint64());
  return std::nullopt;
}

}  // namespace omnisync::adapters::detail
