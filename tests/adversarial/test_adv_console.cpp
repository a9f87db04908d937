// The console's listener (daemon/console/) attacked as the webhook listener is: requests without a token, with the
// read token acting, forms without (or with someone else's) CSRF token or from another origin, oversized headers
// and bodies, slow clients, a connection flood, path traversal for assets, and every answer searched for the
// config's secrets. Each case checks the status, that nothing changed (no connector paused, nothing in the
// inbox), and that the daemon stayed healthy (/healthz 200, the console answering the read token).
#include "tests/adversarial/adversarial_support.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <thread>

using namespace omnisync::test::adversarial;
namespace json = boost::json;

namespace {

const std::string read_token = "console-read-token-0123456789";
const std::string write_token = "console-write-token-0123456789";

/// Every secret value the config holds (those of 6 characters or more: shorter ones are too common to look for,
/// and the console does not scrub them either).
const std::vector<std::string> config_secrets{hs_secret, zd_secret,  ic_secret,    ac_token,  "pat-test",
                                              "zd-token", "ic-token", "ac-api-token", read_token, write_token};

/// One answer as read off the wire.
struct answer {
  int status = 0;
  std::string head;  ///< status line and headers
  std::string body;
  std::string header(const std::string& name) const {
    std::string lower_head = head;
    for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n" + name + ":";
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto at = lower_head.find(key);
    if (at == std::string::npos) return {};
    auto start = at + key.size();
    while (start < head.size() && head[start] == ' ') ++start;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

/// omnisyncd (the adversarial target) with the console on a port of its own.
struct console_target : target {
  int console_port = free_port();

  explicit console_target(const std::string& console_extra = "") {
    dir.write("omnisync.yaml", config(port) + "console:\n  listen: 127.0.0.1:" + std::to_string(console_port) +
                                   "\n  token: " + read_token + "\n  write_token: " + write_token + "\n" +
                                   console_extra);
  }

  /// Sends one request on a new connection (Connection: close) and reads the whole answer.
  answer request(const std::string& method, const std::string& path, std::vector<std::string> headers = {},
                 const std::string& body = {}) {
    raw_client c(console_port);
    REQUIRE(c.connected());
    std::string s = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(console_port) + "\r\n";
    for (const auto& h : headers) s += h + "\r\n";
    if (!body.empty() || method == "POST") s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    c.send(s + "Connection: close\r\n\r\n" + body);
    const std::string all = c.read(10s, std::string(1, '\0') + "never");
    answer a;
    const auto end = all.find("\r\n\r\n");
    a.head = all.substr(0, end);
    a.body = end == std::string::npos ? std::string() : all.substr(end + 4);
    if (all.rfind("HTTP/1.1 ", 0) == 0 && all.size() >= 12) a.status = std::atoi(all.c_str() + 9);
    return a;
  }
  answer api(const std::string& method, const std::string& path, const std::string& token,
             const std::string& body = {}) {
    std::vector<std::string> h;
    if (!token.empty()) h.push_back("Authorization: Bearer " + token);
    if (!body.empty()) h.push_back("Content-Type: application/json");
    return request(method, path, h, body);
  }

  /// The connectors paused now, as the read token sees them.
  std::vector<std::string> paused() {
    auto a = api("GET", "/api/v1/status", read_token);
    REQUIRE(a.status == 200);
    std::vector<std::string> out;
    const json::value status = json::parse(a.body);  // kept: a range-for over a temporary's member dangles
    for (const auto& [name, c] : status.at("result").at("connectors").as_object())
      if (c.as_object().contains("paused") && c.at("paused").as_bool()) out.emplace_back(name);
    return out;
  }
  /// Nothing changed (no connector paused, the inbox empty) and both listeners answer.
  void unchanged_and_healthy() {
    CHECK(paused().empty());
    CHECK(stored(state) == 0);
    CHECK(healthy());
    CHECK(api("GET", "/api/v1/status", read_token).status == 200);
  }

  /// A browser session of `token`: its cookie ("omnisync_session=ID") and the CSRF token its pages carry.
  std::pair<std::string, std::string> sign_in(const std::string& token) {
    auto a = request("POST", "/login", {"Content-Type: application/x-www-form-urlencoded"}, "token=" + token);
    REQUIRE(a.status == 303);
    const auto set = a.header("Set-Cookie");
    const std::string cookie = set.substr(0, set.find(';'));
    auto page = request("GET", "/", {"Cookie: " + cookie});
    REQUIRE(page.status == 200);
    const std::string mark = "name=\"csrf\" value=\"";
    const auto at = page.body.find(mark);
    REQUIRE(at != std::string::npos);
    return {cookie, page.body.substr(at + mark.size(), 64)};
  }
};

}  // namespace

TEST_CASE("adversarial console: no token 401, a wrong one 401, the read token acting 403, nothing changed",
          "[adversarial]") {
  console_target t;
  t.start();
  CHECK(t.api("GET", "/api/v1/status", "").status == 401);
  CHECK(t.api("GET", "/api/v1/status", "not-the-token-0123456789").status == 401);
  CHECK(t.api("GET", "/api/v1/status", read_token.substr(0, 12)).status == 401);
  CHECK(t.request("GET", "/api/v1/status", {"Authorization: Basic " + read_token}).status == 401);
  CHECK(t.api("POST", "/api/v1/pause?connector=hs", "").status == 401);
  CHECK(t.api("POST", "/api/v1/pause", "", R"({"connector":"hs"})").status == 401);
  // The read token may read, never act: by query string, by JSON body, on every write command tried.
  CHECK(t.api("POST", "/api/v1/pause?connector=hs", read_token).status == 403);
  CHECK(t.api("POST", "/api/v1/pause", read_token, R"({"connector":"hs"})").status == 403);
  CHECK(t.api("POST", "/api/v1/pause", read_token).status == 403);
  CHECK(t.api("POST", "/api/v1/dlq", read_token, R"({"action":"drop","all":true})").status == 403);
  CHECK(t.api("POST", "/api/v1/resync?connector=hs", read_token).status == 403);
  CHECK(t.api("POST", "/api/v1/reload", read_token).status == 403);
  // A write by GET is refused even with the write token (a link or an <img> cannot act).
  CHECK(t.api("GET", "/api/v1/pause?connector=hs", write_token).status == 405);
  // Pages and the action endpoint without a session: to the sign-in page, or 401.
  auto page = t.request("GET", "/");
  CHECK(page.status == 303);
  CHECK(page.header("Location") == "/login");
  CHECK(t.request("POST", "/actions", {"Content-Type: application/x-www-form-urlencoded"},
                  "command=pause&connector=hs").status == 401);
  // A session cookie alone never opens the API (the API takes bearer tokens only).
  auto [cookie, csrf] = t.sign_in(write_token);
  CHECK(t.request("POST", "/api/v1/pause?connector=hs", {"Cookie: " + cookie}).status == 401);
  t.unchanged_and_healthy();

  // The check above can see a change: the write token pauses, and status says so.
  CHECK(t.api("POST", "/api/v1/pause?connector=hs", write_token).status == 200);
  CHECK(t.paused() == std::vector<std::string>{"hs"});
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial console: forms act only with the session's CSRF token, from the console's origin",
          "[adversarial]") {
  console_target t;
  t.start();
  auto [cookie, csrf] = t.sign_in(write_token);
  auto [other_cookie, other_csrf] = t.sign_in(write_token);
  auto [read_cookie, read_csrf] = t.sign_in(read_token);
  REQUIRE(csrf.size() == 64);
  REQUIRE(csrf != other_csrf);
  const std::string form = "Content-Type: application/x-www-form-urlencoded";
  const std::string own_origin = "Origin: http://127.0.0.1:" + std::to_string(t.console_port);
  auto act = [&](const std::string& with_cookie, const std::string& body, std::vector<std::string> extra = {}) {
    extra.push_back("Cookie: " + with_cookie);
    return t.request("POST", "/actions", extra, body);
  };
  const std::string pause = "command=pause&connector=hs&back=%2F";
  CHECK(act(cookie, pause, {form}).status == 403);                                  // no CSRF token
  CHECK(act(cookie, pause + "&csrf=", {form}).status == 403);                       // an empty one
  CHECK(act(cookie, pause + "&csrf=" + std::string(64, '0'), {form}).status == 403);  // a wrong one
  CHECK(act(cookie, pause + "&csrf=" + csrf.substr(0, 63), {form}).status == 403);  // one character short
  CHECK(act(cookie, pause + "&csrf=" + other_csrf, {form}).status == 403);          // another session's
  CHECK(act(cookie, pause + "&csrf=" + csrf, {form, "Origin: http://evil.example"}).status == 403);
  CHECK(act(cookie, pause + "&csrf=" + csrf, {form, "Origin: null"}).status == 403);
  CHECK(act(cookie, pause + "&csrf=" + csrf, {"Content-Type: application/json"}).status == 415);
  CHECK(act(read_cookie, pause + "&csrf=" + read_csrf, {form, own_origin}).status == 403);  // read session
  CHECK(t.request("GET", "/actions?" + pause + "&csrf=" + csrf, {"Cookie: " + cookie}).status == 405);
  // Signing out needs the token too (no cross-site log-out), and signing in from another origin is refused.
  CHECK(t.request("POST", "/logout", {form, "Cookie: " + cookie}).status == 403);
  CHECK(t.request("POST", "/logout", {form, "Cookie: " + cookie}, "csrf=" + other_csrf).status == 403);
  CHECK(t.request("GET", "/", {"Cookie: " + cookie}).status == 200);  // still signed in
  CHECK(t.request("POST", "/login", {form, "Origin: http://evil.example"}, "token=" + write_token).status == 403);
  t.unchanged_and_healthy();

  // With all of it, the same form acts: the refusals above were about the token and the origin.
  auto ok = act(cookie, pause + "&csrf=" + csrf, {form, own_origin});
  CHECK(ok.status == 303);
  CHECK(ok.header("Location").starts_with("/?notice="));
  CHECK(t.paused() == std::vector<std::string>{"hs"});
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial console: oversized headers get 431, oversized bodies 413 before they are read",
          "[adversarial]") {
  console_target t("  header_timeout: 2s\n  body_timeout: 2s\n");
  t.start();
  const std::string head = "POST /api/v1/pause?connector=hs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           write_token + "\r\nContent-Type: application/json\r\n";
  {  // A header past 16 KiB: 431, and the connection closed.
    raw_client c(t.console_port);
    REQUIRE(c.connected());
    c.send(head + "X-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
    CHECK(c.status(3s) == 431);
    CHECK(c.closed_within(2s));
  }
  {  // Many small header lines adding up past the limit: the same.
    raw_client c(t.console_port);
    REQUIRE(c.connected());
    std::string many = head;
    for (int i = 0; i < 1000; ++i) many += "X-Line-" + std::to_string(i) + ": " + std::string(30, 'b') + "\r\n";
    c.send(many + "\r\n");
    CHECK(c.status(3s) == 431);
  }
  {  // A declared body of 10 MB: 413 from the header alone (the body is never sent).
    raw_client c(t.console_port);
    REQUIRE(c.connected());
    const auto started = std::chrono::steady_clock::now();
    c.send(head + "Content-Length: 10000000\r\n\r\n");
    CHECK(c.status(3s) == 413);
    CHECK(std::chrono::steady_clock::now() - started < 1s);  // not after a body timeout
    CHECK(c.closed_within(2s));
  }
  {  // Just over the 64 KiB limit, declared and sent.
    raw_client c(t.console_port);
    REQUIRE(c.connected());
    const std::string body = R"({"connector":")" + std::string(64 * 1024, 'h') + "\"}";
    c.send(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    CHECK(c.status(3s) == 413);
  }
  {  // Chunked, no length: refused once the limit is passed.
    raw_client c(t.console_port);
    REQUIRE(c.connected());
    std::string s = head + "Transfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 12; ++i) s += "2000\r\n" + std::string(0x2000, 'c') + "\r\n";
    c.send(s + "0\r\n\r\n");  // may be cut short by the answer
    CHECK(c.status(3s) == 413);
  }
  {  // The same without a token: 413 as well (the limit comes before authentication, nothing is buffered).
    raw_client c(t.console_port);
    REQUIRE(c.connected());
    c.send("POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 800000\r\n\r\n");
    CHECK(c.status(3s) == 413);
  }
  t.unchanged_and_healthy();
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial console: slow clients are cut off at their timeouts and never stall other requests",
          "[adversarial]") {
  console_target t("  header_timeout: 1s\n  body_timeout: 1s\n  max_connections: 40\n");
  t.start();
  std::vector<raw_client> header_dribblers;
  for (int i = 0; i < 20; ++i) {
    header_dribblers.emplace_back(t.console_port);
    header_dribblers.back().send("GET /api/v1/status HTTP/1.1\r\nHost: x\r\n");
  }
  raw_client body_dribbler(t.console_port);
  REQUIRE(body_dribbler.connected());
  const std::string body = R"({"connector":"hs")" + std::string(200, ' ') + "}";
  body_dribbler.send("POST /api/v1/pause HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + write_token +
                     "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body.substr(0, 3));
  const auto started = std::chrono::steady_clock::now();
  bool header_alive = true, body_alive = true;
  int answered = 0, tries = 0;
  std::chrono::steady_clock::duration slowest{};
  // A header line or a body byte every 200 ms keeps each connection busy without finishing.
  for (std::size_t i = 0; std::chrono::steady_clock::now() - started < 3s; ++i) {
    std::this_thread::sleep_for(200ms);
    for (auto& c : header_dribblers) header_alive = c.send("X-Slow-" + std::to_string(i) + ": y\r\n") && header_alive;
    body_alive = body_dribbler.send(body.substr(3 + i, 1)) && body_alive;
    const auto asked = std::chrono::steady_clock::now();
    answered += t.api("GET", "/api/v1/status", read_token).status == 200;
    slowest = std::max(slowest, std::chrono::steady_clock::now() - asked);
    ++tries;
  }
  CHECK(answered == tries);
  CHECK(slowest < 1s);
  for (auto& c : header_dribblers) CHECK(c.closed_within(1s));
  CHECK(body_dribbler.closed_within(1s));
  CHECK(body_dribbler.read(0ms).find("HTTP/1.1 2") == std::string::npos);  // the trickled pause never ran
  CHECK(t.healthy());
  t.unchanged_and_healthy();
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial console: an idle connection flood is shed, the console keeps answering, the daemon and "
          "webhooks stay healthy",
          "[adversarial]") {
  // Idle connections far past the console's max_connections, with a header timeout that would keep them all.
  console_target t("  max_connections: 32\n  header_timeout: 20s\n");
  t.start();
  std::vector<raw_client> flood;
  for (int i = 0; i < 400; ++i) flood.emplace_back(t.console_port);
  std::size_t connected = 0;
  for (const auto& c : flood) connected += c.connected();
  CHECK(connected > 300);
  for (int i = 0; i < 5; ++i) {
    INFO(i);
    // The webhook listener is another door: health and signed deliveries are untouched by the console's flood.
    const auto started = std::chrono::steady_clock::now();
    CHECK(t.get("/healthz") == 200);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(send(t.port, hubspot(t.port, hubspot_body(200 + i))) == 200);
    // The console answers at once, never hangs: the longest-idle connection makes room for the request.
    const auto asked = std::chrono::steady_clock::now();
    CHECK(t.api("GET", "/api/v1/status", read_token).status == 200);
    CHECK(std::chrono::steady_clock::now() - asked < 2s);
  }
  CHECK(stored(t.state, "hs") == 5);
  flood.clear();  // the flood ends: its connections are freed at once, not at the header timeout
  CHECK(eventually([&] { return t.api("GET", "/api/v1/status", read_token).status == 200; }, 3s));
  CHECK(t.paused().empty());
  CHECK(t.healthy());
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial console: asset and page paths never leave the embedded files", "[adversarial]") {
  console_target t;
  t.start();
  const std::vector<std::string> probes{
      "/assets/../../../../etc/passwd", "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
      "/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/assets//etc/passwd", "/assets/console.css/../../../etc/passwd",
      "/assets/..\\..\\..\\etc\\passwd", "/assets/%2fetc%2fpasswd", "/assets/console.css%00.png",
      "/assets/../omnisync.yaml", "/assets/" + std::string(4000, '.') + "/etc/passwd",
      "/analytics/../../../etc/passwd.csv", "/analytics/..%2f..%2fomnisync.yaml.csv", "/../../../etc/passwd",
      "/%2e%2e/%2e%2e/etc/passwd"};
  for (const auto& p : probes) {
    INFO(p);
    for (const std::string& token : {std::string(), write_token}) {
      auto a = t.api("GET", p, token);
      CHECK((a.status == 404 || a.status == 400 || (token.empty() && a.status == 303)));
      CHECK(a.body.find("root:") == std::string::npos);
      CHECK(a.body.find("connectors:") == std::string::npos);
    }
  }
  CHECK(t.api("GET", "/assets/console.css", "").status == 200);  // the real asset is there
  t.unchanged_and_healthy();
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial console: no answer holds a secret of the config", "[adversarial]") {
  console_target t;
  t.start();
  std::vector<answer> answers;
  // Every command a GET may run, with no arguments and with bad ones, by the write token (it sees the most).
  auto index = t.api("GET", "/api/v1", write_token);
  REQUIRE(index.status == 200);
  answers.push_back(index);
  const json::value declared = json::parse(index.body);
  for (const auto& c : declared.at("result").at("commands").as_array()) {
    const std::string name(c.at("name").as_string());
    answers.push_back(t.api("GET", "/api/v1/" + name, write_token));
    answers.push_back(t.api("GET", "/api/v1/" + name + "?nosuch=1", write_token));
  }
  for (const std::string target : {"/api/v1/record?connector=hs&object=contacts&id=1",
                                    "/api/v1/sample?connector=hs&object=contacts", "/api/v1/fields?connector=zd&object=users",
                                    "/api/v1/test?connector=hs&timeout_ms=500", "/api/v1/lint", "/api/v1/plan"})
    answers.push_back(t.api("GET", target, write_token));
  // Every page, signed in, and the failures a browser can cause.
  auto [cookie, csrf] = t.sign_in(write_token);
  for (const std::string page : {"/", "/runs", "/dead-letters", "/people?q=ann", "/records?connector=hs&object=contacts&id=1",
                                  "/analytics", "/analytics/funnel.csv", "/login", "/nosuch"})
    answers.push_back(t.request("GET", page, {"Cookie: " + cookie}));
  answers.push_back(t.request("POST", "/login", {"Content-Type: application/x-www-form-urlencoded"}, "token=wrong-one"));
  answers.push_back(t.request("POST", "/actions",
                              {"Cookie: " + cookie, "Content-Type: application/x-www-form-urlencoded"},
                              "command=test&connector=hs&csrf=" + csrf));
  for (const auto& a : answers) {
    INFO(a.head);
    CHECK(a.status != 0);
    CHECK(a.header("Content-Security-Policy").starts_with("default-src 'self'"));
    for (const auto& s : config_secrets) {
      INFO(s);
      CHECK(a.head.find(s) == std::string::npos);
      CHECK(a.body.find(s) == std::string::npos);
    }
  }
  CHECK(answers.size() > 40);
  t.unchanged_and_healthy();
  CHECK(t.stop() == 0);
}
