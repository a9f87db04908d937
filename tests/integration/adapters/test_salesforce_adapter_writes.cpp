// The Salesforce adapter against a real omnisync-sim, writing and listening: sObject Collections writes in batches
// of 200 with one rejected record, updates by id mixed with upserts, describe and the formula refresh, Outbound
// Messages; and the cursor and helper functions on their own.
#include <catch2/catch.hpp>

#include "tests/integration/adapters/salesforce_harness.hpp"

using namespace omnisync::test::salesforce;

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
