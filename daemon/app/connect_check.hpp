#pragma once
/// `omnisyncd --check-config --connect`: after the configuration validated, every enabled connector is tested step
/// by step (daemon/sync/connection_check.hpp: resolve, connect, TLS, authenticate, read one page of each object,
/// webhook settings) and the report printed. Runs its own io_context on the calling thread; nothing is stored.
#include <ostream>

#include "daemon/config/daemon_config.hpp"

namespace omnisync::app {

/// Tests every enabled connector of `c`, writing one report per connector to `out`; true when no step failed.
bool check_connections(const config::daemon_config& c, std::ostream& out);

}  // namespace omnisync::app
