// The console's listener over loopback: answers through the service, a slow client neither stalls others nor
// stays past its header timeout, the connection limit answers 503, an oversized body 413.
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

TEST_CASE("console server: slow clients are bounded, a full listener answers 503", "[console]") {
  console::server_options o;
  o.max_connections = 2;
  o.header_timeout = 1000ms;
  running r(o);
  asio::io_context c;
  // Two clients that send half a header and stop: they hold both places, for the header timeout only.
  std::vector<tcp::socket> slow;
  for (int i = 0; i < 2; ++i) {
    slow.emplace_back(c);
    slow.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), r.port));
    asio::write(slow.back(), asio::buffer(std::string("GET /api/v1/version HTTP/1.1\r\nHo")));
  }
  // Once both are accepted, a third connection is refused at once.
  for (int i = 0; i < 500 && r.srv->connections() < 2; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(r.srv->connections() == 2);
  CHECK(r.exchange("").starts_with("HTTP/1.1 503"));  // nothing sent: the refusal is written at once
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& s : slow) {  // the server closes them at the header timeout
    std::string rest;
    boost::system::error_code ec;
    asio::read(s, asio::dynamic_buffer(rest), ec);
    CHECK(ec);
  }
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
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
