#pragma once
/// A throw-away PostgreSQL cluster for tests: initdb in a temp dir, listening only on a Unix socket in that
/// dir, run as the `postgres` system user when the tests run as root (initdb and postgres refuse root),
/// stopped (immediate shutdown) and deleted when the object dies.
///
/// The server binaries are looked up in PATH, then /usr/lib/postgresql/<newest>/bin. When they are missing the
/// constructor throws with a message naming the Debian package to install (`postgresql`): tests FAIL, they do
/// not skip. initdb runs once per machine and version; later clusters copy that template data dir
/// ($TMPDIR/omnisync-pg-template-*), which takes a fraction of initdb's second and a half.
///
/// Settings are for tests: fsync=off (the OS does not crash under a test; a server crash is still recovered
/// from its WAL, which is what restart() exercises), small shared memory, no TCP.
#include <filesystem>
#include <memory>
#include <string>

#include <sys/types.h>

#include "tests/support/temp_dir.hpp"

namespace omnisync::test {

class pg_cluster {
 public:
  pg_cluster();
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// One cluster per test process, started on first use.
  static pg_cluster& shared();

  /// Creates database `name` (letters, digits, _) and returns its libpq DSN.
  std::string create_database(const std::string& name);
  /// Creates schema `name` in database `db` (created first if missing) and returns a DSN whose sessions use
  /// only that schema (search_path): a fresh, empty "database" in milliseconds, where CREATE DATABASE takes
  /// half a second.
  std::string create_schema(const std::string& db, const std::string& name);
  /// The DSN of database `name` (which must exist for a connection to succeed).
  std::string dsn(const std::string& name) const;
  /// Runs one SQL statement (no result) on a new session of `dsn` (as returned above); throws on failure.
  static void exec(const std::string& dsn, const std::string& sql);
  /// The first column of the first row of `sql` run on a new session of `dsn`, as text ("" for NULL or no row).
  static std::string scalar(const std::string& dsn, const std::string& sql);

  /// Crash-stops the server (immediate shutdown: connections are cut, like a crash) and starts it again
  /// (recovering from its WAL). Returns when it accepts connections.
  void restart();
  void stop();
  void start();
  /// Everything the server logged so far (warnings and errors: deadlocks, lock waits, crashes).
  std::string server_log() const;


 private:
  void wait_ready();

  temp_dir dir_;
  std::filesystem::path bin_;
  std::filesystem::path data_;
  pid_t pid_ = -1;
};

}  // namespace omnisync::test
