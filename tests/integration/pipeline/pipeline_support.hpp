#pragma once
// What the end-to-end tests share: a daemon run (omnisyncd with a config in a temp dir, steered by omnisyncctl),
// a free port, the simulator's limits lifted for fast polling, waiting for a condition, and the simulator's call
// counts. Header-only; each test file writes its own config.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace omnisync::test::pipeline {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

/// A port free right now (the daemon's listener needs a known port: HubSpot signs the URL it calls).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// Tests poll every 300 ms: lift the vendors' per-minute limits in the simulator and in the connectors.
inline void lift_limits(sim::running_sim& sim) {
  sim.admin("POST", "/admin/limits",
            R"({"service":"zendesk","per_minute":100000,"cursor_users_per_minute":100000,"incremental_per_minute":100000})");
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","ten_secondly_max":100000})");
}

/// omnisyncd with `config` (written by the test), its state and control socket in a temp dir.
struct daemon_run {
  temp_dir dir;
  fs::path config = dir / "omnisync.yaml";
  fs::path socket = dir / "control.sock";
  fs::path state = dir / "state";
  std::unique_ptr<process> proc;
  int port = 0;  ///< the HTTP listener's

  void start() {
    proc = std::make_unique<process>(std::vector<std::string>{binary("omnisyncd"), "-c", config.string(), "--state-dir",
                                                              state.string(), "--control-socket", socket.string()});
    INFO(proc->stderr_text());
    REQUIRE(proc->wait_stderr_contains("running: config", 20s));
    port = static_cast<int>(status().at("http").at("port").as_int64());
    REQUIRE(port > 0);
  }
  run_result ctl(std::vector<std::string> args, std::chrono::milliseconds timeout = 30s) {
    std::vector<std::string> argv{binary("omnisyncctl"), "--socket", socket.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, "", timeout);
  }
  json::object status() {
    auto r = ctl({"--json", "status"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out).as_object();
  }
  const json::object& connector(const json::object& st, const std::string& name) {
    return st.at("connectors").at(name).as_object();
  }
  std::int64_t records(const std::string& name) {
    auto st = status();
    return connector(st, name).at("records").as_int64();
  }
  /// `omnisyncctl --json profile ARGS...`: the reply object, or an empty object when the command failed.
  json::object profile(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "profile"});
    auto r = ctl(args);
    if (r.exit_code != 0) return {};
    json::error_code ec;
    auto v = json::parse(r.out, ec);
    return !ec && v.is_object() ? v.as_object() : json::object();
  }
  int stop() {
    proc->signal(SIGTERM);
    auto code = proc->wait(15s);
    REQUIRE(code.has_value());
    return *code;
  }
};

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 60s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (p()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return p();
}

/// Records the simulator holds for service/object (its admin listing), -1 when it does not say.
inline std::int64_t sim_count(sim::running_sim& sim, const std::string& service, const std::string& object) {
  auto r = sim.admin("GET", "/admin/" + service + "/" + object);
  auto v = r.json();
  if (v.is_array()) return static_cast<std::int64_t>(v.as_array().size());
  if (auto* o = v.if_object())
    for (const char* k : {"total", "count"})
      if (auto* t = o->if_contains(k); t && t->is_int64()) return t->as_int64();
  return -1;
}

/// Total calls the simulator saw whose path contains `needle` (from /admin/counts).
inline std::int64_t calls_to(sim::running_sim& sim, const std::string& needle) {
  auto v = sim.admin("GET", "/admin/counts").json();
  std::int64_t n = 0;
  std::function<void(const json::value&, const std::string&)> walk = [&](const json::value& x, const std::string& key) {
    if (x.is_object())
      for (const auto& kv : x.as_object()) walk(kv.value(), key + "/" + std::string(kv.key()));
    else if (x.is_int64() && key.find(needle) != std::string::npos)
      n += x.as_int64();
  };
  walk(v, "");
  return n;
}

}  // namespace omnisync::test::pipeline
