#include "core/health.hpp"

#include "core/time.hpp"

namespace omnisync {

std::string_view health_name(health_state s) noexcept {
  switch (s) {
    case health_state::ok: return "ok";
    case health_state::degraded: return "degraded";
    case health_state::quota_exhausted: return "quota_exhausted";
    case health_state::unauthorized: return "unauthorized";
    case health_state::unreachable: return "unreachable";
    case health_state::unknown: break;
  }
  return "unknown";
}

std::string health_text(const connector_health& h) {
  switch (h.state) {
    case health_state::ok: return "ok";
    case health_state::degraded: return h.detail.empty() ? "degraded" : "degraded (" + h.detail + ")";
    case health_state::quota_exhausted:
      if (h.until == std::chrono::system_clock::time_point{}) return "quota exhausted";
      return "quota exhausted until " +
             format_iso8601(std::chrono::time_point_cast<std::chrono::milliseconds>(h.until));
    case health_state::unauthorized: return h.detail.empty() ? "unauthorized" : "unauthorized: " + h.detail;
    case health_state::unreachable: return h.detail.empty() ? "unreachable" : "unreachable: " + h.detail;
    case health_state::unknown: break;
  }
  return "unknown (no call made yet)";
}

}  // namespace omnisync
