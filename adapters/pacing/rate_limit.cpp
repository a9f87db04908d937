#include "adapters/pacing/rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <charconv>

namespace omnisync::adapters::pacing {

backoff::backoff(milliseconds base, milliseconds cap, std::uint64_t seed) : base_(base), cap_(cap), rng_(seed) {}

milliseconds backoff::delay(unsigned attempt, std::optional<milliseconds> retry_after) {
  // base·2^attempt, saturating at the cap (no overflow for large attempts).
  long long ceiling = base_.count();
  for (unsigned i = 0; i < attempt && ceiling < cap_.count(); ++i) ceiling *= 2;
  ceiling = std::min<long long>(ceiling, cap_.count());
  std::uniform_int_distribution<long long> pick(0, std::max<long long>(ceiling, 0));
  milliseconds d(pick(rng_));
  if (retry_after && *retry_after > d) d = *retry_after;
  return d;
}

std::optional<milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  long long seconds = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || p != value.data() + value.size() || seconds < 0) return std::nullopt;
  return milliseconds(std::min<long long>(seconds, 24 * 3600) * 1000);
}

bool should_retry(const boost::system::error_code& ec, unsigned attempt, unsigned max_attempts) {
  return attempt + 1 < max_attempts && is_retryable(ec);
}

call_window::call_window(double capacity, milliseconds period)
    : capacity_(static_cast<std::size_t>(std::max(1.0, std::floor(capacity + 1e-9)))),
      span_(period + std::max(milliseconds(1), period / 50)) {}

void call_window::expire(clock_type::time_point now) {
  while (!sent_.empty() && sent_.front() + span_ <= now) sent_.pop_front();
}

bool call_window::try_take(clock_type::time_point now) {
  if (now < blocked_until_) return false;
  expire(now);
  if (sent_.size() >= capacity_) return false;
  sent_.push_back(std::max(now, sent_.empty() ? now : sent_.back()));  // send times stay in order
  return true;
}

milliseconds call_window::wait_for(clock_type::time_point now) {
  if (now < blocked_until_) return std::chrono::ceil<milliseconds>(blocked_until_ - now);
  expire(now);
  if (sent_.size() < capacity_) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(sent_.front() + span_ - now);  // the oldest call leaves the window
}

void call_window::drain(clock_type::time_point now, milliseconds pause) {
  blocked_until_ = std::max(blocked_until_, now + pause);
}

double call_window::available(clock_type::time_point now) {
  if (now < blocked_until_) return 0;
  expire(now);
  return static_cast<double>(capacity_ - sent_.size());
}

void daily_budget::observe(std::string_view info) {
  // "api-usage=18/15000" (possibly among other comma-separated entries).
  // The org-wide entry, not "per-app-api-usage=" which also contains the name.
  std::size_t pos = 0;
  for (;;) {
    pos = info.find("api-usage=", pos);
    if (pos == std::string_view::npos) return;
    if (pos == 0 || info[pos - 1] == ' ' || info[pos - 1] == ',') break;
    pos += 10;
  }
  auto rest = info.substr(pos + 10);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return;
  std::int64_t used = 0, limit = 0;
  auto [p1, e1] = std::from_chars(rest.data(), rest.data() + slash, used);
  auto end = rest.find_first_of(", ;", slash + 1);
  auto lim = rest.substr(slash + 1, end == std::string_view::npos ? std::string_view::npos : end - slash - 1);
  auto [p2, e2] = std::from_chars(lim.data(), lim.data() + lim.size(), limit);
  if (e1 != std::errc() || e2 != std::errc() || limit <= 0 || used < 0) return;
  used_ = used;
  limit_ = limit;
}

bool daily_budget::exhausted() const {
  if (limit_ <= 0) return false;  // nothing observed yet: the first call tells us
  return double(used_) >= share_ * double(limit_);
}

}  // namespace omnisync::adapters::pacing
