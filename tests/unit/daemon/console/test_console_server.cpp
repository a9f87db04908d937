// The console's listener over loopback: answers through the service, a slow client neither stalls others nor
// stays past its header timeout, at the connection limit the longest-waiting connection makes room (503 only when
// every connection is busy), an oversized body 413; the TLS pair is read again
// on reload (a bad pair keeps the old one); X-Forwarded-* are honoured from the trusted proxy only.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "daemon/console/server.hpp"
#include "daemon/console/service.hpp"
#include "daemon/control/catalogue.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace omnisync;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

namespace {

const std::string token = "read-token-0123456789abcdef";

/// A running console on a port of its own, on two threads.
struct running {
  asio::io_context io;
  std::unique_ptr<console::server> srv;
  unsigned short port = 0;
  std::vector<std::thread> threads;

  explicit running(console::server_options o) {
    auto table = std::make_shared<control::command_table>();
    table->add(control::catalogue::version, [](json::object, control::event_sink&) -> asio::awaitable<control::reply> {
      co_return control::reply::success(json::object{{"version", "test"}});
    });
    auto auth = std::make_shared<console::authenticator>(token, std::string(), std::chrono::hours(1));
    o.listen = "127.0.0.1:0";
    srv = std::make_unique<console::server>(io.get_executor(), o,
                                            std::make_shared<console::service>(table, auth, std::vector<std::string>{}));
    auto p = srv->start();
    REQUIRE(p);
    port = *p;
    asio::co_spawn(io, srv->run(), asio::detached);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~running() {
    srv->stop();
    for (auto& t : threads) t.join();
  }

  /// Sends `raw` on a new connection and returns everything the server wrote until it closed.
  std::string exchange(const std::string& raw) {
    asio::io_context c;
    tcp::socket s(c);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    if (!raw.empty()) asio::write(s, asio::buffer(raw));
    std::string out;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(out), ec);
    return out;
  }
};

}  // namespace

TEST_CASE("console server: answers the API over loopback, 401 without the token", "[console]") {
  console::server_options o;
  running r(o);
  auto ok = r.exchange("GET /api/v1/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                       "\r\nConnection: close\r\n\r\n");
  CHECK(ok.starts_with("HTTP/1.1 200"));
  CHECK(ok.find("\"version\":\"test\"") != std::string::npos);
  CHECK(ok.find("Content-Security-Policy: default-src 'self'") != std::string::npos);
  auto refused = r.exchange("GET /api/v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(refused.starts_with("HTTP/1.1 401"));
  auto big = r.exchange("POST /api/v1/version HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
  CHECK(big.starts_with("HTTP/1.1 413"));
}

TEST_CASE("console server: at the limit the connection waiting longest makes room, slow clients are bounded",
          "[console]") {
  console::server_options o;
  o.max_connections = 2;
  o.header_timeout = 3000ms;
  running r(o);
  asio::io_context c;
  // Two clients that send half a header and stop, one after the other: they hold both places.
  std::vector<tcp::socket> slow;
  for (unsigned i = 0; i < 2; ++i) {
    slow.emplace_back(c);
    slow.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r.port));
    asio::write(slow.back(), asio::buffer(std::string("GET /api/v1/version HTTP/1.1\r\nHo")));
    for (int k = 0; k < 500 && r.srv->connections() < i + 1; ++k) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(20ms);  // the second has waited less than the first
  }
  REQUIRE(r.srv->connections() == 2);
  // A new request is served, not refused: the connection that has waited longest for its header is closed.
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(r.exchange("GET /api/v1/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                   "\r\nConnection: close\r\n\r\n")
            .starts_with("HTTP/1.1 200"));
  CHECK(r.srv->shed() == 1);
  CHECK(r.srv->refused() == 0);
  std::string rest;
  boost::system::error_code ec;
  asio::read(slow[0], asio::dynamic_buffer(rest), ec);  // closed at once (shed)
  CHECK(ec);
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  asio::read(slow[1], asio::dynamic_buffer(rest), ec);  // the younger one lasted until its header timeout
  CHECK(ec);
  const auto lasted = std::chrono::steady_clock::now() - t0;
  CHECK(lasted > 1500ms);
  CHECK(lasted < 6s);
}

TEST_CASE("console server: when every connection is busy with a request, a new one is answered 503", "[console]") {
  console::server_options o;
  o.max_connections = 2;
  o.header_timeout = 3000ms;
  o.body_timeout = 3000ms;
  running r(o);
  asio::io_context c;
  // Two requests whose bodies are still coming: busy, not waiting for a request, so neither is shed.
  std::vector<tcp::socket> busy;
  for (unsigned i = 0; i < 2; ++i) {
    busy.emplace_back(c);
    busy.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r.port));
    asio::write(busy.back(), asio::buffer(std::string("POST /api/v1/version HTTP/1.1\r\nHost: x\r\n"
                                                      "Content-Length: 100\r\n\r\nabc")));
  }
  for (int k = 0; k < 500 && r.srv->connections() < 2; ++k) std::this_thread::sleep_for(10ms);
  REQUIRE(r.srv->connections() == 2);
  std::this_thread::sleep_for(200ms);  // both headers read
  CHECK(r.exchange("").starts_with("HTTP/1.1 503"));  // nothing sent: the refusal is written at once
  CHECK(r.srv->refused() == 1);
  CHECK(r.srv->shed() == 0);
  for (auto& s : busy) {  // the server ends them at the body timeout
    std::string rest;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(rest), ec);
    CHECK(ec);
  }
  CHECK(r.exchange("GET /api/v1/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                   "\r\nConnection: close\r\n\r\n")
            .starts_with("HTTP/1.1 200"));
}

TEST_CASE("console server: HTTPS with the configured certificate and key", "[console]") {
  test::temp_dir dir;
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                          (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
  console::server_options o;
  o.tls_cert = dir / "cert.pem";
  o.tls_key = dir / "key.pem";
  running r(o);
  asio::io_context c;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file((dir / "cert.pem").string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket> s(c, ctx);
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r.port));
  s.handshake(asio::ssl::stream_base::client);
  asio::write(s, asio::buffer("GET /api/v1/version HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                              "\r\nConnection: close\r\n\r\n"));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  CHECK(out.starts_with("HTTP/1.1 200"));
  CHECK(out.find("\"version\":\"test\"") != std::string::npos);

  // Plain HTTP to the HTTPS port gets no answer it could mistake for one.
  CHECK_FALSE(r.exchange("GET /api/v1/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").starts_with("HTTP/1.1 200"));
}

namespace {

/// A self-signed certificate and its key, made by openssl, under `dir` as <name>.pem and <name>.key.
void make_pair(const test::temp_dir& dir, const std::string& name) {
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                          (dir / (name + ".key")).string() + " -out " + (dir / (name + ".pem")).string() +
                          " 2>/dev/null";
  REQUIRE(std::system(cmd.c_str()) == 0);
}

/// Whether a TLS client that trusts only `ca` completes a handshake with the console on `port`.
bool handshake_trusting(const std::filesystem::path& ca, unsigned short port) {
  asio::io_context c;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(ca.string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket> s(c, ctx);
  s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  boost::system::error_code ec;
  s.handshake(asio::ssl::stream_base::client, ec);
  return !ec;
}

}  // namespace

TEST_CASE("console server: the TLS pair is read again on reload, a bad pair keeps the old one", "[console]") {
  test::temp_dir dir;
  make_pair(dir, "old");
  make_pair(dir, "new");
  console::server_options o;
  o.tls_cert = dir / "old.pem";
  o.tls_key = dir / "old.key";
  running r(o);
  CHECK(handshake_trusting(dir / "old.pem", r.port));
  CHECK_FALSE(handshake_trusting(dir / "new.pem", r.port));

  // A certificate with a key that is not its own, and files that are not there: refused with the reason.
  std::string why;
  CHECK_FALSE(r.srv->reload_tls(dir / "new.pem", dir / "old.key", &why));
  CHECK(why.find("cannot load the TLS certificate " + (dir / "new.pem").string()) != std::string::npos);
  CHECK(why.find("keeps the certificate it had") != std::string::npos);
  CHECK_FALSE(r.srv->reload_tls(dir / "missing.pem", dir / "missing.key", &why));
  CHECK(handshake_trusting(dir / "old.pem", r.port));  // still the old pair

  // The renewed pair: new connections get it.
  REQUIRE(r.srv->reload_tls(dir / "new.pem", dir / "new.key", &why));
  CHECK(handshake_trusting(dir / "new.pem", r.port));
  CHECK_FALSE(handshake_trusting(dir / "old.pem", r.port));
}

TEST_CASE("console server: a plain console cannot take TLS by reload", "[console]") {
  test::temp_dir dir;
  make_pair(dir, "c");
  console::server_options o;
  running r(o);
  std::string why;
  CHECK_FALSE(r.srv->reload_tls(dir / "c.pem", dir / "c.key", &why));
  CHECK(why.find("needs a restart") != std::string::npos);
}

TEST_CASE("console server: X-Forwarded-Proto/-For are honoured from the trusted proxy only", "[console]") {
  // A sign-in posted through a TLS-terminating proxy: the browser's origin is https://console.example.
  const std::string body = "token=" + token;
  const std::string signin = "POST /login HTTP/1.1\r\nHost: console.example\r\nOrigin: https://console.example\r\n"
                             "X-Forwarded-Proto: https\r\nX-Forwarded-For: 198.51.100.9, 203.0.113.7\r\n"
                             "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  SECTION("from the configured proxy: the request counts as HTTPS (same origin; the cookie is Secure)") {
    console::server_options o;
    o.trusted_proxy = "127.0.0.1";
    running r(o);
    auto out = r.exchange(signin);
    INFO(out);
    CHECK(out.starts_with("HTTP/1.1 303"));
    CHECK(out.find("; Secure") != std::string::npos);
  }
  SECTION("from any other peer the headers are ignored: plain HTTP, so the https origin is refused") {
    console::server_options o;
    o.trusted_proxy = "10.9.8.7";
    running r(o);
    auto out = r.exchange(signin);
    INFO(out);
    CHECK(out.starts_with("HTTP/1.1 403"));
    CHECK(out.find("Set-Cookie") == std::string::npos);
  }
  SECTION("without trusted_proxy they are ignored too") {
    console::server_options o;
    running r(o);
    CHECK(r.exchange(signin).starts_with("HTTP/1.1 403"));
  }
  SECTION("a trusted_proxy that is not an address does not start") {
    asio::io_context io;
    console::server_options o;
    o.listen = "127.0.0.1:0";
    o.trusted_proxy = "proxy.example";
    auto auth = std::make_shared<console::authenticator>(token, std::string(), std::chrono::hours(1));
    console::server srv(io.get_executor(), o,
                        std::make_shared<console::service>(std::make_shared<control::command_table>(), auth,
                                                           std::vector<std::string>{}));
    CHECK_FALSE(srv.start());
  }
}
