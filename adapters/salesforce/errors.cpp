#include "adapters/salesforce/errors.hpp"

#include <boost/json.hpp>

namespace omnisync::adapters::salesforce {
namespace json = boost::json;

vendor_error read_error(const http::response& r) {
  vendor_error e;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  const json::object* o = nullptr;
  if (!ec && v.is_array() && !v.as_array().empty() && v.as_array()[0].is_object()) o = &v.as_array()[0].as_object();
  else if (!ec && v.is_object()) o = &v.as_object();
  if (o) {
    for (const char* k : {"errorCode", "error", "statusCode"})
      if (auto* c = o->if_contains(k); c && c->is_string()) { e.code = std::string(c->as_string()); break; }
    for (const char* k : {"message", "error_description"})
      if (auto* m = o->if_contains(k); m && m->is_string()) { e.message = std::string(m->as_string()); break; }
  }
  if (e.code.empty() && e.message.empty()) e.message = "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
  return e;
}

boost::system::error_code classify(const http::response& r, const vendor_error& e) {
  if (r.status == 403 && e.code == "REQUEST_LIMIT_EXCEEDED") return errc::rate_limited;
  if (r.status == 400 && e.code == "INVALID_QUERY_LOCATOR") return errc::not_found;
  if (r.status == 400 || r.status == 414 || r.status == 415) return errc::invalid_input;
  if (r.status == 401) return errc::auth_expired;
  if (r.status == 404) return errc::not_found;
  if (r.status == 300 || r.status == 409) return errc::conflict;
  if (r.status >= 500) return errc::retry;
  return errc::fail;
}

bool retryable_record_error(const std::string& code) {
  return code == "UNABLE_TO_LOCK_ROW" || code == "ALL_OR_NONE_OPERATION_ROLLED_BACK" || code == "REQUEST_LIMIT_EXCEEDED" ||
         code == "SERVER_UNAVAILABLE" || code == "UNKNOWN_EXCEPTION" || code == "TXN_SECURITY_METERING_ERROR";
}

}  // namespace omnisync::adapters::salesforce
