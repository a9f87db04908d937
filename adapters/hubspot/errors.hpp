#pragma once
/// The one place where HubSpot's answers become `omnisync::errc`, and how an answer names its request in a log
/// line. Pure functions, thread-safe.
#include <boost/json/value.hpp>

#include <string>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::hubspot {

/// An answer the api_caller handed back with a status it does not handle itself (it has retried 408, 429 and 5xx
/// and turned a 401 that survived a token renewal into auth_expired): 400/413/422 invalid_input (a batch refused as
/// a whole is then split until the refused item is alone), 404/410 not_found, 409 conflict, 429 rate_limited,
/// 5xx retry, 403 (a missing scope) and anything else fail.
errc classify(const http::response& r);

/// The `correlationId` HubSpot puts in its error bodies, "" when there is none.
std::string request_id(const http::response& r);

/// "category: message" of a HubSpot error object (a whole answer, or one entry of a batch answer's `errors`).
std::string error_message(const boost::json::value& err);

}  // namespace omnisync::adapters::hubspot
