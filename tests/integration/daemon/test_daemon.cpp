// The real omnisyncd (and omnisyncctl) on temp configs, state dirs and control sockets.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon/app/logging.hpp"
#include "daemon/ctl/client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using omnisync::test::binary;
using omnisync::test::process;
using omnisync::test::run;
using omnisync::test::run_result;
using omnisync::test::temp_dir;

namespace {

const std::string canary = "CANARY-9f3b2c-do-not-log";

std::string config_text(const std::string& desk_poll = "15s", const std::string& extra = "") {
  return "http:\n"
         "  listen: 127.0.0.1:0\n"
         "daemon:\n"
         "  shutdown_timeout: 3s\n"
         "  log:\n"
         "    level: trace\n"
         "connectors:\n"
         "  crm:\n"
         "    kind: salesforce\n"
         "    login_url: http://127.0.0.1:9/\n"
         "    auth:\n"
         "      flow: client_credentials\n"
         "      client_id: test-client\n"
         "      client_secret_file: secret.txt\n"
         "  desk:\n"
         "    kind: zendesk\n"
         "    base_url: http://127.0.0.1:9/\n"
         "    auth: { email: ops@example.com, api_token_file: secret.txt }\n"
         "    poll_interval: " + desk_poll + "\n" + extra;
}

/// One daemon on a temp config, state dir and socket.
struct daemon_fixture {
  temp_dir dir;
  fs::path config = dir / "omnisync.yaml";
  fs::path socket = dir / "control.sock";
  fs::path state = dir / "state";
  std::unique_ptr<process> proc;

  daemon_fixture() {
    dir.write("secret.txt", canary + "\n");
    dir.write("omnisync.yaml", config_text());
  }

  void start(const std::map<std::string, std::string>& env = {}) {
    proc = std::make_unique<process>(std::vector<std::string>{binary("omnisyncd"), "-c", config.string(),
                                                              "--state-dir", state.string(), "--control-socket",
                                                              socket.string()},
                                     env);
    INFO(proc->stderr_text());
    REQUIRE(proc->wait_stderr_contains("running: config", 10s));
  }

  run_result ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{binary("omnisyncctl"), "--socket", socket.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, "", 15s);
  }

  json::object status() {
    auto r = ctl({"--json", "status"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out).as_object();
  }

  int stop() {
    proc->signal(SIGTERM);
    auto code = proc->wait(10s);
    REQUIRE(code.has_value());
    return *code;
  }
};

/// A datagram socket standing in for systemd's NOTIFY_SOCKET.
struct notify_socket {
  int fd = -1;
  std::string path;
  explicit notify_socket(const fs::path& p) : path(p.string()) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~notify_socket() { ::close(fd); }
  std::vector<std::string> messages;
  /// Reads datagrams until one contains `needle` (true) or the timeout passes (false).
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    for (const auto& m : messages)
      if (m.find(needle) != std::string::npos) return true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<long>(1, left.count()))) <= 0) continue;
      char buf[4096];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) continue;
      messages.emplace_back(buf, static_cast<std::size_t>(n));
      if (messages.back().find(needle) != std::string::npos) return true;
    }
    return false;
  }
  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& m : messages) n += m.find(needle) != std::string::npos;
    return n;
  }
};

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

}  // namespace

TEST_CASE("omnisyncd --check-config: 0 for a valid file, 78 with every problem at file:line:col", "[daemon]") {
  temp_dir dir;
  dir.write("secret.txt", canary);
  auto good = dir.write("good.yaml", config_text());
  auto ok = run({binary("omnisyncd"), "-c", good.string(), "--check-config"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("configuration OK (2 connector(s), 0 mapping file(s))") != std::string::npos);

  auto bad = dir.write("bad.yaml",
                       "daemon:\n"
                       "  shutdown_timout: 5s\n"
                       "  threads: zero\n"
                       "connectors:\n"
                       "  x:\n"
                       "    kind: hubspott\n"
                       "    poll_interval: soon\n");
  auto r = run({binary("omnisyncd"), "-c", bad.string(), "--check-config"});
  INFO(r.err);
  CHECK(r.exit_code == 78);
  const std::string f = bad.string();
  CHECK(r.err.find(f + ":2:3: daemon.shutdown_timout: unknown key \"shutdown_timout\" (did you mean \"shutdown_timeout\"?)") != std::string::npos);
  CHECK(r.err.find(f + ":3:12: daemon.threads: expected a whole number") != std::string::npos);
  CHECK(r.err.find(f + ":6:11: connectors.x.kind: expected one of salesforce") != std::string::npos);
  CHECK(r.err.find(f + ":7:20: connectors.x.poll_interval: expected a duration") != std::string::npos);
  CHECK(r.err.find("4 problem(s)") != std::string::npos);

  auto values = dir.write("values.yaml",
                          "daemon:\n"
                          "  control_max_line: 64KiB\n"
                          "http:\n"
                          "  max_body: lots\n"
                          "  public_url: ftp://example.com\n"
                          "  listen: localhost:99999\n"
                          "store:\n"
                          "  synchronous: sometimes\n"
                          "connectors:\n"
                          "  c:\n"
                          "    kind: hubspot\n"
                          "    base_url: not a url\n"
                          "    enabled: maybe\n"
                          "    objects: contacts\n");
  auto rv = run({binary("omnisyncd"), "-c", values.string(), "--check-config"});
  INFO(rv.err);
  CHECK(rv.exit_code == 78);
  const std::string vf = values.string();
  CHECK(rv.err.find(vf + ":2:") == std::string::npos);  // 64KiB is a valid size
  CHECK(rv.err.find(vf + ":4:13: http.max_body: expected a size like") != std::string::npos);
  CHECK(rv.err.find(vf + ":5:15: http.public_url: expected an http(s) URL") != std::string::npos);
  CHECK(rv.err.find(vf + ":6:11: http.listen: expected host:port") != std::string::npos);
  CHECK(rv.err.find(vf + ":8:16: store.synchronous: expected one of off, normal, full, extra") != std::string::npos);
  CHECK(rv.err.find(vf + ":12:15: connectors.c.base_url: expected an http(s) URL") != std::string::npos);
  CHECK(rv.err.find(vf + ":13:14: connectors.c.enabled: expected true or false") != std::string::npos);
  CHECK(rv.err.find(vf + ":14:14: connectors.c.objects: expected a list") != std::string::npos);
  CHECK(rv.err.find("7 problem(s)") != std::string::npos);

  auto syntax = dir.write("syntax.yaml", "daemon:\n  threads: [1, 2\n");
  auto s = run({binary("omnisyncd"), "-c", syntax.string(), "--check-config"});
  CHECK(s.exit_code == 78);
  CHECK(s.err.find(syntax.string() + ":") != std::string::npos);
  CHECK(s.err.find("YAML syntax error") != std::string::npos);

  auto missing = run({binary("omnisyncd"), "-c", (dir / "nope.yaml").string(), "--check-config"});
  CHECK(missing.exit_code == 78);
  CHECK(missing.err.find("cannot read the config file") != std::string::npos);
}

TEST_CASE("omnisyncd: --version, --help and usage errors", "[daemon]") {
  auto v = run({binary("omnisyncd"), "--version"});
  CHECK(v.exit_code == 0);
  CHECK(v.out.rfind("omnisyncd ", 0) == 0);
  auto h = run({binary("omnisyncd"), "--help"});
  CHECK(h.exit_code == 0);
  CHECK(h.out.find("--check-config") != std::string::npos);
  auto u = run({binary("omnisyncd"), "--no-such-flag"});
  CHECK(u.exit_code == 2);
  auto u2 = run({binary("omnisyncd"), "--config"});
  CHECK(u2.exit_code == 2);
}

TEST_CASE("omnisyncd: status, version, pause and resume over the control socket, pause survives a restart", "[daemon]") {
  daemon_fixture d;
  d.start();
  auto st = d.status();
  CHECK(st.at("schema").as_int64() == 1);
  CHECK(st.at("version").is_string());
  CHECK(st.at("uptime_s").as_int64() >= 0);
  CHECK(st.at("config_file").as_string() == fs::absolute(d.config).string());
  CHECK(st.at("state").as_string() == "running");
  CHECK(st.at("paused").as_array().empty());
  CHECK(st.at("last_reload").is_null());
  auto& conns = st.at("connectors").as_object();
  REQUIRE(conns.size() == 2);
  CHECK(conns.at("crm").at("kind").as_string() == "salesforce");
  CHECK(conns.at("crm").at("enabled").as_bool());
  CHECK(conns.at("crm").at("state").as_string() != "paused");  // idle, syncing or error: its API is not there
  CHECK(conns.at("desk").at("poll_interval_ms").as_int64() == 15000);
  auto& store = st.at("store").as_object();
  CHECK(store.at("kind").as_string() == "sqlite");
  CHECK(store.at("inbox_depth").as_int64() == 0);
  CHECK(store.at("state_db_bytes").as_int64() > 0);

  auto v = d.ctl({"--json", "version"});
  CHECK(v.exit_code == 0);
  CHECK(json::parse(v.out).at("version") == st.at("version"));

  CHECK(d.ctl({"pause", "desk"}).exit_code == 0);
  st = d.status();
  REQUIRE(st.at("paused").as_array().size() == 1);
  CHECK(st.at("paused").as_array()[0].as_string() == "desk");
  CHECK(st.at("connectors").at("desk").at("state").as_string() == "paused");
  CHECK(st.at("connectors").at("crm").at("state").as_string() != "paused");

  auto unknown = d.ctl({"pause", "nope"});
  CHECK(unknown.exit_code == 2);  // a name the daemon does not know is a usage error
  CHECK(unknown.err.find("unknown_connector") != std::string::npos);
  // Arguments outside the command's declaration never reach it.
  auto typo = omnisync::ctl::call(d.socket.string(), "pause", json::object{{"conector", "desk"}}, 5s);
  CHECK(typo.state == omnisync::ctl::call_result::status::daemon_error);
  CHECK(typo.error_code == "invalid_args");
  CHECK(typo.message == "pause: unknown argument \"conector\" (pause takes connector)");
  CHECK(d.status().at("paused").as_array().size() == 1);

  CHECK(d.ctl({"resume", "desk"}).exit_code == 0);
  CHECK(d.status().at("paused").as_array().empty());
  CHECK(d.ctl({"pause"}).exit_code == 0);  // all
  CHECK(d.status().at("paused").as_array().size() == 2);
  CHECK(d.ctl({"resume"}).exit_code == 0);
  CHECK(d.ctl({"pause", "crm"}).exit_code == 0);

  CHECK(d.stop() == 0);
  d.start();
  st = d.status();
  REQUIRE(st.at("paused").as_array().size() == 1);
  CHECK(st.at("paused").as_array()[0].as_string() == "crm");
  CHECK(st.at("connectors").at("crm").at("state").as_string() == "paused");
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncd: SIGHUP applies a good config and rejects a bad one, keeping the old", "[daemon]") {
  daemon_fixture d;
  d.start();
  d.dir.write("omnisync.yaml", config_text("45s"));
  d.proc->signal(SIGHUP);
  REQUIRE(d.proc->wait_stderr_contains("configuration reloaded", 5s));
  auto st = d.status();
  CHECK(st.at("connectors").at("desk").at("poll_interval_ms").as_int64() == 45000);
  CHECK(st.at("last_reload").at("ok").as_bool());
  CHECK(st.at("last_reload").at("trigger").as_string() == "SIGHUP");

  d.dir.write("omnisync.yaml", config_text("sometime"));
  d.proc->signal(SIGHUP);
  REQUIRE(d.proc->wait_stderr_contains("reload rejected", 5s));
  const std::string diag = d.config.string() + ":19:20: connectors.desk.poll_interval: expected a duration";
  CHECK(d.proc->wait_stderr_contains(diag, 5s));
  st = d.status();
  CHECK(st.at("state").as_string() == "running");
  CHECK(st.at("connectors").at("desk").at("poll_interval_ms").as_int64() == 45000);
  CHECK_FALSE(st.at("last_reload").at("ok").as_bool());
  REQUIRE(st.at("last_reload").at("diagnostics").as_array().size() == 1);
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncd: the reload command returns the diagnostics and exit 1 for a bad config", "[daemon]") {
  daemon_fixture d;
  d.start();
  d.dir.write("omnisync.yaml", config_text("15s", "bogus_section: 1\n"));
  auto r = d.ctl({"reload"});
  CHECK(r.exit_code == 1);
  CHECK(r.err.find(d.config.string() + ":20:1: bogus_section: unknown key \"bogus_section\"") != std::string::npos);
  CHECK(r.err.find("config_invalid") != std::string::npos);
  CHECK(d.status().at("connectors").as_object().size() == 2);

  d.dir.write("omnisync.yaml", config_text("20s"));
  auto ok = d.ctl({"reload"});
  CHECK(ok.exit_code == 0);
  CHECK(d.status().at("connectors").at("desk").at("poll_interval_ms").as_int64() == 20000);
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncd: SIGTERM and SIGINT stop it with exit 0 well within shutdown_timeout", "[daemon]") {
  daemon_fixture d;
  d.start();
  auto t0 = std::chrono::steady_clock::now();
  CHECK(d.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(d.proc->wait_stderr_contains("stopped", 1s));
  CHECK_FALSE(fs::exists(d.socket));

  d.start();
  d.proc->signal(SIGINT);
  auto code = d.proc->wait(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("omnisyncd: sd_notify READY, STATUS, RELOADING, WATCHDOG and STOPPING on NOTIFY_SOCKET", "[daemon]") {
  daemon_fixture d;
  notify_socket n(d.dir / "notify.sock");
  d.start({{"NOTIFY_SOCKET", n.path}, {"WATCHDOG_USEC", "200000"}});
  REQUIRE(n.wait_for("READY=1", 5s));
  CHECK(n.messages.front().find("STATUS=running") != std::string::npos);
  // Watchdog at half of 200 ms: several keep-alives in under a second.
  REQUIRE(n.wait_for("WATCHDOG=1", 2s));
  auto first = n.count("WATCHDOG=1");
  std::this_thread::sleep_for(450ms);
  n.wait_for("no-such-message", 10ms);
  CHECK(n.count("WATCHDOG=1") >= first + 2);

  d.proc->signal(SIGHUP);
  REQUIRE(n.wait_for("RELOADING=1", 5s));
  std::string reloading;
  for (const auto& m : n.messages)
    if (m.find("RELOADING=1") != std::string::npos) reloading = m;
  CHECK(reloading.find("MONOTONIC_USEC=") != std::string::npos);
  // READY=1 again after the reload.
  CHECK(wait_until([&] {
    n.wait_for("no-such-message", 10ms);
    return n.count("READY=1") >= 2;
  }));
  d.proc->signal(SIGTERM);
  CHECK(n.wait_for("STOPPING=1", 5s));
  auto code = d.proc->wait(5s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("omnisyncd: without WatchdogSec no keep-alives are sent", "[daemon]") {
  daemon_fixture d;
  notify_socket n(d.dir / "notify.sock");
  d.start({{"NOTIFY_SOCKET", n.path}});
  REQUIRE(n.wait_for("READY=1", 5s));
  CHECK_FALSE(n.wait_for("WATCHDOG=1", 300ms));
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncd: secrets never appear in logs or status", "[daemon]") {
  daemon_fixture d;
  d.start();
  auto human = d.ctl({"status"});
  auto raw = d.ctl({"--json", "status"});
  CHECK(human.exit_code == 0);
  CHECK(raw.exit_code == 0);
  CHECK(d.ctl({"reload"}).exit_code == 0);
  d.proc->signal(SIGHUP);
  CHECK(d.proc->wait_stderr_contains("(SIGHUP)", 5s));
  CHECK(d.stop() == 0);
  auto logs = d.proc->stderr_text();
  CHECK(logs.find("debug") != std::string::npos);  // verbose levels were on
  CHECK(logs.find(canary) == std::string::npos);
  CHECK(human.out.find(canary) == std::string::npos);
  CHECK(raw.out.find(canary) == std::string::npos);
}

TEST_CASE("logging: the redactor masks registered secrets in any text", "[daemon]") {
  omnisync::app::set_secrets({canary, "abc"});
  CHECK(omnisync::app::redact("token=" + canary + "; again " + canary) == "token=<redacted>; again <redacted>");
  CHECK(omnisync::app::redact("abc stays: too short to mask safely") == "abc stays: too short to mask safely");
  omnisync::app::set_secrets({});
  CHECK(omnisync::app::redact(canary) == canary);
}

TEST_CASE("omnisyncd: start-up failures exit non-zero with one clear message", "[daemon]") {
  daemon_fixture d;
  d.start();
  // A second daemon on the same control socket.
  temp_dir other;
  auto r = run({binary("omnisyncd"), "-c", d.config.string(), "--state-dir", (other / "state").string(),
                "--control-socket", d.socket.string()},
               "", 15s);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("another process is listening on " + d.socket.string()) != std::string::npos);
  CHECK(r.err.find("cannot start the control socket") != std::string::npos);
  CHECK(d.ctl({"status"}).exit_code == 0);  // the first one is unharmed
  CHECK(d.stop() == 0);

  // A state dir that cannot be one (a regular file).
  auto file = other.write("not-a-dir", "x");
  auto s = run({binary("omnisyncd"), "-c", d.config.string(), "--state-dir", file.string(), "--control-socket",
                (other / "c.sock").string()},
               "", 15s);
  CHECK(s.exit_code == 1);
  CHECK(s.err.find("cannot open the store in " + file.string()) != std::string::npos);
}

TEST_CASE("omnisyncd: a user that is not root, the daemon's user or in its group is refused", "[daemon]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot run a client as another user; skipped");
    return;
  }
  daemon_fixture d;
  d.start();
  // Let 'nobody' reach the socket (directory and file mode), so only the daemon's SO_PEERCRED check stops it.
  ::chmod(d.dir.path().c_str(), 0755);
  ::chmod(d.socket.c_str(), 0666);
  auto copy = d.dir / "omnisyncctl";
  fs::copy_file(binary("omnisyncctl"), copy);
  ::chmod(copy.c_str(), 0755);
  auto r = run({"runuser", "-u", "nobody", "--", copy.string(), "--socket", d.socket.string(), "status"}, "", 15s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("permission_denied") != std::string::npos);
  CHECK(r.out.find("running") == std::string::npos);
  // Root (this test) still gets an answer.
  CHECK(d.ctl({"status"}).exit_code == 0);
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncd: journald priority prefixes under systemd, JSON lines when configured", "[daemon]") {
  {
    daemon_fixture d;
    d.start({{"JOURNAL_STREAM", "8:12345"}});
    CHECK(d.stop() == 0);
    auto logs = d.proc->stderr_text();
    CHECK(logs.find("<6>app: omnisyncd ") != std::string::npos);
    CHECK(logs.find("<6>app: received SIGTERM") != std::string::npos);
    CHECK(logs.find("\033[") == std::string::npos);
  }
  {
    daemon_fixture d;
    d.dir.write("omnisync.yaml", "http:\n  listen: 127.0.0.1:0\ndaemon:\n  log:\n    format: json\n    level: info\n    components:\n"
                                 "      control: debug\n");
    d.start();
    CHECK(d.ctl({"status"}).exit_code == 0);
    CHECK(d.ctl({"reload"}).exit_code == 0);  // logs an app debug line, which level info must hide
    CHECK(d.stop() == 0);
    auto logs = d.proc->stderr_text();
    std::size_t lines = 0;
    bool control_debug = false;
    for (std::size_t pos = 0, nl; (nl = logs.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      auto v = json::parse(logs.substr(pos, nl - pos));  // throws (fails the test) on a non-JSON line
      ++lines;
      CHECK((v.at("time").is_string() && v.at("message").is_string()));
      if (v.at("component").as_string() == "control" && v.at("level").as_string() == "debug") control_debug = true;
      CHECK_FALSE((v.at("component").as_string() == "app" && v.at("level").as_string() == "debug"));
    }
    CHECK(lines >= 3);
    CHECK(control_debug);  // per-component level: control at debug while the default is info
  }
}

TEST_CASE("omnisyncd --check-config: secrets from systemd credentials and ${ENV}, never echoed", "[daemon]") {
  temp_dir dir;
  fs::create_directories(dir / "creds");
  dir.write("creds/hub-token", canary);
  auto cfg = dir.write("c.yaml",
                       "connectors:\n"
                       "  hub:\n"
                       "    kind: hubspot\n"
                       "    auth:\n"
                       "      private_app_token: { credential: hub-token }\n"
                       "  desk:\n"
                       "    kind: zendesk\n"
                       "    subdomain: acme\n"
                       "    auth:\n"
                       "      api_token_file: ${CREDENTIALS_DIRECTORY}/hub-token\n"
                       "      email: ${DESK_EMAIL}\n");
  auto ok = run({binary("omnisyncd"), "-c", cfg.string(), "--check-config"}, "", 15s,
                {{"CREDENTIALS_DIRECTORY", (dir / "creds").string()}, {"DESK_EMAIL", "ops@example.com"}});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  auto missing = run({binary("omnisyncd"), "-c", cfg.string(), "--check-config"});
  CHECK(missing.exit_code == 78);
  INFO(missing.err);
  CHECK(missing.err.find(cfg.string() + ":5:40: connectors.hub.auth.private_app_token: CREDENTIALS_DIRECTORY is not set") !=
        std::string::npos);
  CHECK(missing.err.find(cfg.string() + ":11:14: connectors.desk.auth.email: environment variable DESK_EMAIL is not set") !=
        std::string::npos);
  CHECK(missing.err.find(canary) == std::string::npos);
  CHECK(ok.out.find(canary) == std::string::npos);
}

TEST_CASE("omnisyncd: scripts/demo.sh syncs the bundled simulators", "[daemon]") {
  const fs::path source = OMNISYNC_SOURCE_DIR;
  if (!fs::exists(source / "config/omnisync.example.yaml")) {
    WARN("config/omnisync.example.yaml not present; skipped");
    return;
  }
  // Under a sanitizer the daemon, the simulators and omnisyncctl the demo runs are instrumented too: 2-3 times
  // slower (in a clean-clone run under ASan beside another CI run the demo ran past 60 s and was killed).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  constexpr auto limit = 180s;
#else
  constexpr auto limit = 60s;
#endif
  auto r = run({"bash", (source / "scripts/demo.sh").string()}, "", limit, {{"OMNISYNC_BUILD_DIR", OMNISYNC_BINARY_DIR}});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("==> omnisyncctl status") != std::string::npos);
  CHECK(r.out.find("Zendesk user now:") != std::string::npos);  // the webhook change arrived
  // The segment: a ticket opened put the person into it and into the three destinations, solving it took them out.
  CHECK(r.out.find("opens a ticket in Zendesk: they enter segment open_ticket") != std::string::npos);
  CHECK(r.out.find("ticket opened → member:") != std::string::npos);
  CHECK(r.out.find("ticket solved → not a member:") != std::string::npos);
  CHECK(r.out.find("demo: OK") != std::string::npos);
  CHECK_FALSE(r.timed_out);
}

TEST_CASE("omnisyncd: a used state directory whose state.db became empty is refused, unless --init-store", "[daemon]") {
  daemon_fixture d;
  d.start();
  REQUIRE(d.ctl({"pause", "desk"}).exit_code == 0);  // state worth keeping: the paused set
  CHECK(d.stop() == 0);
  // The file is emptied (a bad restore, a full disk): starting afresh would silently drop the queues and cursors.
  fs::resize_file(d.state / "state.db", 0);
  const std::vector<std::string> argv{binary("omnisyncd"), "-c", d.config.string(), "--state-dir", d.state.string(),
                                      "--control-socket", d.socket.string()};
  auto refused = run(argv, "", 15s);
  INFO(refused.err);
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("state.db") != std::string::npos);
  CHECK(refused.err.find("--init-store") != std::string::npos);
  CHECK(fs::file_size(d.state / "state.db") == 0);  // nothing was created in its place

  // The operator says so: a new, empty store.
  auto with_flag = argv;
  with_flag.push_back("--init-store");
  d.proc = std::make_unique<process>(with_flag);
  INFO(d.proc->stderr_text());
  REQUIRE(d.proc->wait_stderr_contains("running: config", 10s));
  CHECK(d.status().at("paused").as_array().empty());
  CHECK(d.stop() == 0);
  // And from then on it starts without the flag.
  d.start();
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncd: NO_COLOR turns the coloured terminal log off", "[daemon][log]") {
  // stderr on a terminal (a pseudo-terminal here) gets colour unless NO_COLOR is set to anything.
  int master = -1, slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(slave, STDERR_FILENO);
  const char* journal = std::getenv("JOURNAL_STREAM");
  const std::string journal_saved = journal ? journal : "";
  ::unsetenv("JOURNAL_STREAM");
  ::unsetenv("NO_COLOR");
  const auto plain_env = omnisync::app::choose_log_output("auto");
  const auto text_env = omnisync::app::choose_log_output("text");
  ::setenv("NO_COLOR", "1", 1);
  const auto no_color = omnisync::app::choose_log_output("auto");
  const auto no_color_text = omnisync::app::choose_log_output("text");
  ::setenv("NO_COLOR", "", 1);  // empty: as if unset (no-color.org)
  const auto empty = omnisync::app::choose_log_output("auto");
  ::unsetenv("NO_COLOR");
  if (journal) ::setenv("JOURNAL_STREAM", journal_saved.c_str(), 1);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(slave);
  ::close(master);
  CHECK(plain_env == omnisync::app::log_output::color_text);
  CHECK(text_env == omnisync::app::log_output::color_text);
  CHECK(no_color == omnisync::app::log_output::text);
  CHECK(no_color_text == omnisync::app::log_output::text);
  CHECK(empty == omnisync::app::log_output::color_text);
}

TEST_CASE("omnisyncd: the start-up line counts the enabled connectors", "[daemon]") {
  daemon_fixture d;
  d.dir.write("omnisync.yaml", config_text("15s", "    enabled: false\n"));  // desk written down, not synced
  d.start();
  CHECK(d.proc->wait_stderr_contains("1 of 2 connector(s) enabled", 10s));
  CHECK(d.proc->stderr_text().find("2 of 2") == std::string::npos);
  CHECK(d.stop() == 0);
}
