// The HTTP listener with a real SQLite store in a temp dir, driven over loopback by the project's HTTP client:
// webhooks are verified, stored durably once, and answered; bad ones are refused and store nothing.
#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <set>
#include <thread>

#include "adapters/http/http_client.hpp"
#include "daemon/http/listener.hpp"
#include "core/metrics.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace omnisync::http {
std::ostream& operator<<(std::ostream& os, const response& r) { return os << "HTTP " << r.status << " " << r.body; }
}  // namespace omnisync::http

namespace asio = boost::asio;
using namespace std::chrono_literals;
using omnisync::errc;

namespace {

std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < len; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

/// A test vendor: HMAC-SHA256 of the body in X-Test-Signature, its event id in X-Event-Id.
class test_endpoint : public omnisync::adapters::webhook_endpoint {
 public:
  explicit test_endpoint(std::size_t limit = 4096) : limit_(limit) {}
  std::string connector() const override { return "testvendor"; }
  std::size_t max_body() const override { return limit_; }
  omnisync::result<omnisync::adapters::verified_event> verify(const omnisync::adapters::inbound_request& r) const override {
    if (!omnisync::adapters::constant_time_equal(r.header("X-Test-Signature"), hmac_hex("s3cret", r.body)))
      return errc::auth_expired;
    if (!r.header("X-Test-Stale").empty()) return errc::timeout;  // a timestamp outside the replay window
    if (r.header("X-Event-Id").empty()) return errc::invalid_input;
    return omnisync::adapters::verified_event{std::string(r.header("X-Event-Id")), {200, "application/json", R"({"ok":true})"}};
  }

 private:
  std::size_t limit_;  // 0: the listener's http.max_body
};

/// A listener on 127.0.0.1:0 over a store in a temp dir, served by two threads.
struct fixture {
  omnisync::test::temp_dir dir;
  asio::io_context io;  // before the store, so that it outlives it (store.hpp, lifecycle)
  std::unique_ptr<omnisync::store::store> store;
  omnisync::metrics::registry metrics;
  std::unique_ptr<omnisync::http::listener> listener;
  unsigned short port = 0;
  std::vector<std::thread> threads;
  std::future<void> done;

  explicit fixture(omnisync::http::listener_options o = {}, std::size_t endpoint_limit = 4096) {
    omnisync::store::options so;
    so.state_dir = dir.path() / "state";
    auto s = omnisync::store::open_store(so);
    REQUIRE(s.has_value());
    store = std::move(*s);
    o.listen = "127.0.0.1:0";
    listener = std::make_unique<omnisync::http::listener>(io.get_executor(), o, *store, metrics);
    listener->set_endpoints({std::make_shared<test_endpoint>(endpoint_limit)});
    auto p = listener->start();
    REQUIRE(p);
    port = *p;
    done = asio::co_spawn(io, listener->run(), asio::use_future);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~fixture() {
    listener->stop();
    done.wait_for(5s);
    io.stop();
    for (auto& t : threads) t.join();
  }

  omnisync::result<omnisync::http::response> send(std::string method, std::string path, std::string body,
                                                  std::vector<omnisync::http::header> headers) {
    asio::io_context cio;
    omnisync::http::request rq;
    rq.method = std::move(method);
    rq.url = "http://127.0.0.1:" + std::to_string(port) + path;
    rq.body = std::move(body);
    rq.headers = std::move(headers);
    auto fut = asio::co_spawn(cio, [&]() -> asio::awaitable<omnisync::result<omnisync::http::response>> {
      omnisync::http::client_options co;
      co.total_timeout = 5s;
      omnisync::http::client c(cio.get_executor(), co);
      auto r = co_await c.send(rq);
      co_return r;
    }, asio::use_future);
    cio.run();
    return fut.get();
  }

  omnisync::result<omnisync::http::response> webhook(const std::string& body, const std::string& event_id,
                                                     std::string signature = {}) {
    if (signature.empty()) signature = hmac_hex("s3cret", body);
    return send("POST", "/webhooks/testvendor", body,
                {{"Content-Type", "application/json"}, {"X-Test-Signature", signature}, {"X-Event-Id", event_id}});
  }

  std::vector<omnisync::store::inbox_item> inbox() {
    auto items = omnisync::store::wait(store->inbox_claim(100, 60s, std::nullopt));
    REQUIRE(items.has_value());
    return *items;
  }
};

}  // namespace

TEST_CASE("listener: a signed webhook is stored before it is answered, once per event id", "[http_server]") {
  fixture f;
  auto r = f.webhook(R"({"a":1})", "evt-1");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == R"({"ok":true})");
  auto again = f.webhook(R"({"a":1})", "evt-1");  // the vendor's redelivery
  REQUIRE(again);
  CHECK(again->status == 200);
  auto items = f.inbox();
  REQUIRE(items.size() == 1);
  CHECK(items[0].event.connector == "testvendor");
  CHECK(items[0].event.dedupe_key == "evt-1");
  CHECK(items[0].event.body == R"({"a":1})");
  CHECK(items[0].event.meta.find("\"x-event-id\":\"evt-1\"") != std::string::npos);
}

TEST_CASE("listener: bad signatures, bad input, unknown routes and wrong types are refused and store nothing",
          "[http_server]") {
  fixture f;
  auto bad_sig = f.webhook(R"({"a":1})", "evt-2", std::string(64, '0'));
  REQUIRE(bad_sig);
  CHECK(bad_sig->status == 401);
  auto no_id = f.webhook(R"({"a":1})", "");
  REQUIRE(no_id);
  CHECK(no_id->status == 400);
  auto unknown = f.send("POST", "/webhooks/nobody", "{}", {{"Content-Type", "application/json"}});
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  auto stale = f.send("POST", "/webhooks/testvendor", R"({"a":1})",
                      {{"Content-Type", "application/json"}, {"X-Test-Signature", hmac_hex("s3cret", R"({"a":1})")},
                       {"X-Event-Id", "evt-3"}, {"X-Test-Stale", "1"}});
  REQUIRE(stale);
  CHECK(stale->status == 401);  // a stale timestamp fails authentication, as a bad signature does
  // Counted (under one label: the name is the sender's), so a vendor sending to a removed connector shows.
  auto counted = f.send("GET", "/metrics", "", {});
  REQUIRE(counted);
  CHECK(counted->body.find("omnisync_webhook_requests_total{connector=\"(unknown)\",status=\"404\"} 1") !=
        std::string::npos);
  // Refusals by reason.
  for (const char* reason : {"signature", "stale", "malformed"})
    CHECK(counted->body.find(std::string("omnisync_webhook_rejected_total{connector=\"testvendor\",reason=\"") +
                             reason + "\"} 1") != std::string::npos);
  auto wrong_type = f.send("POST", "/webhooks/testvendor", "a=1",
                           {{"Content-Type", "application/x-www-form-urlencoded"}});
  REQUIRE(wrong_type);
  CHECK(wrong_type->status == 415);
  auto get = f.send("GET", "/webhooks/testvendor", "", {});
  REQUIRE(get);
  CHECK(get->status == 405);
  CHECK(f.inbox().empty());
}

TEST_CASE("listener: a body over the endpoint's limit gets 413", "[http_server]") {
  fixture f;
  std::string big(5000, 'x');
  auto r = f.webhook(big, "evt-big");
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(f.inbox().empty());
}

TEST_CASE("listener: http.max_body applies to every route whose vendor names no larger limit", "[http_server]") {
  omnisync::http::listener_options o;
  o.max_body = 2048;
  fixture f(o, 0);
  auto fits = f.webhook(std::string(1500, 'x'), "evt-fits");
  REQUIRE(fits);
  CHECK(fits->status == 200);
  auto signed_big = f.webhook(std::string(3000, 'x'), "evt-big");
  REQUIRE(signed_big);
  CHECK(signed_big->status == 413);
  // Too large and unsigned: refused by size, before any signature work.
  auto unsigned_big = f.webhook(std::string(800 * 1024, 'x'), "evt-huge", std::string(64, 'f'));
  REQUIRE(unsigned_big);
  CHECK(unsigned_big->status == 413);
  CHECK(f.inbox().size() == 1);
}

TEST_CASE("listener: healthz, readyz and metrics", "[http_server]") {
  fixture f;
  auto h = f.send("GET", "/healthz", "", {});
  REQUIRE(h);
  CHECK(h->status == 200);
  auto not_ready = f.send("GET", "/readyz", "", {});
  REQUIRE(not_ready);
  CHECK(not_ready->status == 503);
  f.listener->set_ready(true);
  auto ready = f.send("GET", "/readyz", "", {});
  REQUIRE(ready);
  CHECK(ready->status == 200);

  REQUIRE(f.webhook("{}", "m-1"));
  REQUIRE(f.webhook("{}", "m-1"));
  REQUIRE(f.webhook("{}", "m-2", std::string(64, 'f')));
  auto m = f.send("GET", "/metrics", "", {});
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->get("Content-Type").starts_with("text/plain; version=0.0.4"));
  CHECK(m->body.find("omnisync_webhook_requests_total{connector=\"testvendor\",status=\"200\"} 2") != std::string::npos);
  CHECK(m->body.find("omnisync_webhook_requests_total{connector=\"testvendor\",status=\"401\"} 1") != std::string::npos);
  CHECK(m->body.find("omnisync_webhook_duplicates_total{connector=\"testvendor\"} 1") != std::string::npos);
  CHECK(m->body.find("omnisync_webhook_request_duration_seconds_count{connector=\"testvendor\"} 3") != std::string::npos);

  // The exposition format is what Prometheus' own linter accepts.
  auto file = f.dir.write("metrics.txt", m->body);
  auto check = omnisync::test::run({"sh", "-c", "promtool check metrics < " + file.string()});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
}

TEST_CASE("listener: a client that sends a partial header is cut off at the header timeout", "[http_server]") {
  omnisync::http::listener_options o;
  o.header_timeout = 200ms;
  fixture f(o);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), f.port});
  asio::write(s, asio::buffer(std::string("POST /webhooks/testvendor HTTP/1.1\r\nHost: x\r\n")));
  auto start = std::chrono::steady_clock::now();
  char buf[256];
  boost::system::error_code ec;
  s.read_some(asio::buffer(buf), ec);  // returns when the server closes the connection
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(ec);
  CHECK(waited < 3s);
  // The listener still serves others.
  auto h = f.send("GET", "/healthz", "", {});
  REQUIRE(h);
  CHECK(h->status == 200);
}

TEST_CASE("listener: at the connection limit idle connections make room, only busy ones make new ones wait",
          "[http_server]") {
  omnisync::http::listener_options o;
  o.max_connections = 4;
  o.header_timeout = 10s;
  fixture f(o);
  asio::io_context io;
  // A flood of idle connections (connected, nothing sent) fills the listener: a health check and a signed
  // webhook are still served — the idle connections that waited longest are closed to make room.
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 12; ++i) {
    idle.emplace_back(io);
    idle.back().connect({asio::ip::make_address("127.0.0.1"), f.port});
  }
  for (int i = 0; i < 3; ++i) {
    auto h = f.send("GET", "/healthz", "", {});
    REQUIRE(h);
    CHECK(h->status == 200);
  }
  auto w = f.webhook(R"({"id":"flood-1"})", "flood-1");
  REQUIRE(w);
  CHECK(w->status == 200);
  CHECK(f.inbox().size() == 1);
  // Shedding closes a connection on its own strand, after the new one was accepted: the closes are counted until
  // they have all arrived (a time limit, not a count of tries: a loaded machine is slower).
  std::vector<bool> seen_closed(idle.size(), false);
  int closed = 0;
  for (auto until = std::chrono::steady_clock::now() + 10s; closed < 8 && std::chrono::steady_clock::now() < until;) {
    for (std::size_t i = 0; i < idle.size(); ++i) {
      if (seen_closed[i]) continue;
      char c;
      boost::system::error_code ec;
      idle[i].non_blocking(true);
      idle[i].read_some(asio::buffer(&c, 1), ec);
      if (ec && ec != asio::error::would_block) seen_closed[i] = true, ++closed;
    }
    if (closed < 8) std::this_thread::sleep_for(10ms);
  }
  CHECK(closed >= 8);  // shed to stay near the limit
  idle.clear();
  // When every connection is busy with a request (here: bodies still arriving), a new one is refused with 503.
  // A connection counts as busy only once the listener has read its request header; until then it is waiting like
  // an idle one and may be shed for a probe. So a busy connection that was shed is opened again, until the probe
  // meets four connections the listener has seen busy (a time limit, not a count of tries: a loaded machine is
  // slower to read their headers).
  const std::string partial =
      "POST /webhooks/testvendor HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\"";
  std::vector<asio::ip::tcp::socket> busy;
  auto open_busy = [&](asio::ip::tcp::socket& s) {
    s.connect({asio::ip::make_address("127.0.0.1"), f.port});
    asio::write(s, asio::buffer(partial));
    s.non_blocking(true);
  };
  for (int i = 0; i < 4; ++i) {
    busy.emplace_back(io);
    open_busy(busy.back());
  }
  bool refused = false;
  for (auto until = std::chrono::steady_clock::now() + 10s; !refused && std::chrono::steady_clock::now() < until;) {
    auto r = f.send("GET", "/healthz", "", {});
    refused = r && r->status == 503;
    if (refused) break;
    std::this_thread::sleep_for(10ms);
    for (auto& s : busy) {
      char c;
      boost::system::error_code ec;
      s.read_some(asio::buffer(&c, 1), ec);
      if (ec && ec != asio::error::would_block) {  // shed before its header was read: open it again
        s = asio::ip::tcp::socket(io);
        open_busy(s);
      }
    }
  }
  CHECK(refused);
  busy.clear();
  bool served = false;
  for (auto until = std::chrono::steady_clock::now() + 10s; !served && std::chrono::steady_clock::now() < until;) {
    auto ok = f.send("GET", "/healthz", "", {});  // until the listener has seen those connections close
    served = ok && ok->status == 200;
    if (!served) std::this_thread::sleep_for(10ms);
  }
  CHECK(served);
}

TEST_CASE("listener: concurrent webhooks are all stored and share commits", "[http_server]") {
  fixture f;
  std::vector<std::thread> senders;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto r = f.webhook(R"({"n":)" + std::to_string(i) + "}", "c-" + std::to_string(t) + "-" + std::to_string(i));
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& s : senders) s.join();
  CHECK(ok == 200);
  auto items = omnisync::store::wait(f.store->inbox_claim(1000, 60s, std::nullopt));
  REQUIRE(items.has_value());
  CHECK(items->size() == 200);
}

namespace {

/// Reads HTTP responses (Content-Length bodies) from a raw socket, keeping what arrived beyond the last one.
struct response_reader {
  asio::ip::tcp::socket& s;
  std::string buf;

  /// The next response's header block; empty on EOF or error.
  std::string head() {
    for (;;) {
      if (auto end = buf.find("\r\n\r\n"); end != std::string::npos) {
        auto h = buf.substr(0, end + 4);
        buf.erase(0, end + 4);
        return h;
      }
      if (!fill()) return {};
    }
  }
  /// The next full response (header and body); empty on EOF or error.
  std::string response() {
    auto h = head();
    if (h.empty()) return {};
    std::size_t len = 0;
    if (auto p = h.find("Content-Length: "); p != std::string::npos) len = std::stoul(h.substr(p + 16));
    while (buf.size() < len)
      if (!fill()) return {};
    auto r = h + buf.substr(0, len);
    buf.erase(0, len);
    return r;
  }

 private:
  bool fill() {
    char chunk[4096];
    boost::system::error_code ec;
    auto got = s.read_some(asio::buffer(chunk), ec);
    if (ec) return false;
    buf.append(chunk, got);
    return true;
  }
};

std::string raw_webhook(const std::string& body, const std::string& id, const std::string& extra = {}) {
  return "POST /webhooks/testvendor HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Test-Signature: " +
         hmac_hex("s3cret", body) + "\r\nX-Event-Id: " + id + "\r\n" + extra + "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("listener: bodies after their header, pipelined requests and 100-continue on one connection",
          "[http_server]") {
  fixture f;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), f.port});

  response_reader rd{s, {}};
  // The body arrives after the header (the listener has to wait for it).
  const std::string late = raw_webhook(R"({"late":1})", "p-1");
  const auto split = late.find("\r\n\r\n") + 4;
  asio::write(s, asio::buffer(late.substr(0, split)));
  std::this_thread::sleep_for(50ms);
  asio::write(s, asio::buffer(late.substr(split)));
  auto first = rd.response();
  CHECK(first.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(first.ends_with(R"({"ok":true})"));

  // Two requests in one write (and a HEAD after them): answered in order.
  asio::write(s, asio::buffer(raw_webhook(R"({"n":2})", "p-2") + raw_webhook("{}", "p-3", "X-Other: 1\r\n") +
                              "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(rd.response().starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(rd.response().starts_with("HTTP/1.1 200 OK\r\n"));
  // HEAD: the Content-Length of the GET answer, no body.
  auto head = rd.head();
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(head.find("Content-Length: 3\r\n") != std::string::npos);

  // Expect: 100-continue: the interim answer first, then the body, then the real answer.
  const std::string body = R"({"continued":true})";
  const std::string cont = raw_webhook(body, "p-4", "Expect: 100-continue\r\n");
  asio::write(s, asio::buffer(cont.substr(0, cont.size() - body.size())));
  CHECK(rd.head() == "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(s, asio::buffer(body));
  CHECK(rd.response().starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(rd.buf.empty());

  auto items = f.inbox();
  std::set<std::string> keys;
  for (const auto& it : items) keys.insert(it.event.dedupe_key);
  CHECK(keys == std::set<std::string>{"p-1", "p-2", "p-3", "p-4"});
}

TEST_CASE("listener: a keep-alive connection outlives the first header timeout and is closed when idle",
          "[http_server]") {
  omnisync::http::listener_options o;
  o.header_timeout = 200ms;  // idle limit between requests: min(idle_timeout, 6 x header_timeout) = 1.2 s
  fixture f(o);
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), f.port});
  response_reader rd{s, {}};
  for (int i = 0; i < 3; ++i) {
    asio::write(s, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")));
    CHECK(rd.response().starts_with("HTTP/1.1 200 OK\r\n"));
    std::this_thread::sleep_for(350ms);  // past the first request's header deadline, within the idle limit
  }
  // Now idle: the listener closes the connection after about 1.2 s.
  auto start = std::chrono::steady_clock::now();
  char buf[16];
  boost::system::error_code ec;
  s.read_some(asio::buffer(buf), ec);
  auto waited = std::chrono::steady_clock::now() - start;
  CHECK(ec);
  CHECK(waited > 500ms);
  CHECK(waited < 4s);
}
