#include "daemon/store/sqlite_store.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <pthread.h>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <tuple>
#include <type_traits>

#include "daemon/store/job.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/sqlite_db.hpp"

namespace omnisync::store {
namespace {

namespace asio = boost::asio;
using sqlite::connection;
using sqlite::raise;
using sqlite::sqlite_error;
using error_code = boost::system::error_code;
using detail::deliver;
using detail::from_ms;
using detail::ms;
using detail::payload_hash;
using detail::target_id_of;
using detail::isolation;
using detail::job;
using detail::job_thread;
using detail::submit;

std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("store");
  return l ? l : spdlog::default_logger();
}


/// The reader thread's connections: one per database file, read-only.
struct reader_ctx {
  connection state;
  connection inbox;
};

// ---- jobs and workers --------------------------------------------------------------------------------------

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
/// small tail is left to copy, and the WAL is rewound, so its size stays bounded.
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

 private:
  void loop() {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || requested_; });
        if (stopping_) return;
        requested_ = false;
      }
      for (int pass = 0; pass < 2; ++pass) {
        int wal_frames = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(c_->raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
        if (rc != SQLITE_OK) {
          // BUSY: the writer is checkpointing itself (its hard limit); the next request comes with a commit.
          if ((rc & 0xff) != SQLITE_BUSY)
            logger()->warn("store: checkpoint of {} failed: {} (sqlite {})", c_->file().filename().string(),
                           sqlite3_errmsg(c_->raw()), rc);
          break;
        }
        if (passes_) passes_->fetch_add(1, std::memory_order_relaxed);
        if (copied >= wal_frames) break;
      }
    }
  }

  std::string name_;
  std::unique_ptr<connection> c_;
  std::atomic<std::uint64_t>* passes_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool requested_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

/// The writer connection's commit hook (sqlite3_wal_hook, which replaces SQLite's automatic checkpoint): called
/// on the writer thread after each commit with the WAL's size in frames.
struct wal_policy {
  checkpointer* ckpt = nullptr;
  int soft = 1000;   ///< frames (4 KiB pages): ask the checkpointer (SQLite's own default threshold)
  int hard = 4000;   ///< frames: the writer checkpoints itself (the checkpointer never caught up)
  int next_request = 1000;
  std::atomic<std::uint64_t>* inline_checkpoints = nullptr;

  static int on_commit(void* self, sqlite3* db, const char* schema, int frames) {
    auto& p = *static_cast<wal_policy*>(self);
    if (frames < p.soft) {
      p.next_request = p.soft;
      return SQLITE_OK;
    }
    if (frames >= p.hard) {
      // PASSIVE: returns at once (BUSY) if the checkpointer is mid-pass; the next commit tries again.
      if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) == SQLITE_OK &&
          p.inline_checkpoints)
        p.inline_checkpoints->fetch_add(1, std::memory_order_relaxed);
      return SQLITE_OK;
    }
    if (frames >= p.next_request) {
      p.ckpt->request();
      p.next_request = frames + p.soft / 4;  // not at every commit while a pass is running
    }
    return SQLITE_OK;
  }
};

/// A thread that owns `Ctx` (its connections) and runs queued jobs. Writers (Ctx = connection) run whatever
/// is queued as one group transaction, then one COMMIT — one fsync for the whole group (group commit). A job
/// that may fail halfway runs in its own SAVEPOINT so that it rolls back only itself.
template <class Ctx>
class worker {
 public:
  using context_type = Ctx;

  worker(std::string name, std::unique_ptr<Ctx> ctx, std::size_t max_group, std::atomic<std::uint64_t>* commits)
      : ctx_(std::move(ctx)), commits_(commits),
        thread_(std::move(name), max_group, [this](batch& b) { run_batch(b); }) {}

  void push(std::unique_ptr<job<Ctx>> j) { thread_.push(std::move(j)); }

 private:
  using batch = typename job_thread<Ctx>::batch;

  void run_batch(batch& b) {
    if constexpr (std::is_same_v<Ctx, connection>) {
      run_group(b);
    } else {
      for (auto& j : b) {
        j->run(*ctx_);
        j->complete({});
      }
      b.clear();
    }
  }

  static void rollback(connection& c) {
    if (c.in_transaction()) sqlite3_exec(c.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }

  /// Runs `b` as one or more transactions and hands every job's outcome back; leaves `b` empty.
  void run_group(batch& b) {
    connection& c = *ctx_;
    batch done;
    done.reserve(b.size());
    std::size_t i = 0;
    while (i < b.size()) {
      const std::size_t first = i;
      error_code group_error;
      try {
        // Cached prepared statements: sqlite3_exec would parse these texts again for every group and job.
        c.prepare("BEGIN IMMEDIATE").run();
      } catch (const sqlite_error& e) {
        // No write lock (busy past busy_timeout) or no disk: everything taken fails the same way.
        for (std::size_t k = first; k < b.size(); ++k) {
          b[k]->finish(e.code());
          done.push_back(std::move(b[k]));
        }
        break;
      }
      try {
        for (; i < b.size(); ++i) {
          const bool own_savepoint = b[i]->isolation_level() == isolation::savepoint;
          if (own_savepoint) c.prepare("SAVEPOINT op").run();
          bool ok = b[i]->run(c);
          if (!c.in_transaction()) {
            // SQLite rolled the whole transaction back (disk full, I/O error): every job of the group failed
            // with this job's error; the jobs after it run in a new transaction.
            group_error = b[i]->error();
            if (!group_error) group_error = omnisync::make_error_code(omnisync::errc::fail);
            ++i;
            break;
          }
          if (!own_savepoint) continue;  // a failed single statement has already undone itself
          if (ok)
            c.prepare("RELEASE op").run();
          else
            c.exec("ROLLBACK TO op; RELEASE op");
        }
        // Results are handed back only after this COMMIT returned: an acknowledged write is durable as far
        // as `synchronous` promises.
        if (!group_error) {
          c.prepare("COMMIT").run();
          if (commits_) commits_->fetch_add(1, std::memory_order_relaxed);
        }
      } catch (const sqlite_error& e) {
        rollback(c);
        group_error = e.code();
        if (i < b.size()) ++i;  // the job that was running when the transaction failed fails with the group
      }
      for (std::size_t k = first; k < i; ++k) {
        b[k]->finish(group_error);
        done.push_back(std::move(b[k]));
      }
    }
    b.clear();
    deliver(done);
  }

  std::unique_ptr<Ctx> ctx_;
  std::atomic<std::uint64_t>* commits_;
  job_thread<Ctx> thread_;  // last: its thread runs run_batch, which uses the members above
};

/// A read transaction on a reader connection, so multi-statement reads see one snapshot.
class read_tx {
 public:
  explicit read_tx(connection& c) : c_(c) { c_.exec("BEGIN"); }
  ~read_tx() {
    if (c_.in_transaction()) sqlite3_exec(c_.raw(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  read_tx(const read_tx&) = delete;
  read_tx& operator=(const read_tx&) = delete;

 private:
  connection& c_;
};

void require(bool ok, const char* what) {
  if (!ok) raise(omnisync::errc::invalid_input, what);
}

std::uint64_t file_bytes(const std::filesystem::path& db) {
  std::uint64_t total = 0;
  for (const auto& p : {db, std::filesystem::path(db.string() + "-wal")}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(p, ec);
    if (!ec) total += n;
  }
  return total;
}

// ---- the store ---------------------------------------------------------------------------------------------

/// SQLite store: see sqlite_store.hpp. Thread-safe; all database work happens on its three threads.
class sqlite_store final : public store {
 public:
  sqlite_store(const options& opts, std::unique_ptr<connection> state, std::unique_ptr<connection> inbox,
               std::unique_ptr<connection> inbox_checkpoint, std::unique_ptr<reader_ctx> reader, int state_version,
               int inbox_version)
      : clock_(opts.clock),
        state_file_(state->file()),
        inbox_file_(inbox->file()),
        state_version_(state_version),
        inbox_version_(inbox_version),
        inbox_checkpointer_("store-ckpt", std::move(inbox_checkpoint), &inbox_checkpoints_),
        inbox_wal_{&inbox_checkpointer_},
        state_writer_("store-state", std::move(state), opts.max_group, &state_commits_),
        inbox_writer_("store-inbox", with_wal_policy(std::move(inbox), inbox_wal_), opts.max_group,
                      &inbox_commits_),
        reader_("store-read", std::move(reader), 1, nullptr) {}

  std::string_view kind() const noexcept override { return "sqlite"; }
  int schema_version() const noexcept override { return state_version_; }
  int inbox_schema_version() const noexcept override { return inbox_version_; }
  commit_stats stats() const noexcept override {
    return {state_commits_.load(), inbox_commits_.load(), inbox_appends_.load(), inbox_checkpoints_.load(),
            inbox_commit_checkpoints_.load()};
  }

  // ---- meta --------------------------------------------------------------------------------------------------

  task<std::optional<std::string>> meta_get(std::string key) override {
    return submit<std::optional<std::string>>(reader_, [key](reader_ctx& r) -> result<std::optional<std::string>> {
      auto q = r.state.prepare("SELECT value FROM meta WHERE key = ?1");
      q.text(1, key);
      if (!q.step()) return std::optional<std::string>();
      return std::optional<std::string>(q.col_text(0));
    });
  }

  task<void> meta_set(std::string key, std::string value) override {
    return submit<void>(state_writer_, [key, value](connection& c) -> result<void> {
      require(!key.empty(), "meta key is empty");
      c.prepare("INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
          .text(1, key)
          .text(2, value)
          .run();
      return {};
    });
  }

  // ---- cursors and records -----------------------------------------------------------------------------------

  task<std::optional<std::string>> cursor_get(std::string connector, std::string object) override {
    return submit<std::optional<std::string>>(
        reader_, [connector, object](reader_ctx& r) -> result<std::optional<std::string>> {
          auto q = r.state.prepare("SELECT value FROM cursors WHERE connector = ?1 AND object = ?2");
          q.text(1, connector).text(2, object);
          if (!q.step()) return std::optional<std::string>();
          return std::optional<std::string>(q.col_text(0));
        });
  }

  task<void> cursor_set(std::string connector, std::string object, std::string value,
                        std::optional<fence> lease) override {
    return submit<void>(state_writer_, [this, connector, object, value, lease](connection& c) -> result<void> {
      require(!connector.empty() && !object.empty(), "cursor needs a connector and an object");
      auto t = now();
      check_fence(c, lease, t);
      write_cursor(c, connector, object, value, t);
      return {};
    });
  }

  task<std::vector<cursor_entry>> cursor_list() override {
    return submit<std::vector<cursor_entry>>(reader_, [](reader_ctx& r) -> result<std::vector<cursor_entry>> {
      std::vector<cursor_entry> out;
      auto q = r.state.prepare("SELECT connector, object, value, updated_at FROM cursors ORDER BY connector, object");
      while (q.step()) out.push_back({q.col_text(0), q.col_text(1), q.col_text(2), from_ms(q.col_i64(3))});
      return out;
    });
  }

  task<append_summary> append_records(record_batch batch) override {
    return submit<append_summary>(state_writer_,
                                  [this, batch = std::move(batch)](connection& c) -> result<append_summary> {
      require(!batch.connector.empty() && !batch.object.empty(), "records need a connector and an object");
      auto t = now();
      check_fence(c, batch.lease, t);
      append_summary sum;
      for (const auto& rec : batch.records) {
        require(!rec.id.empty(), "record without an id");
        c.prepare(
             "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at, first_seen) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
             "ON CONFLICT(connector, object, id) DO UPDATE SET payload = excluded.payload, "
             "source_ts = excluded.source_ts, deleted = excluded.deleted, stored_at = excluded.stored_at "
             "WHERE excluded.source_ts >= records.source_ts")
            .text(1, batch.connector)
            .text(2, batch.object)
            .text(3, rec.id)
            .text(4, rec.payload)
            .i64(5, ms(rec.source_updated_at))
            .i64(6, rec.deleted ? 1 : 0)
            .i64(7, ms(t))
            .i64(8, rec.first_seen == timestamp{} ? ms(t) : ms(rec.first_seen))
            .run();
        if (c.changes() > 0)
          ++sum.written;
        else
          ++sum.stale;
      }
      if (batch.new_cursor) write_cursor(c, batch.connector, batch.object, *batch.new_cursor, t);
      return sum;
    });
  }

  task<std::optional<stored_record>> record_get(std::string connector, std::string object,
                                                std::string id) override {
    return submit<std::optional<stored_record>>(
        reader_, [connector, object, id](reader_ctx& r) -> result<std::optional<stored_record>> {
          auto q = r.state.prepare(
              "SELECT payload, source_ts, deleted, stored_at, first_seen FROM records "
              "WHERE connector = ?1 AND object = ?2 AND id = ?3");
          q.text(1, connector).text(2, object).text(3, id);
          if (!q.step()) return std::optional<stored_record>();
          return std::optional<stored_record>(stored_record{connector, object, id, q.col_text(0),
                                                            from_ms(q.col_i64(1)), q.col_i64(2) != 0,
                                                            from_ms(q.col_i64(3)), from_ms(q.col_i64(4))});
        });
  }

  task<std::vector<stored_record>> record_scan(std::string connector, std::string object, std::string after_id,
                                               std::size_t limit) override {
    return submit<std::vector<stored_record>>(
        reader_, [connector, object, after_id, limit](reader_ctx& r) -> result<std::vector<stored_record>> {
          std::vector<stored_record> out;
          auto q = r.state.prepare(
              "SELECT id, payload, source_ts, deleted, stored_at, first_seen FROM records "
              "WHERE connector = ?1 AND object = ?2 AND id > ?3 ORDER BY id LIMIT ?4");
          q.text(1, connector).text(2, object).text(3, after_id).i64(4, static_cast<std::int64_t>(
                                                                           std::clamp<std::size_t>(limit, 1, 100000)));
          while (q.step())
            out.push_back(stored_record{connector, object, q.col_text(0), q.col_text(1), from_ms(q.col_i64(2)),
                                        q.col_i64(3) != 0, from_ms(q.col_i64(4)), from_ms(q.col_i64(5))});
          return out;
        });
  }

  // ---- inbox -------------------------------------------------------------------------------------------------

  task<append_outcome> inbox_append(inbox_event ev) override {
    return submit<append_outcome>(inbox_writer_, [this, ev = std::move(ev)](connection& c) -> result<append_outcome> {
      require(!ev.connector.empty() && !ev.dedupe_key.empty(), "inbox event needs a connector and a dedupe key");
      inbox_appends_.fetch_add(1, std::memory_order_relaxed);
      // Bound without copies: `ev` outlives the statement handle.
      c.prepare(
           "INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
           "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(connector, dedupe_key) DO NOTHING")
          .text_ref(1, ev.connector)
          .text_ref(2, ev.dedupe_key)
          .i64(3, ms(ev.received_at))
          .text_ref(4, ev.meta)
          .blob_ref(5, ev.body)
          .i64(6, ms(now()))
          .run();
      return c.changes() > 0 ? append_outcome::inserted : append_outcome::duplicate;
    }, isolation::single_statement);
  }

  task<std::vector<inbox_item>> inbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                            std::optional<std::string> connector) override {
    return submit<std::vector<inbox_item>>(
        inbox_writer_, [this, n, lease, connector](connection& c) -> result<std::vector<inbox_item>> {
          require(lease.count() > 0, "claim lease must be positive");
          auto t = ms(now());
          std::vector<inbox_item> out;
          {
            auto q = c.prepare(
                "SELECT id, connector, dedupe_key, received_at, meta, body, attempts, last_error FROM inbox "
                "WHERE state < 2 AND available_at <= ?1 AND (?2 IS NULL OR connector = ?2) "
                "ORDER BY available_at, id LIMIT ?3");
            q.i64(1, t).opt_text(2, connector).i64(3, static_cast<std::int64_t>(n));
            while (q.step()) {
              inbox_item it;
              it.id = q.col_i64(0);
              it.event = {q.col_text(1), q.col_text(2), from_ms(q.col_i64(3)), q.col_text(4), q.col_text(5)};
              it.attempts = static_cast<int>(q.col_i64(6)) + 1;
              it.last_error = q.col_text(7);
              out.push_back(std::move(it));
            }
          }
          for (const auto& it : out)
            c.prepare("UPDATE inbox SET state = 1, available_at = ?2, attempts = attempts + 1 WHERE id = ?1")
                .i64(1, it.id)
                .i64(2, t + lease.count())
                .run();
          return out;
        });
  }

  task<void> inbox_ack(std::vector<std::int64_t> ids) override {
    return submit<void>(inbox_writer_, [ids = std::move(ids)](connection& c) -> result<void> {
      for (auto id : ids)
        c.prepare("UPDATE inbox SET state = 2, body = x'', meta = '', last_error = '' WHERE id = ?1 AND state < 2")
            .i64(1, id)
            .run();
      return {};
    });
  }

  task<void> inbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) override {
    return submit<void>(inbox_writer_, [ids = std::move(ids), error, retry_at](connection& c) -> result<void> {
      for (auto id : ids)
        c.prepare("UPDATE inbox SET state = 0, available_at = ?2, last_error = ?3 WHERE id = ?1 AND state < 2")
            .i64(1, id)
            .i64(2, ms(retry_at))
            .text(3, error)
            .run();
      return {};
    });
  }

  task<std::int64_t> inbox_prune(timestamp before) override {
    return submit<std::int64_t>(inbox_writer_, [before](connection& c) -> result<std::int64_t> {
      c.prepare("DELETE FROM inbox WHERE state = 2 AND received_at < ?1").i64(1, ms(before)).run();
      return c.changes();
    });
  }

  // ---- outbox ------------------------------------------------------------------------------------------------

  task<enqueue_summary> outbox_enqueue(std::vector<outbox_write> writes, std::optional<fence> lease) override {
    return submit<enqueue_summary>(state_writer_, [this, writes = std::move(writes),
                                                   lease](connection& c) -> result<enqueue_summary> {
      auto t = now();
      check_fence(c, lease, t);
      enqueue_summary sum;
      for (const auto& w : writes) {
        if (same_as_last(c, w)) {
          ++sum.unchanged;
          continue;
        }
        if (enqueue_one(c, w, t))
          ++sum.inserted;
        else
          ++sum.coalesced;
      }
      return sum;
    });
  }

  task<std::vector<outbox_item>> outbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                              std::optional<std::string> connector) override {
    return submit<std::vector<outbox_item>>(
        state_writer_, [this, n, lease, connector](connection& c) -> result<std::vector<outbox_item>> {
          require(lease.count() > 0, "claim lease must be positive");
          auto t = ms(now());
          // An expired claim superseded by a newer pending write for the same record is obsolete.
          c.prepare(
               "DELETE FROM outbox WHERE state = 1 AND next_attempt_at <= ?1 AND EXISTS ("
               "SELECT 1 FROM outbox p WHERE p.state = 0 AND p.connector = outbox.connector "
               "AND p.object = outbox.object AND p.record_key = outbox.record_key)")
              .i64(1, t)
              .run();
          std::vector<outbox_item> out;
          {
            auto q = c.prepare(
                "SELECT o.id, o.connector, o.object, o.record_key, o.payload, o.attempts, o.next_attempt_at, "
                "o.last_error, o.target_id FROM outbox o "
                "WHERE o.next_attempt_at <= ?1 AND (?2 IS NULL OR o.connector = ?2) AND NOT EXISTS ("
                "SELECT 1 FROM outbox b WHERE b.state = 1 AND b.next_attempt_at > ?1 AND b.connector = o.connector "
                "AND b.object = o.object AND b.record_key = o.record_key) "
                "ORDER BY o.next_attempt_at, o.id LIMIT ?3");
            q.i64(1, t).opt_text(2, connector).i64(3, static_cast<std::int64_t>(n));
            while (q.step()) {
              outbox_item it;
              it.id = q.col_i64(0);
              it.write = {q.col_text(1), q.col_text(2), q.col_text(3), q.col_text(4)};
              it.attempts = static_cast<int>(q.col_i64(5)) + 1;
              it.next_attempt_at = from_ms(q.col_i64(6));
              it.last_error = q.col_text(7);
              it.write.target_id = q.col_text(8);
              out.push_back(std::move(it));
            }
          }
          for (const auto& it : out)
            c.prepare("UPDATE outbox SET state = 1, next_attempt_at = ?2, attempts = attempts + 1 WHERE id = ?1")
                .i64(1, it.id)
                .i64(2, t + lease.count())
                .run();
          return out;
        });
  }

  task<std::int64_t> release_claims() override {
    auto t = ms(now());
    auto outbox = co_await submit<std::int64_t>(state_writer_, [t](connection& c) -> result<std::int64_t> {
      // A claimed write with a newer pending one for the same record is obsolete; the others are due again.
      c.prepare(
           "DELETE FROM outbox WHERE state = 1 AND EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 AND "
           "p.connector = outbox.connector AND p.object = outbox.object AND p.record_key = outbox.record_key)")
          .run();
      c.prepare("UPDATE outbox SET state = 0, next_attempt_at = ?1 WHERE state = 1").i64(1, t).run();
      return static_cast<std::int64_t>(c.changes());
    });
    if (!outbox) co_return outbox.error();
    auto inbox = co_await submit<std::int64_t>(inbox_writer_, [t](connection& c) -> result<std::int64_t> {
      c.prepare("UPDATE inbox SET state = 0, available_at = ?1 WHERE state = 1").i64(1, t).run();
      return static_cast<std::int64_t>(c.changes());
    });
    if (!inbox) co_return inbox.error();
    co_return *outbox + *inbox;
  }

  task<std::vector<std::optional<std::string>>> outbox_last_written(std::vector<outbox_write> writes) override {
    using out_t = std::vector<std::optional<std::string>>;
    return submit<out_t>(state_writer_, [writes = std::move(writes)](connection& c) -> result<out_t> {
      out_t out;
      out.reserve(writes.size());
      for (const auto& w : writes) {
        auto q = c.prepare("SELECT payload FROM outbox_last WHERE connector = ?1 AND object = ?2 AND record_key = ?3");
        q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
        if (q.step())
          out.emplace_back(q.col_text(0));
        else
          out.emplace_back(std::nullopt);
      }
      return out;
    });
  }

  task<void> outbox_ack(std::vector<std::int64_t> ids) override {
    return submit<void>(state_writer_, [this, ids = std::move(ids)](connection& c) -> result<void> {
      const auto t = ms(now());
      for (auto id : ids) {
        std::optional<std::string> payload;
        {
          auto q = c.prepare("SELECT payload FROM outbox WHERE id = ?1 AND state = 1");
          q.i64(1, id);
          if (q.step()) payload = q.col_text(0);
        }
        if (!payload) continue;
        c.prepare(
             "INSERT INTO outbox_last(connector, object, record_key, payload_hash, payload, written_at) "
             "SELECT connector, object, record_key, ?2, ?4, ?3 FROM outbox WHERE id = ?1 "
             "ON CONFLICT(connector, object, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, "
             "payload = excluded.payload, written_at = excluded.written_at")
            .i64(1, id)
            .i64(2, payload_hash(*payload))
            .i64(3, t)
            .text(4, *payload)
            .run();
        c.prepare("DELETE FROM outbox WHERE id = ?1 AND state = 1").i64(1, id).run();
      }
      return {};
    });
  }

  task<void> outbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) override {
    return submit<void>(state_writer_, [ids = std::move(ids), error, retry_at](connection& c) -> result<void> {
      for (auto id : ids) {
        bool superseded = false;
        {
          auto q = c.prepare(
              "SELECT EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 AND p.id <> o.id "
              "AND p.connector = o.connector AND p.object = o.object AND p.record_key = o.record_key) "
              "FROM outbox o WHERE o.id = ?1 AND o.state = 1");
          q.i64(1, id);
          if (!q.step()) continue;  // acknowledged, dropped, or never claimed
          superseded = q.col_i64(0) != 0;
        }
        if (superseded)
          c.prepare("DELETE FROM outbox WHERE id = ?1").i64(1, id).run();
        else
          c.prepare("UPDATE outbox SET state = 0, next_attempt_at = ?2, last_error = ?3 WHERE id = ?1")
              .i64(1, id)
              .i64(2, ms(retry_at))
              .text(3, error)
              .run();
      }
      return {};
    });
  }

  // ---- dead letters ------------------------------------------------------------------------------------------

  task<std::int64_t> dead_letter_add(dead_letter_entry e) override {
    return submit<std::int64_t>(state_writer_, [this, e = std::move(e)](connection& c) -> result<std::int64_t> {
      require(!e.stage.empty(), "dead letter needs a stage");
      auto q = c.prepare(
          "INSERT INTO dead_letters(target, connector, object, record_id, event_id, stage, reason, payload, meta, "
          "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id");
      q.i64(1, static_cast<std::int64_t>(e.target))
          .text(2, e.connector)
          .text(3, e.object)
          .text(4, e.record_id)
          .text(5, e.event_id)
          .text(6, e.stage)
          .text(7, e.reason)
          .blob(8, e.payload)
          .text(9, e.meta)
          .i64(10, ms(now()));
      if (!q.step()) raise(omnisync::errc::fail, "dead letter insert returned no id");
      auto id = q.col_i64(0);
      q.run();
      return id;
    });
  }

  task<dead_letter_page> dead_letter_list(dead_letter_filter f) override {
    return submit<dead_letter_page>(reader_, [f = std::move(f)](reader_ctx& r) -> result<dead_letter_page> {
      const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
      dead_letter_page page;
      auto q = r.state.prepare(
          "SELECT id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at "
          "FROM dead_letters WHERE id > ?1 AND (?2 IS NULL OR connector = ?2) AND (?3 IS NULL OR stage = ?3) "
          "ORDER BY id LIMIT ?4");
      q.i64(1, f.after_id).opt_text(2, f.connector).opt_text(3, f.stage).i64(4, static_cast<std::int64_t>(limit + 1));
      while (q.step()) {
        if (page.items.size() == limit) {
          page.next_after_id = page.items.back().id;
          break;
        }
        page.items.push_back(read_dead_letter(q));
      }
      return page;
    });
  }

  task<dead_letter> dead_letter_get(std::int64_t id) override {
    return submit<dead_letter>(reader_, [id](reader_ctx& r) -> result<dead_letter> {
      auto q = r.state.prepare(
          "SELECT id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at "
          "FROM dead_letters WHERE id = ?1");
      q.i64(1, id);
      if (!q.step()) return omnisync::errc::not_found;
      return read_dead_letter(q);
    });
  }

  task<void> dead_letter_retry(std::int64_t id) override {
    auto got = co_await dead_letter_get(id);
    if (!got) co_return got.error();
    const dead_letter dl = std::move(*got);
    switch (dl.entry.target) {
      case retry_target::none: co_return omnisync::errc::invalid_input;
      case retry_target::outbox: {
        // Both tables live in state.db: re-enqueue and remove in one transaction.
        // Named, not a temporary inside the co_await expression (GCC 12 bug, see README).
        auto op = submit<void>(state_writer_, [this, dl](connection& c) -> result<void> {
          c.prepare("DELETE FROM dead_letters WHERE id = ?1").i64(1, dl.id).run();
          if (c.changes() == 0) return omnisync::errc::not_found;
          outbox_write w(dl.entry.connector, dl.entry.object, dl.entry.record_id, dl.entry.payload);
          w.target_id = target_id_of(dl.entry.meta);
          enqueue_one(c, w, now(), true);
          return {};
        });
        co_return co_await std::move(op);
      }
      case retry_target::inbox: {
        // Two files: put the event back first, then remove the entry. A crash in between leaves both, and a
        // second retry only re-queues the same event again (processing is idempotent).
        auto requeue = submit<void>(inbox_writer_, [this, dl](connection& c) -> result<void> {
          const std::string key = dl.entry.event_id.empty() ? "dlq:" + std::to_string(dl.id) : dl.entry.event_id;
          auto t = ms(now());
          c.prepare(
               "INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?3) ON CONFLICT(connector, dedupe_key) DO UPDATE SET "
               "state = 0, meta = excluded.meta, body = excluded.body, available_at = excluded.available_at, "
               "attempts = 0, last_error = ''")
              .text(1, dl.entry.connector)
              .text(2, key)
              .i64(3, t)
              .text(4, dl.entry.meta)
              .blob(5, dl.entry.payload)
              .run();
          return {};
        });
        auto back = co_await std::move(requeue);
        if (!back) co_return back.error();
        co_return co_await dead_letter_drop(dl.id);
      }
    }
    co_return omnisync::errc::invalid_input;
  }

  task<void> dead_letter_drop(std::int64_t id) override {
    return submit<void>(state_writer_, [id](connection& c) -> result<void> {
      c.prepare("DELETE FROM dead_letters WHERE id = ?1").i64(1, id).run();
      if (c.changes() == 0) return omnisync::errc::not_found;
      return {};
    });
  }

  // ---- leases ------------------------------------------------------------------------------------------------

  task<lease_grant> lease(std::string key, std::string owner, std::chrono::milliseconds ttl) override {
    return submit<lease_grant>(state_writer_, [this, key, owner, ttl](connection& c) -> result<lease_grant> {
      require(!key.empty() && !owner.empty(), "lease needs a key and an owner");
      require(ttl.count() > 0, "lease ttl must be positive");
      const auto t = ms(now());
      const auto expires = t + ttl.count();
      std::optional<std::tuple<std::string, std::int64_t, std::int64_t>> held;
      {
        auto q = c.prepare("SELECT owner, token, expires_at FROM leases WHERE key = ?1");
        q.text(1, key);
        if (q.step()) held.emplace(q.col_text(0), q.col_i64(1), q.col_i64(2));
      }
      std::int64_t token = 1;
      if (held) {
        const auto& [holder, old_token, old_expiry] = *held;
        if (holder != owner && old_expiry > t) return omnisync::errc::conflict;
        // Renewal keeps the token; a change of owner increments it so the old owner's writes are refused.
        token = holder == owner ? old_token : old_token + 1;
      }
      c.prepare(
           "INSERT INTO leases(key, owner, token, expires_at) VALUES(?1, ?2, ?3, ?4) "
           "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, token = excluded.token, "
           "expires_at = excluded.expires_at")
          .text(1, key)
          .text(2, owner)
          .i64(3, token)
          .i64(4, expires)
          .run();
      return lease_grant{token, from_ms(expires)};
    });
  }

  task<void> lease_release(std::string key, std::string owner) override {
    return submit<void>(state_writer_, [this, key, owner](connection& c) -> result<void> {
      c.prepare("UPDATE leases SET expires_at = ?3 WHERE key = ?1 AND owner = ?2 AND expires_at > ?3")
          .text(1, key)
          .text(2, owner)
          .i64(3, ms(now()))
          .run();
      return {};
    });
  }

  task<std::vector<lease_info>> lease_list() override {
    return submit<std::vector<lease_info>>(reader_, [](reader_ctx& r) -> result<std::vector<lease_info>> {
      std::vector<lease_info> out;
      auto q = r.state.prepare("SELECT key, owner, token, expires_at FROM leases ORDER BY key");
      while (q.step()) out.push_back({q.col_text(0), q.col_text(1), q.col_i64(2), from_ms(q.col_i64(3))});
      return out;
    });
  }

  // ---- status ------------------------------------------------------------------------------------------------

  task<counts> get_counts() override {
    return submit<counts>(reader_, [this](reader_ctx& r) -> result<counts> {
      counts out;
      {
        read_tx tx(r.state);
        {
          auto q = r.state.prepare("SELECT connector, count(*) FROM outbox GROUP BY connector ORDER BY connector");
          while (q.step()) {
            out.outbox_depth_per_connector[q.col_text(0)] = q.col_i64(1);
            out.outbox_depth += q.col_i64(1);
          }
        }
        {
          auto q = r.state.prepare("SELECT count(*) FROM dead_letters");
          if (q.step()) out.dead_letters = q.col_i64(0);
        }
        auto q = r.state.prepare("SELECT connector, sum(n) FROM record_counts GROUP BY connector ORDER BY connector");
        while (q.step()) out.records_per_connector[q.col_text(0)] = q.col_i64(1);
      }
      {
        auto q = r.inbox.prepare(
            "SELECT connector, count(*) FROM inbox WHERE state < 2 GROUP BY connector ORDER BY connector");
        while (q.step()) {
          out.inbox_depth_per_connector[q.col_text(0)] = q.col_i64(1);
          out.inbox_depth += q.col_i64(1);
        }
      }
      out.state_db_bytes = file_bytes(state_file_);
      out.inbox_db_bytes = file_bytes(inbox_file_);
      return out;
    });
  }

  task<std::string> integrity_check() override {
    return submit<std::string>(reader_, [](reader_ctx& r) -> result<std::string> {
      auto check = [](connection& c) {
        std::string problems;
        auto q = c.prepare("PRAGMA integrity_check");
        while (q.step()) {
          auto line = q.col_text(0);
          if (line == "ok") continue;
          problems += (problems.empty() ? "" : "; ") + line;
        }
        return problems;
      };
      std::string report;
      for (auto* c : {&r.state, &r.inbox}) {
        auto p = check(*c);
        if (!p.empty()) report += c->file().filename().string() + ": " + p + "\n";
      }
      return report.empty() ? std::string("ok") : report;
    });
  }

 private:
  /// Installs `p` as the commit hook of the inbox writer connection (replacing SQLite's automatic checkpoint).
  std::unique_ptr<connection> with_wal_policy(std::unique_ptr<connection> c, wal_policy& p) {
    p.inline_checkpoints = &inbox_commit_checkpoints_;
    sqlite3_wal_hook(c->raw(), &wal_policy::on_commit, &p);
    return c;
  }

  timestamp now() const {
    if (clock_) return clock_();
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }

  /// Runs inside the writer's transaction: the write that follows is refused unless `f` is still the lease.
  static void check_fence(connection& c, const std::optional<fence>& f, timestamp t) {
    if (!f) return;
    auto q = c.prepare("SELECT token, expires_at FROM leases WHERE key = ?1");
    q.text(1, f->key);
    if (!q.step()) raise(omnisync::errc::conflict, "lease " + f->key + " is not held");
    if (q.col_i64(0) != f->token) raise(omnisync::errc::conflict, "lease " + f->key + ": fencing token is stale");
    if (q.col_i64(1) <= ms(t)) raise(omnisync::errc::conflict, "lease " + f->key + " has expired");
  }

  static void write_cursor(connection& c, const std::string& connector, const std::string& object,
                           const std::string& value, timestamp t) {
    c.prepare(
         "INSERT INTO cursors(connector, object, value, updated_at) VALUES(?1, ?2, ?3, ?4) "
         "ON CONFLICT(connector, object) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
        .text(1, connector)
        .text(2, object)
        .text(3, value)
        .i64(4, ms(t))
        .run();
  }

  /// The payload equals the pending write's, or (none pending) the last one written — or, for a forced write,
  /// the one in flight.
  static bool same_as_last(connection& c, const outbox_write& w) {
    {
      auto q = c.prepare(
          "SELECT payload FROM outbox WHERE connector = ?1 AND object = ?2 AND record_key = ?3 AND state = 0");
      q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
      if (q.step()) return q.col_text(0) == w.payload;
    }
    {
      // A claimed (in-flight) write with another payload: this one must follow it.
      auto q = c.prepare(
          "SELECT payload FROM outbox WHERE connector = ?1 AND object = ?2 AND record_key = ?3 AND state = 1");
      q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
      bool in_flight = false;
      while (q.step()) {
        if (q.col_text(0) != w.payload) return false;
        in_flight = true;
      }
      if (w.force) return in_flight;
    }
    auto q = c.prepare("SELECT payload_hash FROM outbox_last WHERE connector = ?1 AND object = ?2 AND record_key = ?3");
    q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
    return q.step() && q.col_i64(0) == payload_hash(w.payload);
  }

  /// Inserts a pending write, or replaces the payload of the pending write for the same record (returns
  /// false). With `keep_pending` an existing pending write wins (a dead letter being retried is older).
  static bool enqueue_one(connection& c, const outbox_write& w, timestamp t, bool keep_pending = false) {
    require(!w.connector.empty() && !w.object.empty() && !w.record_key.empty(),
            "outbox write needs a connector, an object and a record key");
    if (keep_pending) {
      auto q = c.prepare(
          "SELECT 1 FROM outbox WHERE connector = ?1 AND object = ?2 AND record_key = ?3 AND state = 0");
      q.text(1, w.connector).text(2, w.object).text(3, w.record_key);
      if (q.step()) return false;
    } else {
      c.prepare(
           "UPDATE outbox SET payload = ?4, target_id = ?5 "
           "WHERE connector = ?1 AND object = ?2 AND record_key = ?3 AND state = 0")
          .text(1, w.connector)
          .text(2, w.object)
          .text(3, w.record_key)
          .text(4, w.payload)
          .text(5, w.target_id)
          .run();
      if (c.changes() > 0) return false;
    }
    c.prepare(
         "INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, target_id) "
         "VALUES(?1, ?2, ?3, ?4, ?5, ?5, ?6)")
        .text(1, w.connector)
        .text(2, w.object)
        .text(3, w.record_key)
        .text(4, w.payload)
        .i64(5, ms(t))
        .text(6, w.target_id)
        .run();
    return true;
  }

  static dead_letter read_dead_letter(sqlite::query& q) {
    dead_letter d;
    d.id = q.col_i64(0);
    auto target = q.col_i64(1);
    d.entry.target = target == 1 ? retry_target::inbox : target == 2 ? retry_target::outbox : retry_target::none;
    d.entry.connector = q.col_text(2);
    d.entry.object = q.col_text(3);
    d.entry.record_id = q.col_text(4);
    d.entry.event_id = q.col_text(5);
    d.entry.stage = q.col_text(6);
    d.entry.reason = q.col_text(7);
    d.entry.payload = q.col_text(8);
    d.entry.meta = q.col_text(9);
    d.created_at = from_ms(q.col_i64(10));
    return d;
  }

  clock_fn clock_;
  std::filesystem::path state_file_, inbox_file_;
  int state_version_, inbox_version_;
  std::atomic<std::uint64_t> state_commits_{0}, inbox_commits_{0}, inbox_appends_{0};
  std::atomic<std::uint64_t> inbox_checkpoints_{0}, inbox_commit_checkpoints_{0};
  // Outlives the inbox writer, whose commit hook (inbox_wal_) calls it; its connection closes last and so
  // makes the final checkpoint.
  checkpointer inbox_checkpointer_;
  wal_policy inbox_wal_;
  // Declared last: destroyed first, so their threads finish queued work while the members above still live.
  worker<connection> state_writer_;
  worker<connection> inbox_writer_;
  worker<reader_ctx> reader_;
};

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
    logger()->error("store: {}", reason);
    return fail(omnisync::errc::fail);
  }
  const auto state_path = opts.state_dir / "state.db";
  const auto inbox_path = opts.state_dir / "inbox.db";
  try {
    auto state = std::make_unique<connection>(state_path, connection::role::writer, opts);
    auto sv = sqlite::migrate(*state, sqlite::state_migrations(), opts.migrate_to, reason);
    if (!sv) return fail(sv.error());
    auto inbox = std::make_unique<connection>(inbox_path, connection::role::writer, opts);
    auto iv = sqlite::migrate(*inbox, sqlite::inbox_migrations(), opts.migrate_to, reason);
    if (!iv) return fail(iv.error());
    auto inbox_checkpoint = std::make_unique<connection>(inbox_path, connection::role::checkpointer, opts);
    std::unique_ptr<reader_ctx> reader(new reader_ctx{connection(state_path, connection::role::reader, opts),
                                                      connection(inbox_path, connection::role::reader, opts)});
    return std::unique_ptr<store>(std::make_unique<sqlite_store>(opts, std::move(state), std::move(inbox),
                                                                 std::move(inbox_checkpoint), std::move(reader),
                                                                 *sv, *iv));
  } catch (const sqlite_error& e) {
    reason = e.what();
    return fail(e.code());
  }
}

}  // namespace omnisync::store
