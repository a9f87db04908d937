#pragma once
/// What the simulator framework needs from one simulated vendor (HubSpot, Zendesk, ...): serve its public API,
/// its part of the admin API, snapshots, limits, reset, and the webhooks its changes produce.
///
/// Vendors keep their REST semantics in their own folders (`sim/<vendor>/api.hpp`, no HTTP); an adapter per
/// vendor (sim/core/services.cpp) implements this interface on top, and `make_services()` lists them
/// explicitly. Implementations are thread-safe (the server calls them from several threads).
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/retry.hpp"

namespace omnisync::sim {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct http_request {
  std::string method;
  std::string target;     ///< path and query as sent
  std::string body;
  header_list headers;
  std::string base_url;   ///< scheme://host:port the client used (for next-page URLs, instance_url)
  /// First header with this name (case-insensitive), empty when absent.
  std::string header(std::string_view name) const;
};

struct http_response {
  int status = 200;
  header_list headers;
  std::string body;
  std::string content_type = "application/json";
};

/// A webhook ready to send to the registered URL, with the vendor's own rules for what counts as delivered and
/// when (and how) it is sent again.
struct outgoing_webhook {
  std::string method = "POST";
  std::string body;
  header_list headers;
  std::string content_type = "application/json";
  /// Whether the receiver's answer acknowledges the delivery; empty: any 2xx status does. Salesforce Outbound
  /// Messages need the SOAP notificationsResponse with Ack true (salesforce::acknowledges).
  std::function<bool(int status, std::string_view body)> accepted;
  /// When the vendor tries again after an unaccepted attempt (in vendor time; the framework applies the
  /// service's `webhook_time_scale`); empty: never (ActiveCampaign documents that it never retries).
  retry_schedule retry;
  /// How long the vendor waits for an answer before counting the attempt as failed.
  std::int64_t timeout_ms = 10'000;
  /// Re-renders body and headers for attempt `n` (2, 3, ...) sent at `wall_ms`: fresh timestamps and signatures,
  /// attempt counters, current record data, as each vendor does on a redelivery. Empty: sent unchanged.
  std::function<void(outgoing_webhook& hook, int attempt, std::int64_t wall_ms)> resign;
  /// What `GET /admin/deliveries` calls this delivery (event or notification ids).
  std::string label;
};

/// Where a service's webhooks go (`POST /admin/webhooks {service, url, secret}`).
struct webhook_target {
  std::string url;
  std::string secret;
};

class service {
 public:
  virtual ~service() = default;
  virtual std::string name() const = 0;
  virtual http_response handle(const http_request& request) = 0;
  /// `/admin/{service}/{object}[/{id}]`.
  virtual http_response admin(const std::string& method, const std::string& object, const std::string& id,
                              const std::string& body) = 0;
  virtual boost::json::value snapshot() = 0;
  virtual void set_limits(const boost::json::object& limits) = 0;
  virtual void reset() = 0;
  /// The webhooks produced since the last call, signed for `target`, oldest first.
  virtual std::vector<outgoing_webhook> take_webhooks(const webhook_target& target, std::int64_t wall_ms) = 0;
  /// Called once when a webhook target is registered (e.g. Intercom's ping); empty by default.
  virtual std::vector<outgoing_webhook> on_webhook_registered(const webhook_target& target) { return {}; }
  /// A request the target must answer with 2xx before it is registered (Intercom: HEAD); none by default.
  virtual std::optional<outgoing_webhook> validation_request(const webhook_target& target) { return std::nullopt; }
  /// The service's own base URLs, once its listeners are bound (Salesforce names them in Outbound Messages).
  virtual void set_base_urls(const std::string& http_url, const std::string& https_url) {}
  /// How many webhook requests the vendor has in flight to a target at most (more wait for one to finish);
  /// 0: no cap. `POST /admin/limits {webhook_max_concurrent}` changes it.
  virtual std::size_t webhook_concurrency() const { return 0; }
};

/// The simulator's clock: wall time plus an offset the admin API can advance (`POST /admin/clock`), so tests
/// never wait for real time to pass.
class sim_clock {
 public:
  std::int64_t now_ms() const;
  void advance(std::int64_t ms);
 private:
  std::atomic<std::int64_t> offset_ms_{0};
};

struct service_options {
  std::uint64_t seed = 42;
  std::size_t size = 1000;                  ///< seeded people per vendor (generated lazily)
  std::shared_ptr<sim_clock> clock;
};

/// Every simulated vendor, explicitly listed (no static self-registration).
std::vector<std::shared_ptr<service>> make_services(const service_options& options);

}  // namespace omnisync::sim
