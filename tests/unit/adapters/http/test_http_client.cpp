// The HTTPS client against scripted servers on loopback: plain HTTP, TLS with a generated certificate, and a
// CONNECT proxy. The servers are deliberately simple blocking code on their own threads, so what the client does
// on the wire is exactly what the test scripted.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "adapters/http/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace omnisync::http {
// Lets Catch print a result<response> in a failed assertion.
std::ostream& operator<<(std::ostream& os, const response& r) { return os << "HTTP " << r.status << " " << r.body.substr(0, 200); }
}  // namespace omnisync::http

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using omnisync::errc;

namespace {

struct action {
  std::string bytes;                    // raw response bytes
  std::chrono::milliseconds delay{0};   // before answering
  bool close_after = false;             // close the connection after answering
  bool close_without_answer = false;
};

struct seen_request {
  int connection = 0;
  std::string head;  // request line + headers
  std::string body;
};

std::string reply(int status, const std::string& body, const std::string& extra_headers = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         extra_headers + "\r\n" + body;
}

/// A blocking HTTP/1.1 server on 127.0.0.1:0 answering each request with `script(request, index)`.
class scripted_server {
 public:
  using script_fn = std::function<action(const seen_request&, int index)>;

  explicit scripted_server(script_fn script, std::shared_ptr<asio::ssl::context> tls = nullptr)
      : script_(std::move(script)), tls_(std::move(tls)), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~scripted_server() {
    // Wake the blocking accept with a connection of our own rather than closing the acceptor under it.
    stopping_ = true;
    boost::system::error_code ec;
    tcp::socket poke(io_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    thread_.join();
    poke.close(ec);
    for (auto& t : workers_) t.join();
  }
  unsigned short port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::vector<seen_request> requests() {
    std::lock_guard lock(m_);
    return seen_;
  }

 private:
  template <class Stream>
  void serve(Stream& s, int conn) {
    std::string buf;
    for (;;) {
      boost::system::error_code ec;
      auto n = asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", ec);
      if (ec) return;
      seen_request r{conn, buf.substr(0, n), {}};
      buf.erase(0, n);
      auto cl = r.head.find("Content-Length: ");
      if (cl != std::string::npos) {
        size_t len = std::stoul(r.head.substr(cl + 16));
        while (buf.size() < len) {
          char tmp[4096];
          auto got = s.read_some(asio::buffer(tmp), ec);
          if (ec) return;
          buf.append(tmp, got);
        }
        r.body = buf.substr(0, len);
        buf.erase(0, len);
      }
      int index;
      {
        std::lock_guard lock(m_);
        index = static_cast<int>(seen_.size());
        seen_.push_back(r);
      }
      action a = script_(r, index);
      if (a.delay.count()) std::this_thread::sleep_for(a.delay);
      if (a.close_without_answer) return;
      asio::write(s, asio::buffer(a.bytes), ec);
      if (ec || a.close_after) return;
    }
  }

  void accept_loop() {
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket sock(io_);
      acceptor_.accept(sock, ec);
      if (ec || stopping_) return;
      int conn = ++connections_;
      workers_.emplace_back([this, conn, sock = std::move(sock)]() mutable {
        if (tls_) {
          asio::ssl::stream<tcp::socket> s(std::move(sock), *tls_);
          boost::system::error_code hec;
          s.handshake(asio::ssl::stream_base::server, hec);
          if (!hec) serve(s, conn);
        } else {
          serve(sock, conn);
        }
      });
    }
  }

  script_fn script_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;
  std::mutex m_;
  std::vector<seen_request> seen_;
};

/// Runs one coroutine of the client to completion on a fresh io_context.
template <class F>
auto run(F&& f) {
  asio::io_context io;
  auto fut = asio::co_spawn(io, f(io.get_executor()), asio::use_future);
  io.run();
  return fut.get();
}

omnisync::http::client_options fast_options() {
  omnisync::http::client_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 2s;
  o.total_timeout = 5s;
  return o;
}

std::string url(unsigned short port, const std::string& path = "/x", bool tls = false) {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port) + path;
}

omnisync::http::request req(std::string method, std::string u, std::vector<omnisync::http::header> headers = {},
                            std::string body = {}, std::optional<std::chrono::milliseconds> timeout = {}) {
  omnisync::http::request r;
  r.method = std::move(method);
  r.url = std::move(u);
  r.headers = std::move(headers);
  r.body = std::move(body);
  r.timeout = timeout;
  return r;
}

}  // namespace

TEST_CASE("http client: GET answers with status, headers and body, Host and User-Agent are sent", "[http]") {
  scripted_server server([](const seen_request&, int) { return action{reply(200, "hello", "X-Test: yes\r\n")}; });
  // (GCC 12 cannot compile braced lists of string literals inside a coroutine: build the request outside.)
  auto request = req("GET", url(server.port(), "/path?q=1"), {{"Accept", "application/json"}});
  auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    omnisync::http::client c(ex, fast_options());
    auto res = co_await c.send(request);
    co_return res;
  });
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "hello");
  CHECK(r->get("x-test") == "yes");
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].head.starts_with("GET /path?q=1 HTTP/1.1\r\n"));
  CHECK(seen[0].head.find("Host: 127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
  CHECK(seen[0].head.find("User-Agent: omnisync/") != std::string::npos);
  CHECK(seen[0].head.find("Accept: application/json") != std::string::npos);
}

TEST_CASE("http client: keep-alive connections are reused", "[http]") {
  scripted_server server([](const seen_request& r, int) { return action{reply(200, r.body)}; });
  std::vector<std::string> bodies;
  auto stats = run([&](auto ex) -> asio::awaitable<omnisync::http::client_stats> {
    omnisync::http::client c(ex, fast_options());
    for (int i = 0; i < 3; ++i) {
      auto r = co_await c.send(req("POST", url(server.port()), {}, "body" + std::to_string(i)));
      bodies.push_back(r ? r->body : "error");
    }
    co_return c.stats();
  });
  CHECK(bodies == std::vector<std::string>{"body0", "body1", "body2"});
  CHECK(server.connections() == 1);
  CHECK(stats.connections_opened == 1);
  CHECK(stats.connections_reused == 2);
}

TEST_CASE("http client: a pooled connection closed by the server is replaced transparently", "[http]") {
  // The server closes every connection right after answering, without saying so (no Connection: close).
  scripted_server server([](const seen_request&, int i) { return action{reply(200, std::to_string(i)), 0ms, true}; });
  auto bodies = run([&](auto ex) -> asio::awaitable<std::vector<std::string>> {
    omnisync::http::client c(ex, fast_options());
    std::vector<std::string> out;
    for (int i = 0; i < 2; ++i) {
      auto r = co_await c.send(req("GET", url(server.port()), {}, ""));
      out.push_back(r ? r->body : "error");
    }
    co_return out;
  });
  CHECK(bodies == std::vector<std::string>{"0", "1"});
  CHECK(server.connections() == 2);
}

TEST_CASE("http client: a silent server hits the read timeout", "[http]") {
  scripted_server server([](const seen_request&, int) { return action{reply(200, "late"), 800ms}; });
  auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    auto o = fast_options();
    o.read_timeout = 150ms;
    omnisync::http::client c(ex, o);
    auto res = co_await c.send(req("GET", url(server.port()), {}, ""));
    co_return res;
  });
  REQUIRE_FALSE(r);
  CHECK(r.error() == omnisync::make_error_code(errc::timeout));
}

TEST_CASE("http client: the total deadline bounds a request", "[http]") {
  scripted_server server([](const seen_request&, int) { return action{reply(200, "late"), 800ms}; });
  auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    omnisync::http::client c(ex, fast_options());
    auto res = co_await c.send(req("GET", url(server.port()), {}, "", std::chrono::milliseconds(150)));
    co_return res;
  });
  REQUIRE_FALSE(r);
  CHECK(r.error() == omnisync::make_error_code(errc::timeout));
}

TEST_CASE("http client: refused connections, closed answers and bad URLs are classified", "[http]") {
  unsigned short closed_port;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed_port = a.local_endpoint().port();
  }
  scripted_server hangs_up([](const seen_request&, int) { action a; a.close_without_answer = true; return a; });
  auto codes = run([&](auto ex) -> asio::awaitable<std::vector<boost::system::error_code>> {
    omnisync::http::client c(ex, fast_options());
    std::vector<boost::system::error_code> out;
    for (std::string u : {url(closed_port), url(hangs_up.port()), std::string("not a url"),
                          std::string("ftp://127.0.0.1/x")}) {
      auto r = co_await c.send(req("GET", u, {}, ""));
      out.push_back(r ? boost::system::error_code() : r.error());
    }
    co_return out;
  });
  REQUIRE(codes.size() == 4);
  CHECK(codes[0] == omnisync::make_error_code(errc::retry));         // refused
  CHECK(codes[1] == omnisync::make_error_code(errc::retry));         // closed without an answer
  CHECK(codes[2] == omnisync::make_error_code(errc::invalid_input)); // not a URL
  CHECK(codes[3] == omnisync::make_error_code(errc::fail));          // unsupported scheme
}

TEST_CASE("http client: an answer larger than the limit is refused", "[http]") {
  scripted_server server([](const seen_request&, int) { return action{reply(200, std::string(10000, 'x'))}; });
  auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    auto o = fast_options();
    o.max_response_body = 1000;
    omnisync::http::client c(ex, o);
    auto res = co_await c.send(req("GET", url(server.port()), {}, ""));
    co_return res;
  });
  REQUIRE_FALSE(r);
  CHECK(r.error() == omnisync::make_error_code(errc::invalid_input));
}

TEST_CASE("http client: a 401 refreshes the token once and sends again", "[http]") {
  scripted_server server([](const seen_request& r, int) {
    bool fresh = r.head.find("Authorization: Bearer fresh") != std::string::npos;
    return action{fresh ? reply(200, "ok") : reply(401, R"([{"errorCode":"INVALID_SESSION_ID"}])")};
  });
  int calls = 0, forced = 0;
  std::uint64_t refreshes = 0;
  auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    omnisync::http::client c(ex, fast_options());
    auto auth = [&](bool force) -> asio::awaitable<omnisync::result<std::string>> {
      ++calls;
      if (force) ++forced;
      co_return std::string(force ? "Bearer fresh" : "Bearer stale");
    };
    auto res = co_await c.send_authorized(req("GET", url(server.port())), auth);
    refreshes = c.stats().auth_refreshes;
    co_return res;
  });
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(calls == 2);
  CHECK(forced == 1);
  CHECK(refreshes == 1);
  CHECK(server.requests().size() == 2);
}

TEST_CASE("http client: a second 401 after the refresh is returned, not retried again", "[http]") {
  scripted_server server([](const seen_request&, int) { return action{reply(401, "no")}; });
  auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
    omnisync::http::client c(ex, fast_options());
    auto auth = [](bool) -> asio::awaitable<omnisync::result<std::string>> { co_return std::string("Bearer x"); };
    auto res = co_await c.send_authorized(req("GET", url(server.port())), auth);
    co_return res;
  });
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(server.requests().size() == 2);
}

namespace {

/// A certificate and key made with the openssl command for `san` (e.g. "IP:127.0.0.1").
struct test_cert {
  omnisync::test::temp_dir dir;
  std::string cert, key;
  explicit test_cert(const std::string& san) {
    cert = (dir / "cert.pem").string();
    key = (dir / "key.pem").string();
    auto r = omnisync::test::run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days",
                                  "2", "-subj", "/CN=omnisync-test", "-addext", "subjectAltName=" + san});
    REQUIRE(r.exit_code == 0);
  }
  std::shared_ptr<asio::ssl::context> server_context() const {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(cert);
    ctx->use_private_key_file(key, asio::ssl::context::pem);
    return ctx;
  }
};

}  // namespace

TEST_CASE("http client: TLS is verified against the trust store, the CA file and the host name", "[http][tls]") {
  test_cert good("IP:127.0.0.1,DNS:localhost");
  scripted_server server([](const seen_request&, int) { return action{reply(200, "secure")}; },
                         good.server_context());

  SECTION("an untrusted certificate is refused") {
    auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
      omnisync::http::client c(ex, fast_options());
      auto res = co_await c.send(req("GET", url(server.port(), "/", true), {}, ""));
    co_return res;
    });
    REQUIRE_FALSE(r);
    CHECK(r.error() == omnisync::make_error_code(errc::fail));
  }
  SECTION("the certificate is accepted with its CA file, by IP and by name") {
    for (std::string host : {"127.0.0.1", "localhost"}) {
      auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
        auto o = fast_options();
        o.ca_file = good.cert;
        omnisync::http::client c(ex, o);
        auto res = co_await c.send(req("GET", "https://" + host + ":" + std::to_string(server.port()) + "/", {}, ""));
    co_return res;
      });
      REQUIRE(r);
      CHECK(r->body == "secure");
    }
  }
  SECTION("a certificate for another host name is refused even when its CA is trusted") {
    test_cert other("DNS:other.example");
    scripted_server wrong([](const seen_request&, int) { return action{reply(200, "x")}; }, other.server_context());
    auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
      auto o = fast_options();
      o.ca_file = other.cert;
      omnisync::http::client c(ex, o);
      auto res = co_await c.send(req("GET", url(wrong.port(), "/", true), {}, ""));
    co_return res;
    });
    REQUIRE_FALSE(r);
    CHECK(r.error() == omnisync::make_error_code(errc::fail));
  }
  SECTION("a missing CA file is a start-up error") {
    asio::io_context io;
    auto o = fast_options();
    o.ca_file = "/nonexistent/ca.pem";
    CHECK_THROWS_AS(omnisync::http::client(io.get_executor(), o), std::runtime_error);
  }
}

namespace {

/// A CONNECT/forward proxy: tunnels CONNECT requests (or refuses them) and records what it was asked.
class connect_proxy {
 public:
  explicit connect_proxy(bool allow) : allow_(allow), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      tcp::socket client(io_);
      acceptor_.accept(client, ec);
      if (ec) return;
      std::string buf;
      auto n = asio::read_until(client, asio::dynamic_buffer(buf), "\r\n\r\n", ec);
      if (ec) return;
      {
        std::lock_guard lock(m_);
        first_line_ = buf.substr(0, buf.find("\r\n"));
      }
      buf.erase(0, n);
      if (!allow_) {
        asio::write(client, asio::buffer(std::string("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")), ec);
        return;
      }
      auto hostport = first_line_.substr(8, first_line_.find(' ', 8) - 8);
      auto colon = hostport.rfind(':');
      tcp::socket upstream(io_);
      upstream.connect(tcp::endpoint(asio::ip::make_address(hostport.substr(0, colon)),
                                     static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)))), ec);
      if (ec) return;
      asio::write(client, asio::buffer(std::string("HTTP/1.1 200 Connection established\r\n\r\n")), ec);
      std::thread back([&] { pipe(upstream, client); });
      pipe(client, upstream);
      back.join();
    });
  }
  ~connect_proxy() {
    boost::system::error_code ec;
    tcp::socket poke(io_);  // wakes the accept if no client came
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
    poke.close(ec);  // the proxy thread reads EOF from it and ends
    thread_.join();
  }
  unsigned short port() const { return port_; }
  std::string first_line() {
    std::lock_guard lock(m_);
    return first_line_;
  }

 private:
  static void pipe(tcp::socket& from, tcp::socket& to) {
    char buf[8192];
    for (;;) {
      boost::system::error_code ec;
      auto n = from.read_some(asio::buffer(buf), ec);
      if (ec) break;
      asio::write(to, asio::buffer(buf, n), ec);
      if (ec) break;
    }
    boost::system::error_code ignored;
    to.shutdown(tcp::socket::shutdown_both, ignored);
    from.shutdown(tcp::socket::shutdown_both, ignored);
  }
  bool allow_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::mutex m_;
  std::string first_line_;
};

}  // namespace

TEST_CASE("http client: HTTPS goes through a proxy's CONNECT tunnel, with TLS verified end to end", "[http][tls]") {
  test_cert cert("IP:127.0.0.1");
  scripted_server server([](const seen_request&, int) { return action{reply(200, "tunnelled")}; },
                         cert.server_context());
  SECTION("tunnel allowed") {
    connect_proxy proxy(true);
    auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
      auto o = fast_options();
      o.ca_file = cert.cert;
      o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
      omnisync::http::client c(ex, o);
      auto res = co_await c.send(req("GET", url(server.port(), "/", true), {}, ""));
    co_return res;
    });
    REQUIRE(r);
    CHECK(r->body == "tunnelled");
    CHECK(proxy.first_line() == "CONNECT 127.0.0.1:" + std::to_string(server.port()) + " HTTP/1.1");
  }
  SECTION("tunnel refused by the proxy") {
    connect_proxy proxy(false);
    auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
      auto o = fast_options();
      o.ca_file = cert.cert;
      o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
      omnisync::http::client c(ex, o);
      auto res = co_await c.send(req("GET", url(server.port(), "/", true), {}, ""));
    co_return res;
    });
    REQUIRE_FALSE(r);
    CHECK(r.error() == omnisync::make_error_code(errc::fail));
  }
  SECTION("no_proxy hosts bypass the proxy") {
    connect_proxy proxy(false);
    auto r = run([&](auto ex) -> asio::awaitable<omnisync::result<omnisync::http::response>> {
      auto o = fast_options();
      o.ca_file = cert.cert;
      o.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
      o.no_proxy = {"127.0.0.1"};
      omnisync::http::client c(ex, o);
      auto res = co_await c.send(req("GET", url(server.port(), "/", true), {}, ""));
    co_return res;
    });
    REQUIRE(r);
    CHECK(r->body == "tunnelled");
  }
}
