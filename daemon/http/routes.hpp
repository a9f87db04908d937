#pragma once
// Internal to omnisync_http: what a request gets, apart from how its bytes travel (connection.hpp). Webhooks are
// routed by connector and verified on their raw bytes; /healthz, /readyz and /metrics are answered here; a
// verified event is stored in the inbox before it is answered; the answers are counted.
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/records.hpp"
#include "adapters/webhook.hpp"
#include "core/log_limiter.hpp"
#include "core/metrics.hpp"

namespace omnisync::store {
class store;
}

namespace omnisync::http {

/// A connector's webhook route, with what every request needs looked up once when the endpoints are set.
struct route {
  std::shared_ptr<const adapters::webhook_endpoint> ep;
  std::string name;
  std::vector<std::string> types;  // accepted media types (webhook_endpoint::content_types())
  std::size_t max_body = 0;        // the vendor's larger limit; 0: the listener's http.max_body
  // The labelled metric children of the common outcome, found on first use: metrics::metric_family::with copies its
  // key and takes the family's lock on every call. Children are never removed, so the pointers stay valid.
  mutable std::atomic<metrics::metric_counter*> answered_200{nullptr};
  mutable std::atomic<metrics::metric_counter*> duplicates{nullptr};
  mutable std::atomic<metrics::metric_histogram*> duration{nullptr};
};

/// What a request gets: `ack` at once, or, when `event` is set, `ack` once the event is in the inbox.
struct decision {
  adapters::ack_response ack;
  std::optional<adapters::inbox_event> event;
  std::shared_ptr<const route> rt;  // the webhook route that answered (labels the metrics)
};

/// The listener's request-level state: the webhook routes, readiness, the store the events go to and the request
/// metrics. Connections ask it what to answer; how requests are read and answers written is theirs.
///
/// Lifecycle: created by the listener and shared with every connection (shared_ptr), so it outlives them; the
/// stored-event hook is set before the listener starts. Thread safety: every member may be called from any
/// thread (connections run on their own strands): the endpoint map is swapped under a mutex and read as an
/// immutable snapshot, readiness and stopping are atomics, metric children are found once and cached atomically.
class router {
 public:
  router(store::store& store, metrics::registry& metrics);
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  /// Called after a new webhook event was stored, with the connector name. Set before the listener starts.
  void on_stored(std::function<void(const std::string&)> fn);
  /// Replaces the endpoints; requests in flight keep the route they started with.
  void set_endpoints(std::vector<std::shared_ptr<const adapters::webhook_endpoint>> endpoints);
  /// The route of a connector (the `<connector>` of `/webhooks/<connector>[/<token>]`); null when none.
  std::shared_ptr<const route> find(const std::string& connector) const;

  /// /readyz answers 200 only while ready and not stopping.
  void set_ready(bool ready);
  /// While ready, /readyz asks `check` per request: a non-empty answer (why, e.g. "every connector is failing:
  /// ...") makes it 503 with that text. Set before the listener starts.
  void set_readiness_check(std::function<std::string()> check);
  /// The listener is stopping: readiness is off for good and connections stop keeping alive. True the first time.
  bool stop();
  bool stopping() const noexcept { return stopping_.load(); }

  /// Decides a request. `rt` is the route its path names (null for every other path). A webhook is verified here,
  /// on its raw bytes; a verified event comes back in the decision to be stored (`deliver`) before it is answered.
  /// `req.body` is moved into the event when there is one.
  decision decide(adapters::inbound_request& req, std::shared_ptr<const route> rt) const;
  /// Appends the decision's event to the inbox: a failed write turns the answer into 503 so the sender delivers
  /// again; a duplicate is counted; a new event calls the stored hook. Runs on the caller's strand.
  boost::asio::awaitable<decision> deliver(decision d);

  /// Counts an answered webhook request and its duration since `started` (requests of other paths are not counted).
  void count(const decision& d, std::chrono::steady_clock::time_point started);
  /// Counts a request refused with 413 (body too large), labelled with the connector its path names.
  void count_too_large(const std::string& connector);

 private:
  using endpoint_map = std::unordered_map<std::string, std::shared_ptr<const route>>;

  decision decide_webhook(adapters::inbound_request& req, std::shared_ptr<const route> rt) const;

  store::store& store_;
  metrics::registry& metrics_;
  mutable std::mutex mutex_;
  std::shared_ptr<const endpoint_map> endpoints_ = std::make_shared<endpoint_map>();
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopping_{false};
  std::function<void(const std::string&)> stored_hook_;  // set before start; read-only afterwards
  std::function<std::string()> readiness_check_;         // set before start; read-only afterwards
  mutable log_limiter unknown_log_;  // webhooks to a connector nobody configured: a line a minute at most

  metrics::metric_family<metrics::metric_counter>& requests_;
  metrics::metric_family<metrics::metric_counter>& rejected_;
  metrics::metric_family<metrics::metric_counter>& duplicates_;
  metrics::metric_family<metrics::metric_histogram>& durations_;
};

}  // namespace omnisync::http
