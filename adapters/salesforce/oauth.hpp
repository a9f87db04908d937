#pragma once
/// OAuth 2.0 for the Salesforce connector: the refresh-token, client-credentials and JWT-bearer grants against
/// the org's token endpoint (api-notes §1.1) and the `instance_url` every REST call goes to. The token itself
/// is held by the shared `oauth::token_cache` (../oauth/): the HTTPS client asks `source()` for a fresh token
/// once after a 401 (SEAMS.md "Retries"); requests made while a refresh runs wait for it.
///
/// Lifecycle: one per connector, built with the connector and used from its strand. Not thread-safe except
/// `has_token()`. Secrets (client secret, refresh token, private key, access token) are never logged.
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "adapters/http/http_client.hpp"
#include "adapters/oauth/token_cache.hpp"
#include "adapters/salesforce/settings.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::pacing {
class api_caller;
}

namespace omnisync::adapters::salesforce {

/// A PEM private key for RS256 signing (OpenSSL 3 EVP). Throws std::runtime_error when the PEM does not hold a
/// usable RSA key.
class rs256_signer {
 public:
  explicit rs256_signer(const std::string& pem);
  ~rs256_signer();
  rs256_signer(const rs256_signer&) = delete;
  rs256_signer& operator=(const rs256_signer&) = delete;
  /// The raw signature of `data` (RSASSA-PKCS1-v1_5 with SHA-256).
  std::string sign(std::string_view data) const;

 private:
  struct key;
  std::unique_ptr<key> key_;
};

/// base64url without padding (RFC 7515 §2).
std::string base64url(std::string_view raw);

/// The signed JWT bearer assertion: header {"alg":"RS256"}, claims iss/sub/aud/exp (exp = now + 3 minutes,
/// the most Salesforce accepts).
std::string jwt_assertion(const rs256_signer& signer, const auth_settings& auth, std::int64_t now_epoch_s);

class oauth_session {
 public:
  /// `now_ms` gives the org's clock (the JWT `exp` must be within 3 minutes of it).
  oauth_session(pacing::api_caller& caller, const auth_settings& auth, std::function<std::int64_t()> now_ms);
  ~oauth_session();

  /// "Bearer <token>"; `force` gets a new token (after a 401). errc::auth_expired when the grant is refused.
  boost::asio::awaitable<omnisync::result<std::string>> authorization(bool force);
  /// For http::client::send_authorized / api_caller.
  const http::token_source& source() const noexcept { return cache_.source(); }
  /// The org's REST base (from the token answer); empty before the first token.
  const std::string& instance_url() const noexcept { return instance_url_; }
  bool has_token() const noexcept { return cache_.has_token(); }
  std::int64_t grants() const noexcept { return cache_.grants(); }

 private:
  boost::asio::awaitable<omnisync::result<oauth::grant_result>> grant();
  std::string grant_body(std::int64_t now_s) const;

  pacing::api_caller& caller_;
  auth_settings auth_;
  std::function<std::int64_t()> now_ms_;
  std::unique_ptr<rs256_signer> signer_;
  std::string instance_url_;
  oauth::token_cache cache_;
};

}  // namespace omnisync::adapters::salesforce
