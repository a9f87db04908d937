// The Salesforce adapter against a real omnisync-sim over HTTPS (with the simulator's CA), reading: the three OAuth
// flows, paging to the end, the watermark boundary (late commits, overlap, de-duplication), deletes through
// queryAll, getDeleted and id listing, token expiry mid-sync, 429 storms and 5xx, a timeout, an untrusted
// certificate, resync --fields. Writes, describe and Outbound Messages are in test_salesforce_adapter_writes.cpp.
// Each case starts its own simulator (ctest runs the cases as separate processes).
#include <catch2/catch.hpp>

#include "tests/integration/adapters/salesforce_harness.hpp"

using namespace omnisync::test::salesforce;

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
