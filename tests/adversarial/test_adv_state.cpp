// The daemon's own state under attack or accident: damaged database files, a state directory it cannot write
// (file modes, a read-only file system), a full disk while webhooks arrive, kill -9 in the middle of a burst.
// A start that cannot work fails (non-zero exit, one message naming the file, no READY=1 for systemd); a webhook
// the store cannot keep is not acknowledged; every acknowledged one is there after a restart.
#include "tests/adversarial/adversarial_support.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

using namespace omnisync::test::adversarial;
using omnisync::test::binary;
using omnisync::test::run;
using omnisync::test::run_result;

namespace {

/// A datagram socket standing in for systemd's NOTIFY_SOCKET: whether the daemon ever said READY=1.
struct notify_socket {
  int fd = -1;
  fs::path path;
  explicit notify_socket(const fs::path& p) : path(p) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, p.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    ::chmod(p.c_str(), 0777);  // reachable by a daemon run as another user
  }
  ~notify_socket() {
    ::close(fd);
    fs::remove(path);
  }
  std::string received() {
    std::string all;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;) all.append(buf, static_cast<std::size_t>(n)) += '\n';
    return all;
  }
};

/// A start that must fail: exit code non-zero, the message naming `needle`, never running, never READY=1.
void refused_start(target& t, const std::vector<std::string>& wrap, const std::string& needle) {
  notify_socket notify(t.dir / "notify.sock");
  auto argv = wrap;
  const auto own = t.argv();
  argv.insert(argv.end(), own.begin(), own.end());
  auto r = run(argv, "", 20s, {{"NOTIFY_SOCKET", (t.dir / "notify.sock").string()}});
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code < 128);  // failed, not crashed
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(r.err.find("not starting") != std::string::npos);
  CHECK(r.err.find("running: config") == std::string::npos);
  CHECK(notify.received().find("READY=1") == std::string::npos);
}

/// A state directory that was used: started once, a webhook stored, stopped.
void use_once(target& t) {
  t.start();
  REQUIRE(send(t.port, activecampaign(activecampaign_body("before"))) == 200);
  REQUIRE(t.stop() == 0);
}

std::string bytes_of(const fs::path& p) { return omnisync::test::read_file(p); }

bool is_root() { return ::geteuid() == 0; }

}  // namespace

TEST_CASE("adversarial: damaged state files (garbage, half-truncated, empty) are refused and left as they are",
          "[adversarial]") {
  target t;
  use_once(t);
  for (const char* db : {"state.db", "inbox.db"}) {
    const auto file = t.state / db;
    const std::string good = bytes_of(file);
    REQUIRE(good.size() > 8192);
    struct damage {
      std::string name, content;
    };
    std::string garbage(good.size(), '\0');
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 2654435761u) >> 13);
    // The header kept, the rest garbage: SQLite recognises the file, then finds its pages damaged.
    std::string bad_pages = good.substr(0, 4096) + garbage.substr(4096);
    for (const damage& d : {damage{"garbage", garbage}, damage{"SQLite header, damaged pages", bad_pages},
                            damage{"half-truncated", good.substr(0, good.size() / 2)}, damage{"empty", ""}}) {
      INFO(std::string(db) + ": " + d.name);
      { std::ofstream(file, std::ios::binary | std::ios::trunc) << d.content; }
      refused_start(t, {}, db);
      CHECK(bytes_of(file) == d.content);  // nothing was made of it, nothing created in its place
    }
    { std::ofstream(file, std::ios::binary | std::ios::trunc) << good; }
  }
  // Restored: it starts, with what it held.
  t.start();
  CHECK(stored(t.state, "ac") == 1);
  CHECK(t.healthy());
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial: a state directory or file the daemon's user cannot write stops the start", "[adversarial]") {
  target t;
  use_once(t);
  ::chmod(t.dir.path().c_str(), 0755);
  ::chmod(t.config_file.c_str(), 0644);
  if (is_root()) {
    // Root passes every file mode: run the daemon as 'nobody', as a service runs as its own user.
    t.program = (t.dir / "omnisyncd").string();
    fs::copy_file(binary("omnisyncd"), t.program);
    ::chmod(t.program.c_str(), 0755);
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody);
    // setpriv execs the daemon itself (runuser would stay its parent, between the test and its signals).
    const std::vector<std::string> as_nobody{"setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                                             "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups", "--"};
    // The directory is root's.
    refused_start(t, as_nobody, t.state.string() + " is not writable by this process (user nobody");
    // The directory is nobody's, a database in it still root's (0644): SQLite would open it read-only.
    REQUIRE(::chown(t.state.c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    refused_start(t, as_nobody, (t.state / "state.db").string() + " is not writable by this process (user nobody");
    // Everything nobody's: it starts (the refusals were the permissions').
    for (const auto& e : fs::directory_iterator(t.state))
      REQUIRE(::chown(e.path().c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
    ::chmod(t.dir.path().c_str(), 0777);  // where its control socket goes
    t.start(as_nobody);
  } else {
    // Not root: file modes stop this user too.
    ::chmod(t.state.c_str(), 0555);
    refused_start(t, {}, t.state.string() + " is not writable by this process");
    ::chmod(t.state.c_str(), 0755);
    ::chmod((t.state / "state.db").c_str(), 0444);
    refused_start(t, {}, (t.state / "state.db").string() + " is not writable by this process");
    ::chmod((t.state / "state.db").c_str(), 0644);
    t.start();
  }
  CHECK(t.healthy());
  CHECK(stored(t.state, "ac") == 1);
  CHECK(t.stop() == 0);
}
