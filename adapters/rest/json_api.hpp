#pragma once
/// `json_api`: how the JSON/REST connectors (HubSpot, Zendesk, Intercom, ActiveCampaign) call their vendor. One
/// request builder, one send through the connector's `pacing::api_caller` (pacing, retries, Retry-After), one path
/// for a refused answer (a single log line with the vendor's request id, then the vendor's classification), and
/// `call_json` for the calls whose 2xx answer is a JSON object.
///
/// What differs per vendor is data (`vendor_api`): the base URL, headers every request carries, the token source,
/// how the vendor names a request in its answers, and `classify` — the vendor's own function, defined in its folder
/// (e.g. adapters/hubspot/errors.cpp), the one place where that vendor's answers become `omnisync::errc`.
///
/// Lifecycle: one per connector, built after the connector's api_caller, which it references and which must outlive
/// it. `send` and `call_json` run on the connector's strand (they use the api_caller); `request`, `failure` and
/// `classify` are const and may be called from any thread.
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::pacing {
class api_caller;
}

namespace omnisync::adapters::rest {

/// One vendor's REST API as `json_api` needs to know it.
struct vendor_api {
  std::string connector;              ///< the connector's name in config: every log line starts with it
  std::string base_url;               ///< without a trailing slash; request paths are appended to it
  std::vector<http::header> headers;  ///< sent with every request after Accept (Api-Token, Intercom-Version, ...)
  std::string bucket;                 ///< the api_caller bucket of calls that name none ("": the default only)
  /// The token source one request is sent with (an Authorization header, one refresh after a 401); empty: none.
  std::function<http::token_source()> auth;
  /// The vendor's id of an answered request for the log line of a refusal; empty function or "": none.
  std::function<std::string(const http::response&)> request_id;
  /// The vendor's classification of an answer the api_caller handed back with a status it did not handle.
  std::function<errc(const http::response&)> classify;
};

/// Calls one vendor's JSON API for one connector (see the top of this file). Built with the connector, after its
/// api_caller; `send`/`call_json` on the connector's strand, the const members from any thread.
class json_api {
 public:
  json_api(pacing::api_caller& caller, vendor_api vendor);

  const vendor_api& vendor() const noexcept { return vendor_; }

  /// `base_url + path` with `Accept: application/json`, the vendor's headers, and `Content-Type:
  /// application/json` when there is a body.
  http::request request(std::string method, std::string path, std::string body) const;

  /// One call through the api_caller, taking from `bucket` (else the vendor's); the answer whatever its status.
  boost::asio::awaitable<omnisync::result<http::response>> send(std::string method, std::string path,
                                                                std::string body = {}, std::string bucket = {});

  /// A call whose 2xx answer is a JSON object. A transport failure is logged and returned as it is; another status
  /// is `failure`; an answer that is not a JSON object is logged and errc::invalid_input.
  boost::asio::awaitable<omnisync::result<boost::json::value>> call_json(std::string method, std::string path,
                                                                         std::string body = {},
                                                                         std::string bucket = {});

  /// A refused answer: logged once ("<METHOD> <url> -> <status> (request id X): <body>") and classified.
  boost::system::error_code failure(std::string_view method, std::string_view path, const http::response& res) const;

  /// The vendor's class of an answer, without logging.
  errc classify(const http::response& res) const;

 private:
  pacing::api_caller& caller_;
  vendor_api vendor_;
};

}  // namespace omnisync::adapters::rest
