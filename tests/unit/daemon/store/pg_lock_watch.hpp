#pragma once
// What a PostgreSQL concurrency test asks PostgreSQL itself rather than the wall clock: whether any session of
// the database waited for another transaction while something ran (sampled from pg_locks), and how many
// deadlocks the database has counted. Header-only, for test_store_pg.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "tests/support/pg_cluster.hpp"

namespace omnisync::test {

/// Samples, every 5 ms on its own thread over `c` (a session of the database under test that is otherwise idle),
/// the locks sessions of that database wait for. A wait for another transaction (`transactionid`, `tuple`: a row
/// it wrote or locked) is what turns or a deadlock look like, and lasts as long as the other transaction, so
/// sampling sees it; a short wait for a relation's extension lock (two sessions growing one table) is neither
/// and is only listed. Construct it when the concurrent work starts, call `stop()` when it ends.
class lock_watch {
 public:
  explicit lock_watch(PGconn* c) : c_(c), thread_([this] { run(); }) {}
  ~lock_watch() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int row_waits() const { return row_waits_; }  ///< samples in which a session waited for another transaction
  int samples() const { return samples_; }
  /// Every lock type and mode waited for, e.g. " [extend ExclusiveLock]", or " none".
  std::string waited_for() const {
    std::string out;
    for (const auto& w : waited_for_) out += " [" + w + "]";
    return out.empty() ? " none" : out;
  }

 private:
  void run() {
    while (!done_) {
      PGresult* r = PQexec(c_, "SELECT l.locktype, l.mode FROM pg_locks l WHERE NOT l.granted AND l.pid IN "
                               "(SELECT pid FROM pg_stat_activity WHERE datname = current_database())");
      if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        bool row_wait = false;
        for (int i = 0; i < PQntuples(r); ++i) {
          const std::string type = PQgetvalue(r, i, 0);
          waited_for_.insert(type + " " + PQgetvalue(r, i, 1));
          if (type == "transactionid" || type == "tuple") row_wait = true;
        }
        if (row_wait) ++row_waits_;
      }
      PQclear(r);
      ++samples_;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  PGconn* c_;
  std::atomic<bool> done_{false};
  int row_waits_ = 0, samples_ = 0;
  std::set<std::string> waited_for_;
  std::thread thread_;  // last: starts once the members above exist
};

/// The deadlocks pg_stat_database has counted for the database of `dsn`. A deadlock is counted by its victim's
/// backend, which reports its statistics at the latest when it exits: close the sessions involved and call
/// `wait_for_other_sessions` first.
inline long long deadlocks(const std::string& dsn) {
  return std::stoll(pg_cluster::scalar(dsn, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"));
}

/// Waits (up to 10 s) until at most `keep` client sessions besides the asking one are connected to the database.
inline void wait_for_other_sessions(const std::string& dsn, int keep) {
  for (int i = 0; i < 200; ++i) {
    const auto n = pg_cluster::scalar(dsn, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND pid <> pg_backend_pid() AND backend_type = 'client backend'");
    if (std::stoi(n) <= keep) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace omnisync::test
