// What a client can do to the listener below the vendors' formats: bodies over the limit (declared, chunked),
// slow headers and bodies, connection floods, ambiguous framing that a proxy in front could read otherwise
// (request smuggling). Each answer's status, nothing stored, the daemon still healthy.
#include "tests/adversarial/adversarial_support.hpp"

#include <thread>

using namespace omnisync::test::adversarial;

namespace {

const std::string limits = "  max_body: 64KiB\n  header_timeout: 1s\n  body_timeout: 1s\n  max_connections: 50\n";

/// A HubSpot delivery of about `size` bytes (one event whose value is padded), rightly signed.
delivery large_hubspot(int port, std::size_t size, std::int64_t id) {
  std::string body = hubspot_body(id);
  body.insert(body.find("@example.com"), std::string(size > body.size() ? size - body.size() : 0, 'x'));
  return hubspot(port, body);
}

/// `d` with its body sent chunked (8 KiB chunks), without Content-Length.
std::string chunked(delivery d) {
  d.headers.push_back("Transfer-Encoding: chunked");
  std::string s = wire({d.method, d.target, d.headers, ""}, true);
  for (std::size_t i = 0; i < d.body.size(); i += 8192) {
    const auto part = d.body.substr(i, 8192);
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", part.size());
    s += len + part + "\r\n";
  }
  return s + "0\r\n\r\n";
}

}  // namespace

TEST_CASE("adversarial: bodies over http.max_body get 413 before they are read, declared or chunked, signed or not",
          "[adversarial]") {
  target t(limits);
  t.start();
  const int port = t.port;

  // Declared: the answer comes from the header alone (the body is never sent).
  {
    auto d = large_hubspot(port, 100 * 1024, 1);
    auto bytes = wire(d);
    raw_client c(port);
    REQUIRE(c.connected());
    c.send(bytes.substr(0, bytes.find("\r\n\r\n") + 4));
    CHECK(c.status(2s) == 413);
  }
  // Declared and sent.
  CHECK(send(port, large_hubspot(port, 100 * 1024, 2)) == 413);
  // Chunked (no Content-Length): refused once the limit is passed.
  {
    raw_client c(port);
    REQUIRE(c.connected());
    c.send(chunked(large_hubspot(port, 100 * 1024, 3)));  // may be cut short by the answer
    CHECK(c.status() == 413);
  }
  // Unsigned and large: 413, not 401 (the limit comes before any signature work).
  {
    delivery d{"POST", "/webhooks/hs", {"Content-Type: application/json"}, std::string(800 * 1024, 'a')};
    auto bytes = wire(d);
    raw_client c(port);
    REQUIRE(c.connected());
    c.send(bytes.substr(0, bytes.find("\r\n\r\n") + 4));
    CHECK(c.status(2s) == 413);
  }
  // Every vendor's route: the same limit.
  {
    const std::string big(100 * 1024, 'y');
    CHECK(send(port, zendesk(zendesk_body(big))) == 413);
    CHECK(send(port, intercom(intercom_body(big))) == 413);
    CHECK(send(port, activecampaign(activecampaign_body(big))) == 413);
  }
  CHECK(stored(t.state) == 0);
  CHECK(metric(t.metrics(), "omnisync_webhook_rejected_total", R"(connector="hs",reason="signature")") == 0);
  CHECK(t.healthy());
  // Under the limit: taken (the limit is the configured one).
  CHECK(send(port, large_hubspot(port, 60 * 1024, 4)) == 200);
  {
    raw_client c(port);
    REQUIRE(c.connected());
    c.send(chunked(large_hubspot(port, 60 * 1024, 5)));
    CHECK(c.status() == 200);
  }
  CHECK(stored(t.state, "hs") == 2);
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial: slow headers and slow bodies are cut off at their timeouts, health stays answerable",
          "[adversarial]") {
  target t(limits);
  t.start();
  const int port = t.port;
  const auto hs = hubspot(port, hubspot_body(1));
  const auto bytes = wire(hs);
  const auto head_end = bytes.find("\r\n\r\n") + 4;

  // Many clients at once: each sends part of its header (slowloris), one sends its body a byte at a time.
  std::vector<raw_client> header_dribblers;
  for (int i = 0; i < 30; ++i) {
    header_dribblers.emplace_back(port);
    header_dribblers.back().send("POST /webhooks/hs HTTP/1.1\r\nHost: x\r\n");
  }
  raw_client body_dribbler(port);
  REQUIRE(body_dribbler.connected());
  body_dribbler.send(bytes.substr(0, head_end + 10));
  const auto started = std::chrono::steady_clock::now();
  bool header_alive = true, body_alive = true;
  int health_ok = 0, health_tries = 0;
  // A byte or a header line every 200 ms keeps each connection busy, never finishing.
  for (std::size_t i = 0; std::chrono::steady_clock::now() - started < 3s; ++i) {
    std::this_thread::sleep_for(200ms);
    for (auto& c : header_dribblers) header_alive = c.send("X-Slow-" + std::to_string(i) + ": y\r\n") && header_alive;
    body_alive = body_dribbler.send(bytes.substr(head_end + 10 + i, 1)) && body_alive;
    ++health_tries;
    health_ok += t.get("/healthz") == 200;
  }
  CHECK(health_ok == health_tries);
  // Cut off: the header timeout (1 s) and the body timeout (1 s) hold against trickling, not just silence.
  for (auto& c : header_dribblers) CHECK(c.closed_within(1s));
  CHECK(body_dribbler.closed_within(1s));
  CHECK(body_dribbler.read(0ms).find("HTTP/1.1 2") == std::string::npos);
  CHECK(stored(t.state) == 0);
  CHECK(t.healthy());
  CHECK(send(port, hs) == 200);  // and the delivery itself, sent at once, is taken
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial: a connection flood leaves /healthz and signed webhooks answerable", "[adversarial]") {
  // Idle connections far past max_connections, with a header timeout long enough that they would all still be
  // there: what keeps the daemon answerable is shedding idle connections, not the timeout.
  target t("  max_connections: 50\n  header_timeout: 20s\n");
  t.start();
  const int port = t.port;
  std::vector<raw_client> flood;
  for (int i = 0; i < 600; ++i) flood.emplace_back(port);
  std::size_t connected = 0;
  for (const auto& c : flood) connected += c.connected();
  CHECK(connected > 500);
  for (int i = 0; i < 10; ++i) {
    INFO(i);
    const auto started = std::chrono::steady_clock::now();
    CHECK(t.get("/healthz") == 200);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
    CHECK(send(port, hubspot(port, hubspot_body(100 + i))) == 200);
  }
  CHECK(stored(t.state, "hs") == 10);
  CHECK(t.healthy());
  CHECK(t.stop() == 0);
}

TEST_CASE("adversarial: ambiguous framing (request smuggling) gets 400 and closes the connection, nothing stored",
          "[adversarial]") {
  target t(limits);
  t.start();
  const int port = t.port;
  // What a proxy in front might read as two requests: the second, to ActiveCampaign's route, must never run.
  const std::string inner = wire(activecampaign(activecampaign_body("smuggled")));
  const std::string head = "POST /webhooks/hs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  const std::string chunk_end = "0\r\n\r\n";
  const std::vector<std::pair<std::string, std::string>> probes{
      {"Content-Length and Transfer-Encoding",
       head + "Content-Length: " + std::to_string(chunk_end.size()) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
           chunk_end + inner},
      {"Transfer-Encoding then Content-Length",
       head + "Transfer-Encoding: chunked\r\nContent-Length: " + std::to_string(chunk_end.size() + inner.size()) +
           "\r\n\r\n" + chunk_end + inner},
      {"two different Content-Lengths", head + "Content-Length: 5\r\nContent-Length: " +
                                            std::to_string(5 + inner.size()) + "\r\n\r\n12345" + inner},
      {"a Content-Length list", head + "Content-Length: 5, " + std::to_string(5 + inner.size()) + "\r\n\r\n12345" + inner},
      {"a signed Content-Length", head + "Content-Length: +5\r\n\r\n12345" + inner},
      {"a hex Content-Length", head + "Content-Length: 0x5\r\n\r\n12345" + inner},
      {"two Transfer-Encodings", head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk_end + inner},
      {"a folded Transfer-Encoding (obs-fold)",
       head + "Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n12345" + inner},
      {"a folded header (obs-fold)", head + "X-Note: a\r\n\tb\r\nContent-Length: 2\r\n\r\n{}" + inner},
      {"space before the colon", head + "Content-Length : 5\r\n\r\n12345" + inner},
      {"a bad chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n12345\r\n" + chunk_end + inner},
      {"a bare LF in the request line", "POST /webhooks/hs HTTP/1.1\nHost: x\r\nContent-Length: 2\r\n\r\n{}" + inner},
      {"a NUL in a header", head + std::string("X-A: a\0b\r\n", 10) + "Content-Length: 2\r\n\r\n{}" + inner},
  };
  for (const auto& [name, bytes] : probes) {
    INFO(name);
    raw_client c(port);
    REQUIRE(c.connected());
    c.send(bytes);
    CHECK(c.status() == 400);
    CHECK(c.closed_within(2s));  // the rest is never read as a request
    CHECK(c.read(0ms).find("HTTP/1.1 200") == std::string::npos);
  }
  CHECK(stored(t.state) == 0);
  CHECK(t.healthy());
  CHECK(send(port, activecampaign(activecampaign_body("smuggled"))) == 200);  // the route itself works
  CHECK(t.stop() == 0);
}
