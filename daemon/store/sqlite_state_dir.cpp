#include "daemon/store/sqlite_state_dir.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "daemon/store/job.hpp"

namespace omnisync::store::sqlite {
namespace {

namespace fs = std::filesystem;
using detail::store_logger;

/// Size of `p`, or nullopt when it does not exist.
std::optional<std::uintmax_t> size_of(const fs::path& p) {
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::exists(st)) return std::nullopt;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

/// Whether this process may do `mode` on `p` by its effective (file-system) ids; errno when not. A read-only
/// file system answers EROFS even to root, whom file modes do not stop.
std::optional<int> denied(const fs::path& p, int mode) {
  if (::faccessat(AT_FDCWD, p.c_str(), mode, AT_EACCESS) == 0) return std::nullopt;
  return errno;
}

std::string not_writable(const fs::path& p, int error, const fs::path& dir) {
  const std::string head = p.string() + " is not writable by this process (" + process_user() + ": " +
                           std::strerror(error) + "). omnisyncd must be able to write its state directory and every "
                           "file in it: ";
  if (error == EROFS)
    return head + "it is on a read-only file system (a read-only mount, or systemd's ProtectSystem=/ReadOnlyPaths= "
                  "without the directory in StateDirectory= or ReadWritePaths=); not starting.";
  return head + "make the user it runs as their owner (e.g. chown -R omnisync: " + dir.string() +
         "), or run it as their owner; not starting.";
}

}  // namespace

std::string process_user() {
  const auto uid = ::geteuid();
  const passwd* pw = ::getpwuid(uid);
  return "user " + std::string(pw ? pw->pw_name : "?") + ", uid " + std::to_string(uid);
}

omnisync::result<void> check_state_dir(const options& opts, std::string& why) {
  const fs::path& dir = opts.state_dir;
  auto refuse = [&why](std::string sentence) -> omnisync::result<void> {
    why = std::move(sentence);
    store_logger()->error("store: {}", why);
    return omnisync::errc::fail;
  };
  // Writable: the directory (SQLite creates and deletes the -wal and -shm files there) and every file in it.
  if (auto e = denied(dir, W_OK | X_OK)) return refuse(not_writable(dir, *e, dir));
  const char* databases[] = {"state.db", "inbox.db"};
  for (const char* db : databases)
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const fs::path p = dir / (std::string(db) + suffix);
      if (!size_of(p)) continue;
      if (auto e = denied(p, R_OK | W_OK)) return refuse(not_writable(p, *e, dir));
    }

  // Missing or empty in a directory used before.
  const bool marked = size_of(dir / marker_name).has_value();
  std::vector<std::string> lost, evidence;
  if (marked) evidence.push_back(std::string(marker_name) + " is there");
  for (const char* db : databases) {
    const auto n = size_of(dir / db);
    if (!n)
      lost.push_back(std::string(db) + " is missing");
    else if (*n == 0)
      lost.push_back(std::string(db) + " is empty (0 bytes)");
    else
      evidence.push_back(std::string(db) + " holds data");
  }
  if (lost.empty() || evidence.empty()) return {};  // all there, or a new directory
  auto list = [](const std::vector<std::string>& items) {
    std::string s;
    for (std::size_t i = 0; i < items.size(); ++i) s += (i ? " and " : "") + items[i];
    return s;
  };
  if (!opts.init_store)
    return refuse("the state directory " + dir.string() + " held an omnisync store (" + list(evidence) + "), but " +
                  list(lost) +
                  ": opening it would start from an empty store and silently lose its pending writes, dead "
                  "letters, cursors and paused connectors. Restore the file from a backup, or start omnisyncd "
                  "once with --init-store to begin afresh in this directory; not starting.");
  for (const char* db : databases) {
    const auto n = size_of(dir / db);
    if (n && *n > 0) continue;
    // The WAL of a database that is gone belongs to it: a new database must not start from it.
    for (const char* suffix : {"-wal", "-shm"}) {
      std::error_code ec;
      fs::remove(dir / (std::string(db) + suffix), ec);
    }
    store_logger()->warn("store: --init-store: {} in {} starts afresh, empty", db, dir.string());
  }
  return {};
}

omnisync::result<void> mark_state_dir(const fs::path& dir, std::string& why) {
  const fs::path marker = dir / marker_name;
  if (size_of(marker)) return {};
  const fs::path tmp = dir / (std::string(marker_name) + ".tmp");
  const std::string text =
      "This directory holds omnisyncd's state store (state.db, inbox.db). While this file is here, omnisyncd "
      "refuses to start when a database is missing or empty; --init-store starts afresh.\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  if (ok) fs::rename(tmp, marker, ec);
  if (!ok || ec) {
    why = "cannot write " + marker.string() + ": " + (ec ? ec.message() : std::string(std::strerror(err)));
    store_logger()->error("store: {}", why);
    fs::remove(tmp, ec);
    return omnisync::errc::fail;
  }
  // The rename is durable once the directory is synced.
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace omnisync::store::sqlite
