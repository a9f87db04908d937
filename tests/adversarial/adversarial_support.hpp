#pragma once
// What the adversarial tests share: omnisyncd with a webhook route for each of the five vendors (the vendors'
// APIs unreachable: nothing here needs them, the webhook path stores before it processes), deliveries signed the
// way each vendor signs them, a raw TCP client for what no well-behaved HTTP client sends, the inbox as the daemon
// stored it (read from its SQLite file), the metrics it exposes and the "still healthy" check every case ends with.
// Header-only; each test file builds on it.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/hubspot/webhook.hpp"
#include "adapters/intercom/webhook.hpp"
#include "adapters/zendesk/webhook.hpp"
#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace omnisync::test::adversarial {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using pipeline::eventually;
using pipeline::free_port;

// The secrets of the five webhook routes.
inline const std::string hs_secret = "hs-client-secret-0123456789";
inline const std::string zd_secret = "zd-signing-secret-0123456789";
inline const std::string ic_secret = "ic-client-secret-0123456789";
inline const std::string ac_token = "ac-url-token-0123456789abcdef";
inline const std::string sf_org = "00D000000000062EAA";

/// The daemon's config: the listener on `port` with `http_extra` lines under `http:` (limits, timeouts), and the
/// five connectors with their webhook secrets, their APIs on a closed port and polls an hour apart.
inline std::string config(int port, const std::string& http_extra = "") {
  const std::string p = std::to_string(port);
  const std::string api = "http://127.0.0.1:9/";
  return "http:\n"
         "  listen: 127.0.0.1:" + p + "\n"
         "  public_url: http://127.0.0.1:" + p + "\n" + http_extra +
         "daemon:\n"
         "  shutdown_timeout: 3s\n"
         "  log: { level: info }\n"
         "connectors:\n"
         "  hs:\n"
         "    kind: hubspot\n"
         "    base_url: " + api + "\n"
         "    auth: { private_app_token: pat-test }\n"
         "    poll_interval: 1h\n"
         "    webhook: { client_secret: " + hs_secret + " }\n"
         "  zd:\n"
         "    kind: zendesk\n"
         "    base_url: " + api + "\n"
         "    auth: { email: ops@example.com, api_token: zd-token }\n"
         "    poll_interval: 1h\n"
         "    webhook: { signing_secret: " + zd_secret + " }\n"
         "  ic:\n"
         "    kind: intercom\n"
         "    base_url: " + api + "\n"
         "    auth: { access_token: ic-token }\n"
         "    poll_interval: 1h\n"
         "    webhook: { client_secret: " + ic_secret + " }\n"
         "  ac:\n"
         "    kind: activecampaign\n"
         "    base_url: " + api + "\n"
         "    auth: { api_token: ac-api-token }\n"
         "    poll_interval: 1h\n"
         "    webhook: { url_token: " + ac_token + " }\n"
         "  sf:\n"
         "    kind: salesforce\n"
         "    login_url: " + api + "\n"
         "    auth: { flow: client_credentials, client_id: x, client_secret: y }\n"
         "    poll_interval: 1h\n"
         "    webhook: { organization_id: " + sf_org + " }\n";
}

/// A request as sent: method, target, headers, body (the tests build deliveries, then spoil them).
struct delivery {
  std::string method = "POST";
  std::string target;
  std::vector<std::string> headers;  ///< "Name: value"
  std::string body;
};

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// ISO 8601 UTC (Zendesk's signature timestamp), `offset` from now.
inline std::string iso_now(std::chrono::seconds offset = 0s) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// HubSpot v3: HMAC-SHA256 over method, the public URL, body and timestamp (ms); `ts_offset` moves the timestamp.
inline delivery hubspot(int port, const std::string& body, const std::string& secret = hs_secret,
                        std::chrono::milliseconds ts_offset = 0ms) {
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/webhooks/hs";
  const std::string ts = std::to_string(now_ms() + ts_offset.count());
  return {"POST", "/webhooks/hs",
          {"Content-Type: application/json",
           "X-HubSpot-Signature-v3: " + adapters::hubspot_signature_v3(secret, "POST", url, body, ts),
           "X-HubSpot-Request-Timestamp: " + ts},
          body};
}

/// A HubSpot batch of one contact change whose event id is `id`.
inline std::string hubspot_body(std::int64_t id) {
  return R"([{"eventId":)" + std::to_string(id) +
         R"(,"subscriptionType":"contact.propertyChange","objectId":)" + std::to_string(1000 + id) +
         R"(,"propertyName":"email","propertyValue":"p)" + std::to_string(id) + R"(@example.com","occurredAt":)" +
         std::to_string(now_ms()) + "}]";
}

/// Zendesk: base64(HMAC-SHA256(secret, timestamp + body)), the timestamp `ts_offset` from now.
inline delivery zendesk(const std::string& body, const std::string& secret = zd_secret,
                        std::chrono::seconds ts_offset = 0s) {
  const std::string ts = iso_now(ts_offset);
  return {"POST", "/webhooks/zd",
          {"Content-Type: application/json", "X-Zendesk-Webhook-Signature: " + adapters::zendesk_signature(secret, ts, body),
           "X-Zendesk-Webhook-Signature-Timestamp: " + ts},
          body};
}
inline std::string zendesk_body(const std::string& id) {
  return R"({"id":")" + id + R"(","type":"zen:event-type:user.email_changed","detail":{"id":"7001"}})";
}

/// Intercom: X-Hub-Signature sha1=HMAC-SHA1(secret, body).
inline delivery intercom(const std::string& body, const std::string& secret = ic_secret) {
  return {"POST", "/webhooks/ic",
          {"Content-Type: application/json", "X-Hub-Signature: " + adapters::intercom_signature(secret, body)}, body};
}
inline std::string intercom_body(const std::string& id) {
  return R"({"type":"notification_event","id":")" + id +
         R"(","topic":"contact.user.updated","data":{"item":{"type":"contact","id":"c1"}}})";
}

/// ActiveCampaign signs nothing: the secret is the URL's last segment.
inline delivery activecampaign(const std::string& body, const std::string& token = ac_token) {
  return {"POST", "/webhooks/ac" + (token.empty() ? std::string() : "/" + token),
          {"Content-Type: application/x-www-form-urlencoded"}, body};
}
inline std::string activecampaign_body(const std::string& id) { return "type=update&contact%5Bid%5D=" + id; }

/// A Salesforce Outbound Message from `org` with one notification `id`; `prolog` goes before the envelope.
inline std::string soap(const std::string& id, const std::string& org = sf_org, const std::string& prolog = "",
                        const std::string& org_element = "") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>)" + prolog +
         R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">)" +
         (org_element.empty() ? "<OrganizationId>" + org + "</OrganizationId>" : org_element) +
         R"(<ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/><Notification><Id>)" + id +
         R"(</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003000000000001AAA</sf:Id></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>)";
}
inline delivery salesforce(const std::string& body) {
  return {"POST", "/webhooks/sf", {"Content-Type: text/xml; charset=utf-8", "SOAPAction: \"\""}, body};
}

// ---- raw TCP -----------------------------------------------------------------------------------------------

/// A client socket to 127.0.0.1:port (closed when the object dies).
class raw_client {
 public:
  explicit raw_client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~raw_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  raw_client(raw_client&& o) noexcept : fd_(o.fd_), connected_(o.connected_) { o.fd_ = -1; }

  bool connected() const { return connected_; }
  /// Sends all of `bytes`; false when the peer closed or reset the connection.
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Reads what arrives until `until` is in it, the peer closes, or `timeout` passes; everything read so far.
  std::string read(std::chrono::milliseconds timeout = 5s, const std::string& until = "\r\n\r\n") {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (in_.find(until) == std::string::npos && !closed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[8192];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      in_.append(buf, static_cast<std::size_t>(n));
    }
    return in_;
  }
  /// Whether the peer closed (or reset) the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    read(timeout, std::string(1, '\0') + "never");
    return closed_;
  }
  /// The status code of the first answer read (reads it first), 0 when none came.
  int status(std::chrono::milliseconds timeout = 5s) {
    read(timeout);
    if (in_.rfind("HTTP/1.1 ", 0) != 0 || in_.size() < 12) return 0;
    return std::atoi(in_.c_str() + 9);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string in_;
};

/// `d` as HTTP/1.1 bytes (Content-Length from the body unless `no_length`).
inline std::string wire(const delivery& d, bool no_length = false) {
  std::string s = d.method + " " + d.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : d.headers) s += h + "\r\n";
  if (!no_length) s += "Content-Length: " + std::to_string(d.body.size()) + "\r\n";
  return s + "Connection: close\r\n\r\n" + d.body;
}

/// Sends `d` on a new connection; the answer's status (0: none within 5 s).
inline int send(int port, const delivery& d) {
  raw_client c(port);
  REQUIRE(c.connected());
  c.send(wire(d));
  return c.status();
}

// ---- the daemon --------------------------------------------------------------------------------------------

/// omnisyncd on a temp config, state dir and control socket; `wrap` runs it under another program (prlimit,
/// unshare, runuser...): the daemon's argv is appended to it.
struct target {
  temp_dir dir;
  fs::path config_file = dir / "omnisync.yaml";
  fs::path socket = dir / "control.sock";
  fs::path state = dir / "state";
  std::unique_ptr<process> proc;
  int port = free_port();
  std::string program = binary("omnisyncd");  ///< a copy elsewhere when another user must reach it

  explicit target(const std::string& http_extra = "") { dir.write("omnisync.yaml", config(port, http_extra)); }

  std::vector<std::string> argv() const {
    return {program, "-c", config_file.string(), "--state-dir", state.string(), "--control-socket",
            socket.string()};
  }
  void start(std::vector<std::string> wrap = {}) {
    auto a = argv();
    wrap.insert(wrap.end(), a.begin(), a.end());
    proc = std::make_unique<process>(wrap);
    INFO(proc->stderr_text());
    REQUIRE(proc->wait_stderr_contains("running: config", 20s));
  }
  int stop() {
    proc->signal(SIGTERM);
    auto code = proc->wait(15s);
    REQUIRE(code.has_value());
    return *code;
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  int get(const std::string& path) { return sim::http("GET", url(path)).status; }
  std::string metrics() { return sim::http("GET", url("/metrics")).body; }

  /// The daemon still works: its process runs and /healthz answers 200.
  bool healthy() { return proc && proc->running() && get("/healthz") == 200; }

  /// Where the state directory is as the daemon sees it (through /proc when it runs in its own mount namespace).
  fs::path state_seen_by_daemon(bool own_namespace) const {
    return own_namespace ? fs::path("/proc/" + std::to_string(proc->pid()) + "/root") / state.relative_path() : state;
  }
};

/// The value of counter `name{labels}` in a /metrics text, 0 when absent. `labels` as rendered:
/// `connector="hs",reason="stale"`.
inline double metric(const std::string& text, const std::string& name, const std::string& labels) {
  const std::string key = name + "{" + labels + "} ";
  for (std::size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 1))
    if (pos == 0 || text[pos - 1] == '\n') return std::atof(text.c_str() + pos + key.size());
  return 0;
}

/// The inbox's dedupe keys for `connector` (every connector: empty), read from inbox.db in `state` (read-only;
/// the daemon keeps writing in WAL mode). An absent file holds nothing.
inline std::vector<std::string> inbox_keys(const fs::path& state, const std::string& connector = "") {
  std::vector<std::string> keys;
  const auto file = state / "inbox.db";
  if (!fs::exists(file)) return keys;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  const char* sql = connector.empty() ? "SELECT dedupe_key FROM inbox" : "SELECT dedupe_key FROM inbox WHERE connector = ?1";
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
  if (!connector.empty()) sqlite3_bind_text(st, 1, connector.c_str(), -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) keys.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  CHECK(rc == SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return keys;
}
inline std::size_t stored(const fs::path& state, const std::string& connector = "") {
  return inbox_keys(state, connector).size();
}

}  // namespace omnisync::test::adversarial
