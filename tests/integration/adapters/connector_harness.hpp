#pragma once
/// Test helpers for the vendor connectors: one `omnisync-sim` per test executable (started on first use, reset
/// by each test case), and a connector built through the registry on its own io_context, whose coroutines the
/// tests run to completion one at a time. Blocking; used from the test thread only.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "adapters/connector.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace omnisync::test::adapters {

namespace json = boost::json;

/// The simulator shared by the test cases of one executable.
inline sim::running_sim& shared_sim() {
  static sim::running_sim s;
  return s;
}

/// A fresh simulator state: seeded records, no faults, request counts at zero.
inline sim::running_sim& fresh_sim() {
  auto& s = shared_sim();
  s.admin("POST", "/admin/reset");
  return s;
}

/// Calls to `service` whose "METHOD path" key contains `needle` (from /admin/counts).
inline std::int64_t sim_calls(sim::running_sim& s, const std::string& service, const std::string& needle) {
  auto counts = s.admin("GET", "/admin/counts").json();
  std::int64_t n = 0;
  if (const auto* per = counts.as_object().if_contains(service); per && per->is_object())
    for (const auto& [k, v] : per->get_object())
      if (k != "total" && std::string_view(k).find(needle) != std::string_view::npos) n += v.to_number<std::int64_t>();
  return n;
}

/// A connector built by the registry on its own io_context.
struct harness {
  boost::asio::io_context io;
  std::unique_ptr<omnisync::adapters::connector> c;

  explicit harness(const config::connector_common& cfg, std::string public_url = {}) {
    omnisync::adapters::connector_context ctx;
    ctx.executor = io.get_executor();
    ctx.public_url = std::move(public_url);
    c = omnisync::adapters::make_connector(cfg, ctx);
  }

  /// Runs one of the connector's operations to completion.
  template <class T>
  T run(boost::asio::awaitable<T> op) {
    auto f = boost::asio::co_spawn(io, std::move(op), boost::asio::use_future);
    io.restart();
    io.run();
    return f.get();
  }
};

inline omnisync::adapters::write_item item(std::int64_t id, std::string key, const json::object& payload) {
  return omnisync::adapters::write_item(id, std::move(key), json::serialize(payload));
}

}  // namespace omnisync::test::adapters
