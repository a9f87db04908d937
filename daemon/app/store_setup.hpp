#pragma once
/// The store's options as the daemon's config gives them (state directory, backend, SQLite's synchronous mode and
/// busy timeout, PostgreSQL's DSN): kept apart from the application object so that start-up reads as steps.
#include "daemon/config/daemon_config.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::app {

/// `init_store`: omnisyncd --init-store (store::options::init_store). The DSN is a secret: never log the result.
store::options store_options_for(const config::daemon_config& c, bool init_store);

}  // namespace omnisync::app
