#pragma once
/// The SQLite implementation of `omnisync::store::store` (see store.hpp for the contract).
///
/// Two database files under `state_dir`: `state.db` (meta, cursors, records, outbox, dead letters, leases) and
/// `inbox.db` (webhook events), both in WAL mode. Each file has one writer thread with its own connection that
/// runs queued operations in group transactions (one SAVEPOINT per operation, one COMMIT and one fsync for the
/// group); a reader thread with its own connections serves reads without waiting behind writes.
#include <memory>
#include <string>

#include "daemon/store/store.hpp"

namespace omnisync::store {

omnisync::result<std::unique_ptr<store>> open_sqlite_store(const options& opts, std::string* why);

}  // namespace omnisync::store
