#pragma once
/// The simulator's HTTP side: for every service an HTTP and an HTTPS listener on loopback (port 0 allowed),
/// plus one admin listener (plain HTTP, JSON) that mutates records, registers webhook targets, injects faults,
/// advances the clock, resets, and reads the request log, call counts and snapshots (SEAMS.md "Simulator").
///
/// Every public request is logged and counted, checked against the fault rules (latency, a status, 429 with
/// Retry-After, connection reset, token expiry, malformed or truncated bodies, slow bodies), handed to its
/// service, and followed by delivery of the webhooks it caused (with retries). Beast stays in server.cpp.
#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/service.hpp"
#include "sim/core/tls.hpp"

namespace omnisync::sim {

struct server_options {
  std::string host = "127.0.0.1";
  unsigned short admin_port = 0;
  std::map<std::string, std::pair<unsigned short, unsigned short>> ports;  ///< service → (http, https); default 0
  tls_files tls;
  std::size_t max_body = 16u << 20;
  std::size_t request_log_size = 10000;
};

class server {
 public:
  server(boost::asio::any_io_executor ex, server_options options, std::vector<std::shared_ptr<service>> services,
         std::shared_ptr<sim_clock> clock);
  ~server();
  /// Binds every listener and starts accepting; throws on failure (start-up).
  void start();
  /// `{"salesforce":{"http":URL,"https":URL},...,"admin":URL,"ca_file":PATH}` — the first stdout line.
  boost::json::value endpoints() const;
  /// Closes the listeners; connections finish their current exchange.
  void stop();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace omnisync::sim
