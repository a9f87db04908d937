#pragma once
// What the end-to-end tests share: a daemon run (omnisyncd with a config in a temp dir, steered by omnisyncctl),
// a free port, the pieces of a test config (the daemon's part, one block per simulated vendor, a copy of the
// shipped mappings for a test that changes them), signed HubSpot
// webhook deliveries, the simulator's limits lifted for fast polling, waiting for a condition, and the
// simulator's call counts. Header-only; each test file puts its config together from these pieces.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/hubspot/webhook.hpp"
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

// ---- config pieces ----------------------------------------------------------------------------------------

/// The top of a test config: the HTTP listener on 127.0.0.1:`port` (its public URL the same: HubSpot signs the
/// URL it calls), a short shutdown, `log_level`, the project's mappings; `top` is added at the top level
/// (store:, identity:, ...). The connector blocks below follow under "connectors:".
inline std::string daemon_config(int port, const std::string& top = "", const std::string& log_level = "info") {
  const std::string p = std::to_string(port);
  return "http:\n"
         "  listen: 127.0.0.1:" + p + "\n"
         "  public_url: http://127.0.0.1:" + p + "\n"
         "daemon:\n"
         "  shutdown_timeout: 5s\n"
         "  log: { level: " + log_level + " }\n"
         "mappings_dir: " OMNISYNC_SOURCE_DIR "/config/mappings\n" + top +
         "connectors:\n";
}

/// What every simulated connector has: its URL key and URL over HTTPS with the simulator's CA trusted, the
/// objects, a 300 ms poll and no settle lag (the simulator's clock is exact).
inline std::string connector_head(sim::running_sim& sim, const std::string& name, const std::string& kind,
                                  const std::string& url_key, const std::string& objects) {
  return "  " + name + ":\n"
         "    kind: " + kind + "\n"
         "    " + url_key + ": " + sim.url(kind, "https") + "\n"
         "    tls: { ca_file: " + sim.ca_file() + " }\n"
         "    objects: [" + objects + "]\n"
         "    poll_interval: 300ms\n"
         "    settle_lag: 0s\n";
}

/// A copy of the shipped mappings (config/mappings) in `dir`/mappings, for a test that changes some of them;
/// the copy's path. `with_mappings` points a config at it.
inline fs::path copy_shipped_mappings(const fs::path& dir) {
  const auto maps = dir / "mappings";
  fs::copy(OMNISYNC_SOURCE_DIR "/config/mappings", maps, fs::copy_options::recursive);
  return maps;
}

/// `config` (made with daemon_config) reading its mappings from `maps` instead of the shipped folder.
inline std::string with_mappings(std::string config, const fs::path& maps) {
  const std::string shipped = "mappings_dir: " OMNISYNC_SOURCE_DIR "/config/mappings";
  const auto at = config.find(shipped);
  REQUIRE(at != std::string::npos);
  config.replace(at, shipped.size(), "mappings_dir: " + maps.string());
  return config;
}

/// Connector `sf`: client-credentials login to the simulator; `extra`: further lines of the block.
inline std::string salesforce_block(sim::running_sim& sim, const std::string& objects = "Contact",
                                    const std::string& extra = "") {
  return connector_head(sim, "sf", "salesforce", "login_url", objects) +
         "    auth: { flow: client_credentials, client_id: test-client, client_secret: test-secret }\n" + extra;
}

/// Connector `hs`: a private app token (or `auth`), HubSpot's limits lifted for 300 ms polls.
inline std::string hubspot_block(sim::running_sim& sim, const std::string& objects = "contacts",
                                 const std::string& extra = "",
                                 const std::string& auth = "{ private_app_token: pat-test-token }") {
  return connector_head(sim, "hs", "hubspot", "base_url", objects) + "    auth: " + auth + "\n" +
         "    rate_limit: { per_10s: 100000, search_per_second: 1000 }\n" + extra;
}

/// Connector `zd`: an API token, Zendesk's limits lifted for 300 ms polls.
inline std::string zendesk_block(sim::running_sim& sim, const std::string& objects = "users",
                                 const std::string& extra = "") {
  return connector_head(sim, "zd", "zendesk", "base_url", objects) +
         "    auth: { email: ops@example.com, api_token: zd-test-token }\n"
         "    rate_limit: { per_minute: 100000, exports_per_minute: 100000, user_exports_per_minute: 100000 }\n" +
         extra;
}

/// Posts `body` to the daemon listening on `port` as HubSpot delivers webhooks to connector `hs`, signed with v3
/// (HMAC-SHA256 over method, URL, body and timestamp) by `secret`; the HTTP status.
inline int post_signed_hubspot(int port, const std::string& secret, const std::string& body) {
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/webhooks/hs";
  const std::string ts = std::to_string(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  auto r = sim::http("POST", url, body,
                     {"Content-Type: application/json",
                      "X-HubSpot-Signature-v3: " + adapters::hubspot_signature_v3(secret, "POST", url, body, ts),
                      "X-HubSpot-Request-Timestamp: " + ts});
  return r.status;
}

// ---- the simulator -----------------------------------------------------------------------------------------

/// Tests poll every 300 ms: lift the vendors' per-minute limits in the simulator and in the connectors.
inline void lift_limits(sim::running_sim& sim) {
  sim.admin("POST", "/admin/limits",
            R"({"service":"zendesk","per_minute":100000,"cursor_users_per_minute":100000,"incremental_per_minute":100000})");
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","ten_secondly_max":100000})");
}

/// Moves the simulators' clock past Zendesk's export settle time (the simulator holds back the current second, as
/// Zendesk holds back the last minute), so the changes just made are in the next export.
inline void settle_zendesk(sim::running_sim& sim) { sim.admin("POST", "/admin/clock", R"({"advance_ms":1000})"); }

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

/// `s` in lower case (ASCII): e-mails compared as the vendors compare them.
inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 60s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (p()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return p();
}

/// A line for `hubspot/contacts.out.yaml`: a property HubSpot does not have, made of the profile id, so every
/// write that carries the id is refused (a field made of an attribute the contact already holds would be taken as
/// already there, and not sent). The tests of dead letters, refusals and lint append it.
inline const std::string unknown_hubspot_property =
    "  omnisync_nickname:   { from: _profile_id }   # no such HubSpot property\n";

/// `omnisyncctl --json ARGS...` that must succeed: its reply, the output's last line (with --follow, progress
/// events come first, one line each).
inline json::object ctl_json(daemon_run& d, std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
  args.insert(args.begin(), "--json");
  auto r = d.ctl(args, timeout);
  INFO(r.err);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  std::string last = r.out;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  if (const auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  auto v = json::parse(last);
  REQUIRE(v.is_object());
  return v.as_object();
}

/// `omnisyncctl --json report ARGS...`: its reply, or nullopt while the daemon still loads its analytics index
/// (refused with error `loading` right after a start: a report then would count part of the history). Any other
/// failure fails the test.
inline std::optional<json::object> report_json(daemon_run& d, std::vector<std::string> args) {
  auto probe = args;
  probe.insert(probe.begin(), {"--json", "report"});
  auto r = d.ctl(probe, 120s);
  if (r.exit_code != 0 && r.err.find("still loading") != std::string::npos) return std::nullopt;
  args.insert(args.begin(), "report");
  return ctl_json(d, args);
}

/// The dead-letter gauge (open entries) as the daemon's /metrics shows it; -1 when absent.
inline double dead_letter_gauge(daemon_run& d) {
  auto m = sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics");
  const std::string name = "\nomnisync_dead_letters ";
  const auto at = m.body.find(name);
  if (at == std::string::npos) return -1;
  return std::stod(m.body.substr(at + name.size(), m.body.find('\n', at + name.size()) - at - name.size()));
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
