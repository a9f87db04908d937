#include "adapters/hubspot/errors.hpp"

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::hubspot {

errc classify(const http::response& r) { return rest::classify_status(r.status); }

std::string request_id(const http::response& r) {
  auto v = rest::parse_json(r.body);
  return v ? rest::member_text(*v, "correlationId") : std::string();
}

std::string error_message(const boost::json::value& err) {
  std::string category = rest::member_text(err, "category");
  std::string message = rest::member_text(err, "message");
  return category.empty() ? message : category + ": " + message;
}

}  // namespace omnisync::adapters::hubspot
