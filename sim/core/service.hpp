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
#include <string>
#include <utility>
#include <vector>

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

/// A webhook ready to POST to the registered URL.
struct outgoing_webhook {
  std::string body;
  header_list headers;
  std::string content_type = "application/json";
  /// Delivery counts as done only when the answer is 2xx and its body contains this (Salesforce Outbound
  /// Messages are redelivered until the receiver answers with the documented <Ack>true</Ack>).
  std::string expect_in_body;
  /// Deliveries before giving up (ActiveCampaign documents that it never retries: 1).
  int max_attempts = 5;
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
