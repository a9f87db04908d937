#include "daemon/store/store.hpp"

#include "daemon/store/pg_conn.hpp"
#include "daemon/store/pg_store.hpp"
#include "daemon/store/sqlite_db.hpp"
#include "daemon/store/sqlite_store.hpp"

namespace omnisync::store {

omnisync::result<std::unique_ptr<store>> open_store(const options& opts, std::string* why) {
  if (opts.kind == backend::postgres) return open_pg_store(opts, why);
  return open_sqlite_store(opts, why);
}

// Both backends ship the same versions (pg_migrations.cpp mirrors sqlite_migrations.cpp).
int latest_schema_version() noexcept { return sqlite::state_migrations().back().version; }
int latest_inbox_schema_version() noexcept { return sqlite::inbox_migrations().back().version; }

}  // namespace omnisync::store
