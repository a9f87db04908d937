#include "daemon/store/sqlite_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>

#include "daemon/store/queue_store.hpp"
#include "daemon/store/sqlite_db.hpp"
#include "daemon/store/sqlite_sql.hpp"
#include "daemon/store/sqlite_state_dir.hpp"
#include "daemon/store/workers.hpp"

namespace omnisync::store {
namespace {

using sqlite::connection;
using sqlite::reader_ctx;
using sqlite::sqlite_error;
using detail::store_logger;
using error_code = boost::system::error_code;

// ---- checkpoints -------------------------------------------------------------------------------------------

/// Copies one database's WAL into the database file on its own thread and connection, so that no commit waits
/// for that copy and its fsync (SQLite's automatic checkpoint would run inside the COMMIT that crosses the
/// threshold, adding milliseconds to every request acknowledged by that group).
///
/// When it runs: the writer's commit hook (`wal_policy`) asks for a checkpoint once the WAL holds `soft`
/// frames. A PASSIVE checkpoint copies what was committed when it started and never blocks the writer. SQLite
/// rewinds the WAL (the next commit writes from its beginning again, over blocks the file already has, which
/// keeps each commit's fsync from also writing file metadata) only when a checkpoint has copied everything, so
/// a pass that ended behind is followed by one short pass over the tail. If the writer keeps committing
/// through every pass, the WAL reaches `hard` frames and the writer checkpoints itself once: then only the
/// small tail is left to copy, and the WAL is rewound, so its size stays bounded. A writer that finds a pass
/// running at `hard` cannot checkpoint (SQLITE_BUSY) and goes on; when a pass is slow (the checkpointer got
/// little CPU, or a slow fsync) the WAL grows meanwhile, so at `limit` frames the writer waits for the pass to
/// end (`wait_idle`) and then checkpoints the tail itself: the WAL never holds more than `limit` frames and one
/// group's.
class checkpointer {
 public:
  checkpointer(std::string name, std::unique_ptr<connection> c, std::atomic<std::uint64_t>* passes)
      : name_(std::move(name)), c_(std::move(c)), passes_(passes) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
      loop();
    });
  }
  ~checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  /// From the writer's commit hook: never waits for a checkpoint in progress.
  void request() {
    {
      std::lock_guard lock(mutex_);
      requested_ = true;
    }
    cv_.notify_one();
  }

  /// Returns once no pass is running (at once when none is).
  void wait_idle() {
    std::unique_lock lock(mutex_);
    idle_cv_.wait(lock, [this] { return !running_; });
  }

 private:
  void loop() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || requested_; });
        if (stopping_) return;
        requested_ = false;
        running_ = true;
      }
      run_passes();
      {
        std::lock_guard lock(mutex_);
        running_ = false;
      }
      idle_cv_.notify_all();
    }
  }

  void run_passes() {
    for (int pass = 0; pass < 2; ++pass) {
      int wal_frames = 0, copied = 0;
      int rc = sqlite3_wal_checkpoint_v2(c_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
      if (rc != SQLITE_OK) {
        // BUSY: the writer is checkpointing itself (its hard limit); the next request comes with a commit.
        if ((rc & 0xff) != SQLITE_BUSY)
          store_logger()->warn("store: checkpoint of {} failed: {} (sqlite {})", c_->file().filename().string(),
                               sqlite3_errmsg(c_->raw()), rc);
        return;
      }
      if (passes_) passes_->fetch_add(1, std::memory_order_relaxed);
      if (copied >= wal_frames) return;
    }
  }

  std::string name_;
  std::unique_ptr<connection> c_;
  std::atomic<std::uint64_t>* passes_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  bool requested_ = false;
  bool running_ = false;  // a request's passes are under way
  bool stopping_ = false;
  std::thread thread_;
};

/// The writer connection's commit hook (sqlite3_wal_hook, which replaces SQLite's automatic checkpoint): called
/// on the writer thread after each commit with the WAL's size in frames.
struct wal_policy {
  checkpointer* ckpt = nullptr;
  int soft = 1000;   ///< frames (4 KiB pages): ask the checkpointer (SQLite's own default threshold)
  int hard = 4000;   ///< frames: the writer checkpoints itself (the checkpointer never caught up)
  int limit = 8000;  ///< frames: ... and waits for a pass that keeps it from doing so (a slow pass)
  int next_request = 1000;
  std::atomic<std::uint64_t>* inline_checkpoints = nullptr;

  static int on_commit(void* self, sqlite3* db, const char* schema, int frames) {
    auto& p = *static_cast<wal_policy*>(self);
    if (frames < p.soft) {
      p.next_request = p.soft;
      return SQLITE_OK;
    }
    if (frames >= p.hard) {
      // PASSIVE: returns at once (BUSY) if the checkpointer is mid-pass; the next commit tries again — unless the
      // WAL has reached `limit` meanwhile: then this commit waits for the pass (the writer has released its
      // lock: the pass is not waiting for it) and copies what the pass left.
      int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if ((rc & 0xff) == SQLITE_BUSY && frames >= p.limit) {
        p.ckpt->wait_idle();
        rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      if (rc == SQLITE_OK && p.inline_checkpoints) p.inline_checkpoints->fetch_add(1, std::memory_order_relaxed);
      return SQLITE_OK;
    }
    if (frames >= p.next_request) {
      p.ckpt->request();
      p.next_request = frames + p.soft / 4;  // not at every commit while a pass is running
    }
    return SQLITE_OK;
  }
};

// ---- transaction drivers (workers.hpp) --------------------------------------------------------------------

/// A writer connection's transactions. Transaction control runs as cached prepared statements (sqlite3_exec
/// would parse these texts again for every group and job).
class writer_tx {
 public:
  using context_type = connection;
  explicit writer_tx(std::unique_ptr<connection> c) : c_(std::move(c)) {}

  connection& context() noexcept { return *c_; }
  bool ready(error_code&) noexcept { return true; }
  void begin() { c_->prepare("BEGIN IMMEDIATE").run(); }
  void savepoint() { c_->prepare("SAVEPOINT op").run(); }
  void release() { c_->prepare("RELEASE op").run(); }
  void rollback_to() { c_->exec("ROLLBACK TO op; RELEASE op"); }
  void commit() { c_->prepare("COMMIT").run(); }
  void rollback() noexcept {
    if (c_->in_transaction()) sqlite3_exec(c_->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  /// SQLite rolled the whole transaction back by itself (disk full, I/O error).
  bool lost() const noexcept { return !c_->in_transaction(); }
  error_code lost_error() const { return omnisync::make_error_code(omnisync::errc::fail); }
  /// A failing statement undoes its own changes and leaves the transaction open.
  detail::statement_failure after_failed_statement() const noexcept { return detail::statement_failure::undone; }

 private:
  std::unique_ptr<connection> c_;
};

/// The reader's connections; each read runs alone (a read that needs one snapshot opens its own transaction).
class reader_tx {
 public:
  using context_type = reader_ctx;
  explicit reader_tx(std::unique_ptr<reader_ctx> r) : r_(std::move(r)) {}

  reader_ctx& context() noexcept { return *r_; }
  bool ready(error_code&) noexcept { return true; }
  void end_read() noexcept {
    for (auto* c : {&r_->state, &r_->inbox})
      if (c->in_transaction()) sqlite3_exec(c->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  std::unique_ptr<reader_ctx> r_;
};

// ---- the backend ---------------------------------------------------------------------------------------------

/// SQLite under queue_store: two files (state.db, inbox.db), a writer thread for each, a checkpointer for
/// inbox.db and a reader thread with read-only connections to both. See sqlite_store.hpp and README.md.
class sqlite_backend {
 public:
  static constexpr std::string_view name = "sqlite";
  static constexpr bool one_database = false;
  static constexpr bool orders_appends = false;
  using writer_ctx = connection;
  using reader_ctx = sqlite::reader_ctx;
  using state_sql = sqlite::state_sql;
  using inbox_sql = sqlite::inbox_sql;
  using read_sql = sqlite::read_sql;

  sqlite_backend(detail::store_counters& counters, const options& opts, std::unique_ptr<connection> state,
                 std::unique_ptr<connection> inbox, std::unique_ptr<connection> inbox_checkpoint,
                 std::unique_ptr<reader_ctx> reader)
      : inbox_checkpointer_("store-ckpt", std::move(inbox_checkpoint), &inbox_checkpoints_),
        inbox_wal_{&inbox_checkpointer_},
        state_writer_("store-state", writer_tx(std::move(state)), opts.max_group, &counters.state_commits),
        inbox_writer_("store-inbox", writer_tx(with_wal_policy(std::move(inbox))), opts.max_group,
                      &counters.inbox_commits),
        reader_("store-read", reader_tx(std::move(reader))) {}

  detail::group_worker<writer_tx>& state_writer() noexcept { return state_writer_; }
  detail::group_worker<writer_tx>& inbox_writer() noexcept { return inbox_writer_; }
  /// Leases are rows of state.db, which has one writer: its own.
  detail::group_worker<writer_tx>& lease_writer() noexcept { return state_writer_; }
  detail::read_worker<reader_tx>& reader() noexcept { return reader_; }
  void add_stats(commit_stats& s) const noexcept {
    s.inbox_checkpoints = inbox_checkpoints_.load();
    s.inbox_commit_checkpoints = inbox_commit_checkpoints_.load();
    for (auto j : {state_writer_.jobs(), inbox_writer_.jobs(), reader_.jobs()}) detail::add_jobs(s, j);
  }

 private:
  /// Installs the WAL policy as the commit hook of the inbox writer's connection (replacing SQLite's automatic
  /// checkpoint).
  std::unique_ptr<connection> with_wal_policy(std::unique_ptr<connection> c) {
    inbox_wal_.inline_checkpoints = &inbox_commit_checkpoints_;
    sqlite3_wal_hook(c->raw(), &wal_policy::on_commit, &inbox_wal_);
    return c;
  }

  std::atomic<std::uint64_t> inbox_checkpoints_{0}, inbox_commit_checkpoints_{0};
  // Outlives the inbox writer, whose commit hook (inbox_wal_) calls it; its connection closes last and so
  // makes the final checkpoint.
  checkpointer inbox_checkpointer_;
  wal_policy inbox_wal_;
  // Declared last: destroyed first, so their threads finish queued work while the members above still live.
  detail::group_worker<writer_tx> state_writer_;
  detail::group_worker<writer_tx> inbox_writer_;
  detail::read_worker<reader_tx> reader_;
};

}  // namespace

namespace {

/// What `PRAGMA quick_check` finds wrong with `c`'s database (its first finding), or nullopt when it is sound.
std::optional<std::string> damaged(connection& c) {
  try {
    auto q = c.prepare("PRAGMA quick_check(1)");
    if (!q.step()) return "quick_check gave no answer";
    auto first = q.col_text(0);
    if (first == "ok") return std::nullopt;
    return first;
  } catch (const sqlite_error& e) {
    return std::string(e.what());
  }
}

}  // namespace

omnisync::result<std::unique_ptr<store>> open_sqlite_store(const options& opts, std::string* why) {
  std::string reason;
  auto fail = [&](boost::system::error_code ec) -> omnisync::result<std::unique_ptr<store>> {
    if (why) *why = reason;
    return ec;
  };
  std::error_code fs_ec;
  std::filesystem::create_directories(opts.state_dir, fs_ec);
  if (fs_ec) {
    reason = "cannot create state directory " + opts.state_dir.string() + ": " + fs_ec.message();
    store_logger()->error("store: {}", reason);
    return fail(omnisync::errc::fail);
  }
  if (auto checked = sqlite::check_state_dir(opts, reason); !checked) return fail(checked.error());
  const auto state_path = opts.state_dir / "state.db";
  const auto inbox_path = opts.state_dir / "inbox.db";
  // Opened read-write where it can, SQLite falls back to read-only for a file it may only read (after which every
  // write fails with "readonly database"): check_state_dir catches the usual causes by permissions; this, any
  // other (a read-only mount).
  auto writable = [&](connection& c) {
    if (sqlite3_db_readonly(c.raw(), "main") != 1) return true;
    reason = c.file().string() + " opened read-only (" + sqlite::process_user() +
             "): omnisyncd must be able to write its state directory and every file in it; not starting.";
    store_logger()->error("store: {}", reason);
    return false;
  };
  try {
    auto state = std::make_unique<connection>(state_path, connection::role::writer, opts);
    if (!writable(*state)) return fail(omnisync::errc::fail);
    auto sv = sqlite::migrate(*state, sqlite::state_migrations(), opts.migrate_to, reason);
    if (!sv) return fail(sv.error());
    auto inbox = std::make_unique<connection>(inbox_path, connection::role::writer, opts);
    if (!writable(*inbox)) return fail(omnisync::errc::fail);
    auto iv = sqlite::migrate(*inbox, sqlite::inbox_migrations(), opts.migrate_to, reason);
    if (!iv) return fail(iv.error());
    // A damaged inbox.db whose first page survived opens and migrates fine, and fails only when the daemon
    // reads its pages — then on every claim, over and over, while webhooks are still acknowledged into it. It is
    // checked whole here (its rows are small: bodies are cleared once processed). state.db is not: start-up
    // reads its records whole anyway (the profile book), which finds damage there.
    if (auto damage = damaged(*inbox)) {
      reason = inbox_path.string() + " is damaged (" + *damage +
               "): restore it from a backup, or move it away and start with --init-store to begin with an empty "
               "inbox (webhooks not yet processed are then lost); not starting.";
      store_logger()->error("store: {}", reason);
      return fail(omnisync::errc::fail);
    }
    if (auto marked = sqlite::mark_state_dir(opts.state_dir, reason); !marked) return fail(marked.error());
    auto inbox_checkpoint = std::make_unique<connection>(inbox_path, connection::role::checkpointer, opts);
    std::unique_ptr<reader_ctx> reader(new reader_ctx{connection(state_path, connection::role::reader, opts),
                                                      connection(inbox_path, connection::role::reader, opts)});
    return std::unique_ptr<store>(std::make_unique<detail::queue_store<sqlite_backend>>(
        opts, *sv, *iv, opts, std::move(state), std::move(inbox), std::move(inbox_checkpoint), std::move(reader)));
  } catch (const sqlite_error& e) {
    reason = e.what();
    return fail(e.code());
  }
}

}  // namespace omnisync::store
