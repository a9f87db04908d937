#include "adapters/zendesk/zendesk_cursor.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::zendesk {
namespace json = boost::json;

namespace {
std::optional<std::int64_t> integer(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

std::string poll_cursor::encode() const {
  json::object o;
  o["v"] = 1;
  if (!after.empty()) o["after"] = after;
  o["since"] = since_s;
  auto arr = [](const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  };
  if (!seen.empty()) o["seen"] = arr(seen);
  if (scan_max_s >= 0) o["scan_max"] = scan_max_s;
  if (!at_max.empty()) o["at_max"] = arr(at_max);
  return json::serialize(o);
}

std::optional<poll_cursor> poll_cursor::decode(std::string_view text) {
  auto v = rest::parse_json(text);
  if (!v || !v->is_object()) return std::nullopt;
  const auto& o = v->get_object();
  const auto* ver = o.if_contains("v");
  if (!ver || !ver->is_int64() || ver->get_int64() != 1) return std::nullopt;
  poll_cursor c;
  c.after = rest::member_text(*v, "after");
  c.since_s = integer(rest::member_text(*v, "since")).value_or(0);
  c.scan_max_s = integer(rest::member_text(*v, "scan_max")).value_or(-1);
  auto list = [&](const char* k, std::vector<std::string>& out) {
    if (const auto* a = o.if_contains(k); a && a->is_array())
      for (const auto& x : a->get_array())
        if (x.is_string()) out.emplace_back(x.get_string());
  };
  list("seen", c.seen);
  list("at_max", c.at_max);
  return c;
}

}  // namespace omnisync::adapters::zendesk
