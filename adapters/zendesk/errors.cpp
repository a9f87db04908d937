#include "adapters/zendesk/errors.hpp"

#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::zendesk {

errc classify(const http::response& r) { return rest::classify_status(r.status); }

std::string request_id(const http::response& r) {
  std::string id(r.get("X-Request-Id"));
  if (id.empty()) id = std::string(r.get("X-Zendesk-Request-Id"));
  return id;
}

}  // namespace omnisync::adapters::zendesk
