#include "daemon/app/store_setup.hpp"

namespace omnisync::app {
namespace {

store::synchronous_mode to_store(config::sync_mode m) {
  switch (m) {
    case config::sync_mode::off: return store::synchronous_mode::off;
    case config::sync_mode::normal: return store::synchronous_mode::normal;
    case config::sync_mode::extra: return store::synchronous_mode::extra;
    default: return store::synchronous_mode::full;
  }
}

}  // namespace

store::options store_options_for(const config::daemon_config& c, bool init_store) {
  store::options so;
  so.state_dir = c.daemon.state_dir;
  so.init_store = init_store;
  so.synchronous = to_store(c.store.synchronous);
  so.busy_timeout = c.store.busy_timeout;
  if (c.store.kind == config::store_kind::postgres) {
    so.kind = store::backend::postgres;
    if (c.store.dsn) so.dsn = c.store.dsn->reveal();  // never logged: the store logs host/dbname only
  }
  return so;
}

}  // namespace omnisync::app
