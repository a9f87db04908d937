#include "adapters/activecampaign/errors.hpp"

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::activecampaign {

errc classify(const http::response& r) { return rest::classify_status(r.status); }

std::string error_text(const http::response& res) {
  auto v = rest::parse_json(res.body);
  std::string out;
  if (v && v->is_object())
    if (const auto* es = v->get_object().if_contains("errors"); es && es->is_array())
      for (const auto& e : es->get_array()) {
        if (!out.empty()) out += "; ";
        out += rest::member_text(e, "title");
      }
  if (out.empty() && v) out = rest::member_text(*v, "message");
  if (out.empty()) out = res.body.substr(0, 300);
  return "HTTP " + std::to_string(res.status) + ": " + out;
}

}  // namespace omnisync::adapters::activecampaign
