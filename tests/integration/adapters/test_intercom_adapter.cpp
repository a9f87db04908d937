// The Intercom connector against a real omnisync-sim over HTTPS (its own CA): contacts and conversations read
// through search (day-granular timestamps) to the end with every record once, then only what changed (also
// records changed while a scan is under way), 429s waited out, contact create/update found by external_id or
// email and read back (a 409 on create turned into an update), webhook parsing (real signed notifications,
// deletions, ping, malformed bodies), and describe through the data attributes.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>

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

/// The sim's default size (1000) gives Intercom 333 contacts and 333 conversations.
constexpr std::size_t seeded = 333;
const std::string client_secret = "ic-client-secret";

omnisync::test::adapters::connector_config ic_config(running_sim& s, std::map<std::string, std::string> settings = {}) {
  omnisync::test::adapters::connector_config c("ic", "intercom");
  c.set("base_url", s.url("intercom", "https"));
  c.set("tls.ca_file", s.ca_file());
  c.set("auth.access_token", "ic-test-token");
  c.set("webhook.client_secret", client_secret);
  c.set("sync.backoff_base", "20ms");
  c.set("sync.backoff_cap", "100ms");
  for (auto& [k, v] : settings) c.set(k, v);
  return c;
}

/// One page; REQUIREs success and distinct ids in it.
omnisync::adapters::page poll_once(harness& h, const std::string& object, poll_mode mode,
                                   std::optional<std::string> cursor) {
  auto pg = h.run(h.c->poll(page_request(object, std::move(cursor), mode)));
  INFO((pg ? std::string() : pg.error().message()));
  REQUIRE(pg.has_value());
  std::set<std::string> in_page;
  for (auto& r : pg->records) CHECK(in_page.insert(r.id).second);
  return std::move(*pg);
}

json::value payload(const omnisync::adapters::source_record& r) { return json::parse(r.payload); }

std::string field(const omnisync::adapters::source_record& r, const char* name) {
  auto v = payload(r);
  const auto* p = v.as_object().if_contains(name);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}

std::int64_t answered(running_sim& s, int status) {
  const auto log = s.admin("GET", "/admin/requests").json();
  std::int64_t n = 0;
  for (const auto& e : log.as_array())
    if (e.at("service").as_string() == "intercom" && e.at("direction").as_string() == "in" &&
        e.at("status").as_int64() == status)
      ++n;
  return n;
}

/// The contact the simulator serves with index `i` (its public id is derived from the index).
json::object admin_contact(running_sim& s, int i) {
  return s.admin("GET", "/admin/intercom/contacts/" + std::to_string(i)).json().as_object();
}

omnisync::adapters::inbox_event event_of(std::string body) {
  return omnisync::adapters::inbox_event("ic", "k", {}, "{}", std::move(body));
}

}  // namespace

TEST_CASE("Intercom adapter reads every contact and conversation once, then only what changed",
          "[adapters][intercom]") {
  auto& s = fresh_sim();
  harness h(ic_config(s));

  auto all = read_all(h, "contacts", poll_mode::full, std::nullopt);
  CHECK(all.by_id.size() == seeded);
  CHECK(all.records == seeded);  // every contact exactly once
  CHECK(all.pages == 3);         // 150 + 150 + 33
  const std::string id1(admin_contact(s, 1).at("id").as_string());
  REQUIRE(all.by_id.count(id1));
  CHECK(field(all.by_id.at(id1), "email").find('@') != std::string::npos);
  CHECK(all.by_id.at(id1).source_updated_at.time_since_epoch().count() > 0);

  // The full read's last cursor continues incrementally: the current day is read again, nothing returned.
  auto nothing = read_all(h, "contacts", poll_mode::incremental, all.cursor);
  CHECK(nothing.records == 0);
  CHECK(nothing.cursor->size() < 4000);  // only the overlap window's (id, updated_at) pairs are kept

  std::vector<std::string> changed_ids;
  for (int i : {5, 77, 300}) {
    auto c = s.admin("PATCH", "/admin/intercom/contacts/" + std::to_string(i), R"({"name":"Changed Name"})").json();
    changed_ids.emplace_back(c.at("id").as_string());
  }
  auto changed = read_all(h, "contacts", poll_mode::incremental, nothing.cursor);
  REQUIRE(changed.by_id.size() == 3);
  CHECK(changed.records == 3);
  for (const auto& id : changed_ids) CHECK(field(changed.by_id.at(id), "name") == "Changed Name");
  // One more, most likely within the same second: found, and the three are not returned again.
  auto nine = s.admin("PATCH", "/admin/intercom/contacts/9", R"({"name":"Nine"})").json();
  auto later = read_all(h, "contacts", poll_mode::incremental, changed.cursor);
  REQUIRE(later.records == 1);
  CHECK(later.by_id.count(std::string(nine.at("id").as_string())));
  auto created = s.admin("POST", "/admin/intercom/contacts", R"({"email":"brand.new@example.com","role":"lead"})").json();
  auto added = read_all(h, "contacts", poll_mode::incremental, later.cursor);
  REQUIRE(added.records == 1);
  CHECK(added.by_id.count(std::string(created.at("id").as_string())));
  CHECK(read_all(h, "contacts", poll_mode::incremental, added.cursor).records == 0);

  // resync --since: what changed from then on (the seeded contacts are older than a minute).
  auto recent = read_all(h, "contacts", poll_mode::full, std::nullopt, std::chrono::system_clock::now() - 60s);
  CHECK(recent.records == 5);

  // Conversations: every one once, then nothing new (the simulator's conversations do not change).
  auto convs = read_all(h, "conversations", poll_mode::full, std::nullopt);
  CHECK(convs.by_id.size() == seeded);
  CHECK(convs.records == seeded);
  auto conv = payload(convs.by_id.begin()->second);
  CHECK(conv.at("type").as_string() == "conversation");
  CHECK(conv.at("contacts").at("contacts").at(0).at("id").as_string().size() == 24);
  CHECK(read_all(h, "conversations", poll_mode::incremental, convs.cursor).records == 0);
  CHECK(sim_calls(s, "intercom", "POST /conversations/search") >= 4);

  // Ids by the list endpoints.
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
  CHECK(ids.size() == seeded + 1);

  auto u = h.c->usage();
  CHECK(u.api_calls >= 15);
  CHECK(u.api_errors == 0);
}

TEST_CASE("Intercom adapter loses nothing when contacts change while a scan pages through them",
          "[adapters][intercom]") {
  auto& s = fresh_sim();
  harness h(ic_config(s, {{"sync.page_size", "50"}}));
  auto first = poll_once(h, "contacts", poll_mode::full, std::nullopt);
  REQUIRE(first.more);
  REQUIRE(first.records.size() == 50);
  // Change a contact already read and one not read yet; add one.
  auto early = s.admin("PATCH", "/admin/intercom/contacts/3", R"({"name":"Early Change"})").json();
  auto late = s.admin("PATCH", "/admin/intercom/contacts/320", R"({"name":"Late Change"})").json();
  s.admin("POST", "/admin/intercom/contacts", R"({"email":"mid.scan@example.com"})");
  std::map<std::string, omnisync::adapters::source_record> latest;
  std::size_t returned = first.records.size();
  for (auto& r : first.records) latest[r.id] = r;
  auto rest = read_all(h, "contacts", poll_mode::full, first.cursor);
  returned += rest.records;
  for (auto& [id, r] : rest.by_id) latest[id] = r;
  auto next = read_all(h, "contacts", poll_mode::incremental, rest.cursor);
  for (auto& [id, r] : next.by_id) latest[id] = r;
  returned += next.records;
  CHECK(latest.size() == seeded + 1);  // every contact, the new one too
  CHECK(returned <= seeded + 1 + 2);   // at most the two changed contacts twice
  CHECK(field(latest.at(std::string(early.at("id").as_string())), "name") == "Early Change");
  CHECK(field(latest.at(std::string(late.at("id").as_string())), "name") == "Late Change");
  CHECK(read_all(h, "contacts", poll_mode::incremental, next.cursor).records == 0);
}

TEST_CASE("Intercom adapter waits out 429s", "[adapters][intercom]") {
  auto& s = fresh_sim();
  harness h(ic_config(s));
  s.admin("POST", "/admin/faults",
          R"({"service":"intercom","method":"POST","path_glob":"/contacts/search","kind":"rate_limit","count":3,"retry_after":0})");
  auto pg = poll_once(h, "contacts", poll_mode::full, std::nullopt);
  CHECK(pg.records.size() == 150);
  CHECK(answered(s, 429) == 3);
  CHECK(h.c->usage().api_calls == 4);
  // The simulator's own limit answers 429 with X-RateLimit-Reset only (no Retry-After): the api_caller's
  // backoff retries until the window opens again (the simulator's clock is moved on to open it).
  harness patient(ic_config(s, {{"sync.max_attempts", "20"}}));
  const std::string id2(admin_contact(s, 2).at("id").as_string());
  const std::string id3(admin_contact(s, 3).at("id").as_string());
  s.admin("POST", "/admin/limits", R"({"service":"intercom","per_minute":1})");
  auto one = patient.run(patient.c->fetch("contacts", {id2}));
  REQUIRE(one.has_value());
  std::thread opener([&] {
    std::this_thread::sleep_for(150ms);
    s.admin("POST", "/admin/clock", R"({"advance_ms":61000})");
  });
  auto two = patient.run(patient.c->fetch("contacts", {id3}));
  opener.join();
  REQUIRE(two.has_value());
  CHECK_FALSE(two->at(0).deleted);
  CHECK(answered(s, 429) >= 4);
}

TEST_CASE("Intercom adapter creates or updates contacts by external_id or email and reads them back",
          "[adapters][intercom]") {
  auto& s = fresh_sim();
  harness h(ic_config(s));
  CHECK(h.c->max_batch("contacts") == 1);
  // A seeded user (external_id crm-<person>) and a seeded lead (no external_id).
  json::object user, lead;
  for (int i = 1; i < 60 && (user.empty() || lead.empty()); ++i) {
    auto c = admin_contact(s, i);
    if (c.at("role").as_string() == "user" && user.empty()) user = c;
    if (c.at("role").as_string() == "lead" && lead.empty()) lead = c;
  }
  REQUIRE(!user.empty());
  REQUIRE(!lead.empty());
  const std::string user_ext(user.at("external_id").as_string());
  std::string lead_email(lead.at("email").as_string());
  for (auto& ch : lead_email) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const auto before = s.admin("GET", "/admin/intercom/contacts").json().as_array().size();

  std::vector<write_item> items;
  items.push_back(omnisync::test::adapters::item(1, "crm-new-1",
                                                 json::object{{"email", "new.one@example.com"}, {"name", "New One"},
                                                              {"custom_attributes", json::object{{"plan", "pro"}}}}));
  items.push_back(omnisync::test::adapters::item(2, user_ext, json::object{{"name", "Renamed User"}}));
  items.push_back(omnisync::test::adapters::item(3, "crm-lead-1", json::object{{"email", lead_email}, {"phone", "+1 415 555 0100"}}));
  items.push_back(omnisync::test::adapters::item(4, "", json::object{{"name", "Nobody"}}));
  items.push_back(write_item(5, "crm-x", "not json"));
  auto res = h.run(h.c->write("contacts", items));
  REQUIRE(res.has_value());
  REQUIRE(res->size() == 5);
  std::map<std::int64_t, write_result> by_id;
  for (auto& r : *res) by_id[r.outbox_id] = r;
  for (std::int64_t i : {1, 2, 3}) {
    INFO(i << ": " << by_id[i].error);
    CHECK(by_id[i].status == write_result::outcome::written);
  }
  CHECK(by_id[2].destination_id == std::string(user.at("id").as_string()));
  CHECK(by_id[3].destination_id == std::string(lead.at("id").as_string()));  // found by email, case aside
  CHECK(by_id[4].status == write_result::outcome::rejected);
  CHECK(by_id[5].status == write_result::outcome::rejected);
  CHECK(sim_calls(s, "intercom", "POST /contacts") == 1 + 3);  // one create; a search per item written
  CHECK(sim_calls(s, "intercom", "PUT /contacts") == 2);
  CHECK(s.admin("GET", "/admin/intercom/contacts").json().as_array().size() == before + 1);

  auto back = h.run(h.c->fetch("contacts", {by_id[1].destination_id, by_id[2].destination_id, by_id[3].destination_id,
                                            "65a100000000000000099999"}));
  REQUIRE(back.has_value());
  REQUIRE(back->size() == 4);
  CHECK(field(back->at(0), "external_id") == "crm-new-1");
  CHECK(payload(back->at(0)).at("custom_attributes").at("plan").as_string() == "pro");
  CHECK(field(back->at(0), "role") == "user");
  CHECK(field(back->at(1), "name") == "Renamed User");
  CHECK(field(back->at(2), "external_id") == "crm-lead-1");
  CHECK(field(back->at(2), "phone") == "+1 415 555 0100");
  CHECK(back->at(3).deleted);

  auto found = h.run(h.c->find_by_email("contacts", "NEW.ONE@example.com"));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK(found->at(0).id == by_id[1].destination_id);

  // The same person again: an update, no second contact.
  std::vector<write_item> again;
  again.push_back(omnisync::test::adapters::item(6, "crm-new-1", json::object{{"name", "New Again"}}));
  auto res2 = h.run(h.c->write("contacts", again));
  REQUIRE(res2.has_value());
  CHECK(res2->at(0).destination_id == by_id[1].destination_id);
  CHECK(s.admin("GET", "/admin/intercom/contacts").json().as_array().size() == before + 1);

  // A create that meets a 409 (the contact appeared since the search) updates the contact it names.
  const std::string other(admin_contact(s, 7).at("id").as_string());
  s.admin("POST", "/admin/faults",
          json::serialize(json::object{
              {"service", "intercom"}, {"method", "POST"}, {"path_glob", "/contacts"}, {"kind", "status"},
              {"status", 409}, {"count", 1},
              {"body", R"({"type":"error.list","errors":[{"code":"conflict","message":"A contact matching those details already exists with id=)" +
                           other + "\"}]}"}}));
  std::vector<write_item> racing;
  racing.push_back(omnisync::test::adapters::item(7, "crm-race-1", json::object{{"name", "Raced"}}));
  auto res3 = h.run(h.c->write("contacts", racing));
  REQUIRE(res3.has_value());
  CHECK(res3->at(0).status == write_result::outcome::written);
  CHECK(res3->at(0).destination_id == other);
  CHECK(admin_contact(s, 7).at("name").as_string() == "Raced");
}

TEST_CASE("Intercom adapter parses signed notifications and refuses malformed ones", "[adapters][intercom]") {
  auto& s = fresh_sim();
  webhook_receiver receiver;
  s.admin("POST", "/admin/webhooks",
          json::serialize(json::object{{"service", "intercom"}, {"url", receiver.url() + "/webhooks/ic"},
                                       {"secret", client_secret}}));
  harness h(ic_config(s));
  auto endpoint = h.c->webhook();
  REQUIRE(endpoint);

  auto changed = s.admin("PATCH", "/admin/intercom/contacts/12", R"({"name":"Hooked"})").json();
  const std::string id(changed.at("id").as_string());
  auto delivery = receiver.wait_for([](const auto& r) { return r.body.find(".updated") != std::string::npos; });
  omnisync::adapters::inbound_request in;
  in.method = "POST";
  in.body = delivery.body;
  in.headers.emplace_back("X-Hub-Signature", delivery.headers["x-hub-signature"]);
  auto verified = endpoint->verify(in);
  REQUIRE(verified.has_value());
  CHECK(verified->dedupe_key.starts_with("notification:notif_"));
  in.headers.back().second = "sha1=0000000000000000000000000000000000000000";
  CHECK_FALSE(endpoint->verify(in).has_value());

  auto parsed = h.c->parse_event(event_of(delivery.body));
  REQUIRE(parsed.has_value());
  REQUIRE(parsed->records.size() == 1);
  const auto& rec = parsed->records[0];
  CHECK(rec.object == "contacts");
  CHECK(rec.record.id == id);
  CHECK_FALSE(rec.record.deleted);
  // The item is the contact as the API shows it.
  auto api = h.run(h.c->fetch("contacts", {id}));
  REQUIRE(api.has_value());
  CHECK(payload(rec.record) == payload(api->at(0)));
  CHECK(rec.record.source_updated_at == api->at(0).source_updated_at);

  s.admin("DELETE", "/admin/intercom/contacts/12");
  auto deleted = receiver.wait_for([](const auto& r) { return r.body.find("contact.deleted") != std::string::npos; });
  auto gone = h.c->parse_event(event_of(deleted.body));
  REQUIRE(gone.has_value());
  REQUIRE(gone->records.size() == 1);
  CHECK(gone->records[0].record.deleted);
  CHECK(gone->records[0].record.id == id);

  // ping: nothing to do. A tag event names the contact: refetch it.
  auto ping = h.c->parse_event(event_of(
      R"({"type":"notification_event","id":"notif_ping_1","topic":"ping","data":{"type":"notification_event_data","item":{"type":"ping","message":"hi"}}})"));
  REQUIRE(ping.has_value());
  CHECK(ping->records.empty());
  CHECK(ping->refetch.empty());
  auto tag = h.c->parse_event(event_of(
      R"({"type":"notification_event","id":"notif_2","topic":"contact.tag.created","data":{"item":{"type":"contact_tag","tag":{"id":"1"},"contact":{"type":"contact","id":")" +
      id + R"("}}}})"));
  REQUIRE(tag.has_value());
  REQUIRE(tag->refetch.size() == 1);
  CHECK(tag->refetch[0] == std::pair<std::string, std::string>("contacts", id));
  auto conv = h.c->parse_event(event_of(
      R"({"type":"notification_event","id":"notif_3","topic":"conversation.admin.closed","data":{"item":{"type":"conversation","id":"100001","created_at":1714557600,"updated_at":1714561200,"state":"closed"}}})"));
  REQUIRE(conv.has_value());
  REQUIRE(conv->records.size() == 1);
  CHECK(conv->records[0].object == "conversations");

  for (const char* bad : {"not json", "[]", R"({"id":"notif_4","data":{"item":{"type":"contact","id":"x"}}})",
                          R"({"id":"notif_5","topic":"contact.user.updated","data":{}})",
                          R"({"id":"notif_6","topic":"contact.user.updated","data":{"item":{"type":"contact"}}})"}) {
    INFO(bad);
    auto r = h.c->parse_event(event_of(bad));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == omnisync::make_error_code(omnisync::errc::invalid_input));
  }
}

TEST_CASE("Intercom adapter describes contacts and conversations from the data attributes", "[adapters][intercom]") {
  auto& s = fresh_sim();
  harness h(ic_config(s));
  auto d = h.run(h.c->describe("contacts"));
  REQUIRE(d.has_value());
  for (const char* f : {"id", "email", "external_id", "name", "phone", "role", "custom_attributes.plan", "updated_at"})
    CHECK(d->find(f) != nullptr);
  CHECK(d->find("external_id")->external_id);
  CHECK(d->find("email")->external_id);
  CHECK(d->find("custom_attributes.plan")->updateable);
  CHECK_FALSE(d->find("updated_at")->updateable);
  CHECK_FALSE(d->find("id")->updateable);
  auto c = h.run(h.c->describe("conversations"));
  REQUIRE(c.has_value());
  CHECK(c->find("state") != nullptr);
  CHECK_FALSE(c->find("state")->updateable);
  CHECK_FALSE(h.run(h.c->describe("companies")).has_value());
  auto bad = ic_config(s);
  bad.list("objects", {"tickets"});
  CHECK_THROWS_WITH(harness(bad), Catch::Contains("connectors.ic.objects[0]: expected one of contacts, conversations, got \"tickets\""));
  auto no_token = ic_config(s);
  no_token.erase("auth.access_token");
  CHECK_THROWS_WITH(harness(no_token), Catch::Contains("auth.access_token"));
}
