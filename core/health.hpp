#pragma once
/// A connector's health as an operator reads it: one state and the cause in the vendor's own words.
///
/// The states, worst first as `/readyz` and alerts read them:
/// - `unreachable`: no HTTP answer at all (DNS, refused connection, TLS verification, timeouts); `detail` says
///   which, e.g. "TLS certificate verify failed for 127.0.0.1:42583 (unable to get local issuer certificate)";
/// - `unauthorized`: the vendor refused the credentials (401 after the one refresh, or the OAuth token endpoint
///   refused the grant); `detail` is the vendor's message, e.g. "Couldn't authenticate you";
/// - `quota_exhausted`: the daily API budget's share is used up; `until` is when it is expected back;
/// - `degraded`: answers arrive but the vendor throttles (429) or fails transiently (5xx); `detail` says what
///   and how long the wait is, e.g. "429s: waiting 30 s";
/// - `ok`: the last call got an ordinary answer;
/// - `unknown`: no call was made yet.
///
/// Plain values; `health_text` is the one rendering `status`, logs and `omnisyncctl test` show.
#include <chrono>
#include <string>
#include <string_view>

namespace omnisync {

enum class health_state { unknown, ok, degraded, quota_exhausted, unauthorized, unreachable };

struct connector_health {
  health_state state = health_state::unknown;
  std::string detail;                              ///< the cause in the vendor's or the transport's words
  std::chrono::system_clock::time_point since{};   ///< when this state (with this detail) began
  std::chrono::system_clock::time_point until{};   ///< quota_exhausted: back at; degraded: the wait ends at
};

/// "ok", "degraded", "quota_exhausted", "unauthorized", "unreachable", "unknown": the stable names JSON and
/// metrics use.
std::string_view health_name(health_state s) noexcept;

/// One line for people: "ok", "degraded (429s: waiting 30 s)", "unauthorized: Couldn't authenticate you",
/// "unreachable: TLS certificate verify failed for 127.0.0.1:42583", "quota exhausted until 2026-12-07T00:00:00Z".
std::string health_text(const connector_health& h);

/// Whether nothing can get through: the connector is unauthorized or unreachable (the `/readyz` rule).
inline bool health_failing(const connector_health& h) noexcept {
  return h.state == health_state::unauthorized || h.state == health_state::unreachable;
}

}  // namespace omnisync
