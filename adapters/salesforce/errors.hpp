#pragma once
/// The one place where Salesforce's answers become `omnisync::errc`, and what they say for logs and write results.
/// Pure functions, thread-safe.
#include <string>

#include <boost/system/error_code.hpp>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::salesforce {

/// What the API said, for logs and write results: "INVALID_FIELD: No such column 'x'".
struct vendor_error {
  std::string code;
  std::string message;
  std::string text() const { return code.empty() ? message : code + ": " + message; }
};

/// The error of a refused answer (REST `[{"errorCode","message"}]`, or OAuth's `error`/`error_description`).
vendor_error read_error(const http::response& r);

/// The class of a refused answer (the api_caller has already retried 5xx, 408 and 429, and turned a 401 that
/// survived a token refresh into auth_expired): 403 REQUEST_LIMIT_EXCEEDED rate_limited; 400
/// INVALID_QUERY_LOCATOR not_found (the query is read again from the cursor); other 400, 414, 415 invalid_input;
/// 401 auth_expired; 404 not_found; 300/409 conflict; 5xx retry; anything else fail.
boost::system::error_code classify(const http::response& r, const vendor_error& e);

/// Per-record error codes of a collections call worth another try later (row locks, limits, outages);
/// everything else is rejected for good.
bool retryable_record_error(const std::string& code);

}  // namespace omnisync::adapters::salesforce
