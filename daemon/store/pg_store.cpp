#include "daemon/store/pg_store.hpp"

#include <chrono>
#include <string>
#include <utility>

#include "daemon/store/pg_conn.hpp"
#include "daemon/store/pg_sql.hpp"
#include "daemon/store/queue_store.hpp"
#include "daemon/store/workers.hpp"

namespace omnisync::store {
namespace {

using detail::store_logger;
using error_code = boost::system::error_code;
using pg::connection;
using pg::pg_error;

/// One libpq session as a worker's transaction driver (workers.hpp), for the writers and the reader alike.
///
/// A lost connection (server restart, network) fails the jobs of the transaction it was in with errc::retry;
/// before its next job the worker reconnects (`ready`), and while the server stays unreachable a new attempt is
/// made at most every `reconnect_pause`: operations in between fail at once with retry instead of each waiting
/// for a refused (or timing out) connection. The first failure of an outage is logged as a warning, the recovery
/// once.
///
/// Unlike SQLite, a failing statement aborts PostgreSQL's whole transaction: a `single_statement` job (the inbox
/// append) that fails in SQL makes group_worker roll back and run the group's other jobs again, and reruns the
/// failed one itself when it was a deadlock or serialization victim (40P01, 40001).
///
/// Round trips: BEGIN, SAVEPOINT and RELEASE are deferred (connection::defer) and travel with the next statement
/// or the COMMIT, so a group costs its statements plus one (the COMMIT); a SAVEPOINT whose job sent nothing is
/// never sent, nor is a transaction in which nothing was sent. An `autocommit` session (the lease writer: each of
/// its jobs is statements that are correct one by one, at most one of which changes a row) sends no
/// transaction control at all: each statement commits by itself, durably before its answer, so a lone lease
/// renewal is one round trip.
class session {
 public:
  using context_type = connection;

  session(std::string name, std::unique_ptr<connection> c, bool autocommit = false)
      : name_(std::move(name)), c_(std::move(c)), autocommit_(autocommit) {}

  connection& context() noexcept { return *c_; }

  bool ready(error_code& ec) {
    if (c_->alive()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (failed_attempts_ > 0 && now - last_attempt_ < reconnect_pause) {
      ec = omnisync::make_error_code(omnisync::errc::retry);
      return false;
    }
    last_attempt_ = now;
    try {
      c_->reconnect();
      store_logger()->info("store: {} reconnected to PostgreSQL {}{}", name_, c_->describe(),
                           failed_attempts_ ? " after " + std::to_string(failed_attempts_) + " failed attempt(s)" : "");
      failed_attempts_ = 0;
      return true;
    } catch (const pg_error& e) {
      if (failed_attempts_++ == 0)
        store_logger()->warn("store: {} lost PostgreSQL, retrying every {} ms: {}", name_, reconnect_pause.count(),
                             e.what());
      ec = e.code();
      return false;
    }
  }

  // Transaction control, deferred to the next request (see the class comment).
  void begin() {
    if (!autocommit_) c_->defer("BEGIN");
  }
  void savepoint() {
    if (!autocommit_) c_->defer(savepoint_sql);
  }
  void release() {
    if (!autocommit_ && !c_->undefer(savepoint_sql)) c_->defer("RELEASE SAVEPOINT op");
  }
  void rollback_to() {
    if (!autocommit_ && !c_->undefer(savepoint_sql)) c_->script("ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op");
  }
  void commit() {
    if (c_->in_transaction())
      c_->script("COMMIT");  // with a deferred RELEASE, if any
    else
      c_->drop_deferred();  // nothing reached the server (or autocommit: each statement committed itself)
  }
  void rollback() noexcept { c_->rollback_quietly(); }
  /// The transaction died with the connection.
  bool lost() const noexcept { return c_->broken(); }
  error_code lost_error() const { return omnisync::make_error_code(omnisync::errc::retry); }
  detail::statement_failure after_failed_statement() const {
    if (!c_->transaction_failed()) return detail::statement_failure::undone;  // refused before any SQL ran
    const auto& st = c_->last_sqlstate();
    return st == "40P01" || st == "40001" ? detail::statement_failure::aborted_transient
                                          : detail::statement_failure::aborted;
  }
  /// The reader: a read transaction the job opened (or one a failure left open) ends here.
  void end_read() noexcept { c_->rollback_quietly(); }

 private:
  static constexpr std::chrono::milliseconds reconnect_pause{200};
  static constexpr const char* savepoint_sql = "SAVEPOINT op";

  std::string name_;
  std::unique_ptr<connection> c_;
  bool autocommit_;
  int failed_attempts_ = 0;  // reconnects failed in a row (this outage)
  std::chrono::steady_clock::time_point last_attempt_{};
};

/// PostgreSQL under queue_store: four connections, each on its own thread — the state writer (records, cursors,
/// outbox, dead letters, meta, the audit log), the inbox writer (so that a webhook's commit never queues behind a
/// large poll transaction, as with SQLite's separate inbox.db), the lease writer (so that a lease renewal never
/// waits behind a large poll or outbox transaction: a live leader lost a 2 s lease that way) and the reader. See
/// pg_store.hpp and README.md.
class pg_backend {
 public:
  static constexpr std::string_view name = "postgres";
  static constexpr bool one_database = true;
  static constexpr bool orders_appends = true;
  using writer_ctx = connection;
  using reader_ctx = connection;
  using state_sql = pg::state_sql;
  using inbox_sql = pg::inbox_sql;
  using read_sql = pg::read_sql;

  pg_backend(detail::store_counters& counters, const options& opts, std::unique_ptr<connection> state,
             std::unique_ptr<connection> inbox, std::unique_ptr<connection> lease, std::unique_ptr<connection> reader)
      : state_writer_("store-state", session("store-state", std::move(state)), opts.max_group,
                      &counters.state_commits),
        inbox_writer_("store-inbox", session("store-inbox", std::move(inbox)), opts.max_group,
                      &counters.inbox_commits),
        lease_writer_("store-lease", session("store-lease", std::move(lease), /*autocommit=*/true), opts.max_group,
                      nullptr),
        reader_("store-read", session("store-read", std::move(reader))) {}

  detail::group_worker<session>& state_writer() noexcept { return state_writer_; }
  detail::group_worker<session>& inbox_writer() noexcept { return inbox_writer_; }
  detail::group_worker<session>& lease_writer() noexcept { return lease_writer_; }
  detail::read_worker<session>& reader() noexcept { return reader_; }
  // No checkpoints (the server does its own). Round trips are counted per process (pg::round_trips): a daemon
  // opens one store.
  void add_stats(commit_stats& s) const noexcept {
    s.round_trips = pg::round_trips();
    for (auto j : {state_writer_.jobs(), inbox_writer_.jobs(), lease_writer_.jobs(), reader_.jobs()})
      detail::add_jobs(s, j);
  }

 private:
  detail::group_worker<session> state_writer_;
  detail::group_worker<session> inbox_writer_;
  detail::group_worker<session> lease_writer_;
  detail::read_worker<session> reader_;
};

}  // namespace

omnisync::result<std::unique_ptr<store>> open_pg_store(const options& opts, std::string* why) {
  std::string reason;
  auto fail = [&](boost::system::error_code ec) -> omnisync::result<std::unique_ptr<store>> {
    if (why) *why = reason;
    return ec;
  };
  if (opts.dsn.empty()) {
    reason = "store.kind is postgres but no DSN was given (store.dsn_file or store.dsn)";
    store_logger()->error("store: {}", reason);
    return fail(omnisync::errc::invalid_input);
  }
  // store.synchronous full/extra: every commit flushed before it returns (an acknowledged webhook survives a
  // power loss); normal/off: commits return before the flush (the analogue of SQLite's NORMAL).
  pg::session_options session;
  session.lock_timeout = opts.busy_timeout;
  session.synchronous_commit = opts.synchronous == synchronous_mode::full || opts.synchronous == synchronous_mode::extra;
  try {
    auto state = std::make_unique<connection>(opts.dsn, "state", session);
    auto sv = pg::migrate(*state, "state", pg::state_migrations(), opts.migrate_to, reason);
    if (!sv) return fail(sv.error());
    auto iv = pg::migrate(*state, "inbox", pg::inbox_migrations(), opts.migrate_to, reason);
    if (!iv) return fail(iv.error());
    auto inbox = std::make_unique<connection>(opts.dsn, "inbox", session);
    auto lease = std::make_unique<connection>(opts.dsn, "lease", session);
    auto reader = std::make_unique<connection>(opts.dsn, "read", session);
    store_logger()->info("store: PostgreSQL {} (schema {}, inbox schema {})", state->describe(), *sv, *iv);
    return std::unique_ptr<store>(std::make_unique<detail::queue_store<pg_backend>>(
        opts, *sv, *iv, opts, std::move(state), std::move(inbox), std::move(lease), std::move(reader)));
  } catch (const pg_error& e) {
    reason = e.what();
    store_logger()->error("store: {}", reason);
    return fail(e.code());
  }
}

}  // namespace omnisync::store
