#pragma once
/// How a simulated vendor redelivers a webhook that its receiver did not accept. Each vendor documents its own
/// policy (Salesforce: exponential back-off up to 2 h for 24 h; HubSpot: 10 retries spread over 24 h; Zendesk:
/// 409 and short Retry-After answers; Intercom: delivery_attempts counted; ActiveCampaign: never), so the policy
/// is a function the vendor library provides and the framework (sim/core/server.cpp) runs.
///
/// Header-only so the vendor libraries (which do not link sim/core) can implement their policies.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace omnisync::sim {

/// The outcome of the attempts made so far.
struct delivery_outcome {
  int attempts = 1;              ///< attempts made, the one just made included
  int status = 0;                ///< the last answer's HTTP status; 0: no answer (connection failed, timeout)
  std::string retry_after;       ///< the last answer's Retry-After header, empty when absent
  std::int64_t elapsed_ms = 0;   ///< vendor time since the first attempt (sum of the pauses so far)
  std::int64_t last_pause_ms = 0;  ///< the pause before the attempt just made (0 after the first)
  std::uint64_t seed = 0;        ///< stable per delivery, for vendors that randomise their pauses
};

/// The pause before the next attempt in vendor milliseconds, or nullopt to give up.
using retry_schedule = std::function<std::optional<std::int64_t>(const delivery_outcome&)>;

}  // namespace omnisync::sim
