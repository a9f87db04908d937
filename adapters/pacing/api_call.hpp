#pragma once
/// `api_caller`: the one place where a connector's calls to its vendor are paced and retried (SEAMS.md
/// "Retries"). Adapters build requests and read answers; they never sleep or loop on errors themselves.
///
/// For every call: wait for the connector's rate buckets (e.g. HubSpot 190 per 10 s, a separate search bucket),
/// refuse at once with errc::rate_limited when the daily budget's share is used up (Salesforce
/// `Sforce-Limit-Info`), send (with one OAuth refresh on 401 done by the HTTPS client), then classify:
/// - transport `retry`/`timeout`, HTTP 408, 500, 502, 503, 504: exponential backoff with full jitter;
/// - HTTP 429 (and 503 with Retry-After): wait what `Retry-After` says (bounded by `max_wait`), drain the bucket;
/// - HTTP 401 after the refresh: errc::auth_expired; any other status is the adapter's to interpret.
/// After `max_attempts` the last error class is returned. Every call is counted per connector and status in
/// `/metrics` (`omnisync_api_calls_total`, `omnisync_api_call_seconds`).
///
/// Every outcome also sets the connector's health (core/health.hpp), with the cause in the vendor's words: an
/// ordinary answer `ok`; 429 or 5xx `degraded` with the wait; 401 `unauthorized` with the vendor's message from the
/// answer's body (`answer_message`); no answer `unreachable` with the HTTPS client's words for the transport failure;
/// a used-up daily budget `quota_exhausted`. The rate-limit headers of every answer are kept (`rate_limits()`) and
/// exported as `omnisync_api_rate_limit` / `omnisync_api_rate_limit_remaining` gauges. A change of state is logged once, naming the connector.
///
/// Threading: one per connector, used from the connector's strand. Waits are Asio timers, so cancelling the
/// awaiting task (shutdown, pause) ends them at once.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"
#include "core/health.hpp"
#include "adapters/pacing/rate_headers.hpp"
#include "adapters/pacing/rate_limit.hpp"

namespace omnisync::metrics {
class registry;
template <class Child>
class metric_family;
class metric_counter;
class metric_histogram;
class metric_gauge;
}  // namespace omnisync::metrics

namespace omnisync::adapters::pacing {

struct call_policy {
  unsigned max_attempts = 6;                    ///< sends per call, the first included
  std::chrono::milliseconds backoff_base{250};
  std::chrono::milliseconds backoff_cap{30000};
  std::chrono::milliseconds max_wait{120000};   ///< longest single wait for a Retry-After; longer: rate_limited
};

struct call_options {
  const http::token_source* auth = nullptr;     ///< send with an Authorization header (one refresh on 401)
  std::string_view bucket;                      ///< an extra named bucket to take from (e.g. "search")
  bool count_against_budget = true;
};

class api_caller {
 public:
  /// Throws std::runtime_error when the client cannot be built (unreadable CA file).
  api_caller(boost::asio::any_io_executor ex, std::string connector, http::client_options client_options,
             call_policy policy = {}, metrics::registry* metrics = nullptr);
  ~api_caller();
  api_caller(const api_caller&) = delete;
  api_caller& operator=(const api_caller&) = delete;

  /// Every call takes one token from the default bucket (when set) and one from `bucket` when named.
  void set_bucket(std::string name, double capacity, std::chrono::milliseconds period);
  /// Keeps omnisync's calls under `share` (0..1) of the daily limit reported in `Sforce-Limit-Info`.
  void set_daily_budget(double share);
  /// Called with every HTTP answer (vendor-specific rate headers).
  void on_response(std::function<void(const http::response&)> observer);

  /// Sends `req`, paced and retried as described above. A returned response has a status the adapter must
  /// interpret (2xx, 3xx, 4xx other than 401/408/429).
  boost::asio::awaitable<omnisync::result<http::response>> call(http::request req, call_options opts = {});

  http::client& client() noexcept { return *client_; }
  const std::string& connector() const noexcept { return connector_; }
  std::int64_t calls() const noexcept { return calls_.load(); }
  std::int64_t errors() const noexcept { return errors_.load(); }
  std::int64_t retries() const noexcept { return retries_.load(); }
  /// (used, limit) of the daily budget, (-1, -1) when none was reported.
  std::pair<std::int64_t, std::int64_t> budget() const;

  /// Every rate limit the vendor's answers have stated, the latest reading of each (any thread).
  std::vector<rate_limit_reading> rate_limits() const;

  /// The connector's health as the last call left it (any thread).
  connector_health health() const;
  /// An adapter saw its credentials refused where the api_caller cannot tell (the OAuth token endpoint answers
  /// 400 invalid_grant): the health becomes `unauthorized` with the vendor's message.
  void note_unauthorized(std::string vendor_message);

 private:
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);
  boost::asio::awaitable<void> take(std::string_view bucket);
  void set_health(health_state state, std::string detail, std::chrono::system_clock::time_point until = {});

  boost::asio::any_io_executor ex_;
  std::string connector_;
  std::unique_ptr<http::client> client_;
  call_policy policy_;
  backoff backoff_;
  std::map<std::string, call_window, std::less<>> buckets_;
  std::optional<daily_budget> budget_;
  std::function<void(const http::response&)> observer_;
  std::atomic<std::int64_t> calls_{0}, errors_{0}, retries_{0};
  std::atomic<std::int64_t> budget_used_{-1}, budget_limit_{-1};
  metrics::metric_family<metrics::metric_counter>* calls_metric_ = nullptr;
  metrics::metric_family<metrics::metric_histogram>* seconds_metric_ = nullptr;
  metrics::metric_family<metrics::metric_gauge>* limit_metric_ = nullptr;
  metrics::metric_family<metrics::metric_gauge>* remaining_metric_ = nullptr;
  mutable std::mutex limits_mu_;
  std::map<std::string, rate_limit_reading, std::less<>> limits_;  // by name; guarded by limits_mu_
  mutable std::mutex health_mu_;
  connector_health health_;  // guarded by health_mu_
};

/// The vendor's own words in a refused answer, from the shapes the vendors use: `{"message"}` (HubSpot,
/// ActiveCampaign), `{"error", "description"|"error_description"}` (Zendesk, OAuth token endpoints), `{"error":
/// {"title", "message"}}`, `{"errors": [{"code", "message"}]}` (Intercom), `[{"errorCode", "message"}]`
/// (Salesforce); else the first line of a text body; "HTTP <status>" when the body says nothing.
std::string answer_message(const http::response& r);

/// The status class used in metrics: "200", "429", ... or the transport error ("timeout", "retry", "fail").
std::string status_label(const omnisync::result<http::response>& r);

}  // namespace omnisync::adapters::pacing
