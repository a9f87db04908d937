#include "adapters/pacing/api_call.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <spdlog/spdlog.h>

#include <ctime>

#include "core/metrics.hpp"

namespace omnisync::adapters::pacing {
namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {
/// The client's log lines name the connector.
http::client_options named(http::client_options o, const std::string& connector) {
  if (o.log_name.empty()) o.log_name = connector;
  return o;
}
}  // namespace

api_caller::api_caller(asio::any_io_executor ex, std::string connector, http::client_options client_options,
                       call_policy policy, metrics::registry* metrics)
    : ex_(ex),
      connector_(std::move(connector)),
      client_(std::make_unique<http::client>(ex, named(std::move(client_options), connector_))),
      policy_(policy),
      backoff_(policy.backoff_base, policy.backoff_cap) {
  if (metrics) {
    calls_metric_ = &metrics->counter("omnisync_api_calls_total", "Calls to vendor APIs by connector and HTTP status",
                                      {"connector", "status"});
    seconds_metric_ = &metrics->histogram("omnisync_api_call_seconds", "Duration of vendor API calls",
                                          metrics::registry::duration_buckets(), {"connector"});
    limit_metric_ = &metrics->gauge("omnisync_api_rate_limit",
                                    "A vendor's rate limit as its answers state it, by connector and limit",
                                    {"connector", "limit"});
    remaining_metric_ = &metrics->gauge("omnisync_api_rate_limit_remaining",
                                        "Calls left in a vendor's rate limit window, as its last answer states",
                                        {"connector", "limit"});
  }
}

api_caller::~api_caller() = default;

void api_caller::set_bucket(std::string name, double capacity, milliseconds period) {
  buckets_.insert_or_assign(std::move(name), call_window(capacity, period));
}

void api_caller::set_daily_budget(double share) { budget_.emplace(share); }

void api_caller::on_response(std::function<void(const http::response&)> observer) { observer_ = std::move(observer); }

std::vector<rate_limit_reading> api_caller::rate_limits() const {
  std::lock_guard lock(limits_mu_);
  std::vector<rate_limit_reading> out;
  for (const auto& [name, r] : limits_) out.push_back(r);
  return out;
}

std::pair<std::int64_t, std::int64_t> api_caller::budget() const { return {budget_used_.load(), budget_limit_.load()}; }

namespace {

namespace json = boost::json;

std::string text_of(const json::value* v) {
  if (!v) return {};
  if (v->is_string()) return std::string(v->as_string());
  return {};
}

/// "message" of an error object, with its code when it has one ("INVALID_SESSION_ID: Session expired or invalid").
std::string error_object_message(const json::object& o) {
  std::string msg = text_of(o.if_contains("message"));
  if (msg.empty()) msg = text_of(o.if_contains("title"));
  std::string code = text_of(o.if_contains("errorCode"));
  if (code.empty()) code = text_of(o.if_contains("code"));
  if (!code.empty() && !msg.empty()) return code + ": " + msg;
  return msg.empty() ? code : msg;
}

std::string one_line(std::string s, std::size_t max = 300) {
  if (auto nl = s.find_first_of("\r\n"); nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

/// The next midnight UTC after `t`: when a vendor's day (and so its daily budget) is expected to start again.
std::chrono::system_clock::time_point next_midnight_utc(std::chrono::system_clock::time_point t) {
  using days = std::chrono::duration<std::int64_t, std::ratio<86400>>;
  return std::chrono::floor<days>(t) + days(1);
}

}  // namespace

std::string answer_message(const http::response& r) {
  std::string msg;
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec) {
    if (v.is_object()) {
      const auto& o = v.as_object();
      if (auto* e = o.if_contains("error"); e && e->is_object()) {
        msg = error_object_message(e->as_object());
      } else if (e && e->is_string()) {
        msg = std::string(e->as_string());
        std::string more = text_of(o.if_contains("error_description"));
        if (more.empty()) more = text_of(o.if_contains("description"));
        if (!more.empty() && more != msg) msg += " (" + more + ")";
      }
      if (msg.empty()) msg = text_of(o.if_contains("message"));
      if (msg.empty())
        if (auto* es = o.if_contains("errors"); es && es->is_array() && !es->as_array().empty()) {
          const auto& first = es->as_array().front();
          msg = first.is_object() ? error_object_message(first.as_object()) : text_of(&first);
        }
    } else if (v.is_array() && !v.as_array().empty() && v.as_array().front().is_object()) {
      msg = error_object_message(v.as_array().front().as_object());
    }
  } else {
    msg = r.body;
  }
  msg = one_line(std::move(msg));
  return msg.empty() ? "HTTP " + std::to_string(r.status) : msg;
}

connector_health api_caller::health() const {
  std::lock_guard lk(health_mu_);
  return health_;
}

void api_caller::note_unauthorized(std::string vendor_message) {
  set_health(health_state::unauthorized, std::move(vendor_message));
}

void api_caller::set_health(health_state state, std::string detail, std::chrono::system_clock::time_point until) {
  connector_health now_h;
  health_state previous = health_state::unknown;
  {
    std::lock_guard lk(health_mu_);
    previous = health_.state;
    if (health_.state == state && health_.detail == detail) {
      health_.until = until;
      return;
    }
    // A degraded wait changes its length with every 429: one line when it starts, not one per answer.
    const bool same_kind = health_.state == state && state == health_state::degraded;
    health_.state = state;
    health_.detail = std::move(detail);
    health_.until = until;
    if (same_kind) return;
    health_.since = std::chrono::system_clock::now();
    now_h = health_;
  }
  if (state == health_state::ok) {
    // The first answer of a connector is no news; a recovery is.
    if (previous != health_state::unknown) spdlog::info("{}: connector health: ok again", connector_);
  }
  else
    spdlog::warn("{}: connector health: {}", connector_, health_text(now_h));
}

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
    if (budget_ && opts.count_against_budget && budget_->exhausted()) {
      const auto now = std::chrono::system_clock::now();
      set_health(health_state::quota_exhausted, "", next_midnight_utc(now));
      co_return make_error_code(errc::rate_limited);
    }
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
      if (auto readings = read_rate_headers(*r, std::chrono::system_clock::now()); !readings.empty()) {
        std::lock_guard lock(limits_mu_);
        for (auto& x : readings) {
          if (limit_metric_ && x.limit >= 0) limit_metric_->with({connector_, x.name}).set(double(x.limit));
          if (remaining_metric_ && x.remaining >= 0) remaining_metric_->with({connector_, x.name}).set(double(x.remaining));
          auto name = x.name;
          limits_.insert_or_assign(std::move(name), std::move(x));
        }
      }
      const int s = r->status;
      if (s == 401) {
        ++errors_;
        set_health(health_state::unauthorized, answer_message(*r));
        co_return make_error_code(errc::auth_expired);
      }
      const bool throttled = s == 429;
      const bool transient = s == 408 || s == 500 || s == 502 || s == 503 || s == 504;
      if (!throttled && !transient) {
        set_health(health_state::ok, "");
        co_return r;
      }
      ++errors_;
      if (auto h = r->get("Retry-After"); !h.empty()) retry_after = parse_retry_after(h);
      last = make_error_code(throttled ? errc::rate_limited : errc::retry);
      {
        const auto wait = retry_after.value_or(backoff_.delay(attempt));
        const auto secs = std::max<long long>(1, (wait.count() + 999) / 1000);
        set_health(health_state::degraded,
                   (throttled ? std::string("429s") : std::to_string(s) + "s: " + answer_message(*r)) + ": waiting " +
                       std::to_string(secs) + " s",
                   std::chrono::system_clock::now() + wait);
      }
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
      // No answer at all: the transport's own words (the HTTPS client keeps them) name host, port and cause. An
      // auth_expired here comes from a token source that could not get a token (its adapter says why).
      if (last == errc::retry || last == errc::timeout || last == errc::fail) {
        std::string why = client_->last_failure();
        set_health(health_state::unreachable, why.empty() ? last.message() : why);
      }
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
