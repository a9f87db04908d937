#pragma once
/// When a sync task that ended with an exception starts again: exponential backoff from `initial`, doubled per
/// failure in a row and capped at `cap`, jittered downwards by up to `jitter` of itself (so tasks that failed
/// together do not restart together, and no pause exceeds the cap or falls below (1 - jitter) × initial — never
/// a spin). A task that ran at least `healthy_after` before failing starts the backoff over.
///
/// Pure (no I/O, no clock of its own): the caller passes steady times, the jitter comes from a seeded generator,
/// so tests are deterministic. Lifecycle: one per supervised task, for as long as it is restarted. Thread safety:
/// none; it belongs to its task's coroutine.
#include <chrono>
#include <cstdint>
#include <random>

namespace omnisync::sync {

struct restart_options {
  std::chrono::milliseconds initial{1000};         ///< the pause after the first failure (at least 1 ms)
  std::chrono::milliseconds cap{60000};            ///< no pause is longer
  std::chrono::milliseconds healthy_after{60000};  ///< a run this long resets the backoff
  double jitter = 0.2;                             ///< 0..1: the pause is d × (1 - jitter × u), u in [0, 1)
};

class restart_policy {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  restart_policy(restart_options o, std::uint64_t seed);

  /// The task (re)starts at `now`.
  void started(time_point now) { started_ = now; }
  /// The task failed at `now`: how long to wait before starting it again.
  std::chrono::milliseconds failed(time_point now);
  /// Failures in a row (since the last reset by a healthy run).
  unsigned consecutive() const { return consecutive_; }
  /// The pause before jitter for the `n`th failure in a row (n >= 1).
  std::chrono::milliseconds base_pause(unsigned n) const;

 private:
  restart_options opt_;
  std::mt19937_64 rng_;
  time_point started_{};
  unsigned consecutive_ = 0;
};

}  // namespace omnisync::sync
