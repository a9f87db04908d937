#include "adapters/intercom/intercom_cursor.hpp"

#include <boost/json.hpp>

#include <charconv>

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::intercom {
namespace json = boost::json;

namespace {
std::optional<std::int64_t> integer(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

bool poll_cursor::returned(const std::string& id, std::int64_t u) const {
  auto a = seen.find(id);
  auto b = fresh.find(id);
  return (a != seen.end() && a->second >= u) || (b != fresh.end() && b->second >= u);
}

void poll_cursor::prune(pairs& p, std::int64_t line) {
  for (auto it = p.begin(); it != p.end();) it = it->second < line ? p.erase(it) : std::next(it);
}

std::string poll_cursor::encode() const {
  json::object o;
  o["v"] = 1;
  o["lo"] = lo;
  o["w"] = w;
  auto obj = [](const pairs& p) {
    json::object out;
    for (const auto& [id, u] : p) out[id] = u;
    return out;
  };
  o["seen"] = obj(seen);
  if (!fresh.empty()) o["fresh"] = obj(fresh);
  if (!after.empty()) o["after"] = after;
  if (scan_max >= 0) o["max"] = scan_max;
  return json::serialize(o);
}

std::optional<poll_cursor> poll_cursor::decode(std::string_view text) {
  auto v = rest::parse_json(text);
  if (!v || !v->is_object() || rest::member_text(*v, "v") != "1") return std::nullopt;
  poll_cursor c;
  auto lo = integer(rest::member_text(*v, "lo"));
  auto w = integer(rest::member_text(*v, "w"));
  if (!lo || !w) return std::nullopt;
  c.lo = *lo;
  c.w = *w;
  c.after = rest::member_text(*v, "after");
  c.scan_max = integer(rest::member_text(*v, "max")).value_or(-1);
  auto read = [&](const char* key, pairs& into) {
    if (const auto* s = v->get_object().if_contains(key); s && s->is_object())
      for (const auto& [id, u] : s->get_object())
        if (u.is_int64()) into[std::string(id)] = u.get_int64();
  };
  read("seen", c.seen);
  read("fresh", c.fresh);
  return c;
}

}  // namespace omnisync::adapters::intercom
