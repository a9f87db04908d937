#pragma once
/// The OAuth access-token cache every adapter with an OAuth grant shares (Salesforce's three flows, HubSpot's
/// refresh-token flow): it holds the current token, gets a new one through the adapter's `grant` function when
/// there is none, when it is about to expire (`expires_in` from the token answer) or when the HTTPS client asks
/// after a 401 (SEAMS.md "Retries": one refresh, then the request is sent again). Requests made while a grant
/// runs wait for it instead of starting their own ("single flight"), so a burst of 401s costs one token call.
///
/// Lifecycle: one per connector, built with it and used from its strand (the grant function is called there).
/// Not thread-safe except `has_token()` and `grants()` (atomics, read by `usage()`/status from other threads).
/// The token is never logged.
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::oauth {

/// What one successful grant gave.
struct grant_result {
  grant_result() = default;
  grant_result(std::string token, std::chrono::seconds lifetime) : access_token(std::move(token)), expires_in(lifetime) {}
  std::string access_token;
  std::chrono::seconds expires_in{0};  ///< 0: the vendor says nothing (Salesforce): renewed after a 401 only
};

/// The reason a token endpoint gave for refusing a grant, for one log line: RFC 6749's
/// `{"error","error_description"}` (Salesforce) or HubSpot's `{"status","message"}`; else "HTTP <status>".
std::string refusal_reason(const http::response& r);

/// A 200 token answer: `access_token` (required) and `expires_in` (seconds, optional). nullopt when the
/// answer has no usable access_token.
std::optional<grant_result> parse_token_answer(std::string_view body);

class token_cache {
 public:
  using grant_fn = std::function<boost::asio::awaitable<omnisync::result<grant_result>>()>;
  /// `now_ms` is a monotonic clock in milliseconds (tests may move it).
  explicit token_cache(grant_fn grant, std::function<std::int64_t()> now_ms = {});

  /// "Bearer <token>". `force` (after a 401) gets a new token; so does a call when the token is about to expire.
  boost::asio::awaitable<omnisync::result<std::string>> authorization(bool force);
  /// For api_caller's call_options::auth.
  const http::token_source& source() const noexcept { return source_; }
  /// A token source for one request: after its 401 it renews the token only when the cache still holds the token
  /// that request was sent with. Requests in flight when a token expires all get 401s, some after another one's
  /// renewal finished: they use the new token instead of each renewing again. Keep it alive for the call.
  http::token_source request_source();
  bool has_token() const noexcept { return grants_.load() > 0; }
  /// Successful grants so far.
  std::int64_t grants() const noexcept { return grants_.load(); }

 private:
  bool expiring(std::int64_t now) const noexcept;
  boost::asio::awaitable<omnisync::result<std::string>> authorize_request(std::shared_ptr<std::string> used, bool force);

  grant_fn grant_;
  std::function<std::int64_t()> now_ms_;
  std::string access_token_;
  std::int64_t granted_at_ms_ = 0;
  std::int64_t expires_at_ms_ = 0;  ///< 0: unknown
  bool refreshing_ = false;
  std::atomic<std::int64_t> grants_{0};  ///< tokens obtained so far; also tells waiters a new one came
  http::token_source source_;
};

}  // namespace omnisync::adapters::oauth
