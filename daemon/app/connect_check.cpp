#include "daemon/app/connect_check.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <spdlog/spdlog.h>

#include <iostream>

#include "daemon/sync/connection_check.hpp"

namespace omnisync::app {

bool check_connections(const config::daemon_config& c, std::ostream& out) {
  // The report says everything; the adapters' own log lines would only repeat it.
  const auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  boost::asio::io_context ioc;
  sync::check_options opts;
  opts.public_url = c.http.public_url;
  bool all_ok = true;
  std::size_t tested = 0;
  for (const auto& cc : c.connectors) {
    if (!cc.enabled) {
      out << cc.name << " (" << cc.kind << "): disabled, not tested\n";
      continue;
    }
    auto done = boost::asio::co_spawn(ioc, sync::check_connection(cc, opts), boost::asio::use_future);
    ioc.restart();
    ioc.run();
    auto report = done.get();
    ++tested;
    all_ok = all_ok && report.ok();
    out << sync::format_report(report) << std::flush;
  }
  spdlog::set_level(level);
  out << tested << " connector(s) tested: " << (all_ok ? "every step passed" : "some steps FAILED") << "\n";
  return all_ok;
}

}  // namespace omnisync::app
