// The control socket server in-process on a temp socket, driven over a real Unix socket by raw clients and by
// the real omnisyncctl binary: protocol, bad input, limits, concurrency, peer credentials and exit codes.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/server.hpp"
#include "daemon/ctl/client.hpp"
#include "daemon/ctl/format.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::control::reply;

namespace {

std::shared_ptr<omnisync::control::command_table> test_commands() {
  auto t = std::make_shared<omnisync::control::command_table>();
  t->add("echo", "returns its args", [](json::object args, omnisync::control::event_sink&) -> asio::awaitable<reply> {
    co_return reply::success(args);
  });
  t->add("fail", "always fails", [](json::object, omnisync::control::event_sink&) -> asio::awaitable<reply> {
    co_return reply::failure("unknown_connector", "no connector named nope");
  });
  t->add("progress", "three events then a result",
         [](json::object, omnisync::control::event_sink& ev) -> asio::awaitable<reply> {
           for (int i = 1; i <= 3; ++i) {
             json::object e;
             e["done"] = i;
             co_await ev.emit(std::move(e));
           }
           co_return reply::success(json::object{{"total", 3}});
         });
  t->add("slow", "answers after 100 ms", [](json::object, omnisync::control::event_sink&) -> asio::awaitable<reply> {
    asio::steady_timer t(co_await asio::this_coro::executor, 100ms);
    co_await t.async_wait(asio::use_awaitable);
    co_return reply::success(json::string("late"));
  });
  return t;
}

struct fixture {
  omnisync::test::temp_dir dir;
  std::string socket = (dir / "control.sock").string();
  asio::io_context io;
  std::unique_ptr<omnisync::control::server> server;
  std::vector<std::thread> threads;
  std::future<void> done;

  explicit fixture(std::chrono::milliseconds idle = 5s, std::size_t max_line = 1 << 20, std::string group = "") {
    omnisync::control::server_options o;
    o.socket_path = socket;
    o.group = group;
    o.idle_timeout = idle;
    o.max_line = max_line;
    server = std::make_unique<omnisync::control::server>(io.get_executor(), o, test_commands());
    REQUIRE(server->start().has_value());
    done = asio::co_spawn(io, server->run(), asio::use_future);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~fixture() {
    server->stop();
    done.wait_for(5s);
    io.stop();
    for (auto& t : threads) t.join();
  }
};

/// A raw client: connect, send bytes, read lines with a timeout.
struct raw_client {
  int fd = -1;
  std::string buf;
  explicit raw_client(const std::string& path) {
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, path.c_str());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~raw_client() { ::close(fd); }
  bool send(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  /// Next line, or "<closed>" / "<timeout>".
  std::string line(std::chrono::milliseconds timeout = 3s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buf.find('\n'); nl != std::string::npos) {
        auto l = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "<timeout>";
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "<timeout>";
      char tmp[4096];
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return "<closed>";
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
};

json::object parse_obj(const std::string& s) {
  auto v = json::parse(s);
  REQUIRE(v.is_object());
  return v.as_object();
}

std::string error_code_of(const std::string& line) {
  auto o = parse_obj(line);
  REQUIRE(o.at("ok").as_bool() == false);
  return std::string(o.at("error").at("code").as_string());
}

}  // namespace

TEST_CASE("control: a request is answered with its id and result, errors carry code and message", "[control]") {
  fixture f;
  raw_client c(f.socket);
  c.send(R"({"v":1,"id":7,"cmd":"echo","args":{"x":1}})" "\n");
  auto r = parse_obj(c.line());
  CHECK(r.at("id").as_int64() == 7);
  CHECK(r.at("ok").as_bool());
  CHECK(r.at("result").at("x").as_int64() == 1);
  c.send(R"({"v":1,"id":"abc","cmd":"fail"})" "\n");
  auto e = parse_obj(c.line());
  CHECK(e.at("id").as_string() == "abc");
  CHECK(e.at("error").at("code").as_string() == "unknown_connector");
  CHECK(e.at("error").at("message").as_string() == "no connector named nope");
}

TEST_CASE("control: progress events come before the result", "[control]") {
  fixture f;
  raw_client c(f.socket);
  c.send(R"({"v":1,"id":1,"cmd":"progress"})" "\n");
  for (int i = 1; i <= 3; ++i) {
    auto ev = parse_obj(c.line());
    CHECK(ev.at("id").as_int64() == 1);
    CHECK(ev.at("event").at("done").as_int64() == i);
  }
  auto r = parse_obj(c.line());
  CHECK(r.at("result").at("total").as_int64() == 3);
}

TEST_CASE("control: bad input gets a JSON error, never a crash or a hang", "[control]") {
  fixture f;
  raw_client c(f.socket);
  c.send("\x01\x02 garbage \xff\n");
  CHECK(error_code_of(c.line()) == "bad_request");
  c.send("{\"v\":1,\"id\":2,\"cmd\":\n");
  CHECK(error_code_of(c.line()) == "bad_request");
  c.send("[1,2,3]\n");
  CHECK(error_code_of(c.line()) == "bad_request");
  c.send(R"({"v":2,"id":3,"cmd":"echo"})" "\n");
  CHECK(error_code_of(c.line()) == "unsupported_version");
  c.send(R"({"id":4,"cmd":"echo"})" "\n");
  CHECK(error_code_of(c.line()) == "unsupported_version");
  c.send(R"({"v":1,"id":5,"cmd":"launch_missiles"})" "\n");
  CHECK(error_code_of(c.line()) == "unknown_command");
  c.send(R"({"v":1,"id":6,"cmd":"echo","args":[1]})" "\n");
  CHECK(error_code_of(c.line()) == "bad_request");
  // The same connection still works after all that.
  c.send(R"({"v":1,"id":8,"cmd":"echo","args":{}})" "\n");
  CHECK(parse_obj(c.line()).at("ok").as_bool());
}

TEST_CASE("control: a declared command's arguments are checked before its handler runs: invalid_args", "[control]") {
  fixture f;
  auto t = test_commands();
  std::atomic<int> runs{0};
  t->add(omnisync::control::catalogue::resync,
         [&runs](json::object args, omnisync::control::event_sink&) -> asio::awaitable<reply> {
           ++runs;
           co_return reply::success(args);
         });
  f.server->set_commands(t);
  raw_client c(f.socket);
  c.send(R"({"v":1,"id":1,"cmd":"resync","args":{"connector":"zd","follow":"yes","since_when":"today"}})" "\n");
  auto e = parse_obj(c.line());
  CHECK(e.at("id").as_int64() == 1);
  CHECK(e.at("error").at("code").as_string() == "invalid_args");
  CHECK(e.at("error").at("message").as_string() ==
        "resync: argument \"follow\" must be a boolean, not a string; unknown argument \"since_when\" (resync takes "
        "connector, object, full, since, id, email, fields, follow)");
  c.send(R"({"v":1,"id":2,"cmd":"resync"})" "\n");
  CHECK(parse_obj(c.line()).at("error").at("message").as_string() == "resync: missing required argument \"connector\"");
  CHECK(runs == 0);
  // Well-formed arguments reach the handler untouched.
  c.send(R"({"v":1,"id":3,"cmd":"resync","args":{"connector":"zd","fields":["phone"],"follow":false}})" "\n");
  auto ok = parse_obj(c.line());
  CHECK(ok.at("ok").as_bool());
  CHECK(ok.at("result").at("fields").as_array()[0].as_string() == "phone");
  CHECK(runs == 1);
  // A command without a declaration takes any arguments (echo).
  c.send(R"({"v":1,"id":4,"cmd":"echo","args":{"anything":[1,2]}})" "\n");
  CHECK(parse_obj(c.line()).at("ok").as_bool());
}

TEST_CASE("control: a 10 MB line is refused with line_too_long and the connection closed", "[control]") {
  fixture f(5s, 1 << 20);
  raw_client c(f.socket);
  std::thread sender([&] { c.send(std::string(10 << 20, 'a') + "\n"); });
  CHECK(error_code_of(c.line(10s)) == "line_too_long");
  CHECK(c.line(5s) == "<closed>");
  ::shutdown(c.fd, SHUT_RDWR);
  sender.join();
  raw_client again(f.socket);
  again.send(R"({"v":1,"id":1,"cmd":"echo"})" "\n");
  CHECK(parse_obj(again.line()).at("ok").as_bool());
}

TEST_CASE("control: an idle client is disconnected and others are still served", "[control]") {
  fixture f(200ms);
  raw_client idle(f.socket);
  CHECK(idle.line(3s) == "<closed>");
  raw_client busy(f.socket);
  busy.send(R"({"v":1,"id":1,"cmd":"echo"})" "\n");
  CHECK(parse_obj(busy.line()).at("ok").as_bool());
}

TEST_CASE("control: pipelined requests are answered in order", "[control]") {
  fixture f;
  raw_client c(f.socket);
  c.send(R"({"v":1,"id":1,"cmd":"slow"})" "\n" R"({"v":1,"id":2,"cmd":"echo"})" "\n" R"({"v":1,"id":3,"cmd":"fail"})" "\n");
  CHECK(parse_obj(c.line()).at("id").as_int64() == 1);
  CHECK(parse_obj(c.line()).at("id").as_int64() == 2);
  CHECK(parse_obj(c.line()).at("id").as_int64() == 3);
}

TEST_CASE("control: 50 concurrent clients are all answered", "[control]") {
  fixture f;
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 50; ++i)
    clients.emplace_back([&, i] {
      auto r = omnisync::ctl::call(f.socket, "slow", {}, 5s);
      if (r.state == omnisync::ctl::call_result::status::ok && r.result.as_string() == "late") ++ok;
      (void)i;
    });
  for (auto& t : clients) t.join();
  CHECK(ok == 50);
}

TEST_CASE("control: the socket file is created with mode 0660", "[control]") {
  fixture f;
  struct stat st {};
  REQUIRE(::stat(f.socket.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
}

TEST_CASE("control: a second server on the same live socket is refused, a stale file is replaced", "[control]") {
  fixture f;
  asio::io_context io;
  omnisync::control::server_options o;
  o.socket_path = f.socket;
  omnisync::control::server second(io.get_executor(), o, test_commands());
  CHECK_FALSE(second.start().has_value());

  omnisync::test::temp_dir d;
  auto stale = (d / "stale.sock").string();
  {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, stale.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    ::close(fd);  // the file stays, nobody listens: stale
  }
  omnisync::control::server_options o2;
  o2.socket_path = stale;
  omnisync::control::server third(io.get_executor(), o2, test_commands());
  CHECK(third.start().has_value());
}

TEST_CASE("omnisyncctl: exit codes 0, 1, 2 and 69 against a real server", "[control]") {
  fixture f;
  auto ctl = omnisync::test::binary("omnisyncctl");
  // version is not in the test table: the daemon answers unknown_command → exit 1.
  auto unknown = omnisync::test::run({ctl, "--socket", f.socket, "version"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("unknown_command") != std::string::npos);
  auto usage = omnisync::test::run({ctl, "--socket", f.socket, "no-such-subcommand"});
  CHECK(usage.exit_code == 2);
  auto usage2 = omnisync::test::run({ctl, "--socket", f.socket, "--timeout", "soon", "status"});
  CHECK(usage2.exit_code == 2);
  auto unreachable = omnisync::test::run({ctl, "--socket", (f.dir / "nothing.sock").string(), "status"});
  CHECK(unreachable.exit_code == 69);
  CHECK(unreachable.err.find("cannot reach omnisyncd") != std::string::npos);
  auto help = omnisync::test::run({ctl, "status", "--help"});
  CHECK(help.exit_code == 0);
}

TEST_CASE("omnisyncctl: pause sends its connector argument, --json prints the raw result", "[control]") {
  fixture f;
  // Register pause as echo so the test sees what omnisyncctl sent.
  auto t = test_commands();
  t->add("pause", "echo", [](json::object args, omnisync::control::event_sink&) -> asio::awaitable<reply> {
    co_return reply::success(args);
  });
  f.server->set_commands(t);
  auto ctl = omnisync::test::binary("omnisyncctl");
  auto r = omnisync::test::run({ctl, "--socket", f.socket, "--json", "pause", "hubspot"});
  CHECK(r.exit_code == 0);
  auto v = json::parse(r.out);
  CHECK(v.at("connector").as_string() == "hubspot");
  auto human = omnisync::test::run({ctl, "--socket", f.socket, "pause", "hubspot"});
  CHECK(human.exit_code == 0);
  CHECK(human.out == "paused hubspot\n");
}

TEST_CASE("control: a client that is neither root, the daemon's user nor in the group is refused", "[control]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot run a client as another user; skipped");
    return;
  }
  fixture f;
  // Let 'nobody' reach the socket file (directory traversal and the file mode), so only SO_PEERCRED stops it.
  ::chmod(f.dir.path().c_str(), 0755);
  ::chmod(f.socket.c_str(), 0666);
  auto ctl = omnisync::test::binary("omnisyncctl");
  // The binary must be reachable by nobody too; build trees under /root are not: copy it.
  auto copy = f.dir / "omnisyncctl";
  std::filesystem::copy_file(ctl, copy);
  ::chmod(copy.c_str(), 0755);
  auto r = omnisync::test::run({"runuser", "-u", "nobody", "--", copy.string(), "--socket", f.socket, "status"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("permission_denied") != std::string::npos);
}

TEST_CASE("control: a client in the control group only as a supplementary group is admitted", "[control]") {
  if (::geteuid() != 0) {
    WARN("not root: cannot run a client as another user with other groups; skipped");
    return;
  }
  // The group list comes from the socket (SO_PEERGROUPS), not from /proc/<pid>/status, which systemd's
  // ProtectProc=invisible hides from the daemon for other users' processes.
  const group* adm = ::getgrnam("adm");
  if (!adm) {
    WARN("no group 'adm' here to stand for the control group; skipped");
    return;
  }
  fixture f(5s, 1 << 20, "adm");
  auto t = test_commands();
  t->add("status", "a fixed status", [](json::object, omnisync::control::event_sink&) -> asio::awaitable<reply> {
    co_return reply::success(json::object{{"schema", 1}});
  });
  f.server->set_commands(t);
  ::chmod(f.dir.path().c_str(), 0755);
  auto copy = f.dir / "omnisyncctl";
  std::filesystem::copy_file(omnisync::test::binary("omnisyncctl"), copy);
  ::chmod(copy.c_str(), 0755);
  const std::vector<std::string> as_nobody{"setpriv", "--reuid=65534", "--regid=65534"};
  auto with_groups = [&](const std::string& groups) {
    auto argv = as_nobody;
    argv.push_back(groups);
    for (const std::string& a : {copy.string(), std::string("--socket"), f.socket, std::string("--json"),
                                 std::string("status")})
      argv.push_back(a);
    return omnisync::test::run(argv);
  };
  auto admitted = with_groups("--groups=" + std::to_string(adm->gr_gid));  // a supplementary group only
  INFO(admitted.out << admitted.err);
  CHECK(admitted.exit_code == 0);
  // Without the group: the socket file's mode alone would stop the client at connect (EACCES); open it up so
  // that what refuses is the daemon's own peer-credential check.
  ::chmod(f.socket.c_str(), 0666);
  auto refused = with_groups("--clear-groups");
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("permission_denied") != std::string::npos);
}

TEST_CASE("omnisyncctl: status is rendered for people", "[control]") {
  auto status = json::parse(R"({"schema":1,"version":"0.1.0","uptime_s":3725,"state":"running",
    "config_file":"/etc/omnisync/omnisync.yaml","paused":["zendesk"],
    "store":{"kind":"sqlite","inbox_depth":0,"outbox_depth":14,"dead_letters":2,"state_db_bytes":412000000},
    "connectors":{"salesforce":{"kind":"salesforce","state":"running"},"zendesk":{"kind":"zendesk","state":"paused"}}})");
  auto text = omnisync::ctl::format_status(status);
  CHECK(text.find("omnisync 0.1.0  up 1h 2m  running") != std::string::npos);
  CHECK(text.find("paused     zendesk") != std::string::npos);
  CHECK(text.find("outbox 14") != std::string::npos);
  CHECK(text.find("state.db 412.0 MB") != std::string::npos);
  CHECK(text.find("zendesk     zendesk     paused") != std::string::npos);
}

TEST_CASE("omnisyncctl: status sections say their units, KPIs with their currency and scales", "[control]") {
  auto status = json::parse(R"({"schema":1,"version":"0.1.0","uptime_s":42,"state":"running",
    "store":{"kind":"sqlite","inbox_depth":3,"outbox_depth":0,"dead_letters":1,"state_db_bytes":2048},
    "connectors":{"hs":{"kind":"hubspot","state":"idle","health":{"state":"unauthorized","text":"unauthorized: no"},
                        "records":120,"inbox_depth":3,"outbox_depth":0,"events_in":7,
                        "api":{"calls":55,"errors":1,"budget_used":0,"budget_limit":0},
                        "writes":{"ok":9,"rejected":2,"retried":0,"last_error":""},
                        "objects_status":[{"object":"contacts","phase":"idle","records_read":120,"lag_ms":2000,
                                           "last_success":"2026-12-06T18:00:00.000Z","last_error":"",
                                           "initial_sync":{"state":"done","read":120,"total":120,"seconds":1.5}}]},
                  "zd":{"kind":"zendesk","state":"disabled"}},
    "profiles":{"ready":true,"profiles":100,"records":220,"interactions":40,"events":40,"merges":12,
                "unattached_interactions":0,"withheld_creates":0,"withheld_reasons":{}},
    "kpis":{"currency":"EUR","rates":{"USD":0.93},
            "units":{"lifetime_value":{"unit":"EUR","description":"won deals and orders summed"},
                     "csat_average":{"unit":"fraction 0..1","description":"not a percent"}}},
    "http":{"listen":"127.0.0.1:0","port":8080},"log":{"level":"info","format":"json"}})");
  const auto text = omnisync::ctl::format_status(status);
  INFO(text);
  // Store: every count with what it counts.
  CHECK(text.find("inbox 3 events  outbox 0 writes  dead letters 1 open  state.db 2.0 KB") != std::string::npos);
  // One table: the headers say their units; a connector without engine figures has "—" in every such column;
  // columns nobody has a value in (budgets) are left out.
  CHECK(text.find("\nconnectors\n") != std::string::npos);
  CHECK(text.find("inbox (events)") != std::string::npos);
  CHECK(text.find("outbox (writes)") != std::string::npos);
  CHECK(text.find("API calls") != std::string::npos);
  CHECK(text.find("budget") == std::string::npos);
  CHECK(text.find("hs/contacts  idle  read 120 records  lag 2s") != std::string::npos);
  CHECK(text.find("initial sync done in 1.5 s") != std::string::npos);
  CHECK(text.find("hs: unauthorized: no") != std::string::npos);
  // Table rows are equally long up to their last column: every row has every column.
  {
    const auto at = text.find("  connector");
    REQUIRE(at != std::string::npos);
    const auto header_end = text.find('\n', at);
    const auto row1_end = text.find('\n', header_end + 1);
    const auto header = text.substr(at, header_end - at);
    const auto row1 = text.substr(header_end + 1, row1_end - header_end - 1);
    CHECK(row1.find("hubspot") == header.find("kind"));
  }
  // Sections for profiles and KPIs; the KPIs' currency and scales are said.
  CHECK(text.find("\nprofiles\n  100 profiles  from 220 records  40 interactions") != std::string::npos);
  CHECK(text.find("\nKPIs (per profile") != std::string::npos);
  CHECK(text.find("amounts in EUR (converted: USD × 0.93)") != std::string::npos);
  CHECK(text.find("csat_average") != std::string::npos);
  CHECK(text.find("fraction 0..1") != std::string::npos);
  // The rest under its own heading.
  CHECK(text.find("\ndaemon\n") != std::string::npos);
}

TEST_CASE("omnisyncctl: a profile's KPIs are shown with their units", "[control]") {
  auto reply = json::parse(R"({"id":"p1","records":[],"golden":{},"timeline":[],"timeline_total":0,
    "kpis":{"lifetime_value":2400,"csat_average":0.8,"order_count":3,"lifecycle_stage":"purchase","nps":null},
    "kpi_units":{"lifetime_value":"USD","csat_average":"fraction 0..1","order_count":"count",
                 "lifecycle_stage":"stage","nps":"score 0..10"}})");
  const auto text = omnisync::ctl::format_profile(reply, "get");
  INFO(text);
  CHECK(text.find("2400 USD\n") != std::string::npos);
  CHECK(text.find("0.8 (fraction 0..1)\n") != std::string::npos);
  CHECK(text.find("3 (count)\n") != std::string::npos);
  CHECK(text.find("purchase\n") != std::string::npos);
  CHECK(text.find("score") == std::string::npos);  // no unit beside an absent value
}

TEST_CASE("omnisyncctl: profile resync prints the records it re-reads (its reply is no profile)", "[control]") {
  auto reply = json::parse(R"({"id":"p7","records":[{"system":"hs","object":"contacts","id":"51"},
    {"system":"zd","object":"users","id":"9"}]})");
  CHECK(omnisync::ctl::format_profile(reply, "resync") == "re-reading 2 record(s) of p7: hs/contacts/51 zd/users/9\n");
}

TEST_CASE("omnisyncctl map: the mapping dry run without a daemon, with its exit codes", "[control][map]") {
  omnisync::test::temp_dir d;
  auto ctl = omnisync::test::binary("omnisyncctl");
  auto mapping = std::string(OMNISYNC_SOURCE_DIR) + "/config/mappings/salesforce/Contact.in.yaml";
  auto ok = omnisync::test::run(
      {ctl, "map", "--mapping", mapping},
      R"({"Id":"003A","Email":"  Ann.Lee@Example.COM ","LastName":"Lee","SystemModstamp":"2026-01-01T00:00:00.000+0000"})" "\n");
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  auto rec = json::parse(ok.out.substr(0, ok.out.find('\n')));
  CHECK(rec.at("email").as_string() == "ann.lee@example.com");
  CHECK(rec.at("external_ids").at("salesforce").as_string() == "003A");

  auto not_json = omnisync::test::run({ctl, "map", "--mapping", mapping}, "this is not json\n");
  CHECK(not_json.exit_code == 65);
  auto bad_map = d.write("bad.in.yaml", "system: salesforce\nobject: Contact\ndirection: inbound\nfields:\n  email: { from: Email, transform: [lowr] }\n");
  auto bad = omnisync::test::run({ctl, "map", "--mapping", bad_map.string()}, "{}\n");
  CHECK(bad.exit_code == 78);
  CHECK(bad.err.find("bad.in.yaml:5:") != std::string::npos);
  CHECK(omnisync::test::run({ctl, "map"}).exit_code == 2);
}
