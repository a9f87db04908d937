#pragma once
/// The omnisync.yaml that runs omnisyncd against these simulators (`omnisync-sim --write-config FILE`): every
/// vendor over HTTPS with the simulator's CA trusted, the credentials the simulators accept, polling only (the
/// simulators deliver webhooks only where `POST /admin/webhooks` says), a free port for the daemon's listener.
/// Pure function of the endpoints line (`server::endpoints()`); checked by tests/integration/daemon's
/// test_sim_config, which runs omnisyncd with it.
#include <boost/json/value.hpp>

#include <string>

namespace omnisync::sim {

/// With `console_tokens` (a path prefix), the web console is on (any free port: `omnisyncctl status` names it),
/// reading its tokens from PREFIX.read.token and PREFIX.write.token (written by `write_console_tokens`).
std::string daemon_config(const boost::json::value& endpoints, const std::string& mappings_dir,
                          const std::string& console_tokens = {});

/// Writes two random console tokens, PREFIX.read.token and PREFIX.write.token (mode 0600); throws on failure.
void write_console_tokens(const std::string& prefix);

}  // namespace omnisync::sim
