// The HubSpot connector against a real omnisync-sim over HTTPS (its own CA): list and search paging to the end
// with every record once, the search window moving past the 10,000-result cap (cap lowered through the
// simulator's limits), a page's worth of records in one millisecond, archived records as deletions, batch upsert
// of 250 records in 3 calls with one refused, 429 + Retry-After waited out, webhook parsing (a real signed
// delivery, good and malformed bodies), describe, find_by_email and list_ids.
#include <catch2/catch.hpp>

#include "tests/integration/adapters/hubspot_harness.hpp"

using namespace omnisync::test::hubspot;

TEST_CASE("HubSpot adapter reads every contact once, then only what changed", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  harness h(hs_config(s, {{"sync.archived_scan_interval", "1h"}}));

  auto all = read_all(h, "contacts", poll_mode::incremental, std::nullopt);
  CHECK(all.by_id.size() == 1000);
  CHECK(all.records == 1000);  // every record exactly once
  // A first read goes through the list endpoint (10 pages of 100, then the archived list), not search.
  CHECK(sim_calls(s, "hubspot", "GET /crm/v3/objects/contacts") == 11);
  CHECK(sim_calls(s, "hubspot", "/search") == 0);
  const auto& one = all.by_id.at("1");
  CHECK_FALSE(one.deleted);
  CHECK(prop(one, "email").find('@') != std::string::npos);
  CHECK(!prop(one, "lifecyclestage").empty());
  CHECK(one.source_updated_at.time_since_epoch().count() > 0);

  for (const char* id : {"5", "77", "500"})
    s.admin("PATCH", std::string("/admin/hubspot/contacts/") + id, R"({"properties":{"firstname":"Changed"}})");
  auto changed = read_all(h, "contacts", poll_mode::incremental, all.cursor);
  REQUIRE(changed.by_id.size() == 3);
  for (const char* id : {"5", "77", "500"}) CHECK(prop(changed.by_id.at(id), "firstname") == "Changed");
  CHECK(sim_calls(s, "hubspot", "/search") >= 1);
  auto nothing = read_all(h, "contacts", poll_mode::incremental, changed.cursor);
  CHECK(nothing.records == 0);

  // Deals carry their contact: from the list endpoint, and attached (v4 batch read) to search results.
  auto deals = read_all(h, "deals", poll_mode::full, std::nullopt);
  CHECK(deals.by_id.size() == 500);
  auto deal2 = payload(deals.by_id.at("2"));
  CHECK(deal2.at("associations").at("contacts").at("results").at(0).at("id").as_string() == "3");
  s.admin("PATCH", "/admin/hubspot/deals/2", R"({"properties":{"amount":"777"}})");
  auto deal_changes = read_all(h, "deals", poll_mode::incremental, deals.cursor);
  REQUIRE(deal_changes.by_id.size() == 1);
  auto changed_deal = payload(deal_changes.by_id.at("2"));
  CHECK(changed_deal.at("properties").at("amount").as_string() == "777");
  CHECK(changed_deal.at("associations").at("contacts").at("results").at(0).at("id").as_string() == "3");
  CHECK(changed_deal.at("associations").at("contacts").at("results").at(0).at("type").as_string() == "deal_to_contact");

  auto u = h.c->usage();
  CHECK(u.api_calls >= 20);
  CHECK(u.api_errors == 0);
  CHECK(u.budget_limit == 1'000'000);  // X-HubSpot-RateLimit-Daily
  CHECK(u.budget_used > 0);
}

TEST_CASE("HubSpot search restarts its window instead of paging past the 10,000-result cap", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  // Offsets past 150 answer 400, as offsets past 10,000 do at HubSpot: reading 1,000 records by `after`
  // paging would fail at the second page.
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","search_result_cap":150})");
  // 100 contacts changed by one batch update (by id: no lookups, microseconds apart) share a millisecond or
  // two: more records at one instant than a page holds, which search can only get past by reading that instant
  // in id order. How many share one depends on the machine's speed (about 40 here; 19 under AddressSanitizer on
  // a loaded machine), so the page is made smaller than the biggest group (at most 20).
  json::array inputs;
  for (int id = 201; id <= 300; ++id)
    inputs.push_back(json::object{{"id", std::to_string(id)}, {"properties", json::object{{"firstname", "Tie"}}}});
  auto updated = omnisync::test::sim::http(
      "POST", s.url("hubspot", "https") + "/crm/v3/objects/contacts/batch/update",
      json::serialize(json::object{{"inputs", inputs}}),
      {"Authorization: Bearer pat-test-token", "Content-Type: application/json"}, s.ca_file());
  REQUIRE(updated.status == 200);
  std::map<std::string, int> per_instant;
  const auto contacts = s.admin("GET", "/admin/hubspot/contacts").json();
  for (const auto& c : contacts.as_array()) {
    const auto* first = c.at("properties").as_object().if_contains("firstname");
    if (first && first->is_string() && first->get_string() == "Tie")
      ++per_instant[std::string(c.at("properties").at("lastmodifieddate").as_string())];
  }
  int biggest = 0;
  for (auto& [at, n] : per_instant) biggest = std::max(biggest, n);
  REQUIRE(biggest >= 2);
  const int page = std::min(20, biggest - 1);
  harness h(hs_config(s, {{"sync.page_size", std::to_string(page)}, {"sync.archived_scan_interval", "1h"}}));

  auto all = read_all(h, "contacts", poll_mode::incremental, std::nullopt, std::chrono::system_clock::time_point{});
  CHECK(all.by_id.size() == 1000);
  CHECK(all.records == 1000);  // nothing twice, nothing skipped
  std::int64_t refused = 0;
  const auto log = s.admin("GET", "/admin/requests").json();
  for (const auto& r : log.as_array())
    if (r.at("service").as_string() == "hubspot" && r.at("direction").as_string() == "in" &&
        r.at("status").to_number<int>() == 400)
      ++refused;
  CHECK(refused == 0);
  CHECK(sim_calls(s, "hubspot", "/search") >= 50);

  s.admin("PATCH", "/admin/hubspot/contacts/42", R"({"properties":{"lastname":"Later"}})");
  auto later = read_all(h, "contacts", poll_mode::incremental, all.cursor);
  REQUIRE(later.by_id.size() == 1);
  CHECK(prop(later.by_id.at("42"), "lastname") == "Later");
}

TEST_CASE("HubSpot archived contacts come back as deleted records", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  harness h(hs_config(s, {{"sync.archived_scan_interval", "0"}}));
  auto all = read_all(h, "contacts", poll_mode::incremental, std::nullopt);
  REQUIRE(all.by_id.size() == 1000);
  s.admin("DELETE", "/admin/hubspot/contacts/5");
  s.admin("DELETE", "/admin/hubspot/contacts/10");
  auto gone = read_all(h, "contacts", poll_mode::incremental, all.cursor);
  REQUIRE(gone.by_id.size() == 2);
  CHECK(gone.by_id.at("5").deleted);
  CHECK(gone.by_id.at("10").deleted);
  CHECK(gone.by_id.at("5").source_updated_at > all.by_id.at("5").source_updated_at);
  auto again = read_all(h, "contacts", poll_mode::incremental, gone.cursor);
  CHECK(again.records == 0);  // reported once

  auto full = read_all(h, "contacts", poll_mode::full, std::nullopt);
  CHECK(full.by_id.size() == 1000);
  std::size_t deleted = 0;
  for (auto& [id, r] : full.by_id) deleted += r.deleted ? 1 : 0;
  CHECK(deleted == 2);

  std::vector<std::string> ids{"5", "7"};
  auto fetched = h.run(h.c->fetch("contacts", ids));
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->size() == 2);
  for (auto& r : *fetched) CHECK(r.deleted == (r.id == "5"));
}

TEST_CASE("HubSpot archives stamped at or after an archived pass's start are reported once", "[adapters][hubspot]") {
  // The archived pass's lower bound is inclusive (the previous pass's start), so an archive stamped in the very
  // millisecond a pass started — or stamped by a HubSpot clock ahead of ours, as here — is seen by two passes.
  auto& s = fresh_sim();
  harness h(hs_config(s, {{"sync.archived_scan_interval", "0"}}));
  auto all = read_all(h, "contacts", poll_mode::incremental, std::nullopt);
  REQUIRE(all.by_id.size() == 1000);
  s.admin("POST", "/admin/clock", R"({"advance_ms":5000})");
  s.admin("DELETE", "/admin/hubspot/contacts/7");
  auto gone = read_all(h, "contacts", poll_mode::incremental, all.cursor);
  auto again = read_all(h, "contacts", poll_mode::incremental, gone.cursor);
  auto third = read_all(h, "contacts", poll_mode::incremental, again.cursor);
  s.admin("POST", "/admin/clock", R"({"advance_ms":-5000})");
  REQUIRE(gone.by_id.count("7"));
  CHECK(gone.by_id.at("7").deleted);
  CHECK(again.records == 0);
  CHECK(third.records == 0);

  // A full read that lists the archive too hands it over to the archived passes: not reported again either.
  s.admin("POST", "/admin/clock", R"({"advance_ms":5000})");
  s.admin("DELETE", "/admin/hubspot/contacts/8");
  auto full = read_all(h, "contacts", poll_mode::full, std::nullopt);
  auto after_full = read_all(h, "contacts", poll_mode::incremental, full.cursor);
  s.admin("POST", "/admin/clock", R"({"advance_ms":-5000})");
  REQUIRE(full.by_id.count("8"));
  CHECK(full.by_id.at("8").deleted);
  CHECK(after_full.records == 0);
}

TEST_CASE("HubSpot batch upsert of 250 records takes 3 calls and refuses only the bad one", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  harness h(hs_config(s));
  const std::string seeded_email(s.admin("GET", "/admin/hubspot/contacts/1").json().at("properties").at("email").as_string());
  std::vector<write_item> items;
  for (int i = 0; i < 250; ++i) {
    std::string key = "person" + std::to_string(i) + "@omnisync-test.example";
    json::object p{{"email", key},
                   {"firstname", "Person"},
                   {"lastname", std::to_string(i)},
                   {"omnisync_id", "p_" + std::to_string(i)},
                   {"omnisync_lifetime_value", i * 10}};
    if (i == 17) p["omnisync_open_tickets"] = "many";  // a number property: HubSpot refuses text
    if (i == 42) {  // an existing contact, matched by email without case
      key = seeded_email;
      for (auto& ch : key) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      p["email"] = key;
    }
    items.push_back(omnisync::test::adapters::item(1000 + i, key, p));
  }
  const auto before = sim_calls(s, "hubspot", "batch/upsert");
  auto res = h.run(h.c->write("contacts", std::move(items)));
  REQUIRE(res.has_value());
  CHECK(sim_calls(s, "hubspot", "batch/upsert") - before == 3);
  REQUIRE(res->size() == 250);
  std::map<std::int64_t, write_result> by_id;
  for (auto& r : *res) by_id[r.outbox_id] = r;
  REQUIRE(by_id.size() == 250);
  std::size_t written = 0;
  for (auto& [id, r] : by_id) {
    if (id == 1017) continue;
    written += r.status == write_result::outcome::written && !r.destination_id.empty() ? 1 : 0;
  }
  CHECK(written == 249);
  CHECK(by_id.at(1017).status == write_result::outcome::rejected);
  CHECK(by_id.at(1017).error.find("omnisync_open_tickets") != std::string::npos);
  CHECK(by_id.at(1042).destination_id == "1");  // upserted onto the existing contact
  auto stored = s.admin("GET", "/admin/hubspot/contacts/" + by_id.at(1003).destination_id).json();
  CHECK(stored.at("properties").at("omnisync_lifetime_value").as_string() == "30");
  CHECK(stored.at("properties").at("omnisync_id").as_string() == "p_3");
  CHECK(h.c->max_batch("contacts") == 100);

  // A mapping keyed by omnisync_id: the payload field holding the record key is the idProperty.
  auto by_profile = [&](const std::string& first) {
    json::object p{{"omnisync_id", "p_profile"}, {"firstname", first}, {"email", first + "@omnisync-test.example"}};
    std::vector<write_item> one{omnisync::test::adapters::item(1, "p_profile", p)};
    auto r = h.run(h.c->write("contacts", std::move(one)));
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 1);
    CHECK(r->at(0).status == write_result::outcome::written);
    return r->at(0).destination_id;
  };
  const auto first = by_profile("first");
  CHECK(by_profile("second") == first);  // matched on omnisync_id, although the email changed

  // A batch HubSpot refuses as a whole (400) is halved until the refusal is isolated: here it was a one-off.
  s.admin("POST", "/admin/faults",
          R"({"service":"hubspot","method":"POST","path_glob":"*/batch/upsert","kind":"status","status":400,"count":1,)"
          R"("body":"{\"status\":\"error\",\"category\":\"VALIDATION_ERROR\",\"message\":\"bad input\"}"})");
  const auto calls_before = sim_calls(s, "hubspot", "batch/upsert");
  std::vector<write_item> four;
  for (int i = 0; i < 4; ++i) {
    const std::string key = "half" + std::to_string(i) + "@omnisync-test.example";
    four.push_back(omnisync::test::adapters::item(i, key, json::object{{"email", key}}));
  }
  auto halves = h.run(h.c->write("contacts", std::move(four)));
  REQUIRE(halves.has_value());
  REQUIRE(halves->size() == 4);
  for (auto& r : *halves) CHECK(r.status == write_result::outcome::written);
  CHECK(sim_calls(s, "hubspot", "batch/upsert") - calls_before == 3);  // refused 4, then 2 + 2
}

TEST_CASE("HubSpot 429 with Retry-After is waited out and the call succeeds", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  s.admin("POST", "/admin/faults",
          R"({"service":"hubspot","method":"GET","path_glob":"/crm/v3/objects/contacts","kind":"rate_limit","count":1,"retry_after":1})");
  harness h(hs_config(s));
  const auto started = std::chrono::steady_clock::now();
  auto pg = h.run(h.c->poll(page_request("contacts", std::nullopt, poll_mode::full)));
  const auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE(pg.has_value());
  CHECK(pg->records.size() == 100);
  CHECK(waited >= 900ms);  // Retry-After: 1
  CHECK(h.c->usage().api_errors == 1);
  CHECK(h.c->usage().api_calls == 2);

  // A limit that never lifts ends in rate_limited after the configured attempts, not in a hang.
  s.admin("POST", "/admin/faults",
          R"({"service":"hubspot","method":"GET","path_glob":"/crm/v3/objects/contacts","kind":"rate_limit","count":-1,"retry_after":1})");
  harness stubborn(hs_config(s, {{"sync.max_attempts", "2"}}));
  auto limited = stubborn.run(stubborn.c->poll(page_request("contacts", std::nullopt, poll_mode::full)));
  REQUIRE_FALSE(limited.has_value());
  CHECK(limited.error() == omnisync::errc::rate_limited);
  s.admin("DELETE", "/admin/faults");
}

TEST_CASE("HubSpot describe, find_by_email and list_ids", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  harness h(hs_config(s));
  auto schema = h.run(h.c->describe("contacts"));
  REQUIRE(schema.has_value());
  const auto* email = schema->find("email");
  REQUIRE(email);
  CHECK(email->unique);
  CHECK(email->external_id);
  CHECK(email->updateable);
  CHECK(email->type == "string");
  REQUIRE(schema->find("hs_object_id"));
  CHECK_FALSE(schema->find("hs_object_id")->updateable);
  CHECK_FALSE(schema->find("lastmodifieddate")->updateable);
  CHECK(schema->find("omnisync_id")->external_id);
  CHECK_FALSE(schema->find("firstname")->external_id);
  CHECK(schema->find("omnisync_lifetime_value")->type == "number");

  std::string seeded(s.admin("GET", "/admin/hubspot/contacts/12").json().at("properties").at("email").as_string());
  for (auto& ch : seeded) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto found = h.run(h.c->find_by_email("contacts", seeded));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK(found->at(0).id == "12");
  auto none = h.run(h.c->find_by_email("contacts", "nobody@omnisync-test.example"));
  REQUIRE(none.has_value());
  CHECK(none->empty());

  auto ids = h.run(h.c->list_ids("contacts", std::nullopt));
  REQUIRE(ids.has_value());
  CHECK(ids->ids.size() == 100);
  CHECK(ids->ids.front() == "1");
  REQUIRE(ids->next.has_value());
  auto more = h.run(h.c->list_ids("contacts", ids->next));
  REQUIRE(more.has_value());
  CHECK(more->ids.front() == "101");
}

TEST_CASE("HubSpot webhook events become refetches and deletions, malformed ones are refused", "[adapters][hubspot]") {
  auto& s = fresh_sim();
  auto cfg = hs_config(s);
  {
    harness plain(cfg);
    CHECK(plain.c->webhook() == nullptr);  // no client secret: no endpoint
  }
  cfg.set("webhook.client_secret", "hs-client-secret");
  CHECK_THROWS_WITH(harness(cfg), Catch::Contains("public_url"));  // v3 signs the URL HubSpot calls

  omnisync::test::sim::webhook_receiver receiver;
  harness h(cfg, receiver.url());
  REQUIRE(h.c->webhook() != nullptr);
  CHECK(h.c->webhook()->connector() == "hs");

  auto parse = [&](const std::string& body) {
    return h.c->parse_event(omnisync::adapters::inbox_event("hs", "k", {}, "{}", body));
  };
  auto ev = parse(R"([{"eventId":1,"subscriptionType":"contact.creation","objectId":11,"occurredAt":1767225600000},
    {"eventId":2,"subscriptionType":"contact.propertyChange","objectId":12,"propertyName":"email","propertyValue":"x@y.z"},
    {"eventId":3,"subscriptionType":"contact.propertyChange","objectId":12,"propertyName":"firstname"},
    {"eventId":4,"subscriptionType":"contact.deletion","objectId":13,"occurredAt":1767225600000},
    {"eventId":5,"subscriptionType":"company.creation","objectId":5},
    {"eventId":6,"subscriptionType":"contact.merge","objectId":14,"primaryObjectId":14,"mergedObjectIds":[15,16]},
    {"eventId":7,"subscriptionType":"object.propertyChange","objectTypeId":"0-3","objectId":21}])");
  REQUIRE(ev.has_value());
  std::set<std::pair<std::string, std::string>> refetch(ev->refetch.begin(), ev->refetch.end());
  CHECK(refetch == std::set<std::pair<std::string, std::string>>{
                       {"contacts", "11"}, {"contacts", "12"}, {"contacts", "14"}, {"deals", "21"}});
  std::set<std::string> deleted;
  for (auto& r : ev->records) {
    CHECK(r.object == "contacts");
    CHECK(r.record.deleted);
    deleted.insert(r.record.id);
  }
  CHECK(deleted == std::set<std::string>{"13", "15", "16"});
  // What a propertyChange says the property became, and when, is evidence beside the record read back; without a
  // time (eventId 2) or a value (eventId 3) it says nothing.
  auto told = parse(R"([{"eventId":1,"subscriptionType":"contact.propertyChange","objectId":12,
      "occurredAt":1767225600123,"propertyName":"phone","propertyValue":"+16465550100"},
    {"eventId":2,"subscriptionType":"contact.propertyChange","objectId":12,"propertyName":"email","propertyValue":"x@y.z"},
    {"eventId":3,"subscriptionType":"contact.propertyChange","objectId":12,"occurredAt":1767225600123,"propertyName":"firstname"}])");
  REQUIRE(told.has_value());
  REQUIRE(told->announced.size() == 1);
  CHECK(told->announced[0].object == "contacts");
  CHECK(told->announced[0].id == "12");
  CHECK(told->announced[0].at == 1767225600123);
  CHECK(json::parse(told->announced[0].payload) == json::parse(R"({"properties":{"phone":"+16465550100"}})"));
  // Origin tags: a change our own app made (sourceId = appId) is not read back; another app's or a user's is.
  auto own = parse(R"([{"eventId":8,"subscriptionType":"contact.propertyChange","objectId":31,"appId":54321,
      "changeSource":"INTEGRATION","sourceId":"54321","propertyName":"phone"},
    {"eventId":9,"subscriptionType":"contact.propertyChange","objectId":32,"appId":54321,
      "changeSource":"INTEGRATION","sourceId":"777","propertyName":"phone"},
    {"eventId":10,"subscriptionType":"contact.propertyChange","objectId":33,"appId":54321,
      "changeSource":"CRM_UI","propertyName":"phone"}])");
  REQUIRE(own.has_value());
  CHECK(std::set<std::pair<std::string, std::string>>(own->refetch.begin(), own->refetch.end()) ==
        std::set<std::pair<std::string, std::string>>{{"contacts", "32"}, {"contacts", "33"}});
  for (const char* bad : {"not json", R"({"eventId":1})", "[]", R"([{"eventId":1,"objectId":3}])", R"([17])",
                          R"([{"subscriptionType":"contact.creation"}])"}) {
    auto r = parse(bad);
    INFO(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == omnisync::errc::invalid_input);
  }

  // A real delivery: the simulator signs it (v3, over its URL) and the endpoint built from the config accepts it.
  s.admin("POST", "/admin/webhooks",
          json::serialize(json::object{{"service", "hubspot"}, {"url", receiver.url() + "/webhooks/hs"},
                                       {"secret", "hs-client-secret"}}));
  s.admin("PATCH", "/admin/hubspot/contacts/9", R"({"properties":{"firstname":"Hooked"}})");
  auto got = receiver.wait_for([](const auto& r) { return r.target == "/webhooks/hs"; });
  omnisync::adapters::inbound_request req;
  req.method = got.method;
  req.target = got.target;
  req.path = got.target;
  for (auto& [k, v] : got.headers) req.headers.emplace_back(k, v);
  req.body = got.body;
  req.received_at = std::chrono::system_clock::now();
  auto verified = h.c->webhook()->verify(req);
  REQUIRE(verified.has_value());
  auto tampered = req;
  tampered.body.back() = ' ';
  CHECK_FALSE(h.c->webhook()->verify(tampered).has_value());
  auto real = parse(got.body);
  REQUIRE(real.has_value());
  REQUIRE(real->refetch.size() == 1);
  CHECK(real->refetch[0] == std::pair<std::string, std::string>{"contacts", "9"});
  auto fetched = h.run(h.c->fetch("contacts", {"9"}));
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->size() == 1);
  CHECK(prop(fetched->at(0), "firstname") == "Hooked");
}

// Hidden (run by hand: test_hubspot_adapter "[bench]"): read cost at 20,000 contacts, in calls and seconds.

TEST_CASE("HubSpot read cost at 20,000 contacts", "[.][bench][hubspot]") {
  running_sim big({"--size", "20000"});
  // HubSpot's own limits (190 per 10 s, search 5 per second), as in production: reads are bound by them.
  harness h(hs_config(big, {{"sync.archived_scan_interval", "1h"}, {"sync.page_size", "200"},
                            {"rate_limit.per_10s", "190"}, {"rate_limit.search_per_second", "5"}}));
  auto t0 = std::chrono::steady_clock::now();
  auto all = read_all(h, "contacts", poll_mode::full, std::nullopt);
  const double list_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(all.by_id.size() == 20000);
  const auto list_calls = sim_calls(big, "hubspot", "GET /crm/v3/objects/contacts");
  t0 = std::chrono::steady_clock::now();
  auto searched = read_all(h, "contacts", poll_mode::incremental, std::nullopt, std::chrono::system_clock::time_point{});
  const double search_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(searched.by_id.size() == 20000);
  CHECK(searched.records == 20000);
  const auto search_calls = sim_calls(big, "hubspot", "/search");
  WARN("full list read: " << list_calls << " calls, " << list_s << " s; search from the beginning (past the 10,000 cap): "
                          << search_calls << " calls, " << search_s << " s");
}

TEST_CASE("HubSpot writes with a target id update that contact by id, mixed with upserts, unknown ids rejected",
          "[adapters][hubspot]") {
  auto& s = fresh_sim();
  harness h(hs_config(s));
  // A contact a salesperson created in HubSpot: no omnisync_id.
  auto made = s.admin("POST", "/admin/hubspot/contacts",
                      R"({"properties":{"email":"seller@omnisync-test.example","firstname":"Sam"}})").json();
  const std::string linked(made.at("id").as_string());
  auto with_target = [](std::int64_t id, std::string key, json::object p, std::string target) {
    write_item it = omnisync::test::adapters::item(id, std::move(key), p);
    it.target_id = std::move(target);
    return it;
  };
  std::vector<write_item> items;
  items.push_back(with_target(1, "seller@omnisync-test.example",
                              {{"email", "seller@omnisync-test.example"}, {"firstname", "Sally"}, {"omnisync_id", "p_linked"}},
                              linked));
  items.push_back(omnisync::test::adapters::item(
      2, "new.person@omnisync-test.example", {{"email", "new.person@omnisync-test.example"}, {"firstname", "New"}}));
  items.push_back(with_target(3, "ghost@omnisync-test.example",
                              {{"email", "ghost@omnisync-test.example"}, {"firstname", "Ghost"}}, "987654321"));
  items.push_back(with_target(4, "five@omnisync-test.example", {{"firstname", "Five"}, {"omnisync_id", "p_five"}}, "5"));
  const auto updates_before = sim_calls(s, "hubspot", "batch/update");
  const auto upserts_before = sim_calls(s, "hubspot", "batch/upsert");
  auto res = h.run(h.c->write("contacts", std::move(items)));
  REQUIRE(res.has_value());
  CHECK(sim_calls(s, "hubspot", "batch/update") - updates_before == 1);
  CHECK(sim_calls(s, "hubspot", "batch/upsert") - upserts_before == 1);
  REQUIRE(res->size() == 4);
  for (std::size_t i = 0; i < res->size(); ++i) CHECK((*res)[i].outbox_id == static_cast<std::int64_t>(i + 1));
  CHECK((*res)[0].status == write_result::outcome::written);
  CHECK((*res)[0].destination_id == linked);
  CHECK((*res)[1].status == write_result::outcome::written);
  CHECK(!(*res)[1].destination_id.empty());
  CHECK((*res)[1].destination_id != linked);
  CHECK((*res)[2].status == write_result::outcome::rejected);  // no such contact: not worth another try
  CHECK((*res)[2].error.find("OBJECT_NOT_FOUND") != std::string::npos);
  CHECK((*res)[3].status == write_result::outcome::written);
  CHECK((*res)[3].destination_id == "5");

  // The salesperson's contact has the new values and the key; still one contact with that email.
  auto stored = s.admin("GET", "/admin/hubspot/contacts/" + linked).json();
  CHECK(stored.at("properties").at("firstname").as_string() == "Sally");
  CHECK(stored.at("properties").at("omnisync_id").as_string() == "p_linked");
  auto found = h.run(h.c->find_by_email("contacts", "seller@omnisync-test.example"));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].id == linked);
  CHECK(s.admin("GET", "/admin/hubspot/contacts/5").json().at("properties").at("omnisync_id").as_string() == "p_five");
  CHECK(sim_calls(s, "hubspot", "POST /crm/v3/objects/contacts/batch/create") == 0);

  // Two writes to one contact in one batch go in two calls (HubSpot refuses a batch naming an id twice).
  std::vector<write_item> twice;
  twice.push_back(with_target(10, "a", {{"firstname", "First"}}, "5"));
  twice.push_back(with_target(11, "a", {{"lastname", "Second"}}, "5"));
  auto r2 = h.run(h.c->write("contacts", std::move(twice)));
  REQUIRE(r2.has_value());
  REQUIRE(r2->size() == 2);
  CHECK((*r2)[0].status == write_result::outcome::written);
  CHECK((*r2)[1].status == write_result::outcome::written);
  CHECK(sim_calls(s, "hubspot", "batch/update") - updates_before == 3);
  auto five = s.admin("GET", "/admin/hubspot/contacts/5").json().at("properties");
  CHECK(five.at("firstname").as_string() == "First");
  CHECK(five.at("lastname").as_string() == "Second");

  // A batch update refused as a whole with 404 (how older API versions answer an unknown id) is halved until
  // the refusal is isolated: here it was a one-off, so both halves are written.
  s.admin("POST", "/admin/faults",
          R"({"service":"hubspot","method":"POST","path_glob":"*/batch/update","kind":"status","status":404,"count":1,)"
          R"("body":"{\"status\":\"error\",\"category\":\"OBJECT_NOT_FOUND\",\"message\":\"Object not found.\"}"})");
  const auto split_before = sim_calls(s, "hubspot", "batch/update");
  std::vector<write_item> pair;
  pair.push_back(with_target(20, "b", {{"firstname", "Seven"}}, "7"));
  pair.push_back(with_target(21, "c", {{"firstname", "Eight"}}, "8"));
  auto r3 = h.run(h.c->write("contacts", std::move(pair)));
  REQUIRE(r3.has_value());
  REQUIRE(r3->size() == 2);
  CHECK((*r3)[0].status == write_result::outcome::written);
  CHECK((*r3)[1].status == write_result::outcome::written);
  CHECK(sim_calls(s, "hubspot", "batch/update") - split_before == 3);  // refused 2, then 1 + 1
  CHECK(s.admin("GET", "/admin/hubspot/contacts/8").json().at("properties").at("firstname").as_string() == "Eight");
}
