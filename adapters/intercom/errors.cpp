#include "adapters/intercom/errors.hpp"

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::intercom {

errc classify(const http::response& r) { return rest::classify_status(r.status); }

std::string request_id(const http::response& r) {
  std::string id(r.get("X-Request-Id"));
  if (id.empty())
    if (auto v = rest::parse_json(r.body)) id = rest::member_text(*v, "request_id");
  return id;
}

std::string error_text(const http::response& res) {
  auto v = rest::parse_json(res.body);
  std::string out;
  if (v && v->is_object())
    if (const auto* es = v->get_object().if_contains("errors"); es && es->is_array())
      for (const auto& e : es->get_array()) {
        if (!out.empty()) out += "; ";
        out += rest::member_text(e, "code") + ": " + rest::member_text(e, "message");
      }
  if (out.empty()) out = res.body.substr(0, 300);
  return "HTTP " + std::to_string(res.status) + " " + out;
}

std::string conflict_id(const http::response& res) {
  auto v = rest::parse_json(res.body);
  if (!v || !v->is_object()) return {};
  if (const auto* es = v->get_object().if_contains("errors"); es && es->is_array())
    for (const auto& e : es->get_array()) {
      const std::string m = rest::member_text(e, "message");
      const auto at = m.find("id=");
      if (at == std::string::npos) continue;
      std::string id = m.substr(at + 3);
      const auto end = id.find_first_of(" ,.;\"");
      return id.substr(0, end);
    }
  return {};
}

}  // namespace omnisync::adapters::intercom
