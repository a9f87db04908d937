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

TEST_CASE("adversarial: a state directory on a read-only file system stops the start, root or not", "[adversarial]") {
  target t;
  use_once(t);
  // A read-only bind mount of the state directory in a mount namespace of the daemon's own: root is stopped by
  // it where file modes do not stop root. Without root, a user namespace gives the same (where the kernel allows
  // unprivileged user namespaces).
  const std::string script = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
  std::vector<std::string> wrap{"unshare", "--mount", "--propagation", "private"};
  if (!is_root()) wrap.insert(wrap.begin() + 1, "--map-root-user");
  auto probe = wrap;
  for (const std::string& a : {std::string("sh"), std::string("-c"), script, t.state.string(), std::string("true")})
    probe.push_back(a);
  if (auto r = run(probe, "", 10s); r.exit_code != 0) {
    WARN("cannot mount in a namespace of our own here (" << r.err << "): the read-only file system case is skipped");
    return;
  }
  for (const std::string& a : {std::string("sh"), std::string("-c"), script, t.state.string()}) wrap.push_back(a);
  refused_start(t, wrap, t.state.string() + " is not writable by this process");
  // The same start without the read-only mount works: the refusal was the mount's.
  t.start();
  CHECK(stored(t.state, "ac") == 1);
  CHECK(t.healthy());
  CHECK(t.stop() == 0);
}

namespace {

/// One signed HubSpot delivery of ~16 KiB for event `id`: its status, which must be 200 or 503 (anything else
/// fails the test).
int send_padded(target& t, std::int64_t id) {
  static const std::string pad(16 * 1024, 'z');
  auto body = hubspot_body(id);
  body.insert(body.find("@example.com"), pad);
  const int status = send(t.port, hubspot(t.port, body));
  INFO("event " << id);
  REQUIRE((status == 200 || status == 503));
  return status;
}

/// Deliveries with ids from `first`, sent until the daemon refuses one more than `extra` (at most `limit`): the
/// ids it acknowledged (200) and those it refused (503). The two may interleave: once SQLite checkpoints and
/// restarts its write-ahead log from the start, the same file has room for a while again.
struct fill_result {
  std::vector<std::int64_t> acked, refused;
};
fill_result fill_until_refused(target& t, std::int64_t first, int limit, int extra) {
  fill_result r;
  for (std::int64_t id = first; id < first + limit && static_cast<int>(r.refused.size()) <= extra; ++id)
    (send_padded(t, id) == 200 ? r.acked : r.refused).push_back(id);
  return r;
}

std::string id_list(const std::vector<std::int64_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

std::set<std::string> key_set(const std::vector<std::string>& keys) { return {keys.begin(), keys.end()}; }

}  // namespace

TEST_CASE("adversarial: a full disk gets 503 for webhooks (never 2xx for what was not stored), none acknowledged lost",
          "[adversarial]") {
  target t;
  // Files may not grow past 1 MiB (RLIMIT_FSIZE, no root needed): a write past it fails as on a full disk. The
  // signal the kernel sends for it (SIGXFSZ) is ignored, as a full disk sends none: the write just fails.
  t.start({"sh", "-c", "trap '' XFSZ; exec prlimit --fsize=1048576 \"$@\"", "sh"});
  auto full = fill_until_refused(t, 1, 400, 5);
  INFO(full.acked.size() << " acknowledged, refused: " << id_list(full.refused));
  CHECK(full.acked.size() > 5);
  REQUIRE(full.refused.size() > 5);
  // The daemon stays up and says so; what it acknowledged is stored, and only that.
  CHECK(t.healthy());
  auto keys = key_set(inbox_keys(t.state, "hs"));
  for (auto id : full.acked) CHECK(keys.count("events:" + std::to_string(id)) == 1);
  CHECK(keys.size() == full.acked.size());
  CHECK(metric(t.metrics(), "omnisync_webhook_requests_total", R"(connector="hs",status="503")") ==
        static_cast<double>(full.refused.size()));
  t.stop();

  // Room again (no limit): every acknowledged event is still there, and the vendor's redelivery of a refused one
  // is taken.
  t.start();
  keys = key_set(inbox_keys(t.state, "hs"));
  for (auto id : full.acked) CHECK(keys.count("events:" + std::to_string(id)) == 1);
  // The refused ids exactly: they need not be consecutive (see fill_until_refused).
  for (auto id : full.refused) CHECK(send_padded(t, id) == 200);
  keys = key_set(inbox_keys(t.state, "hs"));
  for (auto id : full.refused) CHECK(keys.count("events:" + std::to_string(id)) == 1);
  CHECK(keys.size() == full.acked.size() + full.refused.size());
  CHECK(t.healthy());
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial: a full file system (root: a tiny tmpfs) gets 503, the daemon stays up", "[adversarial]") {
  if (!is_root()) {
    WARN("not root: cannot mount a tmpfs; the RLIMIT_FSIZE case above covers a full disk without root");
    return;
  }
  target t;
  fs::create_directories(t.state);  // the mount point
  // A 2 MiB tmpfs over the state directory, in the daemon's own mount namespace: the store's writes fail with
  // ENOSPC (SQLITE_FULL), as on a real full disk.
  t.start({"unshare", "--mount", "--propagation", "private", "sh", "-c",
           "mount -t tmpfs -o size=2m omnisync-full \"$0\" && exec \"$@\"", t.state.string()});
  auto full = fill_until_refused(t, 1, 400, 5);
  INFO(full.acked.size() << " acknowledged, " << full.refused.size() << " refused");
  CHECK(full.acked.size() > 5);
  REQUIRE(full.refused.size() > 5);
  CHECK(t.healthy());
  // The inbox as the daemon sees it, copied out of its mount namespace while it is stopped (SQLite resolves the
  // /proc/<pid>/root link to '/', so it cannot open the files there itself).
  const auto copy = t.dir / "inbox-copy";
  fs::create_directories(copy);
  t.proc->signal(SIGSTOP);
  for (const char* f : {"inbox.db", "inbox.db-wal"})
    if (fs::exists(t.state_seen_by_daemon(true) / f)) fs::copy_file(t.state_seen_by_daemon(true) / f, copy / f);
  t.proc->signal(SIGCONT);
  const auto keys = key_set(inbox_keys(copy, "hs"));
  for (auto id : full.acked) CHECK(keys.count("events:" + std::to_string(id)) == 1);
  CHECK(keys.size() == full.acked.size());
  t.stop();
}

TEST_CASE("adversarial: kill -9 during a webhook burst loses nothing acknowledged", "[adversarial]") {
  target t;
  std::int64_t next_id = 1;
  std::set<std::int64_t> acked_all;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    t.start();
    // Four senders; the daemon is killed once they have 150 + 50*round acknowledgements between them.
    std::atomic<std::int64_t> ids{next_id};
    std::atomic<int> acks{0};
    std::atomic<bool> stop{false};
    std::mutex m;
    std::vector<std::int64_t> acked;
    std::vector<std::thread> senders;
    for (int s = 0; s < 4; ++s)
      senders.emplace_back([&] {
        while (!stop) {
          const auto id = ids++;
          raw_client c(t.port);
          if (!c.connected()) break;
          c.send(wire(hubspot(t.port, hubspot_body(id))));
          const int status = c.status();
          if (status == 0) break;  // killed mid-request: no answer, no acknowledgement
          if (status == 200) {
            std::lock_guard lock(m);
            acked.push_back(id);
            ++acks;
          }
        }
      });
    const int kill_at = 150 + 50 * round;
    REQUIRE(eventually([&] { return acks >= kill_at; }, 30s));
    t.proc->signal(SIGKILL);
    stop = true;
    for (auto& s : senders) s.join();
    CHECK(t.proc->wait(5s).has_value());
    next_id = ids;
    acked_all.insert(acked.begin(), acked.end());

    // Restarted on the same state: every acknowledged event is there; at most the four in flight more.
    t.start();
    const auto keys = key_set(inbox_keys(t.state, "hs"));
    std::size_t missing = 0;
    for (auto id : acked_all) missing += keys.count("events:" + std::to_string(id)) == 0;
    CHECK(missing == 0);
    CHECK(keys.size() >= acked_all.size());
    CHECK(keys.size() <= acked_all.size() + 4 * (round + 1));
    CHECK(t.healthy());
    CHECK(t.stop() == 0);
  }
}
