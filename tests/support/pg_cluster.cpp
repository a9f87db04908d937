#include "tests/support/pg_cluster.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/process.hpp"

extern char** environ;

namespace omnisync::test {
namespace {

namespace fs = std::filesystem;

bool executable(const fs::path& p) { return ::access(p.c_str(), X_OK) == 0; }

/// The directory holding initdb, pg_ctl and postgres.
fs::path find_bin() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    std::error_code ec;
    while (std::getline(ss, d, ':'))
      if (!d.empty() && executable(fs::path(d) / "initdb") && executable(fs::path(d) / "postgres")) {
        auto real = fs::canonical(fs::path(d) / "initdb", ec);  // Debian's /usr/lib/postgresql/15/bin via a link
        return ec ? fs::path(d) : real.parent_path();
      }
  }
  // Debian keeps the server binaries out of PATH, one directory per major version: take the newest.
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (executable(e.path() / "bin" / "initdb") && executable(e.path() / "bin" / "postgres"))
      found.push_back(e.path() / "bin");
  if (found.empty())
    throw std::runtime_error(
        "PostgreSQL server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin: install "
        "the Debian package `postgresql` (scripts/install-deps.sh installs it with libpq-dev)");
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoi(a.parent_path().filename().string()) < std::stoi(b.parent_path().filename().string());
  });
  return found.back();
}

/// When we are root, the server runs as `postgres` (initdb and postgres refuse root): returns the argv prefix
/// that drops to that user (setpriv execs, so the server is our own child) and chowns `dir` to it.
std::vector<std::string> as_server_user(const fs::path& dir) {
  if (::geteuid() != 0) return {};
  const passwd* pw = ::getpwnam("postgres");
  if (!pw)
    throw std::runtime_error(
        "running as root and there is no `postgres` user to run the test server as (the Debian package "
        "`postgresql` creates it)");
  if (::chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0)
    throw std::runtime_error("cannot chown " + dir.string() + " to postgres: " + std::strerror(errno));
  return {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"};
}

std::string conninfo(const fs::path& socket_dir, const std::string& db) {
  return "host=" + socket_dir.string() + " port=5432 user=omnisync dbname=" + db;
}

/// An initdb'd data directory to copy, made once per machine and server version.
fs::path template_data(const fs::path& bin) {
  static std::mutex m;
  std::lock_guard lock(m);
  const char* base = std::getenv("TMPDIR");
  const fs::path tmp = base && *base ? base : "/tmp";
  const std::string tag = std::to_string(std::hash<std::string>{}(bin.string()) % 100000);
  const fs::path final_dir = tmp / ("omnisync-pg-template-v2-" + bin.parent_path().filename().string() + "-" + tag);
  if (fs::exists(final_dir / "data" / "PG_VERSION")) return final_dir / "data";
  std::string work_name = (tmp / "omnisync-pg-tpl-XXXXXX").string();
  std::vector<char> buf(work_name.begin(), work_name.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for the PostgreSQL template");
  const fs::path work = buf.data();
  ::chmod(work.c_str(), 0755);
  auto argv = as_server_user(work);
  for (std::string a : {(bin / "initdb").string(), std::string("-D"), (work / "data").string(), std::string("-A"),
                        std::string("trust"), std::string("-U"), std::string("omnisync"), std::string("-E"),
                        std::string("UTF8"), std::string("--locale=C"), std::string("--no-sync"),
                        std::string("--wal-segsize=1")})
    argv.push_back(a);
  auto r = run(argv, {}, std::chrono::seconds(120));
  if (r.exit_code != 0) {
    std::error_code ec;
    fs::remove_all(work, ec);
    throw std::runtime_error("initdb failed (" + std::to_string(r.exit_code) + "): " + r.err + r.out);
  }
  // Another test process may have won the race: then ours goes.
  std::error_code ec;
  fs::rename(work, final_dir, ec);
  if (ec) fs::remove_all(work, ec);
  return final_dir / "data";
}

struct pg_handle {
  explicit pg_handle(const std::string& info) : c(PQconnectdb(info.c_str())) {
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("test cluster: cannot connect: " + msg);
    }
  }
  ~pg_handle() { PQfinish(c); }
  PGconn* c;
};

}  // namespace

pg_cluster::pg_cluster() : bin_(find_bin()) {
  const fs::path tpl = template_data(bin_);
  data_ = dir_.path() / "data";
  // cp -a keeps the owner (postgres) and the 0700 mode the server insists on.
  auto r = run({"cp", "-a", tpl.string(), data_.string()}, {}, std::chrono::seconds(60));
  if (r.exit_code != 0) throw std::runtime_error("cannot copy the PostgreSQL template: " + r.err);
  std::ofstream conf(data_ / "postgresql.conf", std::ios::app);
  conf << "\n# omnisync test cluster\nlisten_addresses = ''\nunix_socket_directories = '" << dir_.path().string()
       << "'\nport = 5432\nfsync = off\nfull_page_writes = off\nshared_buffers = 16MB\nmax_connections = 200\n"
          "max_wal_size = 64MB\nmin_wal_size = 4MB\nlog_min_messages = warning\nlog_connections = off\n";
  conf.close();
  if (!conf) throw std::runtime_error("cannot write postgresql.conf of the test cluster");
  start();
}

pg_cluster::~pg_cluster() {
  try {
    stop();
  } catch (...) {
  }
}

std::string pg_cluster::server_log() const {
  std::ifstream in(dir_.path() / "server.log");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

pg_cluster& pg_cluster::shared() {
  static pg_cluster cluster;
  return cluster;
}

void pg_cluster::start() {
  if (pid_ > 0) return;
  auto argv = as_server_user(dir_.path());
  argv.push_back((bin_ / "postgres").string());
  argv.push_back("-D");
  argv.push_back(data_.string());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // The server's log goes to a file in the dir (a pipe nobody reads would fill and stall it).
  const std::string log = (dir_.path() / "server.log").string();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start postgres: " + std::string(std::strerror(rc)));
  }
  wait_ready();
}

void pg_cluster::wait_ready() {
  const std::string info = conninfo(dir_.path(), "postgres");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(info.c_str()) == PQPING_OK) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("the test PostgreSQL server exited at start-up; its log:\n" +
                               read_file(dir_.path() / "server.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the test PostgreSQL server did not accept connections within 60 s");
}

void pg_cluster::stop() {
  if (pid_ <= 0) return;
  // SIGQUIT: immediate shutdown — every connection is cut at once, no checkpoint (recovery runs at start).
  ::kill(pid_, SIGQUIT);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

void pg_cluster::restart() {
  stop();
  start();
}

std::string pg_cluster::dsn(const std::string& name) const { return conninfo(dir_.path(), name); }

std::string pg_cluster::create_database(const std::string& name) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    throw std::invalid_argument("database names here are [a-z0-9_]+: " + name);
  exec(dsn("postgres"), "CREATE DATABASE " + name);
  return dsn(name);
}

std::string pg_cluster::create_schema(const std::string& db, const std::string& name) {
  if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
    throw std::invalid_argument("schema names here are [a-z0-9_]+: " + name);
  if (scalar(dsn("postgres"), "SELECT count(*) FROM pg_database WHERE datname = '" + db + "'") == "0") {
    try {
      create_database(db);
    } catch (const std::runtime_error&) {
      // created meanwhile by another thread of this process: fine
    }
  }
  exec(dsn(db), "CREATE SCHEMA " + name);
  return dsn(db) + " options=-csearch_path=" + name;
}

void pg_cluster::exec(const std::string& dsn, const std::string& sql) {
  pg_handle h(dsn);
  PGresult* r = PQexec(h.c, sql.c_str());
  const auto st = PQresultStatus(r);
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + msg);
}

std::string pg_cluster::scalar(const std::string& dsn, const std::string& sql) {
  pg_handle h(dsn);
  PGresult* r = PQexec(h.c, sql.c_str());
  const auto st = PQresultStatus(r);
  std::string out, msg = PQresultErrorMessage(r);
  if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) out = PQgetvalue(r, 0, 0);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + msg);
  return out;
}

}  // namespace omnisync::test
