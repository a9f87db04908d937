#pragma once
/// The contract between the daemon's HTTP listener and each adapter's webhooks.
///
/// A webhook request is handled in two steps (SEAMS.md): the connector's `webhook_endpoint::verify` checks the
/// raw bytes (signature in constant time, replay window, secret URL token) and names the dedupe key and the
/// answer the vendor expects; the listener then stores the event durably and only then answers. Parsing the
/// stored event into records happens later (`connector::parse_event`). The listener (daemon/http) serves HTTP;
/// every vendor implements `webhook_endpoint` in its own folder.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace omnisync::adapters {

/// A request as received, raw body included (signatures are computed over these exact bytes).
struct inbound_request {
  std::string method;
  std::string target;                                        ///< path and query as sent
  std::string path;                                          ///< without the query
  std::string token;                                         ///< the path segment after /webhooks/<connector>/
  std::vector<std::pair<std::string, std::string>> headers;  ///< in order, names as sent
  std::string body;
  std::string remote_address;
  std::chrono::system_clock::time_point received_at;
  /// First header with this name (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const noexcept;
};

/// What the vendor gets back once the event is stored (e.g. a Salesforce SOAP Ack).
struct ack_response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body = "{}";
};

struct verified_event {
  std::string dedupe_key;   ///< the vendor's event id, or sha256 of the body where it has none
  ack_response ack;
};

/// How a connector's webhooks are accepted. Implemented by each adapter.
class webhook_endpoint {
 public:
  virtual ~webhook_endpoint() = default;
  /// The connector name: the path segment after /webhooks/.
  virtual std::string connector() const = 0;
  /// Largest accepted body in bytes where the vendor documents larger bodies than the listener's `http.max_body`
  /// (a 100-notification Salesforce Outbound Message must fit); 0, the default: the listener's limit.
  virtual std::size_t max_body() const { return 0; }
  /// Accepted content types (media type only, lower case); empty accepts any.
  virtual std::vector<std::string> content_types() const { return {"application/json"}; }
  /// Verifies the raw request. Errors: errc::auth_expired → 401 (bad or missing signature or signature timestamp,
  /// wrong URL token), errc::timeout → 401 (a signature timestamp outside the replay window: stale or from the
  /// future), errc::invalid_input → 400 (a verified request that is malformed), others → 500.
  /// Never throws; must compare secrets in constant time.
  virtual omnisync::result<verified_event> verify(const inbound_request& request) const = 0;
  /// Optional answer for GET/HEAD validation pings on the same path (some vendors probe the URL); empty: 405.
  virtual std::optional<ack_response> validation(const inbound_request& request) const { return std::nullopt; }
};

/// Constant-time comparison for signatures and tokens.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace omnisync::adapters
