#include "adapters/pacing/rate_limit.hpp"

#include <algorithm>
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

token_bucket::token_bucket(double capacity, milliseconds period, clock_type::time_point now)
    : capacity_(capacity), per_ms_(capacity / double(std::max<long long>(period.count(), 1))), tokens_(capacity),
      last_(now) {}

void token_bucket::refill(clock_type::time_point now) {
  if (now <= last_) return;
  auto elapsed = std::chrono::duration<double, std::milli>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + elapsed * per_ms_);
  last_ = now;
}

bool token_bucket::try_take(clock_type::time_point now, double n) {
  if (now < blocked_until_) return false;
  refill(now);
  if (tokens_ + 1e-9 < n) return false;
  tokens_ -= n;
  return true;
}

milliseconds token_bucket::wait_for(clock_type::time_point now, double n) {
  if (now < blocked_until_)
    return std::chrono::ceil<milliseconds>(blocked_until_ - now);
  refill(now);
  if (tokens_ + 1e-9 >= n) return milliseconds(0);
  return milliseconds(static_cast<long long>((n - tokens_) / per_ms_) + 1);
}

void token_bucket::drain(clock_type::time_point now, milliseconds pause) {
  refill(now);
  tokens_ = 0;
  blocked_until_ = std::max(blocked_until_, now + pause);
  last_ = std::max(last_, now);
}

double token_bucket::available(clock_type::time_point now) {
  refill(now);
  return now < blocked_until_ ? 0 : tokens_;
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
