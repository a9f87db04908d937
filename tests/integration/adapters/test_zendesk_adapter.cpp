// The Zendesk connector against a real omnisync-sim over HTTPS (its own CA): the users and tickets cursor
// exports paged to the end with every record once and continued from the stored cursor, deleted users,
// satisfaction ratings by start_time, show_many and user search, create_or_update_many of 250 users in 3 calls
// with job-status follow-up and one refused user, 429 + Retry-After waited out, webhook parsing (a real signed
// delivery, good and malformed bodies) and describe.
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
namespace json = boost::json;

namespace {

omnisync::test::adapters::connector_config zd_config(running_sim& s, std::map<std::string, std::string> settings = {}) {
  omnisync::test::adapters::connector_config c("zd", "zendesk");
  c.set("base_url", s.url("zendesk", "https"));
  c.set("tls.ca_file", s.ca_file());
  c.set("settle_lag", "0s");
  c.list("objects", {"users", "tickets", "satisfaction_ratings"});
  c.set("auth.email", "ops@example.com");
  c.set("auth.api_token", "zd-test-token");
  c.set("sync.job_poll_interval", "50ms");
  for (auto& [k, v] : settings) c.set(k, v);
  return c;
}

json::value payload(const omnisync::adapters::source_record& r) { return json::parse(r.payload); }

}  // namespace

TEST_CASE("Zendesk users and tickets export to the end once and continue from the stored cursor", "[adapters][zendesk]") {
  auto& s = fresh_sim();
  harness h(zd_config(s, {{"sync.page_size", "100"}}));
  auto users = read_all(h, "users", poll_mode::full, std::nullopt);
  CHECK(users.by_id.size() == 1000);
  CHECK(users.records == 1000);
  CHECK(users.pages == 10);
  CHECK(sim_calls(s, "zendesk", "/api/v2/incremental/users/cursor") == 10);
  auto u1 = payload(users.by_id.at("1"));
  CHECK(u1.at("email").as_string().find('@') != std::string::npos);
  CHECK(u1.as_object().contains("user_fields"));
  CHECK_FALSE(users.by_id.at("1").deleted);
  CHECK(users.by_id.at("1").source_updated_at.time_since_epoch().count() > 0);

  s.admin("PATCH", "/admin/zendesk/users/5", R"({"name":"Renamed Person"})");
  s.admin("DELETE", "/admin/zendesk/users/7");
  s.admin("POST", "/admin/clock", R"({"advance_ms":1000})");  // past the export's settle time (the current second)
  auto changed = read_all(h, "users", poll_mode::incremental, users.cursor);
  REQUIRE(changed.by_id.size() == 2);
  CHECK(payload(changed.by_id.at("5")).at("name").as_string() == "Renamed Person");
  CHECK(changed.by_id.at("7").deleted);  // exported with active: false
  auto nothing = read_all(h, "users", poll_mode::incremental, changed.cursor);
  CHECK(nothing.records == 0);

  auto tickets = read_all(h, "tickets", poll_mode::incremental, std::nullopt);
  CHECK(tickets.by_id.size() == 500);
  CHECK(tickets.records == 500);
  s.admin("DELETE", "/admin/zendesk/tickets/3");
  s.admin("POST", "/admin/clock", R"({"advance_ms":1000})");
  auto ticket_changes = read_all(h, "tickets", poll_mode::incremental, tickets.cursor);
  REQUIRE(ticket_changes.by_id.size() == 1);
  CHECK(ticket_changes.by_id.at("3").deleted);
  CHECK(h.c->usage().api_calls >= 18);
  CHECK(h.c->usage().budget_limit == -1);
}

TEST_CASE("Zendesk satisfaction ratings are read by start_time and only new changes come again", "[adapters][zendesk]") {
  auto& s = fresh_sim();
  harness h(zd_config(s));
  auto all = read_all(h, "satisfaction_ratings", poll_mode::incremental, std::nullopt);
  CHECK(all.by_id.size() == 250);
  CHECK(all.records == 250);
  CHECK(all.pages == 3);  // 100 per page
  CHECK(payload(all.by_id.at("1")).as_object().contains("score"));
  auto none = read_all(h, "satisfaction_ratings", poll_mode::incremental, all.cursor);
  CHECK(none.records == 0);  // the ratings at the newest second are not returned twice
  s.admin("PATCH", "/admin/zendesk/satisfaction_ratings/9", R"({"score":"bad","comment":"Changed my mind"})");
  auto changed = read_all(h, "satisfaction_ratings", poll_mode::incremental, none.cursor);
  REQUIRE(changed.by_id.size() == 1);
  CHECK(payload(changed.by_id.at("9")).at("comment").as_string() == "Changed my mind");
}

TEST_CASE("Zendesk fetch by show_many, find_by_email and describe", "[adapters][zendesk]") {
  auto& s = fresh_sim();
  harness h(zd_config(s));
  auto fetched = h.run(h.c->fetch("users", {"1", "2", "999999", "not-a-number"}));
  REQUIRE(fetched.has_value());
  REQUIRE(fetched->size() == 4);
  std::map<std::string, bool> deleted;
  for (auto& r : *fetched) deleted[r.id] = r.deleted;
  CHECK(deleted == std::map<std::string, bool>{{"1", false}, {"2", false}, {"999999", true}, {"not-a-number", true}});
  CHECK(sim_calls(s, "zendesk", "show_many") == 1);
  auto tickets = h.run(h.c->fetch("tickets", {"4"}));
  REQUIRE(tickets.has_value());
  REQUIRE(tickets->size() == 1);
  CHECK(payload(tickets->at(0)).at("id").as_int64() == 4);
  auto rating = h.run(h.c->fetch("satisfaction_ratings", {"2", "100000"}));
  REQUIRE(rating.has_value());
  REQUIRE(rating->size() == 2);
  CHECK_FALSE(rating->at(0).deleted);
  CHECK(rating->at(1).deleted);

  std::string email(s.admin("GET", "/admin/zendesk/users/3").json().at("email").as_string());
  for (auto& ch : email) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto found = h.run(h.c->find_by_email("users", email));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK(found->at(0).id == "3");
  auto none = h.run(h.c->find_by_email("users", "nobody@omnisync-test.example"));
  REQUIRE(none.has_value());
  CHECK(none->empty());

  auto schema = h.run(h.c->describe("users"));
  REQUIRE(schema.has_value());
  REQUIRE(schema->find("external_id"));
  CHECK(schema->find("external_id")->external_id);
  CHECK_FALSE(schema->find("id")->updateable);
  CHECK_FALSE(schema->find("updated_at")->updateable);
  REQUIRE(schema->find("user_fields.lifetime_value"));
  CHECK(schema->find("user_fields.lifetime_value")->type == "decimal");
  CHECK(schema->find("user_fields.plan")->type == "dropdown");
  auto ratings_schema = h.run(h.c->describe("satisfaction_ratings"));
  REQUIRE(ratings_schema.has_value());
  CHECK(ratings_schema->find("score"));
}

TEST_CASE("Zendesk create_or_update_many of 250 users takes 3 jobs and refuses only the bad one", "[adapters][zendesk]") {
  auto& s = fresh_sim();
  // Jobs stay "queued" for 500 ms (from the request): the connector must poll the job status until it completes.
  s.admin("POST", "/admin/limits", R"({"service":"zendesk","job_delay_ms":500})");
  harness h(zd_config(s));
  std::string existing_email(s.admin("GET", "/admin/zendesk/users/4").json().at("email").as_string());
  std::vector<write_item> items;
  for (int i = 0; i < 250; ++i) {
    json::object p{{"name", "Person " + std::to_string(i)},
                   {"email", "person" + std::to_string(i) + "@omnisync-test.example"},
                   {"user_fields", json::object{{"lifetime_value", i * 1.5}, {"lifecycle_stage", "purchase"}}}};
    if (i == 17) p["email"] = "not-an-email";  // Zendesk refuses it: RecordInvalid
    if (i == 42) p["email"] = existing_email;   // an existing user: updated, not created
    items.push_back(omnisync::test::adapters::item(2000 + i, "p_" + std::to_string(i), p));
  }
  const auto started = std::chrono::steady_clock::now();
  auto res = h.run(h.c->write("users", std::move(items)));
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(res.has_value());
  CHECK(sim_calls(s, "zendesk", "create_or_update_many") == 3);
  CHECK(sim_calls(s, "zendesk", "job_statuses") >= 6);  // each job polled until it completed
  CHECK(took >= 1500ms);
  REQUIRE(res->size() == 250);
  std::map<std::int64_t, write_result> by_id;
  for (auto& r : *res) by_id[r.outbox_id] = r;
  REQUIRE(by_id.size() == 250);
  std::size_t written = 0;
  for (auto& [id, r] : by_id)
    if (id != 2017) written += r.status == write_result::outcome::written && !r.destination_id.empty() ? 1 : 0;
  CHECK(written == 249);
  CHECK(by_id.at(2017).status == write_result::outcome::rejected);
  CHECK(by_id.at(2017).error.find("RecordInvalid") != std::string::npos);
  CHECK(by_id.at(2042).destination_id == "4");
  auto user = s.admin("GET", "/admin/zendesk/users/" + by_id.at(2003).destination_id).json();
  CHECK(user.at("external_id").as_string() == "p_3");
  CHECK(user.at("user_fields").at("lifetime_value").as_double() == 4.5);
  auto updated = s.admin("GET", "/admin/zendesk/users/4").json();
  CHECK(updated.at("external_id").as_string() == "p_42");
  CHECK(updated.at("user_fields").as_object().contains("plan"));  // fields not written keep their values

  auto other = h.run(h.c->write("tickets", {omnisync::test::adapters::item(1, "t", json::object{})}));
  REQUIRE(other.has_value());
  CHECK(other->at(0).status == write_result::outcome::rejected);
}

TEST_CASE("Zendesk 429 with Retry-After is waited out and the export continues", "[adapters][zendesk]") {
  auto& s = fresh_sim();
  s.admin("POST", "/admin/faults",
          R"({"service":"zendesk","method":"GET","path_glob":"/api/v2/incremental/users/cursor*","kind":"rate_limit","count":1,"retry_after":1})");
  harness h(zd_config(s, {{"sync.page_size", "200"}}));
  const auto started = std::chrono::steady_clock::now();
  auto pg = h.run(h.c->poll(page_request("users", std::nullopt, poll_mode::full)));
  const auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE(pg.has_value());
  CHECK(pg->records.size() == 200);
  CHECK(pg->more);
  CHECK(waited >= 900ms);
  CHECK(h.c->usage().api_errors == 1);
  CHECK(h.c->usage().api_calls == 2);
}

TEST_CASE("Zendesk webhooks become refetches and deletions, malformed ones are refused", "[adapters][zendesk]") {
  auto& s = fresh_sim();
  auto cfg = zd_config(s);
  {
    harness plain(cfg);
    CHECK(plain.c->webhook() == nullptr);
  }
  cfg.set("webhook.signing_secret", "zd-signing-secret");
  harness h(cfg);
  REQUIRE(h.c->webhook() != nullptr);
  auto parse = [&](const std::string& body) {
    return h.c->parse_event(omnisync::adapters::inbox_event("zd", "k", {}, "{}", body));
  };
  auto created = parse(R"({"type":"zen:event-type:user.created","account_id":1,"id":"e1","subject":"zen:user:42",
                           "time":"2026-05-01T10:00:00Z","detail":{"id":"42","email":"a@example.com"},"event":{}})");
  REQUIRE(created.has_value());
  REQUIRE(created->refetch.size() == 1);
  CHECK(created->refetch[0] == std::pair<std::string, std::string>{"users", "42"});
  CHECK(created->announced.empty());  // `detail` is a snapshot of every field, not a change
  // A change event's `event.current` is what the field became, at `time`; the field is the one the type names,
  // or `event.field`; an identity event names its type.
  auto renamed = parse(R"({"type":"zen:event-type:user.name_changed","id":"e5","subject":"zen:user:42",
                           "time":"2026-05-01T10:00:07Z","detail":{"id":"42"},"event":{"current":"Ann B","previous":"Ann"}})");
  REQUIRE(renamed.has_value());
  REQUIRE(renamed->announced.size() == 1);
  CHECK(renamed->announced[0].id == "42");
  CHECK(renamed->announced[0].at == 1777629607000);
  CHECK(json::parse(renamed->announced[0].payload) == json::parse(R"({"name":"Ann B"})"));
  auto phoned = parse(R"({"type":"zen:event-type:user.identity_changed","id":"e6","subject":"zen:user:42",
      "time":"2026-05-01T10:00:08Z","detail":{"id":"42"},"event":{"field":"phone","current":"+16465550100","previous":null}})");
  REQUIRE(phoned.has_value());
  REQUIRE(phoned->announced.size() == 1);
  CHECK(json::parse(phoned->announced[0].payload) == json::parse(R"({"phone":"+16465550100"})"));
  auto identity = parse(R"({"type":"zen:event-type:user.identity_changed","id":"e7","subject":"zen:user:42",
      "time":"2026-05-01T10:00:09Z","detail":{"id":"42"},"event":{"current":{"type":"email","value":"b@example.com"}}})");
  REQUIRE(identity.has_value());
  REQUIRE(identity->announced.size() == 1);
  CHECK(json::parse(identity->announced[0].payload) == json::parse(R"({"email":"b@example.com"})"));
  // Each change event also reports its change (for recognising omnisync's own echo), an object-valued field only
  // by the keys that changed; a creation reports none.
  CHECK(created->reported.empty());
  REQUIRE(renamed->reported.size() == 1);
  CHECK(renamed->reported[0].at == 1777629607000);
  CHECK(json::parse(renamed->reported[0].payload) == json::parse(R"({"name":"Ann B"})"));
  REQUIRE(identity->reported.size() == 1);
  CHECK(json::parse(identity->reported[0].payload) == json::parse(R"({"email":"b@example.com"})"));
  auto custom = parse(R"({"type":"zen:event-type:user.custom_field_changed","id":"e9","subject":"zen:user:42",
      "time":"2026-05-01T10:00:10Z","detail":{"id":"42"},"event":{"field":"user_fields",
      "current":{"lifetime_value":12,"plan":"gold"},"previous":{"lifetime_value":null,"plan":"gold"}}})");
  REQUIRE(custom.has_value());
  CHECK(custom->announced.empty());
  REQUIRE(custom->reported.size() == 1);
  CHECK(json::parse(custom->reported[0].payload) == json::parse(R"({"user_fields":{"lifetime_value":12}})"));
  auto untimed = parse(R"({"type":"zen:event-type:user.name_changed","id":"e8","subject":"zen:user:42","event":{"current":"X"}})");
  REQUIRE(untimed.has_value());
  CHECK(untimed->announced.empty());
  auto gone = parse(R"({"type":"zen:event-type:user.deleted","id":"e2","subject":"zen:user:43","time":"2026-05-01T10:00:00Z"})");
  REQUIRE(gone.has_value());
  REQUIRE(gone->records.size() == 1);
  CHECK(gone->records[0].record.deleted);
  CHECK(gone->records[0].record.id == "43");
  auto ticket = parse(R"({"type":"zen:event-type:ticket.status_changed","id":"e3","subject":"zen:ticket:9"})");
  REQUIRE(ticket.has_value());
  CHECK(ticket->refetch[0] == std::pair<std::string, std::string>{"tickets", "9"});
  auto trigger = parse(R"({"ticket_id":"12","user":{"id":77}})");
  REQUIRE(trigger.has_value());
  std::set<std::pair<std::string, std::string>> ids(trigger->refetch.begin(), trigger->refetch.end());
  CHECK(ids == std::set<std::pair<std::string, std::string>>{{"tickets", "12"}, {"users", "77"}});
  auto other = parse(R"({"type":"zen:event-type:organization.created","id":"e4","subject":"zen:organization:5"})");
  REQUIRE(other.has_value());  // not synced here: nothing to do
  CHECK(other->refetch.empty());
  for (const char* bad : {"not json", "[1,2]", R"({"hello":"world"})", R"({"type":"zen:event-type:user.created"})",
                          R"({"type":"zen:event-type:user.created","subject":"zen:user:abc"})"}) {
    INFO(bad);
    auto r = parse(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == omnisync::errc::invalid_input);
  }

  // A real delivery, signed by the simulator (timestamp + body), accepted by the endpoint from the config.
  omnisync::test::sim::webhook_receiver receiver;
  s.admin("POST", "/admin/webhooks",
          json::serialize(json::object{{"service", "zendesk"}, {"url", receiver.url() + "/webhooks/zd"},
                                       {"secret", "zd-signing-secret"}}));
  s.admin("PATCH", "/admin/zendesk/users/8", R"({"name":"Hooked Person"})");
  auto got = receiver.wait_for([](const auto& r) { return r.target == "/webhooks/zd"; });
  omnisync::adapters::inbound_request req;
  req.method = got.method;
  req.target = got.target;
  req.path = got.target;
  for (auto& [k, v] : got.headers) req.headers.emplace_back(k, v);
  req.body = got.body;
  req.received_at = std::chrono::system_clock::now();
  REQUIRE(h.c->webhook()->verify(req).has_value());
  auto forged = req;
  forged.body.back() = ' ';
  CHECK_FALSE(h.c->webhook()->verify(forged).has_value());
  auto real = parse(got.body);
  REQUIRE(real.has_value());
  REQUIRE(real->refetch.size() == 1);
  CHECK(real->refetch[0] == std::pair<std::string, std::string>{"users", "8"});
  auto fetched = h.run(h.c->fetch("users", {"8"}));
  REQUIRE(fetched.has_value());
  CHECK(payload(fetched->at(0)).at("name").as_string() == "Hooked Person");
}

TEST_CASE("Zendesk and HubSpot config errors are sentences for the operator", "[adapters][zendesk]") {
  auto& s = omnisync::test::adapters::shared_sim();
  auto no_place = zd_config(s);
  no_place.erase("base_url");
  CHECK_THROWS_WITH(harness(no_place), Catch::Contains("subdomain"));
  no_place.set("subdomain", "acme");
  CHECK_NOTHROW(harness(no_place));  // https://acme.zendesk.com
  auto no_email = zd_config(s);
  no_email.erase("auth.email");
  CHECK_THROWS_WITH(harness(no_email), Catch::Contains("auth.email"));
  auto no_token = zd_config(s);
  no_token.erase("auth.api_token");
  CHECK_THROWS_WITH(harness(no_token), Catch::Contains("auth.api_token"));
  CHECK_THROWS_WITH(harness(zd_config(s, {{"sync.page_size", "lots"}})), Catch::Contains("sync.page_size"));
  CHECK_THROWS_WITH(harness(zd_config(s, {{"sync.job_poll_interval", "soon"}})), Catch::Contains("duration"));
  auto bad_object = zd_config(s);
  bad_object.list("objects", {"organizations"});
  CHECK_THROWS_WITH(harness(bad_object), Catch::Contains("organizations"));

  omnisync::config::connector_common hs;
  hs.name = "hs";
  hs.kind = "hubspot";
  CHECK_THROWS_WITH(harness(hs), Catch::Contains("auth.private_app_token"));
}

// Hidden (run by hand: test_zendesk_adapter "[bench]"): export cost at 20,000 users with Zendesk's own limits.
namespace {
/// Every id list_ids gives for `object`, following `next` to the end; `pages` counts the calls.
std::vector<std::string> all_ids(harness& h, const std::string& object, int& pages) {
  std::vector<std::string> out;
  std::optional<std::string> next;
  pages = 0;
  do {
    auto pg = h.run(h.c->list_ids(object, next));
    REQUIRE(pg.has_value());
    out.insert(out.end(), pg->ids.begin(), pg->ids.end());
    next = pg->next;
    ++pages;
  } while (next && pages < 100);
  return out;
}
}  // namespace

TEST_CASE("Zendesk list_ids pages users, tickets and ratings, without deleted or purged records",
          "[adapters][zendesk]") {
  auto& s = fresh_sim();
  harness h(zd_config(s));
  s.admin("DELETE", "/admin/zendesk/users/7");                 // soft: exported with active false
  s.admin("DELETE", "/admin/zendesk/users/8?purge=true");      // hard: gone without a trace
  s.admin("DELETE", "/admin/zendesk/tickets/9?purge=true");
  s.admin("DELETE", "/admin/zendesk/tickets/10");

  int pages = 0;
  auto users = all_ids(h, "users", pages);
  CHECK(pages == 10);  // 998 users, page[size]=100
  CHECK(users.size() == 998);
  CHECK(std::set<std::string>(users.begin(), users.end()).size() == users.size());
  CHECK(std::find(users.begin(), users.end(), "7") == users.end());
  CHECK(std::find(users.begin(), users.end(), "8") == users.end());
  CHECK(std::find(users.begin(), users.end(), "1000") != users.end());
  CHECK(sim_calls(s, "zendesk", "GET /api/v2/users") == 10);

  auto tickets = all_ids(h, "tickets", pages);
  CHECK(pages == 1);  // the cursor export, 1,000 a page
  CHECK(tickets.size() == 498);
  CHECK(std::find(tickets.begin(), tickets.end(), "9") == tickets.end());
  CHECK(std::find(tickets.begin(), tickets.end(), "10") == tickets.end());

  auto ratings = all_ids(h, "satisfaction_ratings", pages);
  CHECK(pages == 3);
  CHECK(ratings.size() == 250);

  // The purged user is gone from the export too (nothing there tells the connector): only the id set does. The
  // soft delete is in the export once the simulator's clock is past the export's settle time (the current second).
  s.admin("POST", "/admin/clock", R"({"advance_ms":1000})");
  auto export_all = read_all(h, "users", poll_mode::full, std::nullopt);
  CHECK(export_all.by_id.count("8") == 0);
  CHECK(export_all.by_id.at("7").deleted);
  CHECK_FALSE(h.run(h.c->list_ids("organizations", std::nullopt)).has_value());
}

TEST_CASE("Zendesk export cost at 20,000 users", "[.][bench][zendesk]") {
  running_sim big({"--size", "20000"});
  harness h(zd_config(big));
  auto t0 = std::chrono::steady_clock::now();
  auto all = read_all(h, "users", poll_mode::full, std::nullopt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(all.by_id.size() == 20000);
  CHECK(all.records == 20000);
  WARN("users export: " << sim_calls(big, "zendesk", "incremental/users") << " calls, " << secs << " s");
}

TEST_CASE("Zendesk writes with a target id update that user by update_many, mixed with upserts, unknown ids rejected",
          "[adapters][zendesk]") {
  auto& s = fresh_sim();
  harness h(zd_config(s));
  // A user an agent created in Zendesk: no external_id.
  auto made = s.admin("POST", "/admin/zendesk/users", R"({"name":"Sam Seller","email":"seller@omnisync-test.example"})").json();
  const std::string linked = std::to_string(made.at("id").to_number<std::int64_t>());
  s.admin("DELETE", "/admin/zendesk/users/6");
  const json::value five_external_id = s.admin("GET", "/admin/zendesk/users/5").json().at("external_id");
  auto with_target = [](std::int64_t id, std::string key, json::object p, std::string target) {
    write_item it = omnisync::test::adapters::item(id, std::move(key), p);
    it.target_id = std::move(target);
    return it;
  };
  std::vector<write_item> items;
  items.push_back(with_target(1, "p_linked",
                              {{"name", "Sally Seller"}, {"email", "seller@omnisync-test.example"}, {"external_id", "p_linked"},
                               {"user_fields", json::object{{"lifecycle_stage", "customer"}}}},
                              linked));
  items.push_back(omnisync::test::adapters::item(2, "p_new", {{"name", "New Person"}, {"email", "new.person@omnisync-test.example"}}));
  items.push_back(with_target(3, "p_ghost", {{"name", "Ghost"}, {"external_id", "p_ghost"}}, "987654321"));
  items.push_back(with_target(4, "p_five", {{"name", "Five"}}, "5"));  // no external_id in the payload: left as it is
  items.push_back(with_target(5, "p_gone", {{"name", "Gone"}}, "6"));
  items.push_back(with_target(6, "p_bad", {{"name", "Bad"}}, "abc"));
  auto res = h.run(h.c->write("users", std::move(items)));
  REQUIRE(res.has_value());
  CHECK(sim_calls(s, "zendesk", "PUT /api/v2/users/update_many") == 1);
  CHECK(sim_calls(s, "zendesk", "create_or_update_many") == 1);
  REQUIRE(res->size() == 6);
  for (std::size_t i = 0; i < res->size(); ++i) CHECK((*res)[i].outbox_id == static_cast<std::int64_t>(i + 1));
  CHECK((*res)[0].status == write_result::outcome::written);
  CHECK((*res)[0].destination_id == linked);
  CHECK((*res)[1].status == write_result::outcome::written);
  CHECK(!(*res)[1].destination_id.empty());
  CHECK((*res)[1].destination_id != linked);
  CHECK((*res)[2].status == write_result::outcome::rejected);  // no such user: not worth another try
  CHECK((*res)[2].error.find("RecordNotFound") != std::string::npos);
  CHECK((*res)[3].status == write_result::outcome::written);
  CHECK((*res)[3].destination_id == "5");
  CHECK((*res)[4].status == write_result::outcome::rejected);
  CHECK((*res)[4].error.find("RecordNotFound") != std::string::npos);
  CHECK((*res)[5].status == write_result::outcome::rejected);  // refused before any call
  CHECK((*res)[5].error.find("not a Zendesk user id") != std::string::npos);

  // The agent's user has the new values and the key; still one user with that email.
  auto stored = s.admin("GET", "/admin/zendesk/users/" + linked).json();
  CHECK(stored.at("name").as_string() == "Sally Seller");
  CHECK(stored.at("external_id").as_string() == "p_linked");
  CHECK(stored.at("user_fields").at("lifecycle_stage").as_string() == "customer");
  auto found = h.run(h.c->find_by_email("users", "seller@omnisync-test.example"));
  REQUIRE(found.has_value());
  REQUIRE(found->size() == 1);
  CHECK((*found)[0].id == linked);
  CHECK(s.admin("GET", "/admin/zendesk/users/5").json().at("external_id") == five_external_id);

  // An update setting an external_id another user holds: the other fields are written without it.
  auto taken = h.run(h.c->write(
      "users", {with_target(8, "p_linked", {{"name", "Five Again"}, {"external_id", "p_linked"}}, "5")}));
  REQUIRE(taken.has_value());
  REQUIRE(taken->size() == 1);
  CHECK((*taken)[0].status == write_result::outcome::written);
  CHECK((*taken)[0].outbox_id == 8);
  auto five = s.admin("GET", "/admin/zendesk/users/5").json();
  CHECK(five.at("name").as_string() == "Five Again");
  CHECK(five.at("external_id") == five_external_id);
  CHECK(s.admin("GET", "/admin/zendesk/users/" + linked).json().at("external_id").as_string() == "p_linked");

  // Taking another user's email is refused by Zendesk, and so rejected here.
  auto clash = h.run(h.c->write(
      "users", {with_target(7, "p_five", {{"email", "seller@omnisync-test.example"}}, "5")}));
  REQUIRE(clash.has_value());
  REQUIRE(clash->size() == 1);
  CHECK((*clash)[0].status == write_result::outcome::rejected);
  CHECK((*clash)[0].error.find("already being used") != std::string::npos);
}
