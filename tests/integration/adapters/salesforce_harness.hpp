#pragma once
// What the Salesforce adapter tests share (test_salesforce_adapter*.cpp, one executable): a simulator with a
// connector config pointing at it, a running connector, draining polls, call counts, an RSA key for the JWT flow.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "adapters/connector.hpp"
#include "daemon/http/listener.hpp"
#include "tests/integration/adapters/connector_harness.hpp"
#include "tests/integration/sim/sim_http.hpp"


namespace omnisync::test::salesforce {

using namespace omnisync;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace asio = boost::asio;
namespace adapters = ::omnisync::adapters;
using omnisync::test::sim::running_sim;

inline std::string contact_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "003%012dAAA", index);
  return buf;
}

/// epoch ms → "2026-11-23T10:00:00.123Z" (the simulator's ?modstamp= format).
inline std::string iso_ms(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

inline std::int64_t calls(running_sim& sim, const std::string& needle) {
  auto counts = sim.admin("GET", "/admin/counts").json();
  std::int64_t n = 0;
  if (const auto* per = counts.as_object().if_contains("salesforce"); per && per->is_object())
    for (const auto& [k, v] : per->as_object())
      if (k != "total" && std::string_view(k).find(needle) != std::string_view::npos) n += v.to_number<std::int64_t>();
  return n;
}

/// A simulator and a Salesforce connector config pointing at it (client credentials, fast backoff).
struct fixture {
  running_sim sim;
  omnisync::test::adapters::connector_config cfg{"sf", "salesforce"};
  explicit fixture(int size = 300) : sim(std::vector<std::string>{"--size", std::to_string(size)}) {
    cfg.set("login_url", sim.url("salesforce", "https"));
    cfg.set("tls.ca_file", sim.ca_file());
    cfg.list("objects", {"Contact"});
    cfg.set("settle_lag", "0s");
    cfg.set("api_version", "62.0");
    cfg.set("auth.flow", "client_credentials");
    cfg.set("auth.client_id", "omnisync-test");
    cfg.set("auth.client_secret", "s3cret");
    cfg.set("sync.backoff_base", "20ms");
    cfg.set("sync.backoff_cap", "200ms");
  }
};

/// A connector on its own io_context; each operation runs to completion.
struct harness {
  asio::io_context io;
  std::unique_ptr<adapters::connector> c;
  explicit harness(const config::connector_common& cfg) {
    adapters::connector_context ctx;
    ctx.executor = io.get_executor();
    c = adapters::make_connector(cfg, ctx);
  }
  template <class T>
  T run(asio::awaitable<T> op) {
    auto f = asio::co_spawn(io, std::move(op), asio::use_future);
    io.restart();
    io.run();
    return f.get();
  }
  result<adapters::page> poll(const std::string& object, std::optional<std::string> cursor,
                              adapters::poll_mode mode = adapters::poll_mode::incremental) {
    adapters::page_request req(object, std::move(cursor), mode);
    return run(c->poll(std::move(req)));
  }
};

struct drained {
  std::vector<adapters::source_record> records;
  std::optional<std::string> cursor;
  int pages = 0;
};

/// Polls until `more` is false, as the engine does (a full read passes each page's cursor back, still full).
inline drained drain(harness& h, std::optional<std::string> cursor, adapters::poll_mode mode, const std::string& object = "Contact") {
  drained d;
  d.cursor = std::move(cursor);
  for (;;) {
    auto p = h.poll(object, d.cursor, mode);
    INFO((p ? std::string() : p.error().message()));
    REQUIRE(p.has_value());
    ++d.pages;
    for (auto& r : p->records) d.records.push_back(std::move(r));
    if (p->cursor) d.cursor = p->cursor;
    if (!p->more) break;
    REQUIRE(d.pages < 10000);
  }
  return d;
}

inline std::set<std::string> ids_of(const std::vector<adapters::source_record>& recs) {
  std::set<std::string> out;
  for (const auto& r : recs) out.insert(r.id);
  return out;
}

/// Polls incrementally every 100 ms until every id in `want` arrived (a change needs a second or two to fall
/// below the settled upper bound: a whole second, on the org's clock as learnt from whole-second Date headers).
/// Returns everything read, repeats included.
inline drained poll_until(harness& h, std::optional<std::string> cursor, const std::set<std::string>& want,
                   std::chrono::milliseconds timeout = 6000ms) {
  drained all;
  all.cursor = std::move(cursor);
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto d = drain(h, all.cursor, adapters::poll_mode::incremental);
    all.cursor = d.cursor;
    all.pages += d.pages;
    for (auto& r : d.records) all.records.push_back(std::move(r));
    auto got = ids_of(all.records);
    if (std::includes(got.begin(), got.end(), want.begin(), want.end())) return all;
    REQUIRE(std::chrono::steady_clock::now() < until);
    std::this_thread::sleep_for(100ms);
  }
}

/// Polls incrementally every 100 ms for `span`; returns everything read.
inline drained poll_for(harness& h, std::optional<std::string> cursor, std::chrono::milliseconds span) {
  drained all;
  all.cursor = std::move(cursor);
  const auto until = std::chrono::steady_clock::now() + span;
  while (std::chrono::steady_clock::now() < until) {
    auto d = drain(h, all.cursor, adapters::poll_mode::incremental);
    all.cursor = d.cursor;
    all.pages += d.pages;
    for (auto& r : d.records) all.records.push_back(std::move(r));
    std::this_thread::sleep_for(100ms);
  }
  return all;
}

inline std::int64_t watermark_of(const std::string& cursor) { return json::parse(cursor).at("w").to_number<std::int64_t>(); }

struct rsa_key {
  std::string private_pem, public_pem;
};

inline rsa_key make_rsa_key() {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  REQUIRE(k != nullptr);
  auto pem = [](auto write) {
    BIO* b = BIO_new(BIO_s_mem());
    write(b);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
  };
  rsa_key out;
  out.private_pem = pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); });
  out.public_pem = pem([&](BIO* b) { PEM_write_bio_PUBKEY(b, k); });
  EVP_PKEY_free(k);
  return out;
}


}  // namespace omnisync::test::salesforce
