#pragma once
/// Internal to daemon/store: a thin RAII layer over libpq (connection with a prepared-statement cache, results,
/// bound parameters, SQLSTATE classification, the migration runner). Nothing outside daemon/store/ and its
/// tests includes this.
///
/// A `connection` is used by one thread at a time (the worker that owns it). Failures are thrown as `pg_error`
/// (classified and logged once) and become `result<T>` at the operation boundary. Parameters are always bound
/// (`PQexecPrepared`), never spliced into SQL text. The DSN is a secret: it is never logged; logs name the
/// server as host/dbname (`describe()`).
#include <chrono>
#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "daemon/store/job.hpp"
#include "daemon/store/migrate.hpp"

struct pg_conn;
struct pg_result;
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace omnisync::store::pg {

/// Maps a SQLSTATE to the project's error class: serialization failure/deadlock (40001, 40P01), lock timeout
/// (55P03), connection problems (class 08, 57P01-57P03 server shutting down or starting), too many connections
/// (53300) -> retry; unique/foreign key violations (23505, 23503) -> conflict; data exceptions (class 22) and
/// other integrity violations (class 23) -> invalid_input; query cancelled (57014) -> cancelled; disk full
/// (53100), out of memory, corruption (XX001/XX002) and everything else -> fail.
omnisync::errc classify(std::string_view sqlstate) noexcept;
/// Requests sent to a server and waited for (statements, transaction control, pipelined chunks), by every
/// connection of the process since it started: tests and benchmarks count PostgreSQL round trips with it.
std::uint64_t round_trips() noexcept;
/// True for SQLSTATEs after which the connection cannot be used again (reconnect before the next use).
bool connection_lost(std::string_view sqlstate) noexcept;

/// A classified PostgreSQL failure, thrown inside the store only.
class pg_error : public detail::classified_error {
 public:
  pg_error(boost::system::error_code ec, std::string message) : classified_error(ec, std::move(message)) {}
};

/// Throws an already-classified error without touching the server (logic failures such as a stale fence).
[[noreturn]] void raise(omnisync::errc e, std::string message);

/// A BYTEA parameter: sent in binary format, so any bytes (NUL included) round-trip.
struct bytea {
  std::string_view bytes;
};

/// Parameters of one statement, in order ($1, $2, ...). Numbers are sent as text; strings without a copy.
class param_list {
 public:
  void add(const std::string& s);
  void add(std::string_view s);
  void add(const char* s) { add(std::string_view(s)); }
  void add(bytea b);
  void add(const std::optional<std::string>& s);
  void add(bool b);
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  void add(I v) {
    add_owned(std::to_string(static_cast<std::int64_t>(v)));
  }

  int size() const noexcept { return static_cast<int>(values_.size()); }
  const char* const* values() const noexcept { return values_.data(); }
  const int* lengths() const noexcept { return lengths_.data(); }
  const int* formats() const noexcept { return formats_.data(); }

 private:
  void add_owned(std::string s);
  void push(const char* v, int len, int format);
  std::deque<std::string> owned_;  // deque: element addresses stay put as it grows
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

/// A statement's result (text format); freed when it goes out of scope.
class result {
 public:
  result() = default;
  explicit result(PGresult* r) : r_(r) {}
  ~result();
  result(result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  result& operator=(result&& o) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;

  int rows() const noexcept;
  /// Rows inserted, updated or deleted (PQcmdTuples).
  std::int64_t affected() const noexcept;
  bool is_null(int row, int col) const noexcept;
  std::string text(int row, int col) const;
  std::int64_t i64(int row, int col) const;
  bool boolean(int row, int col) const;
  /// A BYTEA column, decoded.
  std::string bytes(int row, int col) const;

 private:
  PGresult* r_ = nullptr;
};

/// What every session of a connection is set to (again after each reconnect).
struct session_options {
  /// Bounds waits for row locks held by other transactions (as SQLite's busy timeout does); 0: none.
  std::chrono::milliseconds lock_timeout{0};
  /// synchronous_commit: on — COMMIT returns once its WAL is flushed (and on synchronous standbys, if the server
  /// has any); off — COMMIT returns at once and the server flushes within a few hundred milliseconds, so a
  /// crash of the database host may lose the last commits (store.synchronous normal or off).
  bool synchronous_commit = true;
};

/// One libpq connection with a cache of prepared statements.
class connection {
 public:
  /// Connects (throws pg_error: retry when the server cannot be reached, fail for bad credentials or DSN).
  /// `name` becomes application_name's suffix and appears in log lines.
  connection(std::string dsn, std::string name, session_options session);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Runs `sql` (a string literal: prepared once per connection, cached by address) with bound parameters.
  template <class... A>
  result exec(const char* sql, const A&... args) {
    param_list p;
    (p.add(args), ...);
    return exec_params(sql, p);
  }
  result exec_params(const char* sql, const param_list& p);
  /// Runs `sql` `n` times, the i-th with the parameters `bind(i, params)` adds, pipelined (libpq pipeline
  /// mode: a chunk of statements sent before their results are read, one round trip per chunk instead of one
  /// per statement). Returns each statement's affected-row count. Meant for use inside a transaction; the
  /// first failure throws (the statements after it in its chunk are not run).
  std::vector<std::int64_t> exec_many(const char* sql, std::size_t n,
                                      const std::function<void(std::size_t, param_list&)>& bind);
  /// exec_many, handing each statement's result to `take(i, result)` (in order) instead of counting rows.
  void exec_each(const char* sql, std::size_t n, const std::function<void(std::size_t, param_list&)>& bind,
                 const std::function<void(std::size_t, result)>& take);
  /// Runs one or more statements without parameters (transaction control, migrations).
  void script(const char* sql);

  /// Transaction control that travels with the next request instead of alone (one round trip fewer each):
  /// `defer` queues a statement without parameters or rows (BEGIN, SAVEPOINT, RELEASE); the next exec,
  /// exec_many or script sends the queue first, in the same round trip (libpq pipeline mode, or one
  /// multi-statement query), and a failure among them fails that request. The queue is sent whatever happens
  /// then; `rollback_quietly` and a reconnect drop what is still queued. `sql` must be a string literal.
  void defer(const char* sql);
  /// Takes back the last queued statement if it is `sql` (a SAVEPOINT whose job ended without sending
  /// anything): true if it did.
  bool undefer(const char* sql) noexcept;
  /// Drops the queue (a transaction that never reached the server ends without a round trip).
  void drop_deferred() noexcept { deferred_.clear(); }

  /// The connection was lost (or a statement said it will be): reconnect before the next use.
  bool broken() const noexcept;
  /// Cheap liveness check before a job (no round trip): a server that closed the session while it was idle
  /// (restart, idle timeout, failover) left an EOF or an error on the socket; reading it marks the connection
  /// broken, so the worker reconnects before the job instead of failing it.
  bool alive() noexcept;
  /// Opens a new session in place of a broken one (the prepared statements are gone with the old one).
  void reconnect();
  bool in_transaction() const noexcept;
  /// The failed transaction must be rolled back (a statement failed inside it).
  bool transaction_failed() const noexcept;
  /// Best effort, never throws: ROLLBACK when a transaction is open.
  void rollback_quietly() noexcept;
  /// The SQLSTATE of the last statement that failed on this connection ("" when none or no SQLSTATE).
  const std::string& last_sqlstate() const noexcept { return last_sqlstate_; }
  /// "host/dbname" (or the socket directory): safe to log, unlike the DSN.
  std::string describe() const;

 private:
  void open();
  [[noreturn]] void fail(PGresult* r, std::string_view what);
  const std::string& prepared_name(const char* sql);
  /// One round trip: the deferred statements, then the prepared statement `name` once per entry of `params`,
  /// one sync. Each of the statement's results goes to `take`; the first failure throws.
  void pipeline(const std::string& name, const char* sql, const std::vector<const param_list*>& params,
                std::size_t first, const std::function<void(std::size_t, result)>& take);

  std::string dsn_;
  std::string name_;
  session_options session_;
  PGconn* conn_ = nullptr;
  bool broken_ = false;
  std::string last_sqlstate_;
  std::unordered_map<const char*, std::string> prepared_;  // sql literal -> statement name
  std::vector<const char*> deferred_;                      // transaction control not sent yet (defer)
};

/// One schema step (daemon/store/migrate.hpp), the same versions as SQLite's.
using migration = detail::migration;

std::span<const migration> state_migrations() noexcept;
std::span<const migration> inbox_migrations() noexcept;

/// Brings the tables of `schema` ("state" or "inbox") to the last migration of `list` (or to `limit`
/// migrations) with detail::run_migrations. Each migration runs in its own transaction holding `pg_advisory_xact_lock`, so that instances
/// starting at once apply it once; the transaction also records it in `schema_migrations(db, version)`.
/// Refuses (errc::fail, `why` set) a database newer than `list` knows. Returns the version reached.
omnisync::result<int> migrate(connection& c, const char* schema, std::span<const migration> list,
                              std::optional<int> limit, std::string& why);

/// The version `schema_migrations` records for `schema` (0 when none).
int schema_version(connection& c, const char* schema);

}  // namespace omnisync::store::pg
