#pragma once
/// Internal to daemon/store: the threads that run the store's jobs (job.hpp), the same for both backends.
///
/// `group_worker<Tx>` is a writer: it takes whatever is queued (up to `max_group` jobs) and runs it as ONE
/// transaction with one COMMIT — the group commit (one fsync, or one WAL flush on the server, for the whole
/// group). `read_worker<Tx>` runs each job alone. How a transaction is begun, committed or rolled back, and what
/// a failure did to it, is the backend's part: its transaction driver `Tx`, one per worker, owning the worker's
/// connection(s). The control flow around it — savepoints per job, a job that fails alone, a group that fails
/// together, results handed back only after the COMMIT — is written once, here.
///
/// A transaction driver provides (all on the worker's thread; the statements throw classified_error):
///   using context_type;             what a job runs on (a connection; the reader's connections)
///   context_type& context();
///   bool ready(error_code& ec);     usable now; false (ec set) fails the jobs at hand — PostgreSQL reconnects here
///   void end_read() noexcept;       read_worker: after each job (ends a transaction the job left open)
/// and for group_worker also:
///   void begin(); void savepoint(); void release(); void rollback_to(); void commit();
///   void rollback() noexcept;       ends an open transaction, if any; never throws
///   bool lost();                    the transaction is gone with the group's work (SQLite rolled it back itself on
///                                   a full disk or an I/O error; PostgreSQL lost the connection)
///   error_code lost_error();        the group's error when the job that lost the transaction has none of its own
///   statement_failure after_failed_statement();   a `single_statement` job failed: what that did to the transaction
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <pthread.h>

#include "daemon/store/job.hpp"

namespace omnisync::store::detail {

/// What a failed `single_statement` job (isolation::single_statement, run without a SAVEPOINT) did to the group's
/// transaction. `undone`: nothing — the statement undid itself (SQLite) or never ran (refused before any SQL); the
/// group goes on. `aborted`: the whole transaction is aborted (PostgreSQL: a failing statement aborts it): the job
/// fails alone and the jobs before it run again in a new transaction. `aborted_transient`: aborted by a deadlock
/// or serialization failure — the job itself runs again too (a few times at most).
enum class statement_failure { undone, aborted, aborted_transient };

/// A worker's jobs: taken into its queue, and finished (run, and their results handed to their callers).
struct job_counts {
  std::uint64_t queued = 0, finished = 0;
};
inline void add_jobs(commit_stats& s, job_counts j) noexcept {
  s.jobs_queued += j.queued;
  s.jobs_finished += j.finished;
}

/// The queue and thread every store worker (SQLite and PostgreSQL alike) runs its jobs on: `push` queues a job
/// (a cancelled job when stopping); the thread takes whatever is queued, up to `max_group` jobs, and hands them to
/// `run` as one batch, which must run and deliver every job and leave the batch empty. Destruction runs what is
/// queued, then joins. Declare it as the last member of its owner: the thread starts in the constructor and
/// `run` uses the owner's other members. It counts the jobs it took and those it finished (`jobs()`): a job is
/// finished once `run` returned, i.e. its result is on its way to the caller's executor.
template <class Ctx>
class job_thread {
 public:
  using batch = std::vector<std::unique_ptr<job<Ctx>>>;

  job_thread(std::string name, std::size_t max_group, std::function<void(batch&)> run)
      : max_group_(max_group ? max_group : 1), run_(std::move(run)) {
    thread_ = std::thread([this, name = std::move(name)] {
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());  // visible in top -H, gdb, perf
      loop();
    });
  }
  ~job_thread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  job_thread(const job_thread&) = delete;
  job_thread& operator=(const job_thread&) = delete;

  /// Jobs queued so far and jobs finished so far (thread-safe; each is exact, the pair is not one snapshot).
  job_counts jobs() const noexcept { return {queued_.load(), finished_.load()}; }

  void push(std::unique_ptr<job<Ctx>> j) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        // Only a thread waiting on an empty queue needs the notification (a futex call): one that is busy
        // takes the whole queue when its current batch is done.
        wake = queue_.empty() && idle_;
        queued_.fetch_add(1);
        queue_.push_back(std::move(j));
        j = nullptr;
      }
    }
    if (j) {
      j->complete(omnisync::make_error_code(omnisync::errc::cancelled));
      return;
    }
    if (wake) cv_.notify_one();
  }

 private:
  void loop() {
    batch b;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        idle_ = true;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        idle_ = false;
        if (queue_.empty()) return;  // stopping, and everything queued has run
        while (!queue_.empty() && b.size() < max_group_) {
          b.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      const auto taken = b.size();  // run_ may reorder or drop jobs from b, and leaves it empty
      run_(b);
      finished_.fetch_add(taken);
    }
  }

  std::size_t max_group_;
  std::function<void(batch&)> run_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<job<Ctx>>> queue_;
  bool stopping_ = false;
  bool idle_ = false;
  std::atomic<std::uint64_t> queued_{0}, finished_{0};
  std::thread thread_;
};

/// A writer thread: runs what is queued as group transactions on the driver's connection. Results are handed back
/// only after the COMMIT returned, so an acknowledged write is as durable as the backend's `synchronous` setting
/// promises. Thread-safe `push`; everything else runs on its own thread.
template <class Tx>
class group_worker {
 public:
  using context_type = typename Tx::context_type;

  group_worker(std::string name, Tx tx, std::size_t max_group, std::atomic<std::uint64_t>* commits)
      : tx_(std::move(tx)), commits_(commits), thread_(std::move(name), max_group, [this](batch& b) { run_group(b); }) {}

  void push(std::unique_ptr<job<context_type>> j) { thread_.push(std::move(j)); }
  job_counts jobs() const noexcept { return thread_.jobs(); }

 private:
  using batch = typename job_thread<context_type>::batch;
  using job_ptr = std::unique_ptr<job<context_type>>;

  /// Sorts each run of neighbouring jobs that carry an order key (PostgreSQL's inbox appends) by that key: every
  /// instance then takes the rows' locks in the same order, so two instances storing the same events at once
  /// wait for each other instead of deadlocking. Jobs without a key keep their place (SQLite sets none).
  static void order_keyed_runs(batch& b) {
    auto keyed = [](const job_ptr& j) { return !j->order_key().empty(); };
    for (auto it = std::find_if(b.begin(), b.end(), keyed); it != b.end();) {
      auto run_end = std::find_if_not(it, b.end(), keyed);
      if (run_end - it > 1)
        std::stable_sort(it, run_end, [](const auto& x, const auto& y) { return x->order_key() < y->order_key(); });
      it = std::find_if(run_end, b.end(), keyed);
    }
  }

  static void fail_rest(batch& b, std::size_t from, error_code ec, batch& done) {
    for (std::size_t k = from; k < b.size(); ++k) {
      b[k]->finish(ec);
      done.push_back(std::move(b[k]));
    }
  }

  /// Runs `b` as one or more transactions and hands every job's outcome back; leaves `b` empty.
  void run_group(batch& b) {
    batch done;
    done.reserve(b.size());
    order_keyed_runs(b);
    // Jobs whose statement failure aborted the transaction for a transient reason run again; a few times at most,
    // then they fail (with retry) like any other.
    std::unordered_map<const job<context_type>*, int> reruns;
    constexpr int max_reruns = 3;
    std::size_t i = 0;
    while (i < b.size()) {
      error_code not_ready;
      if (!tx_.ready(not_ready)) {
        fail_rest(b, i, not_ready, done);
        break;
      }
      const std::size_t first = i;
      try {
        tx_.begin();
      } catch (const classified_error& e) {
        // No transaction (SQLite: no write lock within busy_timeout, or no disk; PostgreSQL: the connection went
        // away since ready()): everything taken fails the same way rather than waiting again job by job.
        tx_.rollback();
        fail_rest(b, first, e.code(), done);
        break;
      }
      error_code group_error;
      bool restart = false;
      try {
        for (; i < b.size(); ++i) {
          const bool own_savepoint = b[i]->isolation_level() == isolation::savepoint;
          if (own_savepoint) tx_.savepoint();
          const bool ok = b[i]->run(tx_.context());
          if (tx_.lost()) {
            // Every job of the group failed with this job's error; the jobs after it run in a new transaction.
            group_error = b[i]->error();
            if (!group_error) group_error = tx_.lost_error();
            ++i;
            break;
          }
          if (own_savepoint) {
            if (ok)
              tx_.release();
            else
              tx_.rollback_to();  // the job's own changes, and only those, are undone
            continue;
          }
          if (ok) continue;
          const auto failure = tx_.after_failed_statement();
          if (failure == statement_failure::undone) continue;
          // The transaction is aborted: the jobs before this one lost their work and run again in a new one; this
          // one fails alone, unless it was a deadlock or serialization victim with reruns left.
          tx_.rollback();
          if (failure != statement_failure::aborted_transient || ++reruns[b[i].get()] > max_reruns) {
            b[i]->finish({});
            done.push_back(std::move(b[i]));
            b.erase(b.begin() + static_cast<std::ptrdiff_t>(i));
          }
          i = first;
          restart = true;
          break;
        }
        if (restart) continue;
        if (!group_error) {
          tx_.commit();
          if (commits_) commits_->fetch_add(1, std::memory_order_relaxed);
        } else {
          tx_.rollback();
        }
      } catch (const classified_error& e) {
        tx_.rollback();
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

  Tx tx_;
  std::atomic<std::uint64_t>* commits_;
  job_thread<context_type> thread_;  // last: its thread runs run_group, which uses the members above
};

/// A reader thread: runs each job alone (reads need no group commit; a read that must see one snapshot opens its
/// own read transaction, which `end_read` closes). Thread-safe `push`.
template <class Tx>
class read_worker {
 public:
  using context_type = typename Tx::context_type;

  read_worker(std::string name, Tx tx) : tx_(std::move(tx)), thread_(std::move(name), 1, [this](batch& b) { run(b); }) {}

  void push(std::unique_ptr<job<context_type>> j) { thread_.push(std::move(j)); }
  job_counts jobs() const noexcept { return thread_.jobs(); }

 private:
  using batch = typename job_thread<context_type>::batch;

  void run(batch& b) {
    batch done;
    for (auto& j : b) {
      error_code ec;
      if (tx_.ready(ec)) {
        j->run(tx_.context());
        tx_.end_read();
        j->finish({});
      } else {
        j->finish(ec);
      }
      done.push_back(std::move(j));
    }
    b.clear();
    deliver(done);
  }

  Tx tx_;
  job_thread<context_type> thread_;  // last
};

}  // namespace omnisync::store::detail
