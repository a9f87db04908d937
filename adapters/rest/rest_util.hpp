#pragma once
/// Pieces the JSON/REST vendor adapters (HubSpot, Zendesk, ...) share: typed reading of a connector's
/// `settings`, the HTTPS client options built from config, timestamps as the vendors write them, URL encoding,
/// and the one mapping from a leftover HTTP status to `omnisync::errc`.
///
/// Pure functions and a small value type; thread-safe. `settings_reader` throws std::runtime_error with a
/// sentence for the operator (it runs while an adapter is built, a start-up/config failure by STYLE.md).
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "config/connector.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::rest {

/// Typed access to `connector_common::settings` (flattened "sync.page_size" style keys, values as text).
class settings_reader {
 public:
  explicit settings_reader(const config::connector_common& cfg) : cfg_(cfg) {}
  std::string text(const std::string& key, std::string fallback = {}) const;
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  double number(const std::string& key, double fallback, double min, double max) const;
  /// "250ms", "15s", "2m", "1h", combinations like "1m30s", or a bare number of milliseconds.
  std::chrono::milliseconds duration(const std::string& key, std::chrono::milliseconds fallback) const;
  bool boolean(const std::string& key, bool fallback) const;

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& why) const;
  const config::connector_common& cfg_;
};

/// `tls.ca_file`, `tls.verify` and the timeouts (`sync.connect_timeout`, `sync.read_timeout`,
/// `sync.request_timeout`), with the proxy taken from the environment.
http::client_options client_options(const config::connector_common& cfg);

/// Milliseconds since the epoch from ISO 8601 (`2024-05-01T10:00:00Z`, `...00.123Z`, `...00.000+0000`,
/// `+02:00`) or from a string of digits that already is epoch milliseconds (HubSpot writes both).
std::optional<std::int64_t> parse_time_ms(std::string_view text);
/// `2024-05-01T10:00:00.000Z`.
std::string iso_utc_ms(std::int64_t epoch_ms);
std::int64_t now_ms();

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
