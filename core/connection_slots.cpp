#include "core/connection_slots.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

namespace omnisync {

void connection_slots::waiting_mark::waiting() noexcept {
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  since_.store(std::max<std::int64_t>(1, now), std::memory_order_relaxed);
}

connection_slots::admission connection_slots::admit() {
  if (active_.load() < max_) return admission::room;
  // Full: close the connection that has waited longest for a request. Those already being closed for an earlier
  // arrival are passed over, so the limit is exceeded only by connections on their way out.
  std::function<void()> close;
  {
    std::lock_guard lock(mutex_);
    std::int64_t since = 0;
    std::uint64_t oldest = 0;
    for (const auto& [id, c] : conns_) {
      const auto t = c.mark->since();
      if (t != 0 && (since == 0 || t < since) && !shedding_.count(id)) since = t, oldest = id;
    }
    if (oldest == 0) {
      ++refused_;
      return admission::full;
    }
    shedding_.insert(oldest);
    close = conns_[oldest].close;
  }
  close();
  ++shed_;
  return admission::shed;
}

std::uint64_t connection_slots::add(std::function<void()> close, std::shared_ptr<const waiting_mark> mark) {
  std::lock_guard lock(mutex_);
  const auto id = ++next_id_;
  conns_.emplace(id, open_connection{std::move(close), std::move(mark)});
  ++active_;
  return id;
}

void connection_slots::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  if (conns_.erase(id) > 0) --active_;
  shedding_.erase(id);
}

void connection_slots::close_all() {
  std::vector<std::function<void()>> close;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, c] : conns_) close.push_back(c.close);
  }
  for (auto& c : close) c();
}

}  // namespace omnisync
