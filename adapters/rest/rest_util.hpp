#pragma once
/// Pieces the JSON/REST vendor adapters (HubSpot, Zendesk, ...) share: URL encoding, JSON members, and the usual
/// mapping from a leftover HTTP status to `omnisync::errc`. (The settings they share are declared through
/// adapters/rest/settings.hpp; vendor timestamps are read with core/time.hpp.)
///
/// Pure functions; thread-safe.
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::rest {

/// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string url_encode(std::string_view s);

/// Parses JSON text; nullopt when it is not JSON.
std::optional<boost::json::value> parse_json(std::string_view text);
/// A member as text: strings as they are, numbers in decimal, null/absent as "".
std::string member_text(const boost::json::value& object, std::string_view key);

/// The class of an HTTP status the api_caller handed back (it has already retried 408/429/5xx and turned 401
/// into auth_expired): 400/413/422 invalid_input, 404/410 not_found, 409 conflict, 429 rate_limited,
/// 5xx retry, 403 and anything else fail.
errc classify_status(int status);

/// "<METHOD> <url without query> -> <status> (request id X): <start of the body>", for one log line.
std::string describe_failure(const http::request& req, const http::response& res, std::string_view request_id);

}  // namespace omnisync::adapters::rest
