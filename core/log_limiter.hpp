#pragma once
/// Lets a repeated log line through at most once per period per key (a reason, a connector), counting the
/// occurrences it held back, so that a flood of the same refusal costs one line a minute and loses no count.
/// Thread safety: every member may be called from any thread. Memory: at most `max_keys` keys (then forgotten).
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace omnisync {

class log_limiter {
 public:
  explicit log_limiter(std::chrono::steady_clock::duration every = std::chrono::minutes(1),
                       std::size_t max_keys = 256)
      : every_(every), max_keys_(max_keys) {}

  /// `count` more occurrences for `key`: when a line may be logged now, how many occurred since the last line
  /// (these included); nullopt while the period since the last line lasts.
  std::optional<std::size_t> admit(const std::string& key, std::size_t count = 1) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lk(mu_);
    if (keys_.size() > max_keys_) keys_.clear();
    auto& k = keys_[key];
    k.held += count;
    if (k.logged && now - *k.logged < every_) return std::nullopt;
    k.logged = now;
    const auto total = k.held;
    k.held = 0;
    return total;
  }

 private:
  struct state {
    std::optional<std::chrono::steady_clock::time_point> logged;
    std::size_t held = 0;
  };
  const std::chrono::steady_clock::duration every_;
  const std::size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, state> keys_;
};

}  // namespace omnisync
