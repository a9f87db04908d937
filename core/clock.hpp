#pragma once
/// Time for everything that waits: the wall clock (`now`), a monotonic clock (`steady_now`) and sleeping.
///
/// Components take a `clock&` instead of calling std::chrono and Asio timers directly, so tests can run them on
/// a `manual_clock`: there time stands still until the test calls `advance()`, and every sleeper whose deadline
/// has passed wakes then. Production code uses `real_clock()`.
///
/// Thread safety: every member may be called from any thread. `sleep_for` resumes on the awaiting coroutine's
/// executor and supports Asio's per-operation cancellation (terminal), e.g. when raced with awaitable_operators.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "core/time.hpp"

namespace omnisync {

class clock {
 public:
  using steady_point = std::chrono::steady_clock::time_point;
  virtual ~clock() = default;
  /// Wall-clock time (what is stored and shown).
  virtual timestamp now() const = 0;
  /// Monotonic time (what intervals are measured in).
  virtual steady_point steady_now() const = 0;
  /// Completes once `d` has passed on this clock (at once for d <= 0).
  virtual boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) = 0;
};

/// The process's clock: std::chrono::system_clock, std::chrono::steady_clock and Asio steady timers.
clock& real_clock();

/// A clock for tests: starts at `start` and moves only when `advance` is called.
class manual_clock final : public clock {
 public:
  explicit manual_clock(timestamp start = timestamp(std::chrono::milliseconds(1'780'000'000'000)));
  ~manual_clock() override;
  timestamp now() const override;
  steady_point steady_now() const override;
  boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) override;
  /// Moves time forward by `d` and wakes every sleeper whose deadline is reached.
  void advance(std::chrono::milliseconds d);
  /// Coroutines sleeping on this clock right now.
  std::size_t sleepers() const;

 private:
  struct sleeper;
  mutable std::mutex mu_;
  std::chrono::milliseconds elapsed_{0};
  timestamp start_;
  std::vector<std::shared_ptr<sleeper>> sleepers_;
};

}  // namespace omnisync
