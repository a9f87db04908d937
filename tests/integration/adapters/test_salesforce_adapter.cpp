// The Salesforce adapter against a real omnisync-sim over HTTPS (with the simulator's CA): the three OAuth flows,
// paging to the end, the watermark boundary (late commits, overlap, de-duplication), deletes through queryAll,
// getDeleted and id listing, token expiry mid-sync, 429 storms and 5xx, a timeout, an untrusted certificate,
// sObject Collections writes in batches of 200 with one rejected record, describe and the formula refresh, and
// Outbound Messages. Each case starts its own simulator (ctest runs the cases as separate processes).
#include <catch2/catch.hpp>

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

using namespace omnisync;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace asio = boost::asio;
using omnisync::test::sim::running_sim;

namespace {

std::string contact_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "003%012dAAA", index);
  return buf;
}

/// epoch ms → "2026-11-23T10:00:00.123Z" (the simulator's ?modstamp= format).
std::string iso_ms(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::int64_t calls(running_sim& sim, const std::string& needle) {
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
drained drain(harness& h, std::optional<std::string> cursor, adapters::poll_mode mode, const std::string& object = "Contact") {
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

std::set<std::string> ids_of(const std::vector<adapters::source_record>& recs) {
  std::set<std::string> out;
  for (const auto& r : recs) out.insert(r.id);
  return out;
}

/// Polls incrementally every 100 ms until every id in `want` arrived (a change needs a second or two to fall
/// below the settled upper bound: a whole second, on the org's clock as learnt from whole-second Date headers).
/// Returns everything read, repeats included.
drained poll_until(harness& h, std::optional<std::string> cursor, const std::set<std::string>& want,
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
drained poll_for(harness& h, std::optional<std::string> cursor, std::chrono::milliseconds span) {
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

std::int64_t watermark_of(const std::string& cursor) { return json::parse(cursor).at("w").to_number<std::int64_t>(); }

struct rsa_key {
  std::string private_pem, public_pem;
};

rsa_key make_rsa_key() {
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

}  // namespace

TEST_CASE("salesforce adapter: client credentials, refresh token and JWT bearer (RS256 checked by the sim) all read",
          "[salesforce][adapter]") {
  fixture f;
  f.cfg.set("sync.page_size", "200");
  {
    harness h(f.cfg);
    auto p = h.poll("Contact", std::nullopt);
    REQUIRE(p.has_value());
    CHECK(p->records.size() == 200);
  }
  {
    auto cfg = f.cfg;
    cfg.set("auth.flow", "refresh_token");
    cfg.erase("auth.client_secret");
    cfg.set("auth.refresh_token", "5Aep861-refresh");
    harness h(cfg);
    auto p = h.poll("Contact", std::nullopt);
    REQUIRE(p.has_value());
    CHECK(p->records.size() == 200);
  }
  const auto key = make_rsa_key();
  json::object limits{{"service", "salesforce"}, {"jwt_certificate", key.public_pem}};
  f.sim.admin("POST", "/admin/limits", json::serialize(limits));
  auto jwt = f.cfg;
  jwt.set("auth.flow", "jwt_bearer");
  jwt.set("auth.username", "integration@acme.example");
  jwt.erase("auth.client_secret");
  jwt.set("auth.private_key", key.private_pem);
  {
    harness h(jwt);
    auto p = h.poll("Contact", std::nullopt);
    INFO((p ? std::string() : p.error().message()));
    REQUIRE(p.has_value());
    CHECK(p->records.size() == 200);
  }
  CHECK(calls(f.sim, "POST /services/oauth2/token") == 3);

  SECTION("an assertion signed with another key is refused: auth_expired") {
    auto other = jwt;
    other.set("auth.private_key", make_rsa_key().private_pem);
    harness h(other);
    auto p = h.poll("Contact", std::nullopt);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error() == errc::auth_expired);
  }
  SECTION("a revoked refresh token is refused: auth_expired") {
    auto cfg = f.cfg;
    cfg.set("auth.flow", "refresh_token");
    cfg.set("auth.refresh_token", "revoked");
    harness h(cfg);
    auto p = h.poll("Contact", std::nullopt);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error() == errc::auth_expired);
  }
  SECTION("missing credentials stop the connector from being built") {
    auto cfg = f.cfg;
    cfg.erase("auth.client_secret");
    CHECK_THROWS_WITH(harness(cfg), Catch::Contains("auth.client_secret"));
    cfg.set("auth.flow", "jwt_bearer");
    cfg.set("auth.username", "u");
    cfg.set("auth.private_key", "not a key");
    CHECK_THROWS_WITH(harness(cfg), Catch::Contains("auth.private_key"));
  }
}

TEST_CASE("salesforce adapter: a full read of 2500 contacts pages to the end with every record exactly once",
          "[salesforce][adapter]") {
  fixture f(2500);
  harness h(f.cfg);
  auto full = drain(h, std::nullopt, adapters::poll_mode::full);
  CHECK(full.pages == 2);  // 2000 + 500
  CHECK(full.records.size() == 2500);
  CHECK(ids_of(full.records).size() == 2500);
  CHECK(ids_of(full.records).count(contact_id(1)) == 1);
  CHECK(ids_of(full.records).count(contact_id(2500)) == 1);
  CHECK(calls(f.sim, "/queryAll") == 1);
  CHECK(calls(f.sim, "/query/") == 1);  // one nextRecordsUrl
  // The payload is the record as the REST API returns it, with the relationship the inbound mapping reads.
  auto rec = json::parse(full.records.front().payload).as_object();
  CHECK(rec.at("attributes").at("type").as_string() == "Contact");
  CHECK(rec.contains("Email"));
  CHECK(rec.contains("Days_Since_Created__c"));
  CHECK(rec.at("Account").at("Name").is_string());
  CHECK(full.records.front().source_updated_at.time_since_epoch().count() > 0);
  for (std::size_t i = 1; i < full.records.size(); ++i)
    REQUIRE(full.records[i - 1].source_updated_at <= full.records[i].source_updated_at);

  // The last page's cursor continues incrementally: nothing changed, nothing comes back (the overlap window is
  // read again and de-duplicated).
  auto again = drain(h, full.cursor, adapters::poll_mode::incremental);
  CHECK(again.records.empty());

  SECTION("with 200 per page: 13 pages, still every record once") {
    auto cfg = f.cfg;
    cfg.set("sync.page_size", "200");
    harness small(cfg);
    auto d = drain(small, std::nullopt, adapters::poll_mode::full);
    CHECK(d.pages == 13);
    CHECK(d.records.size() == 2500);
    CHECK(ids_of(d.records).size() == 2500);
  }
  SECTION("a lost query locator restarts from the cursor without a gap or a repeat") {
    auto cfg = f.cfg;
    cfg.set("sync.page_size", "200");
    harness small(cfg);
    auto first = small.poll("Contact", std::nullopt, adapters::poll_mode::full);
    REQUIRE(first.has_value());
    REQUIRE(first->more);
    auto c = json::parse(*first->cursor).as_object();
    c["next"] = "/services/data/v62.0/query/01gSIM999999-200";  // a locator the org no longer knows
    auto rest = drain(small, json::serialize(c), adapters::poll_mode::full);
    auto all = first->records;
    all.insert(all.end(), rest.records.begin(), rest.records.end());
    CHECK(all.size() == 2500);
    CHECK(ids_of(all).size() == 2500);
  }
}

TEST_CASE("salesforce adapter: changes at the watermark boundary are neither lost nor repeated",
          "[salesforce][adapter]") {
  fixture f;
  f.cfg.set("sync.overlap", "60s");
  harness h(f.cfg);
  auto full = drain(h, std::nullopt, adapters::poll_mode::full);
  REQUIRE(full.records.size() == 300);

  // An ordinary change after the read: it arrives once, and polling on (every read overlaps it) repeats nothing.
  f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(7), R"({"FirstName":"Seven"})");
  auto d1 = poll_until(h, full.cursor, {contact_id(7)});
  CHECK(d1.records.size() == 1);
  auto d2 = poll_for(h, d1.cursor, 1200ms);
  CHECK(d2.records.empty());

  // Late commits: changes that become visible now but carry an earlier SystemModstamp (a long transaction):
  // one exactly at the watermark, one inside the overlap window. Each arrives once.
  const auto w = watermark_of(*d2.cursor);
  f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(8) + "?modstamp=" + iso_ms(w), R"({"FirstName":"AtMark"})");
  f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(9) + "?modstamp=" + iso_ms(w - 30000),
              R"({"FirstName":"InOverlap"})");
  auto d3 = poll_until(h, d2.cursor, {contact_id(8), contact_id(9)});
  CHECK(d3.records.size() == 2);
  // Records sharing one stamp: three more at the watermark's very millisecond, next to 8 (already read there).
  for (int i : {20, 21, 22})
    f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(i) + "?modstamp=" + iso_ms(w), R"({"FirstName":"Same"})");
  auto d4 = poll_until(h, d3.cursor, {contact_id(20), contact_id(21), contact_id(22)});
  CHECK(d4.records.size() == 3);
  auto d5 = poll_for(h, d4.cursor, 1200ms);
  CHECK(d5.records.empty());

  // The same record changed again at the boundary is a new change (new stamp): it arrives again, once.
  f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(8), R"({"FirstName":"Again"})");
  auto d6 = poll_until(h, d5.cursor, {contact_id(8)});
  REQUIRE(d6.records.size() == 1);
  CHECK(json::parse(d6.records[0].payload).at("FirstName").as_string() == "Again");

  // Beyond the overlap window a late commit cannot be seen by SystemModstamp polling (that is what the window
  // is sized for): it stays unread until a resync.
  f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(10) + "?modstamp=" + iso_ms(w - 600000),
              R"({"FirstName":"TooLate"})");
  auto d7 = poll_for(h, d6.cursor, 1200ms);
  CHECK(d7.records.empty());

  SECTION("resync --since reads from the given time") {
    adapters::page_request req("Contact", std::nullopt, adapters::poll_mode::incremental);
    req.since = std::chrono::system_clock::time_point(std::chrono::milliseconds(w - 700000));
    auto p = h.run(h.c->poll(std::move(req)));
    REQUIRE(p.has_value());
    CHECK(ids_of(p->records).count(contact_id(10)) == 1);
  }
}

TEST_CASE("salesforce adapter: soft deletes come through queryAll, purged records through getDeleted, fetch and id listing",
          "[salesforce][adapter]") {
  fixture f;
  f.cfg.set("sync.get_deleted_interval", "1s");
  harness h(f.cfg);
  auto full = drain(h, std::nullopt, adapters::poll_mode::full);
  REQUIRE(full.records.size() == 300);

  f.sim.admin("DELETE", "/admin/salesforce/Contact/" + contact_id(3));
  auto d1 = poll_until(h, full.cursor, {contact_id(3)});
  REQUIRE(d1.records.size() == 1);
  CHECK(d1.records[0].deleted);
  CHECK(json::parse(d1.records[0].payload).at("IsDeleted").as_bool());

  // A deletion whose SystemModstamp lies far behind the watermark: queryAll's window misses it, getDeleted
  // (by deletion date) reports it, once, and nothing queryAll had shown is repeated.
  const auto w = watermark_of(*d1.cursor);
  f.sim.admin("DELETE", "/admin/salesforce/Contact/" + contact_id(4) + "?modstamp=" + iso_ms(w - 3600000));
  auto d2 = poll_until(h, d1.cursor, {contact_id(4)});
  REQUIRE(d2.records.size() == 1);
  CHECK(d2.records[0].deleted);
  const auto checks = calls(f.sim, "/deleted");
  CHECK(checks >= 1);
  auto d3 = poll_for(h, d2.cursor, 2500ms);
  CHECK(d3.records.empty());
  CHECK(calls(f.sim, "/deleted") > checks);  // getDeleted ran again over the same deletions and repeated none

  // Hard delete (purged): gone from every query; the id listing no longer has it, fetch says deleted.
  f.sim.admin("DELETE", "/admin/salesforce/Contact/" + contact_id(5) + "?purge=true");
  std::vector<std::string> listed;
  std::optional<std::string> next;
  int pages = 0;
  do {
    auto pg = h.run(h.c->list_ids("Contact", next));
    REQUIRE(pg.has_value());
    listed.insert(listed.end(), pg->ids.begin(), pg->ids.end());
    next = pg->next;
    ++pages;
  } while (next && pages < 100);
  CHECK(listed.size() == 297);  // 300 minus two in the recycle bin and one purged
  CHECK(std::is_sorted(listed.begin(), listed.end()));
  CHECK(std::find(listed.begin(), listed.end(), contact_id(5)) == listed.end());

  std::vector<std::string> want{contact_id(1), contact_id(3), contact_id(5)};
  auto got = h.run(h.c->fetch("Contact", want));
  REQUIRE(got.has_value());
  REQUIRE(got->size() == 3);
  std::map<std::string, bool> deleted;
  for (const auto& r : *got) deleted[r.id] = r.deleted;
  CHECK_FALSE(deleted.at(contact_id(1)));
  CHECK(deleted.at(contact_id(3)));   // in the recycle bin
  CHECK(deleted.at(contact_id(5)));   // purged: only the id is left
  auto bad = h.run(h.c->fetch("Contact", {"003' OR Id != '"}));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == errc::invalid_input);

  // resync --email: SOQL `=` ignores case.
  auto one = json::parse(full.records[10].payload).as_object();
  if (one.at("Email").is_string()) {
    std::string email(one.at("Email").as_string());
    for (auto& ch : email) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    auto found = h.run(h.c->find_by_email("Contact", email));
    REQUIRE(found.has_value());
    REQUIRE(found->size() == 1);
    CHECK((*found)[0].id == full.records[10].id);
  }
}

TEST_CASE("salesforce adapter: an access token expiring mid-sync is refreshed once and the read goes on",
          "[salesforce][adapter]") {
  fixture f(1000);
  f.cfg.set("sync.page_size", "200");
  harness h(f.cfg);
  auto first = h.poll("Contact", std::nullopt, adapters::poll_mode::full);
  REQUIRE(first.has_value());
  // Every live token expires now; new ones live two hours.
  f.sim.admin("POST", "/admin/limits", R"({"service":"salesforce","token_lifetime_ms":1})");
  f.sim.admin("POST", "/admin/limits", R"({"service":"salesforce","token_lifetime_ms":7200000})");
  auto rest = drain(h, first->cursor, adapters::poll_mode::full);
  auto all = first->records;
  all.insert(all.end(), rest.records.begin(), rest.records.end());
  CHECK(all.size() == 1000);
  CHECK(ids_of(all).size() == 1000);
  CHECK(calls(f.sim, "POST /services/oauth2/token") == 2);
}

TEST_CASE("salesforce adapter: a 429 storm with Retry-After and 5xx faults are ridden out", "[salesforce][adapter]") {
  fixture f;
  harness h(f.cfg);
  f.sim.admin("POST", "/admin/faults",
              R"({"service":"salesforce","path_glob":"/services/data/*","kind":"rate_limit","count":2,"retry_after":1})");
  const auto t0 = std::chrono::steady_clock::now();
  auto p = h.poll("Contact", std::nullopt, adapters::poll_mode::full);
  const auto waited = std::chrono::steady_clock::now() - t0;
  REQUIRE(p.has_value());
  CHECK(p->records.size() == 300);
  CHECK(waited >= 1900ms);  // Retry-After: 1 twice, honoured

  f.sim.admin("POST", "/admin/faults",
              R"({"service":"salesforce","path_glob":"/services/data/*","kind":"status","status":503,"count":2})");
  f.sim.admin("POST", "/admin/faults", R"({"service":"salesforce","path_glob":"/services/data/*","kind":"reset","count":1})");
  auto q = h.poll("Contact", std::nullopt, adapters::poll_mode::full);
  REQUIRE(q.has_value());
  CHECK(q->records.size() == 300);
  auto u = h.c->usage();
  CHECK(u.api_errors >= 4);  // the reset is absorbed by the client (the request never reached the server)
  CHECK(u.api_calls >= u.api_errors + 2);
  CHECK(u.budget_limit == 15000);
  CHECK(u.budget_used > 0);

  // A storm longer than the attempts ends as rate_limited (the engine waits and polls again later).
  f.sim.admin("POST", "/admin/faults",
              R"({"service":"salesforce","path_glob":"/services/data/*","kind":"rate_limit","count":-1,"retry_after":0})");
  auto storm = h.poll("Contact", std::nullopt, adapters::poll_mode::full);
  REQUIRE_FALSE(storm.has_value());
  CHECK(storm.error() == errc::rate_limited);
  f.sim.admin("DELETE", "/admin/faults");

  // The org's daily budget used up: 403 REQUEST_LIMIT_EXCEEDED is rate_limited too.
  f.sim.admin("POST", "/admin/limits", R"({"service":"salesforce","daily_api_requests":10,"api_requests_used":10})");
  auto spent = h.poll("Contact", std::nullopt, adapters::poll_mode::full);
  REQUIRE_FALSE(spent.has_value());
  CHECK(spent.error() == errc::rate_limited);
}

TEST_CASE("salesforce adapter: a response slower than the read timeout is classified as a timeout",
          "[salesforce][adapter]") {
  fixture f;
  f.cfg.set("sync.read_timeout", "300ms");
  f.cfg.set("sync.max_attempts", "2");
  harness h(f.cfg);
  auto warm = h.poll("Contact", std::nullopt);  // token and describe first, so the fault hits the query
  REQUIRE(warm.has_value());
  f.sim.admin("POST", "/admin/faults",
              R"({"service":"salesforce","path_glob":"/services/data/*/queryAll","kind":"latency","latency_ms":1500,"count":-1})");
  const auto t0 = std::chrono::steady_clock::now();
  auto p = h.poll("Contact", std::nullopt, adapters::poll_mode::full);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error() == errc::timeout);
  CHECK(std::chrono::steady_clock::now() - t0 < 1400ms);
  f.sim.admin("DELETE", "/admin/faults");
}

TEST_CASE("salesforce adapter: a server certificate from an untrusted CA is refused", "[salesforce][adapter]") {
  fixture f;
  f.cfg.erase("tls.ca_file");  // the system store does not know the simulator's CA
  harness h(f.cfg);
  auto p = h.poll("Contact", std::nullopt);
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error() == errc::fail);
  CHECK(calls(f.sim, "/services/") == 0);  // no request got through the handshake
}

TEST_CASE("salesforce adapter: 450 upserts are 3 sObject Collections calls and one bad record is rejected alone",
          "[salesforce][adapter]") {
  fixture f;
  harness h(f.cfg);
  std::vector<adapters::write_item> items;
  for (int i = 0; i < 450; ++i) {
    json::object p{{"Omnisync_Id__c", "p" + std::to_string(i)}, {"LastName", "Writer " + std::to_string(i)},
                   {"Email", "writer" + std::to_string(i) + "@example.com"}};
    if (i == 321) p["LastName"] = std::string(81, 'x');  // longer than LastName's 80 characters
    items.emplace_back(i + 1, "p" + std::to_string(i), json::serialize(p));
  }
  auto r = h.run(h.c->write("Contact", items));
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 450);
  std::map<std::int64_t, adapters::write_result> by_id;
  for (auto& w : *r) by_id[w.outbox_id] = w;
  CHECK(by_id.size() == 450);
  int written = 0;
  for (auto& [id, w] : by_id) written += w.status == adapters::write_result::outcome::written;
  CHECK(written == 449);
  CHECK(by_id.at(322).status == adapters::write_result::outcome::rejected);
  CHECK_THAT(by_id.at(322).error, Catch::Contains("STRING_TOO_LONG"));
  CHECK(by_id.at(1).destination_id.size() == 18);
  CHECK(calls(f.sim, "PATCH /services/data/v62.0/composite/sobjects/Contact/Omnisync_Id__c") == 3);

  // Written again: the same records are updated (upsert by the external id), none created twice.
  std::vector<adapters::write_item> again(items.begin(), items.begin() + 3);
  auto r2 = h.run(h.c->write("Contact", again));
  REQUIRE(r2.has_value());
  for (auto& w : *r2) CHECK(w.destination_id == by_id.at(w.outbox_id).destination_id);
  auto stored = f.sim.admin("GET", "/admin/salesforce/Contact/" + by_id.at(2).destination_id).json();
  CHECK(stored.at("Omnisync_Id__c").as_string() == "p1");
  CHECK(stored.at("LastName").as_string() == "Writer 1");

  SECTION("the upsert key is taken from the setting when the payload has several candidates") {
    auto cfg = f.cfg;
    cfg.set("sync.Contact.upsert_key", "Omnisync_Id__c");
    harness k(cfg);
    json::object p{{"Omnisync_Id__c", "same"}, {"LastName", "same"}};
    auto w = h.run(h.c->write("Contact", {adapters::write_item(1, "same", json::serialize(p))}));
    REQUIRE(w.has_value());
    CHECK((*w)[0].status == adapters::write_result::outcome::written);  // Omnisync_Id__c is the external id
    auto w2 = k.run(k.c->write("Contact", {adapters::write_item(2, "same", json::serialize(p))}));
    REQUIRE(w2.has_value());
    CHECK((*w2)[0].destination_id == (*w)[0].destination_id);
  }
  SECTION("a field that is not an external id is refused without a call") {
    auto cfg = f.cfg;
    cfg.set("sync.Contact.upsert_key", "Email");
    harness k(cfg);
    const auto before = calls(f.sim, "composite");
    json::object p{{"Email", "x@example.com"}, {"LastName", "X"}};
    auto w = k.run(k.c->write("Contact", {adapters::write_item(1, "x@example.com", json::serialize(p))}));
    REQUIRE(w.has_value());
    CHECK((*w)[0].status == adapters::write_result::outcome::rejected);
    CHECK(calls(f.sim, "composite") == before);
  }
  SECTION("an outage leaves every item to be retried") {
    f.sim.admin("POST", "/admin/faults",
                R"({"service":"salesforce","path_glob":"/services/data/*/composite/*","kind":"status","status":503,"count":-1})");
    auto cfg = f.cfg;
    cfg.set("sync.max_attempts", "2");
    harness k(cfg);
    auto w = k.run(k.c->write("Contact", again));
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error() == errc::retry);
  }
}

TEST_CASE("salesforce adapter: describe finds the formula field, which a scheduled refresh keeps fresh",
          "[salesforce][adapter]") {
  fixture f;
  f.cfg.set("sync.formula_refresh", "1h");
  harness h(f.cfg);
  auto schema = h.run(h.c->describe("Contact"));
  REQUIRE(schema.has_value());
  auto field = [&](const std::string& n) -> const adapters::field_info& {
    for (const auto& fi : schema->fields)
      if (fi.name == n) return fi;
    FAIL("no field " << n);
    throw std::logic_error("unreachable");
  };
  CHECK(field("Days_Since_Created__c").calculated);
  CHECK_FALSE(field("Days_Since_Created__c").updateable);
  CHECK(field("Omnisync_Id__c").external_id);
  CHECK(field("Email").type == "email");
  CHECK(field("Email").length == 80);
  CHECK_FALSE(field("Id").updateable);
  CHECK(field("AccountId").type == "reference");

  auto full = drain(h, std::nullopt, adapters::poll_mode::full);
  REQUIRE(full.records.size() == 300);
  const auto before = json::parse(full.records[0].payload).at("Days_Since_Created__c").to_number<double>();
  // Not yet due: an incremental poll reads changes only.
  auto quiet = h.poll("Contact", full.cursor);
  REQUIRE(quiet.has_value());
  CHECK_FALSE(quiet->partial);
  // A day later (the formula moved, SystemModstamp did not) the refresh reads Id + formula columns only.
  // Exactly one day: the formula counts whole days, so 25 hours gave +2 whenever the test ran in the last hour
  // of a record's day (about one run in 24; seen in CI).
  f.sim.admin("POST", "/admin/clock", R"({"advance_ms":86400000})");
  // The next read learns the org's time from its answer and asks to be called again at once for the refresh.
  auto learn = h.poll("Contact", quiet->cursor);
  REQUIRE(learn.has_value());
  CHECK_FALSE(learn->partial);
  CHECK(learn->more);
  auto fr = h.poll("Contact", learn->cursor);
  REQUIRE(fr.has_value());
  CHECK(fr->partial);
  REQUIRE(fr->records.size() == 300);
  auto rec = json::parse(fr->records[0].payload).as_object();
  CHECK(rec.size() == 2);
  CHECK(rec.at("Days_Since_Created__c").to_number<double>() == before + 1);
  // Then polling goes back to changes, and the refresh is not due again for an hour.
  auto next = h.poll("Contact", fr->cursor);
  REQUIRE(next.has_value());
  CHECK_FALSE(next->partial);
  CHECK(next->records.empty());
}

TEST_CASE("salesforce adapter: Outbound Messages are verified, parsed into records, and malformed ones refused",
          "[salesforce][adapter]") {
  fixture f;
  f.cfg.set("webhook.organization_id", "00DSIM0000000001AA");
  harness h(f.cfg);
  REQUIRE(h.c->webhook() != nullptr);
  (void)h.run(h.c->describe("Contact"));  // values are typed by describe when it is known

  omnisync::test::sim::webhook_receiver receiver;
  json::object target{{"service", "salesforce"}, {"url", receiver.url()}};
  f.sim.admin("POST", "/admin/webhooks", json::serialize(target));
  f.sim.admin("PATCH", "/admin/salesforce/Contact/" + contact_id(12), R"({"FirstName":"Outbound","Phone":null})");
  auto got = receiver.wait_for([](const auto& r) { return r.body.find("Outbound") != std::string::npos; });

  adapters::inbound_request in;
  in.method = "POST";
  in.body = got.body;
  for (const auto& [k, v] : got.headers) in.headers.push_back({k, v});
  auto verified = h.c->webhook()->verify(in);
  REQUIRE(verified.has_value());
  CHECK_THAT(verified->ack.body, Catch::Contains("<Ack>true</Ack>"));

  adapters::inbox_event ev("sf", verified->dedupe_key, omnisync::timestamp{}, "{}", got.body);
  auto parsed = h.c->parse_event(ev);
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->records.size() == 1);
  const auto& item = parsed->records[0];
  CHECK(item.object == "Contact");
  CHECK(item.record.id == contact_id(12));
  CHECK_FALSE(item.record.deleted);
  CHECK(item.record.source_updated_at.time_since_epoch().count() > 0);
  auto rec = json::parse(item.record.payload).as_object();
  CHECK(rec.at("attributes").at("type").as_string() == "Contact");
  CHECK(rec.at("FirstName").as_string() == "Outbound");
  CHECK_FALSE(rec.contains("Phone"));  // null fields are left out of the message

  for (const std::string& bad : {std::string("<not xml"), std::string("<a/>"),
                                got.body.substr(0, got.body.size() / 2)}) {
    adapters::inbox_event broken("sf", "k", omnisync::timestamp{}, "{}", bad);
    auto r = h.c->parse_event(broken);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == errc::invalid_input);
  }
  std::string wrong_org = got.body;
  wrong_org.replace(wrong_org.find("00DSIM0000000001AA"), 18, "00DOTHER000000001A");
  in.body = wrong_org;
  auto refused = h.c->webhook()->verify(in);
  REQUIRE_FALSE(refused.has_value());

  SECTION("webhook.refetch asks the engine to read whole records instead") {
    auto cfg = f.cfg;
    cfg.set("webhook.refetch", "true");
    harness k(cfg);
    auto ids = k.c->parse_event(ev);
    REQUIRE(ids.has_value());
    CHECK(ids->records.empty());
    REQUIRE(ids->refetch.size() == 1);
    CHECK(ids->refetch[0] == std::make_pair(std::string("Contact"), contact_id(12)));
  }
}

// The cursor and the helpers behind it, without a simulator.
#include "adapters/salesforce/oauth.hpp"
#include "adapters/salesforce/poll_cursor.hpp"
#include "core/time.hpp"

TEST_CASE("salesforce cursor: round trip, de-duplication, and a bounded seen set", "[salesforce][unit]") {
  using adapters::salesforce::poll_cursor;
  poll_cursor c;
  c.watermark = 10'000;
  c.lower = 4'000;
  c.remember("003A", 5'000);
  c.remember("003B", 10'000);
  c.remember("003C", 10'000);
  c.next_url = "/services/data/v62.0/query/01g-2000";
  c.query_upper = 12'000;
  c.formula_done = 1;
  c.deleted_checked = 2;
  c.deleted_reported = {"003Z"};
  auto back = poll_cursor::decode(c.encode());
  REQUIRE(back.has_value());
  CHECK(back->encode() == c.encode());
  CHECK(back->saw("003B", 10'000));
  CHECK_FALSE(back->saw("003B", 10'001));  // the same record with a newer stamp is a new change
  CHECK_FALSE(poll_cursor::decode("{\"v\":2}").has_value());
  CHECK_FALSE(poll_cursor::decode("not json").has_value());

  // Past max_seen the lower bound moves up stamp by stamp, never past the watermark, and every pair at or
  // above it is kept (so nothing read again there can be repeated).
  poll_cursor big;
  big.watermark = 100;
  big.lower = 0;
  for (int i = 0; i < 100; ++i) big.remember("r" + std::to_string(i), i);
  for (int i = 0; i < 20; ++i) big.remember("w" + std::to_string(i), 100);
  big.prune(50);
  CHECK(*big.lower == 70);
  CHECK(big.saw("r70", 70));
  CHECK_FALSE(big.saw("r69", 69));
  big.prune(5);
  CHECK(*big.lower == 100);
  CHECK(big.seen.size() == 1);
  CHECK(big.seen.at(100).size() == 20);  // all pairs at the watermark stay, over the bound
}

TEST_CASE("salesforce helpers: datetimes, SOQL literals, ids, JWT assertion", "[salesforce][unit]") {
  namespace sf = adapters::salesforce;
  // Salesforce's stamps and Date headers, read as the connector reads them (core/time.hpp).
  auto stamp = [](std::string_view s) -> std::optional<std::int64_t> {
    auto t = omnisync::parse_iso8601(s, omnisync::time_part::required);
    if (!t) return std::nullopt;
    return omnisync::to_epoch_ms(*t);
  };
  CHECK(stamp("2026-01-01T00:00:00.000+0000") == 1767225600000);
  CHECK(stamp("2026-01-01T02:00:00.250+02:00") == 1767225600250);
  CHECK(stamp("2026-01-01T00:00:00Z") == 1767225600000);
  CHECK_FALSE(stamp("2026-01-01").has_value());
  CHECK(sf::soql_datetime(1767225600999) == "2026-01-01T00:00:00Z");  // whole seconds, rounded down
  CHECK(sf::iso_datetime(1767225600000) == "2026-01-01T00:00:00+00:00");
  CHECK(omnisync::parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT") == omnisync::from_epoch_ms(1767225600000));
  CHECK(sf::soql_quote("O'Brien\\x") == "'O\\'Brien\\\\x'");
  CHECK(sf::is_record_id("003000000000001AAA"));
  CHECK(sf::is_record_id("003000000000001"));
  CHECK_FALSE(sf::is_record_id("003' OR Id != '"));

  auto key = make_rsa_key();
  sf::rs256_signer signer(key.private_pem);
  sf::auth_settings a;
  a.client_id = "3MVG9";
  a.username = "integration@acme.example";
  a.audience = "https://login.salesforce.com";
  auto jwt = sf::jwt_assertion(signer, a, 1767225600);
  auto d1 = jwt.find('.'), d2 = jwt.rfind('.');
  CHECK(jwt.substr(0, d1) == sf::base64url(R"({"alg":"RS256"})"));
  CHECK(jwt.find('=') == std::string::npos);
  // The signature verifies with the public key (what Salesforce does with the connected app's certificate).
  std::string sig_b64 = jwt.substr(d2 + 1);
  for (auto& ch : sig_b64) ch = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  while (sig_b64.size() % 4) sig_b64 += '=';
  std::string sig(sig_b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(sig.data()), reinterpret_cast<const unsigned char*>(sig_b64.data()),
                          static_cast<int>(sig_b64.size()));
  REQUIRE(n > 0);
  sig.resize(256);  // RSA-2048
  BIO* b = BIO_new_mem_buf(key.public_pem.data(), static_cast<int>(key.public_pem.size()));
  EVP_PKEY* pub = PEM_read_bio_PUBKEY(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  REQUIRE(pub != nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub);
  const std::string input = jwt.substr(0, d2);
  CHECK(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
}

TEST_CASE("salesforce adapter: resync --fields reads Id and the named fields only, as partial keyset pages",
          "[salesforce][adapter]") {
  fixture f(2500);
  harness h(f.cfg);
  std::optional<std::string> cursor;
  std::size_t records = 0, pages = 0;
  for (;;) {
    adapters::page_request req("Contact", cursor, adapters::poll_mode::full);
    req.fields = {"Email", "phone"};  // field names as the user types them: any case
    auto p = h.run(h.c->poll(std::move(req)));
    REQUIRE(p.has_value());
    CHECK(p->partial);
    ++pages;
    records += p->records.size();
    if (!p->records.empty()) {
      auto rec = json::parse(p->records.front().payload).as_object();
      CHECK(rec.contains("Id"));
      CHECK(rec.contains("Email"));
      CHECK(rec.contains("Phone"));
      CHECK_FALSE(rec.contains("LastName"));
    }
    if (!p->more) break;
    cursor = p->cursor;
  }
  CHECK(records == 2500);
  CHECK(pages == 2);
  adapters::page_request bad("Contact", std::nullopt, adapters::poll_mode::full);
  bad.fields = {"NoSuchField__c"};
  auto refused = h.run(h.c->poll(std::move(bad)));
  CHECK(refused.error() == omnisync::errc::invalid_input);
}

TEST_CASE("salesforce adapter: writes with a target id update that record by Id, mixed with upserts, unknown ids rejected",
          "[salesforce][adapter]") {
  fixture f;
  harness h(f.cfg);
  // A Contact a salesperson created: no Omnisync_Id__c.
  auto made = f.sim.admin("POST", "/admin/salesforce/Contact", R"({"LastName":"Seller","Email":"seller@example.com"})").json();
  const std::string linked(made.at("Id").as_string());
  const std::string deleted = contact_id(6);
  f.sim.admin("DELETE", "/admin/salesforce/Contact/" + deleted);

  auto with_target = [](std::int64_t id, std::string key, json::object p, std::string target) {
    adapters::write_item it(id, std::move(key), json::serialize(p));
    it.target_id = std::move(target);
    return it;
  };
  std::vector<adapters::write_item> items;
  items.push_back(with_target(1, "p_linked",
                              {{"Omnisync_Id__c", "p_linked"}, {"FirstName", "Sally"}, {"LastName", "Seller"},
                               {"Email", "seller@example.com"}},
                              linked));
  items.emplace_back(2, "p_new", json::serialize(json::object{{"Omnisync_Id__c", "p_new"}, {"LastName", "New"}}));
  items.push_back(with_target(3, "p_ghost", {{"Omnisync_Id__c", "p_ghost"}, {"LastName", "Ghost"}}, contact_id(999999)));
  items.push_back(with_target(4, "p_five", {{"Omnisync_Id__c", "p_five"}, {"LastName", "Five"}}, contact_id(5)));
  items.push_back(with_target(5, "p_gone", {{"Omnisync_Id__c", "p_gone"}, {"LastName", "Gone"}}, deleted));
  items.push_back(with_target(6, "p_bad", {{"Omnisync_Id__c", "p_bad"}, {"LastName", "Bad"}}, "not-an-id"));
  const auto upserts_before = calls(f.sim, "composite/sobjects/Contact/Omnisync_Id__c");
  const auto all_before = calls(f.sim, "composite/sobjects");
  auto r = h.run(h.c->write("Contact", items));
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 6);
  // One collections update (the five items with a target id) and one upsert: two calls, results in item order.
  CHECK(calls(f.sim, "composite/sobjects/Contact/Omnisync_Id__c") - upserts_before == 1);
  CHECK(calls(f.sim, "composite/sobjects") - all_before == 2);
  for (std::size_t i = 0; i < r->size(); ++i) CHECK((*r)[i].outbox_id == static_cast<std::int64_t>(i + 1));
  using adapters::write_result;
  CHECK((*r)[0].status == write_result::outcome::written);
  CHECK((*r)[0].destination_id == linked);
  CHECK((*r)[1].status == write_result::outcome::written);
  CHECK((*r)[1].destination_id != linked);
  CHECK((*r)[2].status == write_result::outcome::rejected);  // never existed: not worth another try
  CHECK_THAT((*r)[2].error, Catch::Contains("INVALID_CROSS_REFERENCE_KEY"));
  CHECK((*r)[3].status == write_result::outcome::written);
  CHECK((*r)[3].destination_id == contact_id(5));
  CHECK((*r)[4].status == write_result::outcome::rejected);
  CHECK_THAT((*r)[4].error, Catch::Contains("ENTITY_IS_DELETED"));
  CHECK((*r)[5].status == write_result::outcome::rejected);
  CHECK_THAT((*r)[5].error, Catch::Contains("MALFORMED_ID"));

  // The salesperson's Contact now has the new values and the key; there is still one Contact with its email.
  auto stored = f.sim.admin("GET", "/admin/salesforce/Contact/" + linked).json();
  CHECK(stored.at("FirstName").as_string() == "Sally");
  CHECK(stored.at("Omnisync_Id__c").as_string() == "p_linked");
  auto found = h.run(h.c->find_by_email("Contact", "seller@example.com"));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].id == linked);
  CHECK(f.sim.admin("GET", "/admin/salesforce/Contact/" + contact_id(5)).json().at("Omnisync_Id__c").as_string() == "p_five");

  // Linked by the key now: a later upsert without a target id lands on the same record.
  auto again = h.run(h.c->write(
      "Contact", {adapters::write_item(7, "p_linked",
                                       json::serialize(json::object{{"Omnisync_Id__c", "p_linked"}, {"LastName", "Seller-Smith"}}))}));
  REQUIRE(again.has_value());
  REQUIRE(again->size() == 1);
  CHECK((*again)[0].destination_id == linked);
  CHECK(f.sim.admin("GET", "/admin/salesforce/Contact/" + linked).json().at("LastName").as_string() == "Seller-Smith");
}
