#include "adapters/pacing/api_call.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include "core/metrics.hpp"

namespace omnisync::adapters::pacing {
namespace asio = boost::asio;
using std::chrono::milliseconds;

api_caller::api_caller(asio::any_io_executor ex, std::string connector, http::client_options client_options,
                       call_policy policy, metrics::registry* metrics)
    : ex_(ex),
      connector_(std::move(connector)),
      client_(std::make_unique<http::client>(ex, std::move(client_options))),
      policy_(policy),
      backoff_(policy.backoff_base, policy.backoff_cap) {
  if (metrics) {
    calls_metric_ = &metrics->counter("omnisync_api_calls_total", "Calls to vendor APIs by connector and HTTP status",
                                      {"connector", "status"});
    seconds_metric_ = &metrics->histogram("omnisync_api_call_seconds", "Duration of vendor API calls",
                                          metrics::registry::duration_buckets(), {"connector"});
  }
}

api_caller::~api_caller() = default;

void api_caller::set_bucket(std::string name, double capacity, milliseconds period) {
  buckets_.insert_or_assign(std::move(name), token_bucket(capacity, period, clock_type::now()));
}

void api_caller::set_daily_budget(double share) { budget_.emplace(share); }

void api_caller::on_response(std::function<void(const http::response&)> observer) { observer_ = std::move(observer); }

std::pair<std::int64_t, std::int64_t> api_caller::budget() const { return {budget_used_.load(), budget_limit_.load()}; }

asio::awaitable<void> api_caller::sleep(milliseconds d) {
  if (d.count() <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

asio::awaitable<void> api_caller::take(std::string_view bucket) {
  // One token from the default bucket, and one from the named bucket when the call names one.
  std::vector<std::string_view> names{std::string_view()};
  if (!bucket.empty()) names.push_back(bucket);
  for (std::string_view name : names) {
    auto it = buckets_.find(name);
    if (it == buckets_.end()) continue;
    for (;;) {
      auto now = clock_type::now();
      if (it->second.try_take(now)) break;
      co_await sleep(std::max(it->second.wait_for(now), milliseconds(1)));
    }
  }
}

std::string status_label(const omnisync::result<http::response>& r) {
  if (r) return std::to_string(r->status);
  if (r.error() == errc::timeout) return "timeout";
  if (r.error() == errc::retry) return "retry";
  return "error";
}

asio::awaitable<omnisync::result<http::response>> api_caller::call(http::request req, call_options opts) {
  boost::system::error_code last = make_error_code(errc::retry);
  for (unsigned attempt = 0; attempt < std::max(1u, policy_.max_attempts); ++attempt) {
    if (budget_ && opts.count_against_budget && budget_->exhausted()) co_return make_error_code(errc::rate_limited);
    co_await take(opts.bucket);
    const auto started = std::chrono::steady_clock::now();
    ++calls_;
    // (no co_await inside ?: — GCC 12 miscompiles it)
    omnisync::result<http::response> r = make_error_code(errc::retry);
    if (opts.auth)
      r = co_await client_->send_authorized(req, *opts.auth);
    else
      r = co_await client_->send(req);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (calls_metric_) calls_metric_->with({connector_, status_label(r)}).inc();
    if (seconds_metric_) seconds_metric_->with({connector_}).observe(secs);
    std::optional<milliseconds> retry_after;
    if (r) {
      if (budget_) {
        budget_->count_call();
        if (auto h = r->get("Sforce-Limit-Info"); !h.empty()) budget_->observe(h);
        budget_used_ = budget_->used();
        budget_limit_ = budget_->limit();
      }
      if (observer_) observer_(*r);
      const int s = r->status;
      if (s == 401) {
        ++errors_;
        co_return make_error_code(errc::auth_expired);
      }
      const bool throttled = s == 429;
      const bool transient = s == 408 || s == 500 || s == 502 || s == 503 || s == 504;
      if (!throttled && !transient) co_return r;
      ++errors_;
      if (auto h = r->get("Retry-After"); !h.empty()) retry_after = parse_retry_after(h);
      last = make_error_code(throttled ? errc::rate_limited : errc::retry);
      if (throttled) {
        // The limit that was hit is the named bucket's when the call used one (e.g. Zendesk's export limit),
        // otherwise the connector's general one: only that bucket pauses, other calls go on.
        auto pause = retry_after.value_or(backoff_.delay(attempt));
        auto it = buckets_.find(opts.bucket.empty() ? std::string_view("") : opts.bucket);
        if (it != buckets_.end()) it->second.drain(clock_type::now(), pause);
      }
      if (retry_after && *retry_after > policy_.max_wait) co_return make_error_code(errc::rate_limited);
    } else {
      ++errors_;
      last = r.error();
      if (!is_retryable(last)) co_return last;
    }
    if (attempt + 1 >= policy_.max_attempts) break;
    ++retries_;
    auto d = backoff_.delay(attempt, retry_after);
    spdlog::debug("{}: {} {} failed ({}), retry {} in {} ms", connector_, req.method, req.url,
                  r ? std::to_string(r->status) : last.message(), attempt + 1, d.count());
    co_await sleep(d);
  }
  co_return last;
}

}  // namespace omnisync::adapters::pacing
