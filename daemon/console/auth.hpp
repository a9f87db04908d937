#pragma once
/// Who may use the console: two bearer tokens (read scope; write scope, which includes read) compared in constant
/// time, and browser sessions made by signing in with one of them on the login page.
///
/// A session is a random 256-bit id in an HttpOnly, SameSite=Strict cookie, valid for `session_lifetime`, with its
/// own random CSRF token that every form posting an action must carry (the cookie alone never authorises an action).
/// The JSON API never reads the cookie: it takes `Authorization: Bearer` only, which a browser does not add to a
/// cross-site request by itself.
///
/// Lifecycle: built once from the configured tokens; lives as long as the console. Thread safety: every member is
/// safe to call from any thread (sessions are guarded by a mutex; at most `max_sessions` are kept, the oldest
/// dropped first).
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/control/command_spec.hpp"

namespace omnisync::console {

/// What a credential grants: nothing, read, or read and write.
enum class grant { none, read, write };

/// Whether `g` allows a request that needs `scope`.
constexpr bool allows(grant g, control::access scope) noexcept {
  return g == grant::write || (g == grant::read && scope == control::access::read);
}

struct session {
  std::string id;
  std::string csrf;
  grant scope = grant::none;
  std::chrono::steady_clock::time_point expires;
};

class authenticator {
 public:
  /// An empty token is not configured (never matches).
  authenticator(std::string read_token, std::string write_token, std::chrono::milliseconds session_lifetime,
                std::size_t max_sessions = 1024);

  /// What `token` grants, compared in constant time against both tokens (digests, so the length leaks nothing).
  grant check_token(std::string_view token) const;
  /// What an `Authorization` header value grants (`Bearer TOKEN`, the scheme's case ignored).
  grant check_authorization(std::string_view header) const;

  /// A new session for `token`, nullopt when the token grants nothing.
  std::optional<session> sign_in(std::string_view token);
  /// The live session named by the `Cookie` header's `omnisync_session`, if any.
  std::optional<session> find(std::string_view cookie_header);
  void sign_out(std::string_view session_id);

  /// The cookie's name.
  static constexpr std::string_view cookie_name = "omnisync_session";

 private:
  std::string read_digest_, write_digest_;  // sha256 of each token; empty when not configured
  std::chrono::milliseconds lifetime_;
  std::size_t max_sessions_;
  std::mutex mutex_;
  std::map<std::string, session, std::less<>> sessions_;
};

/// Constant-time equality of two strings of any length (compares SHA-256 digests).
bool equal_secret(std::string_view a, std::string_view b);

/// A random token of `bytes` bytes, hex encoded.
std::string random_hex(std::size_t bytes);

}  // namespace omnisync::console
