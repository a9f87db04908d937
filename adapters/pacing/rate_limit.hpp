#pragma once
/// The sync layer's one place for pacing calls to vendors (SEAMS.md "Retries"): how long to wait before a
/// retry, how many calls a connector may make now, and how much of a daily API budget is left.
///
/// All three take the time as an argument (a `steady` or `system` time point), so they are deterministic in
/// tests and never sleep themselves; the caller waits on a timer for the duration they return.
/// Not thread-safe: each connector owns its own and uses them from its strand.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string_view>

#include "core/error.hpp"

namespace omnisync::adapters::pacing {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// Exponential backoff with full jitter: attempt n waits a random time in [0, min(cap, base·2^n)], never less
/// than what the server asked for with Retry-After.
class backoff {
 public:
  backoff(milliseconds base, milliseconds cap, std::uint64_t seed = std::random_device{}());
  /// Delay before retry number `attempt` (0 for the first retry). `retry_after` from the server wins when longer.
  milliseconds delay(unsigned attempt, std::optional<milliseconds> retry_after = std::nullopt);

 private:
  milliseconds base_, cap_;
  std::mt19937_64 rng_;
};

/// Parses an HTTP Retry-After value: delta-seconds ("120"). HTTP dates are rare from these vendors and
/// answered with nullopt (the backoff then decides).
std::optional<milliseconds> parse_retry_after(std::string_view value);

/// Whether a failed call is worth retrying, from its classified error (see core/error.hpp).
bool should_retry(const boost::system::error_code& ec, unsigned attempt, unsigned max_attempts);

/// At most `capacity` calls in any `period` (a sliding window over the calls' send times): HubSpot 190 per 10 s,
/// Zendesk 700 per minute and 10 exports per minute, ActiveCampaign 5 per second. A token bucket refilled at
/// capacity / period would let through a full bucket and a period's refill in one period — up to twice the
/// vendor's limit, which a vendor counting per window answers with 429s. A call counts for `period` plus a guard
/// of 2 % (at least 1 ms), for the vendor's clock starting its window when our call arrives, not when it left.
/// Holds the send times of at most `capacity` calls.
class call_window {
 public:
  call_window(double capacity, milliseconds period);
  /// Counts one call now if the window has room.
  bool try_take(clock_type::time_point now);
  /// How long until the window has room (zero when it has now).
  milliseconds wait_for(clock_type::time_point now);
  /// The server said we are over its limit: no call until `now + pause`.
  void drain(clock_type::time_point now, milliseconds pause);
  /// Calls the window would let through now.
  double available(clock_type::time_point now);

 private:
  void expire(clock_type::time_point now);
  std::size_t capacity_;
  milliseconds span_;
  std::deque<clock_type::time_point> sent_;  ///< send times of the calls still counted, oldest first
  clock_type::time_point blocked_until_{};
};

/// A daily API budget shared with the customer's other integrations, e.g. Salesforce's org-wide daily limit as
/// reported in `Sforce-Limit-Info: api-usage=used/limit`. omnisync allows itself `share` of the limit (60 %
/// leaves 40 % headroom) and stops calling once the org as a whole has used that much.
class daily_budget {
 public:
  explicit daily_budget(double share) : share_(share) {}
  /// Updates from a response header value ("api-usage=18/15000"); ignores what it cannot parse.
  void observe(std::string_view sforce_limit_info);
  /// Counts one call made (between observations).
  void count_call() { ++used_; }
  bool exhausted() const;
  std::int64_t used() const { return used_; }
  std::int64_t limit() const { return limit_; }
  /// Used fraction of the whole limit (0..1), for `status`.
  double used_fraction() const { return limit_ > 0 ? double(used_) / double(limit_) : 0.0; }

 private:
  double share_;
  std::int64_t used_ = 0;
  std::int64_t limit_ = 0;
};

}  // namespace omnisync::adapters::pacing
