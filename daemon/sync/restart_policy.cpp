#include "daemon/sync/restart_policy.hpp"

#include <algorithm>

namespace omnisync::sync {

restart_policy::restart_policy(restart_options o, std::uint64_t seed) : opt_(o), rng_(seed) {
  opt_.initial = std::max(opt_.initial, std::chrono::milliseconds(1));
  opt_.cap = std::max(opt_.cap, opt_.initial);
  opt_.jitter = std::clamp(opt_.jitter, 0.0, 0.9);
}

std::chrono::milliseconds restart_policy::base_pause(unsigned n) const {
  // Doubling stops at 2^20 × initial (far past any cap) so the shift never overflows.
  const auto factor = std::int64_t(1) << std::min(n > 0 ? n - 1 : 0u, 20u);
  const auto d = opt_.initial.count() > opt_.cap.count() / factor ? opt_.cap.count() : opt_.initial.count() * factor;
  return std::chrono::milliseconds(std::min<std::int64_t>(d, opt_.cap.count()));
}

std::chrono::milliseconds restart_policy::failed(time_point now) {
  if (started_ != time_point{} && now - started_ >= opt_.healthy_after) consecutive_ = 0;
  ++consecutive_;
  const auto base = base_pause(consecutive_);
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  const auto jittered = static_cast<std::int64_t>(double(base.count()) * (1.0 - opt_.jitter * u));
  return std::chrono::milliseconds(std::max<std::int64_t>(1, jittered));
}

}  // namespace omnisync::sync
