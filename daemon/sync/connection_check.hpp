#pragma once
/// `check_connection`: tests one configured connector step by step, as `omnisyncctl test` and
/// `omnisyncd --check-config --connect` show it — resolve the host, connect, verify TLS, authenticate, read one page
/// of each configured object, check the webhook settings. Each step passes or fails with the cause in the vendor's
/// or the transport's words ("TLS certificate verify failed for 127.0.0.1:42583 (...)", "Couldn't authenticate
/// you"); a step after a failed one is skipped, not tried.
///
/// It builds its own adapter from the configuration (never the engine's: the running connectors' pacing, cursors and
/// health stay untouched) and reads with `poll_mode::full` from the beginning, storing nothing.
///
/// Lifecycle: a coroutine that ends when every step ran or `timeout` passed. Runs on any executor; uses only its own
/// objects. Thread-safe.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "config/connector.hpp"

namespace omnisync::sync {

struct check_step {
  std::string name;     ///< resolve | connect | tls | authenticate | read <object> | webhooks | configure
  bool ok = false;
  bool skipped = false; ///< not tried (an earlier step failed, or it does not apply: plain HTTP, no webhooks)
  std::string detail;   ///< what was found, or why it failed
};

struct check_report {
  std::string connector, kind;
  std::vector<check_step> steps;
  /// True when no step failed (skipped steps do not fail).
  bool ok() const;
};

struct check_options {
  std::string public_url;                    ///< http.public_url (webhook URLs the vendors call)
  std::chrono::milliseconds timeout{15000};  ///< per step that talks to the vendor
};

/// Runs every step for `cfg` (see the top of this file).
boost::asio::awaitable<check_report> check_connection(config::connector_common cfg, check_options opts);

/// The report as JSON: {connector, kind, ok, steps: [{step, ok, skipped, detail}]}.
boost::json::object to_json(const check_report& r);
/// The report for people: one line per step ("  PASS tls  certificate verified for ...").
std::string format_report(const check_report& r);

}  // namespace omnisync::sync
