#pragma once
/// Internal to daemon/store: a thin RAII layer over the SQLite C API (connection, cached prepared statements,
/// error classification, schema migrations). Nothing outside daemon/store/ and its tests includes this.
///
/// A `connection` is used by one thread at a time (the worker that owns it). Errors inside the store are
/// thrown as `sqlite_error` (already classified and logged once) and turned into `result<T>` at the
/// operation boundary: no exception ever leaves the store's public interface.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.hpp"
#include "daemon/store/job.hpp"
#include "daemon/store/migrate.hpp"
#include "daemon/store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace omnisync::store::sqlite {

/// Maps an SQLite (extended) result code to the project's error class: busy/locked -> retry, unique/primary
/// key/foreign key constraints -> conflict, other constraints and type/size errors -> invalid_input,
/// interrupt -> cancelled, everything else (full disk, corruption, I/O, cannot open) -> fail.
omnisync::errc classify(int sqlite_rc) noexcept;

/// A classified SQLite failure, thrown inside the store only.
class sqlite_error : public detail::classified_error {
 public:
  using classified_error::classified_error;
};

/// Classifies `rc`, logs SQLite's message once (with `what` we were doing) and throws sqlite_error.
[[noreturn]] void raise(sqlite3* db, int rc, std::string_view what);
/// Throws an already-classified error without touching SQLite (logic failures such as a stale fence).
[[noreturn]] void raise(omnisync::errc e, std::string message);

class statement;

/// A prepared statement borrowed from the connection's cache; reset (releasing its read snapshot) when the
/// handle goes out of scope.
class query {
 public:
  explicit query(statement& s) : s_(&s) {}
  ~query();
  query(const query&) = delete;
  query& operator=(const query&) = delete;

  query& text(int i, std::string_view v);
  query& blob(int i, std::string_view v);
  /// Bind without copying: `v` must stay alive until this handle is destroyed (not a temporary that dies
  /// before `step()`). For large values on hot paths, e.g. a webhook's body and meta.
  query& text_ref(int i, std::string_view v);
  query& blob_ref(int i, std::string_view v);
  query& i64(int i, std::int64_t v);
  query& null(int i);
  query& opt_text(int i, const std::optional<std::string>& v);

  /// Advances; true when a row is available, false when done.
  bool step();
  /// Runs to completion, for statements without results.
  void run();
  std::int64_t col_i64(int c);
  std::string col_text(int c);
  bool col_null(int c);

 private:
  statement* s_;
};

/// One SQLite database connection with a statement cache.
class connection {
 public:
  /// writer: the one connection that writes a file. reader: read-only (`query_only`). checkpointer: copies the
  /// WAL into the database file on a thread of its own (no page cache to speak of: a checkpoint reads frames
  /// straight from the WAL).
  enum class role { writer, reader, checkpointer };

  connection(const std::filesystem::path& file, role r, const options& opts);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Borrows the cached statement for `sql` (a string literal: cached by address).
  query prepare(const char* sql);
  /// Runs one or more statements without results.
  void exec(const char* sql);
  std::int64_t changes() const noexcept;
  bool in_transaction() const noexcept;
  sqlite3* raw() const noexcept { return db_; }
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
  std::unordered_map<const char*, std::unique_ptr<statement>> cache_;
};

/// One schema step (daemon/store/migrate.hpp).
using migration = detail::migration;

std::span<const migration> state_migrations() noexcept;
std::span<const migration> inbox_migrations() noexcept;

/// Brings `c` to the last migration (or to `limit` migrations) with detail::run_migrations. Each migration runs
/// in its own transaction that also records it in `schema_migrations` and `PRAGMA user_version`. Refuses
/// (errc::fail, `why` set) a database whose version is newer than `list` knows. Returns the version reached.
omnisync::result<int> migrate(connection& c, std::span<const migration> list, std::optional<int> limit,
                              std::string& why);

/// `PRAGMA user_version` of the database.
int user_version(connection& c);

}  // namespace omnisync::store::sqlite
