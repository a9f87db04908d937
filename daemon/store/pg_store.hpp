#pragma once
/// The PostgreSQL implementation of `omnisync::store::store` (see store.hpp for the contract, README.md for
/// the design): the same semantics as the SQLite store, in one PostgreSQL database reached through libpq with
/// `options::dsn`, safe for several omnisyncd instances sharing that database (claims with FOR UPDATE SKIP
/// LOCKED, leases in one statement, fences checked under a row lock, migrations under an advisory lock).
#include <memory>
#include <string>

#include "daemon/store/store.hpp"

namespace omnisync::store {

omnisync::result<std::unique_ptr<store>> open_pg_store(const options& opts, std::string* why);

}  // namespace omnisync::store
