#pragma once
/// The daemon's HTTP listener: vendor webhooks (`POST /webhooks/<connector>[/<token>]`), `GET /healthz`,
/// `GET /readyz` and `GET /metrics` (Prometheus text).
///
/// A webhook request is handled in two steps (SEAMS.md): the connector's `webhook_endpoint::verify` checks the
/// raw bytes (signature in constant time, replay window, secret URL token) and names the dedupe key and the
/// answer the vendor expects; the event is then appended to the store's inbox — durable, group-committed with
/// concurrent requests — and only then answered. Parsing the event into records happens later, from the inbox.
/// An inbox failure answers 503 so the vendor delivers again; nothing is acknowledged that was not stored.
///
/// Protection: a per-endpoint body limit (413), content-type checks (415), a header read timeout and a body
/// read timeout against slow clients, a connection limit (503 beyond it), keep-alive with an idle limit.
///
/// Lifecycle: construct, `add_endpoint` for each connector, `start()` binds (port 0 picks one), `run()` is the
/// accept loop (spawn it on a task group), `stop()` closes the acceptor and every connection; `run()` returns
/// once all connection coroutines have finished. Endpoints can be replaced while running (`set_endpoints`, on
/// reload). Beast stays inside connection.cpp.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/webhook.hpp"
#include "core/error.hpp"

namespace omnisync::store {
class store;
}
namespace omnisync::metrics {
class registry;
}

namespace omnisync::http {

using adapters::ack_response;
using adapters::inbound_request;
using adapters::verified_event;
using adapters::webhook_endpoint;

struct listener_options {
  std::string listen = "127.0.0.1:0";                   ///< host:port
  std::size_t max_body = 1 << 20;                       ///< default when an endpoint does not say
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};        ///< keep-alive connections with no request
  unsigned max_connections = 1024;
};

class listener {
 public:
  listener(boost::asio::any_io_executor ex, listener_options options, store::store& store, metrics::registry& metrics);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// Called (on the connection's thread) after a new webhook event was stored, with the connector name: the
  /// engine's inbox loop wakes at once instead of at its next look. Set before start().
  void on_stored(std::function<void(const std::string&)> fn);
  /// Replaces the endpoints (thread-safe; requests in flight keep the set they started with).
  void set_endpoints(std::vector<std::shared_ptr<const webhook_endpoint>> endpoints);
  /// Binds and listens; returns the bound port. errc::fail with a logged reason when the address is taken.
  omnisync::result<unsigned short> start();
  /// Accepts until stop(); returns after every connection has finished.
  boost::asio::awaitable<void> run();
  void stop();
  /// /readyz answers 200 only while ready (set once start-up finished; cleared while stopping).
  void set_ready(bool ready);
  /// While ready, a non-empty answer of `check` (asked per /readyz request) makes it 503 with that reason (the
  /// connector-health rule, docs/operations.md). Set before start().
  void set_readiness_check(std::function<std::string()> check);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace omnisync::http
