// The ActiveCampaign connector against a real omnisync-sim over HTTPS (its own CA): the udate listing paged to
// the end with every contact once, then only what changed (also contacts changed within one second, read two at
// a time), id listing by id_greater, 429s waited out, the 5-per-second pacing measured without a single 429,
// contact/sync writes read back (an email in other case updates the same contact, a bad email is rejected),
// webhook parsing (real form-encoded deliveries, the URL token, malformed bodies), and describe.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "daemon/http/listener.hpp"
#include "tests/integration/adapters/connector_harness.hpp"

using namespace std::chrono_literals;
using omnisync::adapters::page_request;
using omnisync::adapters::poll_mode;
using omnisync::adapters::write_item;
using omnisync::adapters::write_result;
using omnisync::test::adapters::fresh_sim;
using omnisync::test::adapters::harness;
using omnisync::test::adapters::read_all;
using omnisync::test::adapters::read_result;
using omnisync::test::adapters::sim_calls;
using omnisync::test::sim::running_sim;
using omnisync::test::sim::webhook_receiver;
namespace json = boost::json;

namespace {

/// The sim's default size (1000) gives ActiveCampaign 500 contacts.
constexpr std::size_t seeded_contacts = 500;

/// Lifts the simulator's 5 requests/s (and the connector's pacing) unless a test is about the limit itself.
omnisync::test::adapters::connector_config ac_config(running_sim& s, std::map<std::string, std::string> settings = {},
                                                    bool lift_limits = true) {
  if (lift_limits) s.admin("POST", "/admin/limits", R"({"service":"activecampaign","per_second":100000})");
  else s.admin("POST", "/admin/limits", R"({"service":"activecampaign","per_second":5})");
  omnisync::test::adapters::connector_config c("ac", "activecampaign");
  c.set("base_url", s.url("activecampaign", "https"));
  c.set("tls.ca_file", s.ca_file());
  c.set("auth.api_token", "ac-test-token");
  c.set("webhook.url_token", "ac-url-token");
  if (lift_limits) c.set("rate_limit.per_second", "100000");
  c.set("sync.backoff_base", "20ms");
  c.set("sync.backoff_cap", "100ms");
  for (auto& [k, v] : settings) c.set(k, v);
  return c;
}

std::string field(const omnisync::adapters::source_record& r, const char* name) {
  auto v = json::parse(r.payload);
  const auto* p = v.as_object().if_contains(name);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}

/// Requests to ActiveCampaign the simulator answered with `status`.
std::int64_t answered(running_sim& s, int status) {
  std::int64_t n = 0;
  const auto log = s.admin("GET", "/admin/requests").json();
  for (const auto& e : log.as_array())
    if (e.at("service").as_string() == "activecampaign" && e.at("direction").as_string() == "in" &&
        e.at("status").as_int64() == status)
      ++n;
  return n;
}

omnisync::adapters::inbox_event event_of(std::string body) {
  return omnisync::adapters::inbox_event("ac", "k", {}, "{}", std::move(body));
}

}  // namespace

TEST_CASE("ActiveCampaign adapter reads every contact once, then only what changed", "[adapters][activecampaign]") {
  auto& s = fresh_sim();
  harness h(ac_config(s));

  auto all = read_all(h, "contacts", poll_mode::full, std::nullopt);
  CHECK(all.by_id.size() == seeded_contacts);
  CHECK(all.records == seeded_contacts);  // every contact exactly once
  CHECK(all.pages == 6);                   // 5 full pages of 100, then one that finds nothing new
  const auto& one = all.by_id.at("1");
  CHECK_FALSE(one.deleted);
  CHECK(field(one, "email").find('@') != std::string::npos);
  CHECK(!field(one, "udate").empty());
  CHECK(one.source_updated_at.time_since_epoch().count() > 0);
  // The last page's cursor of a full read continues incrementally: nothing changed, nothing read.
  auto nothing = read_all(h, "contacts", poll_mode::incremental, all.cursor);
  CHECK(nothing.records == 0);

  for (const char* id : {"5", "77", "300"})
    s.admin("PATCH", std::string("/admin/activecampaign/contacts/") + id, R"({"firstName":"Changed"})");
  auto changed = read_all(h, "contacts", poll_mode::incremental, nothing.cursor);
  REQUIRE(changed.by_id.size() == 3);
  for (const char* id : {"5", "77", "300"}) CHECK(field(changed.by_id.at(id), "firstName") == "Changed");
  // Another change, quite likely within the same second as the three: found, and they are not read again.
  s.admin("PATCH", "/admin/activecampaign/contacts/9", R"({"lastName":"Later"})");
  auto later = read_all(h, "contacts", poll_mode::incremental, changed.cursor);
  REQUIRE(later.by_id.size() == 1);
  CHECK(field(later.by_id.at("9"), "lastName") == "Later");
  CHECK(read_all(h, "contacts", poll_mode::incremental, later.cursor).records == 0);

  // A deleted contact leaves the listing; id listing (id_greater paging) no longer names it.
  s.admin("DELETE", "/admin/activecampaign/contacts/10");
  std::set<std::string> ids;
  std::optional<std::string> next;
  int pages = 0;
  do {
    auto pg = h.run(h.c->list_ids("contacts", next));
    REQUIRE(pg.has_value());
    for (auto& id : pg->ids) CHECK(ids.insert(id).second);
    next = pg->next;
    ++pages;
  } while (next && pages < 20);
  CHECK(ids.size() == seeded_contacts - 1);
  CHECK_FALSE(ids.count("10"));
  CHECK(sim_calls(s, "activecampaign", "GET /api/3/contacts") == 6 + 1 + 3 + 5);  // reads, then 5 id pages

  // resync --since: only what changed from then on.
  page_request since("contacts", std::nullopt, poll_mode::full);
  since.since = std::chrono::system_clock::now() - 30s;  // the seeded contacts are older
  auto recent = h.run(h.c->poll(since));
  REQUIRE(recent.has_value());
  CHECK(recent->records.size() == 4);  // 5, 77, 300, 9 (10 is deleted)

  auto u = h.c->usage();
  CHECK(u.api_calls >= 16);
  CHECK(u.api_errors == 0);
  CHECK(u.budget_limit == -1);
}

TEST_CASE("ActiveCampaign adapter steps through contacts that share one second, two at a time",
          "[adapters][activecampaign]") {
  auto& s = fresh_sim();
  harness h(ac_config(s, {{"sync.page_size", "2"}}));
  // Start from now: the seeded contacts are all older.
  page_request first("contacts", std::nullopt, poll_mode::incremental);
  first.since = std::chrono::system_clock::now() - 2s;
  auto start = h.run(h.c->poll(first));
  REQUIRE(start.has_value());
  CHECK(start->records.empty());
  // Five contacts created in a burst: most likely in one second, more than two pages' worth.
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) {
    auto r = s.admin("POST", "/admin/activecampaign/contacts",
                     R"({"email":"burst)" + std::to_string(i) + R"(@example.com","firstName":"Burst"})");
    created.insert(std::string(r.json().at("id").as_string()));
  }
  auto got = read_all(h, "contacts", poll_mode::incremental, start->cursor);
  CHECK(got.records == 5);  // each once
  std::set<std::string> ids;
  for (auto& [id, r] : got.by_id) ids.insert(id);
  CHECK(ids == created);
  CHECK(read_all(h, "contacts", poll_mode::incremental, got.cursor).records == 0);
}

TEST_CASE("ActiveCampaign adapter waits out 429s and paces itself to 5 requests per second",
          "[adapters][activecampaign]") {
  auto& s = fresh_sim();
  {
    harness h(ac_config(s));
    // Two 429s (Retry-After: 0) on the listing: the api_caller retries; the page arrives.
    s.admin("POST", "/admin/faults",
            R"({"service":"activecampaign","method":"GET","path_glob":"/api/3/contacts","kind":"rate_limit","count":2,"retry_after":0})");
    auto pg = h.run(h.c->poll(page_request("contacts", std::nullopt, poll_mode::full)));
    REQUIRE(pg.has_value());
    CHECK(pg->records.size() == 100);
    CHECK(answered(s, 429) == 2);
    CHECK(h.c->usage().api_calls == 3);  // every send counted, the 429s too
  }
  // The simulator's own limit (5 per second): 16 reads paced by the connector's bucket get no 429 at all.
  harness h(ac_config(s, {}, /*lift_limits=*/false));
  std::vector<std::string> ids;
  for (int i = 1; i <= 16; ++i) ids.push_back(std::to_string(i));
  const auto before_429 = answered(s, 429);
  const auto t0 = std::chrono::steady_clock::now();
  auto got = h.run(h.c->fetch("contacts", ids));
  const auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(got.has_value());
  CHECK(got->size() == 16);
  CHECK(answered(s, 429) == before_429);
  // 16 calls, one every 204 ms after the first: just over 3 s.
  CHECK(took >= 2900ms);
  CHECK(took < 6s);
  WARN("16 ActiveCampaign reads at 5/s took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                              << " ms");
}

TEST_CASE("ActiveCampaign adapter writes through contact/sync and reads the contacts back",
          "[adapters][activecampaign]") {
  auto& s = fresh_sim();
  harness h(ac_config(s));
  auto existing = h.run(h.c->fetch("contacts", {"3"}));
  REQUIRE(existing.has_value());
  REQUIRE(existing->size() == 1);
  const std::string email3 = field(existing->at(0), "email");
  std::string upper3 = email3;
  for (auto& ch : upper3) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));

  CHECK(h.c->max_batch("contacts") == 1);
  std::vector<write_item> items;
  items.push_back(omnisync::test::adapters::item(1, "new.person@example.com",
                                                 json::object{{"firstName", "New"}, {"lastName", "Person"},
                                                              {"fieldValues", json::object{{"1", "crm-42"}}}}));
  items.push_back(omnisync::test::adapters::item(2, upper3, json::object{{"email", upper3}, {"phone", "+1 555 0103"}}));
  items.push_back(omnisync::test::adapters::item(3, "not-an-email", json::object{{"firstName", "Bad"}}));
  auto res = h.run(h.c->write("contacts", items));
  REQUIRE(res.has_value());
  REQUIRE(res->size() == 3);
  std::map<std::int64_t, write_result> by_id;
  for (auto& r : *res) by_id[r.outbox_id] = r;
  CHECK(by_id[1].status == write_result::outcome::written);
  CHECK(by_id[2].status == write_result::outcome::written);
  CHECK(by_id[2].destination_id == "3");  // matched by email, case-insensitively: no duplicate
  CHECK(by_id[3].status == write_result::outcome::rejected);
  CHECK(by_id[3].error.find("not valid") != std::string::npos);
  CHECK(sim_calls(s, "activecampaign", "POST /api/3/contact/sync") == 3);

  const std::string new_id = by_id[1].destination_id;
  REQUIRE(!new_id.empty());
  auto back = h.run(h.c->fetch("contacts", {new_id, "3", "999999"}));
  REQUIRE(back.has_value());
  REQUIRE(back->size() == 3);
  CHECK(field(back->at(0), "firstName") == "New");
  CHECK(field(back->at(0), "email") == "new.person@example.com");
  CHECK(field(back->at(1), "phone") == "+1 555 0103");
  CHECK(back->at(2).deleted);  // an id that does not exist comes back deleted
  auto admin = s.admin("GET", "/admin/activecampaign/contacts/" + new_id).json();
  CHECK(admin.at("fieldValues").at("1").as_string() == "crm-42");
  CHECK(s.admin("GET", "/admin/activecampaign/contacts").json().as_array().size() == seeded_contacts + 1);

  auto found = h.run(h.c->find_by_email("contacts", "NEW.person@example.com"));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK(found->at(0).id == new_id);

  // Writing the same person again is an update of the same contact.
  std::vector<write_item> again;
  again.push_back(omnisync::test::adapters::item(4, "new.person@example.com", json::object{{"lastName", "Again"}}));
  auto res2 = h.run(h.c->write("contacts", again));
  REQUIRE(res2.has_value());
  CHECK(res2->at(0).destination_id == new_id);
  CHECK(s.admin("GET", "/admin/activecampaign/contacts").json().as_array().size() == seeded_contacts + 1);
}

TEST_CASE("ActiveCampaign adapter parses form-encoded webhooks and refuses malformed ones",
          "[adapters][activecampaign]") {
  auto& s = fresh_sim();
  webhook_receiver receiver;
  s.admin("POST", "/admin/webhooks",
          R"({"service":"activecampaign","url":")" + receiver.url() + R"(/webhooks/ac/ac-url-token","secret":""})");
  harness h(ac_config(s));
  auto endpoint = h.c->webhook();
  REQUIRE(endpoint);

  s.admin("PATCH", "/admin/activecampaign/contacts/12", R"({"firstName":"Hooked","phone":"415 555 0112"})");
  auto delivery = receiver.wait_for([](const auto& r) { return r.body.find("type=update") != std::string::npos; });
  // The URL token authenticates the delivery; a wrong one is refused.
  omnisync::adapters::inbound_request in;
  in.method = "POST";
  in.body = delivery.body;
  in.token = "ac-url-token";
  auto verified = endpoint->verify(in);
  REQUIRE(verified.has_value());
  CHECK(verified->dedupe_key.starts_with("sha256:"));
  in.token = "wrong";
  CHECK_FALSE(endpoint->verify(in).has_value());

  auto parsed = h.c->parse_event(event_of(delivery.body));
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->records.size() == 1);
  CHECK(parsed->refetch.empty());
  const auto& rec = parsed->records[0];
  CHECK(rec.object == "contacts");
  CHECK(rec.record.id == "12");
  CHECK(field(rec.record, "firstName") == "Hooked");
  CHECK(field(rec.record, "phone") == "415 555 0112");
  CHECK(field(rec.record, "email").find('@') != std::string::npos);
  CHECK(rec.record.source_updated_at.time_since_epoch().count() > 0);
  // The same contact read from the API has the same mapped fields.
  auto api = h.run(h.c->fetch("contacts", {"12"}));
  REQUIRE(api.has_value());
  for (const char* f : {"id", "email", "firstName", "lastName", "phone", "udate"})
    CHECK(field(rec.record, f) == field(api->at(0), f));

  // A new contact (subscribe) is a record too; a deletion (unsubscribe) is refetched, and the refetch finds it gone.
  s.admin("POST", "/admin/activecampaign/contacts", R"({"email":"hook.new@example.com","firstName":"Sub"})");
  auto sub = receiver.wait_for([](const auto& r) { return r.body.find("type=subscribe") != std::string::npos; });
  auto sub_parsed = h.c->parse_event(event_of(sub.body));
  REQUIRE(sub_parsed.has_value());
  REQUIRE(sub_parsed->records.size() == 1);
  CHECK(field(sub_parsed->records[0].record, "email") == "hook.new@example.com");
  s.admin("DELETE", "/admin/activecampaign/contacts/12");
  auto unsub = receiver.wait_for([](const auto& r) { return r.body.find("type=unsubscribe") != std::string::npos; });
  auto unsub_parsed = h.c->parse_event(event_of(unsub.body));
  REQUIRE(unsub_parsed.has_value());
  CHECK(unsub_parsed->records.empty());
  REQUIRE(unsub_parsed->refetch.size() == 1);
  CHECK(unsub_parsed->refetch[0].first == "contacts");
  CHECK(unsub_parsed->refetch[0].second == "12");
  auto gone = h.run(h.c->fetch("contacts", {"12"}));
  REQUIRE(gone.has_value());
  CHECK(gone->at(0).deleted);

  // Campaign events change no contact: nothing to do.
  auto opened = h.c->parse_event(event_of("type=open&date_time=2024-05-01T10%3A00%3A00-05%3A00&contact%5Bid%5D=3"));
  REQUIRE(opened.has_value());
  CHECK(opened->records.empty());
  CHECK(opened->refetch.empty());

  // Malformed: a broken escape, no contact id, no type, a JSON body, an update without an email.
  for (const char* bad : {"type=update&contact%5Bid%5D=3&contact%5Bemail%5D=%ZZ", "type=update&contact%5Bemail%5D=a%40b.c",
                          "contact%5Bid%5D=3", "{\"type\":\"update\"}", "",
                          "type=update&contact%5Bid%5D=3&date_time=2024-05-01T10%3A00%3A00-05%3A00"}) {
    auto r = h.c->parse_event(event_of(bad));
    INFO(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == omnisync::make_error_code(omnisync::errc::invalid_input));
  }
}

TEST_CASE("ActiveCampaign adapter describes contacts with their custom fields", "[adapters][activecampaign]") {
  auto& s = fresh_sim();
  harness h(ac_config(s));
  auto d = h.run(h.c->describe("contacts"));
  REQUIRE(d.has_value());
  const auto* email = d->find("email");
  REQUIRE(email);
  CHECK(email->external_id);
  CHECK(email->updateable);
  const auto* udate = d->find("udate");
  REQUIRE(udate);
  CHECK_FALSE(udate->updateable);
  for (const char* f : {"fieldValues.1", "fieldValues.2", "fieldValues.3", "firstName", "lastName", "phone"})
    CHECK(d->find(f) != nullptr);
  CHECK(d->find("fieldValues.2")->type == "dropdown");
  auto none = h.run(h.c->describe("deals"));
  CHECK_FALSE(none.has_value());
  // A connector for another object, or without a token, is refused when it is built.
  auto cfg = ac_config(s);
  cfg.list("objects", {"deals"});
  CHECK_THROWS_WITH(harness(cfg), Catch::Contains("connectors.ac.objects[0]: expected one of contacts, got \"deals\""));
  auto no_token = ac_config(s);
  no_token.erase("auth.api_token");
  CHECK_THROWS_WITH(harness(no_token), Catch::Contains("auth.api_token"));
}
