#include "daemon/store/store.hpp"

#include "daemon/store/sqlite_db.hpp"
#include "daemon/store/sqlite_store.hpp"

namespace omnisync::store {

omnisync::result<std::unique_ptr<store>> open_store(const options& opts, std::string* why) {
  // The only backend so far; the PostgreSQL one will be chosen here from the options.
  return open_sqlite_store(opts, why);
}

int latest_schema_version() noexcept { return sqlite::state_migrations().back().version; }
int latest_inbox_schema_version() noexcept { return sqlite::inbox_migrations().back().version; }

}  // namespace omnisync::store
