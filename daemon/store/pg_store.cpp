#include "daemon/store/pg_store.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "daemon/store/job.hpp"
#include "daemon/store/pg_conn.hpp"
#include "daemon/store/rows.hpp"

namespace omnisync::store {
namespace {

using detail::deliver;
using detail::from_ms;
using detail::ms;
using detail::payload_hash;
using detail::target_id_of;
using detail::isolation;
using detail::job;
using detail::job_thread;
using detail::store_logger;
using detail::submit;
using error_code = boost::system::error_code;
using pg::bytea;
using pg::connection;
using pg::pg_error;
using pg::raise;


void require(bool ok, const char* what) {
  if (!ok) raise(omnisync::errc::invalid_input, what);
}

/// `{1,2,3}`: a bigint[] parameter (bound, not spliced into the SQL).
std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

// ---- workers -----------------------------------------------------------------------------------------------

/// A thread that owns one connection and runs queued jobs.
///
/// `group` (the writers): whatever is queued (up to max_group) runs as ONE transaction and one COMMIT — the
/// group commit, as in the SQLite store. A job that may fail halfway runs in its own SAVEPOINT. A job without
/// one (`single_statement`, the inbox append) that fails in SQL aborts PostgreSQL's whole transaction (unlike
/// SQLite, which undoes the statement alone): that job gets its error and the jobs before it run again in a
/// new transaction (their effects were rolled back with it; re-running them is what makes that invisible).
///
/// `single` (the reader): each job runs alone in autocommit; a job that opens a transaction has it rolled back.
///
/// A lost connection (server restart, network) fails the jobs of the transaction it was in with errc::retry;
/// before its next job the worker reconnects (and if that fails, those jobs fail with retry too).
class pg_worker {
 public:
  using context_type = connection;
  enum class mode { group, single };

  pg_worker(std::string name, std::unique_ptr<connection> c, mode m, std::size_t max_group,
            std::atomic<std::uint64_t>* commits)
      : name_(name), c_(std::move(c)), mode_(m), commits_(commits),
        thread_(std::move(name), max_group, [this](batch& b) {
          if (mode_ == mode::group)
            run_group(b);
          else
            run_single(b);
        }) {}

  void push(std::unique_ptr<job<connection>> j) { thread_.push(std::move(j)); }

 private:
  using batch = job_thread<connection>::batch;

  /// Reconnects a broken connection; false (and `ec` set) when the server is still unreachable. While it is,
  /// a new attempt is made at most every `reconnect_pause`: operations in between fail at once with retry
  /// instead of each waiting for a refused (or timing out) connection. The first failure of an outage is
  /// logged as a warning, the recovery once.
  bool ensure_connected(error_code& ec) {
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

  static constexpr std::chrono::milliseconds reconnect_pause{200};

  void run_single(batch& b) {
    batch done;
    for (auto& j : b) {
      error_code ec;
      if (ensure_connected(ec)) {
        j->run(*c_);
        c_->rollback_quietly();  // a read transaction the job opened (or one a failure left open)
        j->finish({});
      } else {
        j->finish(ec);
      }
      done.push_back(std::move(j));
    }
    b.clear();
    deliver(done);
  }

  /// Sorts each run of neighbouring jobs that carry an order key (the inbox appends) by that key: every
  /// instance then takes the rows' locks in the same order, so two instances storing the same events at once
  /// wait for each other instead of deadlocking. Jobs without a key keep their place.
  static void order_keyed_runs(batch& b) {
    auto keyed = [](const std::unique_ptr<job<connection>>& j) { return !j->order_key().empty(); };
    for (auto it = b.begin(); it != b.end();) {
      auto run_end = std::find_if_not(it, b.end(), keyed);
      if (run_end - it > 1)
        std::stable_sort(it, run_end, [](const auto& x, const auto& y) { return x->order_key() < y->order_key(); });
      it = run_end == b.end() ? run_end : std::find_if(run_end, b.end(), keyed);
    }
  }

  void run_group(batch& b) {
    connection& c = *c_;
    batch done;
    done.reserve(b.size());
    order_keyed_runs(b);
    // Deadlock and serialization victims among the single-statement jobs run again (their whole transaction
    // was aborted); a few times at most, then they fail with retry like any other.
    std::unordered_map<const job<connection>*, int> reruns;
    constexpr int max_reruns = 3;
    std::size_t i = 0;
    while (i < b.size()) {
      error_code connect_error;
      if (!ensure_connected(connect_error)) {
        for (std::size_t k = i; k < b.size(); ++k) {
          b[k]->finish(connect_error);
          done.push_back(std::move(b[k]));
        }
        break;
      }
      const std::size_t first = i;
      error_code group_error;
      bool restart = false;
      try {
        c.script("BEGIN");
        for (; i < b.size(); ++i) {
          const bool own_savepoint = b[i]->isolation_level() == isolation::savepoint;
          if (own_savepoint) c.script("SAVEPOINT op");
          const bool ok = b[i]->run(c);
          if (c.broken()) {
            // The transaction died with the connection: every job of it fails (retry).
            group_error = b[i]->error();
            if (!group_error) group_error = omnisync::make_error_code(omnisync::errc::retry);
            ++i;
            break;
          }
          if (ok) {
            if (own_savepoint) c.script("RELEASE SAVEPOINT op");
            continue;
          }
          if (own_savepoint) {
            c.script("ROLLBACK TO SAVEPOINT op; RELEASE SAVEPOINT op");
            continue;
          }
          if (!c.transaction_failed()) continue;  // refused before any SQL ran (validation)
          c.rollback_quietly();
          const bool transient = c.last_sqlstate() == "40P01" || c.last_sqlstate() == "40001";
          if (!transient || ++reruns[b[i].get()] > max_reruns) {
            b[i]->finish({});
            done.push_back(std::move(b[i]));
            b.erase(b.begin() + static_cast<std::ptrdiff_t>(i));
          }
          i = first;
          restart = true;
          break;
        }
        if (restart) continue;
        // Results are handed back only after this COMMIT returned: an acknowledged write is durable as far as
        // the server's synchronous_commit promises.
        if (!group_error) {
          c.script("COMMIT");
          if (commits_) commits_->fetch_add(1, std::memory_order_relaxed);
        } else {
          c.rollback_quietly();
        }
      } catch (const pg_error& e) {
        c.rollback_quietly();
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

  std::string name_;
  std::unique_ptr<connection> c_;
  int failed_attempts_ = 0;                               // reconnects failed in a row (this outage)
  std::chrono::steady_clock::time_point last_attempt_{};
  mode mode_;
  std::atomic<std::uint64_t>* commits_;
  job_thread<connection> thread_;  // last: its thread runs the batches, which use the members above
};

// ---- the store ---------------------------------------------------------------------------------------------

/// PostgreSQL store: see pg_store.hpp. Three connections, each on its own thread: the state writer (records,
/// cursors, outbox, dead letters, leases, meta), the inbox writer (so that a webhook's commit never queues
/// behind a large poll transaction, as with SQLite's separate inbox.db) and the reader.
class pg_store final : public store {
 public:
  pg_store(const options& opts, std::unique_ptr<connection> state, std::unique_ptr<connection> inbox,
           std::unique_ptr<connection> reader, int state_version, int inbox_version)
      : clock_(opts.clock),
        state_version_(state_version),
        inbox_version_(inbox_version),
        state_writer_("store-state", std::move(state), pg_worker::mode::group, opts.max_group, &state_commits_),
        inbox_writer_("store-inbox", std::move(inbox), pg_worker::mode::group, opts.max_group, &inbox_commits_),
        reader_("store-read", std::move(reader), pg_worker::mode::single, 1, nullptr) {}

  std::string_view kind() const noexcept override { return "postgres"; }
  int schema_version() const noexcept override { return state_version_; }
  int inbox_schema_version() const noexcept override { return inbox_version_; }
  commit_stats stats() const noexcept override {
    return {state_commits_.load(), inbox_commits_.load(), inbox_appends_.load(), 0, 0};
  }

  // ---- meta --------------------------------------------------------------------------------------------------

  task<std::optional<std::string>> meta_get(std::string key) override {
    return submit<std::optional<std::string>>(reader_, [key](connection& c) -> result<std::optional<std::string>> {
      auto r = c.exec("SELECT value FROM meta WHERE key = $1", key);
      if (r.rows() == 0) return std::optional<std::string>();
      return std::optional<std::string>(r.text(0, 0));
    });
  }

  task<void> meta_set(std::string key, std::string value) override {
    return submit<void>(state_writer_, [key, value](connection& c) -> result<void> {
      require(!key.empty(), "meta key is empty");
      c.exec("INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
             key, value);
      return {};
    });
  }

  // ---- cursors and records -----------------------------------------------------------------------------------

  task<std::optional<std::string>> cursor_get(std::string connector, std::string object) override {
    return submit<std::optional<std::string>>(
        reader_, [connector, object](connection& c) -> result<std::optional<std::string>> {
          auto r = c.exec("SELECT value FROM cursors WHERE connector = $1 AND object = $2", connector, object);
          if (r.rows() == 0) return std::optional<std::string>();
          return std::optional<std::string>(r.text(0, 0));
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
    return submit<std::vector<cursor_entry>>(reader_, [](connection& c) -> result<std::vector<cursor_entry>> {
      std::vector<cursor_entry> out;
      auto r = c.exec("SELECT connector, object, value, updated_at FROM cursors ORDER BY connector, object");
      for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), from_ms(r.i64(i, 3))});
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
      for (const auto& rec : batch.records) require(!rec.id.empty(), "record without an id");
      // One upsert per record, in order (a later copy of the same id in the page meets the earlier one as
      // SQLite's would), pipelined: a page of 1,000 records costs a few round trips, not 1,000.
      auto affected = c.exec_many(
          "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at, first_seen) "
          "VALUES($1, $2, $3, $4, $5, $6, $7, $8) "
          "ON CONFLICT(connector, object, id) DO UPDATE SET payload = excluded.payload, "
          "source_ts = excluded.source_ts, deleted = excluded.deleted, stored_at = excluded.stored_at "
          "WHERE excluded.source_ts >= records.source_ts",
          batch.records.size(), [&](std::size_t i, pg::param_list& p) {
            const auto& rec = batch.records[i];
            p.add(batch.connector);
            p.add(batch.object);
            p.add(rec.id);
            p.add(rec.payload);
            p.add(ms(rec.source_updated_at));
            p.add(rec.deleted);
            p.add(ms(t));
            p.add(rec.first_seen == timestamp{} ? ms(t) : ms(rec.first_seen));
          });
      for (auto n : affected) {
        if (n > 0)
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
        reader_, [connector, object, id](connection& c) -> result<std::optional<stored_record>> {
          auto r = c.exec(
              "SELECT payload, source_ts, deleted, stored_at, first_seen FROM records "
              "WHERE connector = $1 AND object = $2 AND id = $3",
              connector, object, id);
          if (r.rows() == 0) return std::optional<stored_record>();
          return std::optional<stored_record>(stored_record{connector, object, id, r.text(0, 0),
                                                            from_ms(r.i64(0, 1)), r.boolean(0, 2),
                                                            from_ms(r.i64(0, 3)), from_ms(r.i64(0, 4))});
        });
  }

  task<std::vector<stored_record>> record_scan(std::string connector, std::string object, std::string after_id,
                                               std::size_t limit) override {
    return submit<std::vector<stored_record>>(
        reader_, [connector, object, after_id, limit](connection& c) -> result<std::vector<stored_record>> {
          std::vector<stored_record> out;
          auto r = c.exec(
              "SELECT id, payload, source_ts, deleted, stored_at, first_seen FROM records "
              "WHERE connector = $1 AND object = $2 AND id > $3 ORDER BY id LIMIT $4",
              connector, object, after_id, std::clamp<std::size_t>(limit, 1, 100000));
          for (int i = 0; i < r.rows(); ++i)
            out.push_back(stored_record{connector, object, r.text(i, 0), r.text(i, 1), from_ms(r.i64(i, 2)),
                                        r.boolean(i, 3), from_ms(r.i64(i, 4)), from_ms(r.i64(i, 5))});
          return out;
        });
  }

  // ---- inbox -------------------------------------------------------------------------------------------------

  task<append_outcome> inbox_append(inbox_event ev) override {
    std::string order_key = ev.connector + '\n' + ev.dedupe_key;
    return submit<append_outcome>(inbox_writer_, [this, ev = std::move(ev), counted = false](
                                                     connection& c) mutable -> result<append_outcome> {
      require(!ev.connector.empty() && !ev.dedupe_key.empty(), "inbox event needs a connector and a dedupe key");
      // Once per append, as SQLite counts: the job may run again after another append's failure (pg_worker).
      if (!std::exchange(counted, true)) inbox_appends_.fetch_add(1, std::memory_order_relaxed);
      auto r = c.exec(
          "INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
          "VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT(connector, dedupe_key) DO NOTHING",
          ev.connector, ev.dedupe_key, ms(ev.received_at), ev.meta, bytea{ev.body}, ms(now()));
      return r.affected() > 0 ? append_outcome::inserted : append_outcome::duplicate;
    }, isolation::single_statement, std::move(order_key));
  }

  task<std::vector<inbox_item>> inbox_claim(std::size_t n, std::chrono::milliseconds lease,
                                            std::optional<std::string> connector) override {
    return submit<std::vector<inbox_item>>(
        inbox_writer_, [this, n, lease, connector](connection& c) -> result<std::vector<inbox_item>> {
          require(lease.count() > 0, "claim lease must be positive");
          const auto t = ms(now());
          // SKIP LOCKED: instances claiming at once take different events instead of waiting for each other;
          // a row another claimer has just taken fails the re-check (its available_at moved) and is skipped.
          auto r = c.exec(
              "WITH due AS (SELECT id, available_at FROM inbox "
              "WHERE state < 2 AND available_at <= $1 AND ($2::text IS NULL OR connector = $2) "
              "ORDER BY available_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) "
              "UPDATE inbox i SET state = 1, available_at = $4, attempts = i.attempts + 1 FROM due "
              "WHERE i.id = due.id RETURNING i.id, i.connector, i.dedupe_key, i.received_at, i.meta, i.body, "
              "i.attempts, i.last_error, due.available_at",
              t, connector, n, t + lease.count());
          std::vector<std::pair<std::int64_t, inbox_item>> rows;
          for (int i = 0; i < r.rows(); ++i) {
            inbox_item it;
            it.id = r.i64(i, 0);
            it.event = {r.text(i, 1), r.text(i, 2), from_ms(r.i64(i, 3)), r.text(i, 4), r.bytes(i, 5)};
            it.attempts = static_cast<int>(r.i64(i, 6));
            it.last_error = r.text(i, 7);
            rows.emplace_back(r.i64(i, 8), std::move(it));
          }
          // RETURNING has no order: oldest first, as claimed.
          std::sort(rows.begin(), rows.end(),
                    [](const auto& a, const auto& b) { return std::tie(a.first, a.second.id) < std::tie(b.first, b.second.id); });
          std::vector<inbox_item> out;
          out.reserve(rows.size());
          for (auto& [due, it] : rows) out.push_back(std::move(it));
          return out;
        });
  }

  task<void> inbox_ack(std::vector<std::int64_t> ids) override {
    return submit<void>(inbox_writer_, [ids = std::move(ids)](connection& c) -> result<void> {
      c.exec("UPDATE inbox SET state = 2, body = ''::bytea, meta = '', last_error = '' "
             "WHERE id = ANY($1::bigint[]) AND state < 2",
             id_array(ids));
      return {};
    });
  }

  task<void> inbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) override {
    return submit<void>(inbox_writer_, [ids = std::move(ids), error, retry_at](connection& c) -> result<void> {
      c.exec("UPDATE inbox SET state = 0, available_at = $2, last_error = $3 WHERE id = ANY($1::bigint[]) AND state < 2",
             id_array(ids), ms(retry_at), error);
      return {};
    });
  }

  task<std::int64_t> inbox_prune(timestamp before) override {
    return submit<std::int64_t>(inbox_writer_, [before](connection& c) -> result<std::int64_t> {
      return c.exec("DELETE FROM inbox WHERE state = 2 AND received_at < $1", ms(before)).affected();
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
          const auto t = ms(now());
          // An expired claim superseded by a newer pending write for the same record is obsolete.
          c.exec("DELETE FROM outbox o WHERE o.state = 1 AND o.next_attempt_at <= $1 AND EXISTS ("
                 "SELECT 1 FROM outbox p WHERE p.state = 0 AND p.connector = o.connector "
                 "AND p.object = o.object AND p.record_key = o.record_key)",
                 t);
          // Never two writes for one record at once, across instances too: a record with a write in flight
          // (claimed, unexpired) is skipped, and of its due writes only the oldest can be taken (so one claim
          // cannot take two, even when another instance's commit slips between the DELETE and this).
          // SKIP LOCKED: a row another instance is claiming right now is left to it.
          auto r = c.exec(
              "WITH due AS (SELECT o.id, o.next_attempt_at FROM outbox o "
              "WHERE o.next_attempt_at <= $1 AND ($2::text IS NULL OR o.connector = $2) "
              "AND NOT EXISTS (SELECT 1 FROM outbox b WHERE b.state = 1 AND b.next_attempt_at > $1 "
              "AND b.connector = o.connector AND b.object = o.object AND b.record_key = o.record_key) "
              "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.id < o.id AND e.next_attempt_at <= $1 "
              "AND e.connector = o.connector AND e.object = o.object AND e.record_key = o.record_key) "
              "ORDER BY o.next_attempt_at, o.id LIMIT $3 FOR UPDATE OF o SKIP LOCKED) "
              "UPDATE outbox u SET state = 1, next_attempt_at = $4, attempts = u.attempts + 1 FROM due "
              "WHERE u.id = due.id RETURNING u.id, u.connector, u.object, u.record_key, u.payload, u.attempts, "
              "due.next_attempt_at, u.last_error, u.target_id",
              t, connector, n, t + lease.count());
          std::vector<outbox_item> out;
          for (int i = 0; i < r.rows(); ++i) {
            outbox_item it;
            it.id = r.i64(i, 0);
            it.write = {r.text(i, 1), r.text(i, 2), r.text(i, 3), r.text(i, 4)};
            it.attempts = static_cast<int>(r.i64(i, 5));
            it.next_attempt_at = from_ms(r.i64(i, 6));
            it.last_error = r.text(i, 7);
            it.write.target_id = r.text(i, 8);
            out.push_back(std::move(it));
          }
          std::sort(out.begin(), out.end(), [](const outbox_item& a, const outbox_item& b) {
            return std::tie(a.next_attempt_at, a.id) < std::tie(b.next_attempt_at, b.id);
          });
          return out;
        });
  }

  task<std::int64_t> release_claims() override {
    const auto t = ms(now());
    return submit<std::int64_t>(state_writer_, [t](connection& c) -> result<std::int64_t> {
      // A claimed write with a newer pending one for the same record is obsolete; the others are due again.
      // One transaction for both queues (they share the database).
      c.exec("DELETE FROM outbox o WHERE o.state = 1 AND EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 AND "
             "p.connector = o.connector AND p.object = o.object AND p.record_key = o.record_key)");
      auto out = c.exec("UPDATE outbox SET state = 0, next_attempt_at = $1 WHERE state = 1", t).affected();
      out += c.exec("UPDATE inbox SET state = 0, available_at = $1 WHERE state = 1", t).affected();
      return out;
    });
  }

  task<std::vector<std::optional<std::string>>> outbox_last_written(std::vector<outbox_write> writes) override {
    using out_t = std::vector<std::optional<std::string>>;
    return submit<out_t>(state_writer_, [writes = std::move(writes)](connection& c) -> result<out_t> {
      out_t out;
      out.reserve(writes.size());
      for (const auto& w : writes) {
        auto r = c.exec("SELECT payload FROM outbox_last WHERE connector = $1 AND object = $2 AND record_key = $3",
                        w.connector, w.object, w.record_key);
        if (r.rows() > 0)
          out.emplace_back(r.text(0, 0));
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
        auto gone = c.exec("DELETE FROM outbox WHERE id = $1 AND state = 1 RETURNING connector, object, record_key, payload",
                           id);
        if (gone.rows() == 0) continue;
        const auto payload = gone.text(0, 3);
        c.exec("INSERT INTO outbox_last(connector, object, record_key, payload_hash, payload, written_at) "
               "VALUES($1, $2, $3, $4, $5, $6) "
               "ON CONFLICT(connector, object, record_key) DO UPDATE SET payload_hash = excluded.payload_hash, "
               "payload = excluded.payload, written_at = excluded.written_at",
               gone.text(0, 0), gone.text(0, 1), gone.text(0, 2), payload_hash(payload), payload, t);
      }
      return {};
    });
  }

  task<void> outbox_nack(std::vector<std::int64_t> ids, std::string error, timestamp retry_at) override {
    return submit<void>(state_writer_, [ids = std::move(ids), error, retry_at](connection& c) -> result<void> {
      for (auto id : ids) {
        auto q = c.exec(
            "SELECT EXISTS (SELECT 1 FROM outbox p WHERE p.state = 0 AND p.id <> o.id "
            "AND p.connector = o.connector AND p.object = o.object AND p.record_key = o.record_key) "
            "FROM outbox o WHERE o.id = $1 AND o.state = 1",
            id);
        if (q.rows() == 0) continue;  // acknowledged, dropped, or never claimed
        if (q.boolean(0, 0))
          c.exec("DELETE FROM outbox WHERE id = $1", id);
        else
          c.exec("UPDATE outbox SET state = 0, next_attempt_at = $2, last_error = $3 WHERE id = $1", id,
                 ms(retry_at), error);
      }
      return {};
    });
  }

  // ---- dead letters ------------------------------------------------------------------------------------------

  task<std::int64_t> dead_letter_add(dead_letter_entry e) override {
    return submit<std::int64_t>(state_writer_, [this, e = std::move(e)](connection& c) -> result<std::int64_t> {
      require(!e.stage.empty(), "dead letter needs a stage");
      auto r = c.exec(
          "INSERT INTO dead_letters(target, connector, object, record_id, event_id, stage, reason, payload, meta, "
          "created_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
          static_cast<int>(e.target), e.connector, e.object, e.record_id, e.event_id, e.stage, e.reason,
          bytea{e.payload}, e.meta, ms(now()));
      if (r.rows() == 0) raise(omnisync::errc::fail, "dead letter insert returned no id");
      return r.i64(0, 0);
    });
  }

  task<dead_letter_page> dead_letter_list(dead_letter_filter f) override {
    return submit<dead_letter_page>(reader_, [f = std::move(f)](connection& c) -> result<dead_letter_page> {
      const std::size_t limit = std::clamp<std::size_t>(f.limit, 1, 1000);
      dead_letter_page page;
      auto r = c.exec(
          "SELECT id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at "
          "FROM dead_letters WHERE id > $1 AND ($2::text IS NULL OR connector = $2) "
          "AND ($3::text IS NULL OR stage = $3) ORDER BY id LIMIT $4",
          f.after_id, f.connector, f.stage, limit + 1);
      for (int i = 0; i < r.rows(); ++i) {
        if (page.items.size() == limit) {
          page.next_after_id = page.items.back().id;
          break;
        }
        page.items.push_back(read_dead_letter(r, i));
      }
      return page;
    });
  }

  task<dead_letter> dead_letter_get(std::int64_t id) override {
    return submit<dead_letter>(reader_, [id](connection& c) -> result<dead_letter> {
      auto r = c.exec(
          "SELECT id, target, connector, object, record_id, event_id, stage, reason, payload, meta, created_at "
          "FROM dead_letters WHERE id = $1",
          id);
      if (r.rows() == 0) return omnisync::errc::not_found;
      return read_dead_letter(r, 0);
    });
  }

  task<void> dead_letter_retry(std::int64_t id) override {
    // One transaction for either target: the inbox and the dead letters share the database, so the entry is
    // re-queued and removed together (SQLite needs two, one per file).
    return submit<void>(state_writer_, [this, id](connection& c) -> result<void> {
      auto r = c.exec(
          "DELETE FROM dead_letters WHERE id = $1 RETURNING id, target, connector, object, record_id, event_id, "
          "stage, reason, payload, meta, created_at",
          id);
      if (r.rows() == 0) return omnisync::errc::not_found;
      const auto dl = read_dead_letter(r, 0);
      switch (dl.entry.target) {
        case retry_target::none:
          // Only dropped: the DELETE is undone with this job's savepoint.
          raise(omnisync::errc::invalid_input, "dead letter " + std::to_string(id) + " has no queue to retry to");
        case retry_target::outbox: {
          outbox_write w(dl.entry.connector, dl.entry.object, dl.entry.record_id, dl.entry.payload);
          w.target_id = target_id_of(dl.entry.meta);
          enqueue_one(c, w, now(), true);
          return {};
        }
        case retry_target::inbox: {
          const std::string key = dl.entry.event_id.empty() ? "dlq:" + std::to_string(dl.id) : dl.entry.event_id;
          const auto t = ms(now());
          c.exec("INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
                 "VALUES($1, $2, $3, $4, $5, $3) ON CONFLICT(connector, dedupe_key) DO UPDATE SET "
                 "state = 0, meta = excluded.meta, body = excluded.body, available_at = excluded.available_at, "
                 "attempts = 0, last_error = ''",
                 dl.entry.connector, key, t, dl.entry.meta, bytea{dl.entry.payload});
          return {};
        }
      }
      return omnisync::errc::invalid_input;
    });
  }

  task<void> dead_letter_drop(std::int64_t id) override {
    return submit<void>(state_writer_, [id](connection& c) -> result<void> {
      if (c.exec("DELETE FROM dead_letters WHERE id = $1", id).affected() == 0) return omnisync::errc::not_found;
      return {};
    });
  }

  // ---- leases ------------------------------------------------------------------------------------------------

  task<lease_grant> lease(std::string key, std::string owner, std::chrono::milliseconds ttl) override {
    return submit<lease_grant>(state_writer_, [this, key, owner, ttl](connection& c) -> result<lease_grant> {
      require(!key.empty() && !owner.empty(), "lease needs a key and an owner");
      require(ttl.count() > 0, "lease ttl must be positive");
      const auto t = ms(now());
      // One statement, so two instances racing for a free or expired lease cannot both win: the row lock of
      // the upsert orders them and the loser's WHERE (re-checked on the winner's row) fails. Renewal by the
      // holder keeps the token; a change of owner increments it so the old owner's fenced writes are refused.
      auto r = c.exec(
          "INSERT INTO leases(key, owner, token, expires_at) VALUES($1, $2, 1, $4) "
          "ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, "
          "token = CASE WHEN leases.owner = excluded.owner THEN leases.token ELSE leases.token + 1 END "
          "WHERE leases.owner = excluded.owner OR leases.expires_at <= $3 RETURNING token, expires_at",
          key, owner, t, t + ttl.count());
      if (r.rows() == 0) return omnisync::errc::conflict;  // held by another owner
      return lease_grant{r.i64(0, 0), from_ms(r.i64(0, 1))};
    });
  }

  task<void> lease_release(std::string key, std::string owner) override {
    return submit<void>(state_writer_, [this, key, owner](connection& c) -> result<void> {
      c.exec("UPDATE leases SET expires_at = $3 WHERE key = $1 AND owner = $2 AND expires_at > $3", key, owner,
             ms(now()));
      return {};
    });
  }

  task<std::vector<lease_info>> lease_list() override {
    return submit<std::vector<lease_info>>(reader_, [](connection& c) -> result<std::vector<lease_info>> {
      std::vector<lease_info> out;
      auto r = c.exec("SELECT key, owner, token, expires_at FROM leases ORDER BY key");
      for (int i = 0; i < r.rows(); ++i) out.push_back({r.text(i, 0), r.text(i, 1), r.i64(i, 2), from_ms(r.i64(i, 3))});
      return out;
    });
  }

  // ---- status ------------------------------------------------------------------------------------------------

  task<counts> get_counts() override {
    return submit<counts>(reader_, [](connection& c) -> result<counts> {
      counts out;
      // One snapshot for all the numbers (the worker rolls the read transaction back afterwards).
      c.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      {
        auto r = c.exec("SELECT connector, count(*) FROM outbox GROUP BY connector ORDER BY connector");
        for (int i = 0; i < r.rows(); ++i) {
          out.outbox_depth_per_connector[r.text(i, 0)] = r.i64(i, 1);
          out.outbox_depth += r.i64(i, 1);
        }
      }
      out.dead_letters = c.exec("SELECT count(*) FROM dead_letters").i64(0, 0);
      {
        auto r = c.exec("SELECT connector, sum(n) FROM record_counts GROUP BY connector ORDER BY connector");
        for (int i = 0; i < r.rows(); ++i) out.records_per_connector[r.text(i, 0)] = r.i64(i, 1);
      }
      {
        auto r = c.exec(
            "SELECT connector, count(*) FROM inbox WHERE state < 2 GROUP BY connector ORDER BY connector");
        for (int i = 0; i < r.rows(); ++i) {
          out.inbox_depth_per_connector[r.text(i, 0)] = r.i64(i, 1);
          out.inbox_depth += r.i64(i, 1);
        }
      }
      // The tables' sizes on disk (with indexes and TOAST), where SQLite reports its files.
      auto sizes = c.exec(
          "SELECT (SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest(ARRAY['meta', 'cursors', "
          "'records', 'record_counts', 'outbox', 'dead_letters', 'leases', 'outbox_last']) t), "
          "pg_total_relation_size('inbox')");
      out.state_db_bytes = static_cast<std::uint64_t>(sizes.i64(0, 0));
      out.inbox_db_bytes = static_cast<std::uint64_t>(sizes.i64(0, 1));
      c.script("COMMIT");
      return out;
    });
  }

  task<std::string> integrity_check() override {
    return submit<std::string>(reader_, [this](connection& c) -> result<std::string> {
      std::string report;
      auto problem = [&report](const std::string& p) { report += (report.empty() ? "" : "\n") + p; };
      c.script("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      if (c.exec("SELECT 1").i64(0, 0) != 1) problem("the server did not answer SELECT 1");
      const int sv = pg::schema_version(c, "state"), iv = pg::schema_version(c, "inbox");
      if (sv != state_version_)
        problem("state schema version " + std::to_string(sv) + ", expected " + std::to_string(state_version_));
      if (iv != inbox_version_)
        problem("inbox schema version " + std::to_string(iv) + ", expected " + std::to_string(inbox_version_));
      // Every table and index the schema creates is there and usable (an index left invalid by a failed
      // concurrent build would silently stop enforcing "one pending write per record").
      auto missing = c.exec(
          "SELECT t FROM unnest(ARRAY['meta', 'cursors', 'records', 'record_counts', 'outbox', 'dead_letters', "
          "'leases', 'outbox_last', 'inbox', 'outbox_pending_key', 'inbox_connector_dedupe_key_key']) t "
          "WHERE to_regclass(t) IS NULL");
      for (int i = 0; i < missing.rows(); ++i) problem("missing: " + missing.text(i, 0));
      auto invalid = c.exec(
          "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
          "WHERE t.relnamespace = to_regnamespace(current_schema()) AND NOT (i.indisvalid AND i.indisready)");
      for (int i = 0; i < invalid.rows(); ++i) problem("invalid index: " + invalid.text(i, 0));
      // The trigger-kept counts agree with the rows (status shows them).
      auto counts = c.exec(
          "SELECT coalesce(a.connector, b.connector), coalesce(a.object, b.object), coalesce(a.n, 0), "
          "coalesce(b.n, 0) FROM (SELECT connector, object, count(*) AS n FROM records GROUP BY 1, 2) a "
          "FULL JOIN (SELECT connector, object, sum(n) AS n FROM record_counts GROUP BY 1, 2 HAVING sum(n) <> 0) b "
          "ON a.connector = b.connector AND a.object = b.object WHERE a.n IS DISTINCT FROM b.n");
      for (int i = 0; i < counts.rows(); ++i)
        problem("record count of " + counts.text(i, 0) + "/" + counts.text(i, 1) + " is " + counts.text(i, 3) +
                ", rows: " + counts.text(i, 2));
      if (c.exec("SELECT count(*) FROM outbox WHERE state NOT IN (0, 1)").i64(0, 0) != 0)
        problem("outbox rows in an unknown state");
      c.script("COMMIT");
      return report.empty() ? std::string("ok") : report;
    });
  }

 private:
  timestamp now() const {
    if (clock_) return clock_();
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  }

  /// Runs inside the writer's transaction: the write that follows is refused unless `f` is still the lease.
  /// FOR SHARE holds the lease row until the transaction ends, so another instance cannot take the lease over
  /// between this check and the commit of the write it guards.
  static void check_fence(connection& c, const std::optional<fence>& f, timestamp t) {
    if (!f) return;
    auto r = c.exec("SELECT token, expires_at FROM leases WHERE key = $1 FOR SHARE", f->key);
    if (r.rows() == 0) raise(omnisync::errc::conflict, "lease " + f->key + " is not held");
    if (r.i64(0, 0) != f->token) raise(omnisync::errc::conflict, "lease " + f->key + ": fencing token is stale");
    if (r.i64(0, 1) <= ms(t)) raise(omnisync::errc::conflict, "lease " + f->key + " has expired");
  }

  static void write_cursor(connection& c, const std::string& connector, const std::string& object,
                           const std::string& value, timestamp t) {
    c.exec("INSERT INTO cursors(connector, object, value, updated_at) VALUES($1, $2, $3, $4) "
           "ON CONFLICT(connector, object) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
           connector, object, value, ms(t));
  }

  /// The payload equals the pending write's, or (none pending) the last one written — or, for a forced write,
  /// the one in flight (as in sqlite_store.cpp).
  static bool same_as_last(connection& c, const outbox_write& w) {
    auto r = c.exec(
        "SELECT state, payload FROM outbox WHERE connector = $1 AND object = $2 AND record_key = $3 "
        "ORDER BY state",
        w.connector, w.object, w.record_key);
    bool in_flight = false;
    for (int i = 0; i < r.rows(); ++i) {
      if (r.i64(i, 0) == 0) return r.text(i, 1) == w.payload;  // the pending one decides
      // A claimed (in-flight) write with another payload: this one must follow it.
      if (r.text(i, 1) != w.payload) return false;
      in_flight = true;
    }
    if (w.force) return in_flight;
    auto last = c.exec(
        "SELECT payload_hash FROM outbox_last WHERE connector = $1 AND object = $2 AND record_key = $3",
        w.connector, w.object, w.record_key);
    return last.rows() > 0 && last.i64(0, 0) == payload_hash(w.payload);
  }

  /// Inserts a pending write, or replaces the payload of the pending write for the same record (returns
  /// false). With `keep_pending` an existing pending write wins (a dead letter being retried is older). One
  /// upsert on the partial unique index, so concurrent enqueues from two instances coalesce too.
  static bool enqueue_one(connection& c, const outbox_write& w, timestamp t, bool keep_pending = false) {
    require(!w.connector.empty() && !w.object.empty() && !w.record_key.empty(),
            "outbox write needs a connector, an object and a record key");
    if (keep_pending) {
      return c.exec("INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, "
                    "target_id) VALUES($1, $2, $3, $4, $5, $5, $6) "
                    "ON CONFLICT(connector, object, record_key) WHERE state = 0 DO NOTHING",
                    w.connector, w.object, w.record_key, w.payload, ms(t), w.target_id)
                 .affected() > 0;
    }
    // xmax = 0 on the returned row: it was inserted, not updated.
    auto r = c.exec(
        "INSERT INTO outbox(connector, object, record_key, payload, next_attempt_at, enqueued_at, target_id) "
        "VALUES($1, $2, $3, $4, $5, $5, $6) ON CONFLICT(connector, object, record_key) WHERE state = 0 "
        "DO UPDATE SET payload = excluded.payload, target_id = excluded.target_id RETURNING (xmax = 0)",
        w.connector, w.object, w.record_key, w.payload, ms(t), w.target_id);
    return r.rows() > 0 && r.boolean(0, 0);
  }

  static dead_letter read_dead_letter(const pg::result& r, int row) {
    dead_letter d;
    d.id = r.i64(row, 0);
    auto target = r.i64(row, 1);
    d.entry.target = target == 1 ? retry_target::inbox : target == 2 ? retry_target::outbox : retry_target::none;
    d.entry.connector = r.text(row, 2);
    d.entry.object = r.text(row, 3);
    d.entry.record_id = r.text(row, 4);
    d.entry.event_id = r.text(row, 5);
    d.entry.stage = r.text(row, 6);
    d.entry.reason = r.text(row, 7);
    d.entry.payload = r.bytes(row, 8);
    d.entry.meta = r.text(row, 9);
    d.created_at = from_ms(r.i64(row, 10));
    return d;
  }

  clock_fn clock_;
  int state_version_, inbox_version_;
  std::atomic<std::uint64_t> state_commits_{0}, inbox_commits_{0}, inbox_appends_{0};
  // Declared last: destroyed first, so their threads finish queued work while the members above still live.
  pg_worker state_writer_;
  pg_worker inbox_writer_;
  pg_worker reader_;
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
    auto reader = std::make_unique<connection>(opts.dsn, "read", session);
    store_logger()->info("store: PostgreSQL {} (schema {}, inbox schema {})", state->describe(), *sv, *iv);
    return std::unique_ptr<store>(
        std::make_unique<pg_store>(opts, std::move(state), std::move(inbox), std::move(reader), *sv, *iv));
  } catch (const pg_error& e) {
    reason = e.what();
    store_logger()->error("store: {}", reason);
    return fail(e.code());
  }
}

}  // namespace omnisync::store
