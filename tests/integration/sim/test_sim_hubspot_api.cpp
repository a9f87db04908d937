// HubSpot simulator semantics in-process (no HTTP): list paging, search filters/sorts/paging and the
// 10,000-result cap, batch upsert 200/207, validation errors, rate limits and webhook events.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "sim/hubspot/api.hpp"
#include "sim/hubspot/search.hpp"
#include "sim/hubspot/signature.hpp"

#include <map>

namespace hs = omnisync::sim::hubspot;
namespace json = boost::json;

namespace {

struct hubspot_fixture {
  std::int64_t now = 1'714'557'600'000;  // 2024-05-01T10:00:00Z
  hs::api api{hs::default_seed(7, 250, now), [this] { return now; }};

  hs::api_reply call(std::string method, std::string target, std::string body = {}) {
    return api.handle({std::move(method), std::move(target), std::move(body), "Bearer test-token"});
  }
  json::value call_json(std::string method, std::string target, std::string body = {}, int expect = 200) {
    auto r = call(std::move(method), std::move(target), std::move(body));
    INFO(r.body);
    REQUIRE(r.status == expect);
    return json::parse(r.body);
  }
};

std::string header(const hs::api_reply& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("HubSpot list pages with after until paging disappears", "[sim][hubspot]") {
  hubspot_fixture f;
  std::size_t seen = 0;
  std::string after;
  std::int64_t last_id = 0;
  for (int pages = 0; pages < 100; ++pages) {
    auto body = f.call_json("GET", "/crm/v3/objects/contacts?limit=100&properties=email" +
                                       (after.empty() ? std::string() : "&after=" + after));
    for (const auto& r : body.at("results").as_array()) {
      const auto id = std::stoll(std::string(r.at("id").as_string()));
      CHECK(id > last_id);
      last_id = id;
      CHECK(r.at("properties").as_object().contains("email"));
      ++seen;
    }
    if (!body.as_object().contains("paging")) break;
    after = std::string(body.at("paging").at("next").at("after").as_string());
  }
  CHECK(seen == 250);
  CHECK(f.call("GET", "/crm/v3/objects/contacts?limit=101").status == 400);
  CHECK(f.call("GET", "/crm/v3/objects/nonsense").status == 400);
}

TEST_CASE("HubSpot requires a bearer token", "[sim][hubspot]") {
  hubspot_fixture f;
  auto r = f.api.handle({"GET", "/crm/v3/objects/contacts", "", ""});
  CHECK(r.status == 401);
  CHECK(json::parse(r.body).at("category").as_string() == "INVALID_AUTHENTICATION");
}

TEST_CASE("HubSpot search filters on lastmodifieddate, sorts and pages with after", "[sim][hubspot][search]") {
  hubspot_fixture f;
  // Everything modified after a point in the seeded history, ascending, 40 per page.
  const std::int64_t since = f.now - 100 * 60'000;
  std::vector<std::int64_t> stamps;
  std::string after = "0";
  std::size_t total = 0;
  for (int pages = 0; pages < 50; ++pages) {
    const std::string req = R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GT","value":")" +
                            std::to_string(since) +
                            R"("}]}],"sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],)"
                            R"("properties":["email"],"limit":40,"after":")" + after + "\"}";
    auto body = f.call_json("POST", "/crm/v3/objects/contacts/search", req);
    total = body.at("total").as_int64();
    for (const auto& r : body.at("results").as_array()) {
      const auto stamp = *hs::numeric_value(std::string(r.at("properties").at("lastmodifieddate").as_string()));
      CHECK(stamp > since);
      stamps.push_back(static_cast<std::int64_t>(stamp));
    }
    if (!body.as_object().contains("paging")) break;
    after = std::string(body.at("paging").at("next").at("after").as_string());
  }
  CHECK(total > 0);
  CHECK(total < 250);
  CHECK(stamps.size() == total);
  CHECK(std::is_sorted(stamps.begin(), stamps.end()));
}

TEST_CASE("HubSpot search refuses to page past the 10,000-result cap", "[sim][hubspot][search]") {
  hubspot_fixture f;
  f.api.set_limits(json::object{{"search_result_cap", 100}});
  auto ok = f.call_json("POST", "/crm/v3/objects/contacts/search", R"({"limit":50,"after":"50"})");
  CHECK(ok.at("results").as_array().size() == 50);
  CHECK(ok.at("paging").at("next").at("after").as_string() == "100");  // the next page is the one that fails
  auto r = f.call("POST", "/crm/v3/objects/contacts/search", R"({"limit":50,"after":"100"})");
  CHECK(r.status == 400);
  CHECK(json::parse(r.body).at("category").as_string() == "VALIDATION_ERROR");
  CHECK(f.call("POST", "/crm/v3/objects/contacts/search", R"({"limit":201})").status == 400);
  CHECK(f.call("POST", "/crm/v3/objects/contacts/search", "{not json").status == 400);
}

TEST_CASE("HubSpot batch upsert by email creates, updates and reports errors with 207", "[sim][hubspot][batch]") {
  hubspot_fixture f;
  auto existing = f.call_json("GET", "/crm/v3/objects/contacts/1?properties=email");
  const std::string email(existing.at("properties").at("email").as_string());
  const std::string body = R"({"inputs":[{"id":")" + email +
                           R"(","idProperty":"email","properties":{"firstname":"Zed"}},)"
                           R"({"id":"new.person@example.com","idProperty":"email","properties":{"firstname":"New"}}]})";
  auto ok = f.call_json("POST", "/crm/v3/objects/contacts/batch/upsert", body);
  CHECK(ok.at("status").as_string() == "COMPLETE");
  const auto& results = ok.at("results").as_array();
  REQUIRE(results.size() == 2);
  CHECK(results[0].at("id").as_string() == "1");
  CHECK(results[0].at("new").as_bool() == false);
  CHECK(results[1].at("new").as_bool() == true);
  const std::string new_id(results[1].at("id").as_string());
  CHECK(std::stoll(new_id) > 250);

  auto read = f.call_json("GET", "/crm/v3/objects/contacts/new.person@example.com?idProperty=email&properties=firstname");
  CHECK(read.at("id").as_string() == new_id);
  CHECK(read.at("properties").at("firstname").as_string() == "New");

  // An unknown property fails only its own input: 207 with numErrors.
  auto partial = f.call("POST", "/crm/v3/objects/contacts/batch/upsert",
                        R"({"inputs":[{"id":"a@example.com","idProperty":"email","properties":{"nope":"1"}},)"
                        R"({"id":"b@example.com","idProperty":"email","properties":{"firstname":"B"}}]})");
  CHECK(partial.status == 207);
  auto pj = json::parse(partial.body);
  CHECK(pj.at("numErrors").as_int64() == 1);
  CHECK(pj.at("results").as_array().size() == 1);

  std::string many = R"({"inputs":[)";
  for (int i = 0; i < 101; ++i) {
    many += std::string(i ? "," : "") + R"({"id":"x)" + std::to_string(i) +
            R"(@example.com","idProperty":"email","properties":{}})";
  }
  CHECK(f.call("POST", "/crm/v3/objects/contacts/batch/upsert", many + "]}").status == 400);
}

TEST_CASE("HubSpot batch create conflicts on an existing email, read reports missing ids", "[sim][hubspot][batch]") {
  hubspot_fixture f;
  auto c = f.call_json("POST", "/crm/v3/objects/contacts/batch/create",
                       R"({"inputs":[{"properties":{"email":"one@example.com","lifecyclestage":"lead"}}]})", 201);
  CHECK(c.at("results").as_array().size() == 1);
  CHECK(f.call("POST", "/crm/v3/objects/contacts/batch/create",
               R"({"inputs":[{"properties":{"email":"ONE@example.com"}}]})")
            .status == 409);
  CHECK(f.call("POST", "/crm/v3/objects/contacts/batch/create",
               R"({"inputs":[{"properties":{"lifecyclestage":"bogus"}}]})")
            .status == 400);
  auto r = f.call("POST", "/crm/v3/objects/contacts/batch/read", R"({"inputs":[{"id":"1"},{"id":"999999"}]})");
  CHECK(r.status == 207);
  CHECK(json::parse(r.body).at("errors").at(0).at("category").as_string() == "OBJECT_NOT_FOUND");
}

TEST_CASE("HubSpot archived records leave listings and search and appear with archived=true", "[sim][hubspot]") {
  hubspot_fixture f;
  CHECK(f.call("DELETE", "/crm/v3/objects/contacts/3").status == 204);
  CHECK(f.call("GET", "/crm/v3/objects/contacts/3").status == 404);
  auto archived = f.call_json("GET", "/crm/v3/objects/contacts?archived=true");
  REQUIRE(archived.at("results").as_array().size() == 1);
  CHECK(archived.at("results").at(0).at("archived").as_bool());
  CHECK(archived.at("results").at(0).as_object().contains("archivedAt"));
  auto search = f.call_json("POST", "/crm/v3/objects/contacts/search",
                            R"({"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"EQ","value":"3"}]}]})");
  CHECK(search.at("total").as_int64() == 0);
}

TEST_CASE("HubSpot properties API and deal associations", "[sim][hubspot]") {
  hubspot_fixture f;
  auto props = f.call_json("GET", "/crm/v3/properties/contacts");
  bool found_stage = false;
  for (const auto& p : props.at("results").as_array()) {
    if (p.at("name").as_string() == "lifecyclestage") {
      found_stage = true;
      CHECK(p.at("type").as_string() == "enumeration");
      CHECK(p.at("options").as_array().size() == 8);
    }
    if (p.at("name").as_string() == "email") CHECK(p.at("hasUniqueValue").as_bool());
  }
  CHECK(found_stage);
  auto deal = f.call_json("GET", "/crm/v3/objects/deals/2?associations=contacts");
  CHECK(deal.at("associations").at("contacts").at("results").at(0).at("id").as_string() == "3");
  auto nps = f.call_json("GET", "/crm/v3/objects/feedback_submissions?limit=5&properties=hs_value,hs_survey_type");
  CHECK(nps.at("results").at(0).at("properties").at("hs_survey_type").as_string() == "NPS");
  CHECK(f.call("POST", "/crm/v3/objects/feedback_submissions", R"({"properties":{}})").status == 405);
}

TEST_CASE("HubSpot rate limits answer 429 with the documented body and headers", "[sim][hubspot][limits]") {
  hubspot_fixture f;
  f.api.set_limits(json::object{{"ten_secondly_max", 3}});
  auto first = f.call("GET", "/crm/v3/objects/contacts?limit=1");
  CHECK(header(first, "X-HubSpot-RateLimit-Max") == "3");
  CHECK(header(first, "X-HubSpot-RateLimit-Remaining") == "2");
  CHECK(header(f.call("POST", "/crm/v3/objects/contacts/search", "{}"), "X-HubSpot-RateLimit-Max").empty());
  f.call("GET", "/crm/v3/objects/contacts?limit=1");
  auto limited = f.call("GET", "/crm/v3/objects/contacts?limit=1");
  REQUIRE(limited.status == 429);
  auto body = json::parse(limited.body);
  CHECK(body.at("policyName").as_string() == "TEN_SECONDLY_ROLLING");
  CHECK(body.at("errorType").as_string() == "RATE_LIMIT");
  f.now += 10'000;  // the window rolls over
  CHECK(f.call("GET", "/crm/v3/objects/contacts?limit=1").status == 200);
}

TEST_CASE("HubSpot mutations produce webhook events with the right changeSource", "[sim][hubspot][webhook]") {
  hubspot_fixture f;
  f.api.take_events();
  REQUIRE(f.api.admin_update("contacts", 5, json::object{{"firstname", "Admin"}}));
  f.call_json("PATCH", "/crm/v3/objects/contacts/6", R"({"properties":{"firstname":"Api"}})");
  const auto events = f.api.take_events();
  REQUIRE(events.size() == 2);
  auto body = json::parse(f.api.webhook_body(events, 0)).as_array();
  CHECK(body[0].at("subscriptionType").as_string() == "contact.propertyChange");
  CHECK(body[0].at("changeSource").as_string() == "CRM_UI");
  CHECK(body[0].at("propertyName").as_string() == "firstname");
  CHECK(body[0].at("propertyValue").as_string() == "Admin");
  CHECK(body[1].at("changeSource").as_string() == "INTEGRATION");
  CHECK(body[1].at("sourceId").as_string() == std::to_string(f.api.app_id()));
  CHECK(body[1].at("objectId").as_int64() == 6);
  // The admin change bumped the stamp, so a GT search from the old stamp finds it.
  auto after = f.call_json("GET", "/crm/v3/objects/contacts/5?properties=firstname");
  CHECK(after.at("properties").at("lastmodifieddate").as_string() == hs::iso_ms(f.now));
  REQUIRE(f.api.admin_archive("contacts", 5));
  CHECK(json::parse(f.api.webhook_body(f.api.take_events(), 1)).at(0).at("subscriptionType").as_string() ==
        "contact.deletion");
}

TEST_CASE("HubSpot webhook deliveries are batched by 100 and signed v1 and v3", "[sim][hubspot][webhook]") {
  hubspot_fixture f;
  for (int i = 1; i <= 150; ++i) REQUIRE(f.api.admin_update("contacts", i, json::object{{"jobtitle", "T" + std::to_string(i)}}));
  const auto events = f.api.take_events();
  REQUIRE(events.size() == 150);
  const std::string url = "https://receiver.example/webhooks/hubspot?k=%20v";
  const auto deliveries = hs::sign_webhooks(f.api, events, url, "secret", 1'714'557'600'123, 2);
  REQUIRE(deliveries.size() == 2);
  CHECK(json::parse(deliveries[0].body).as_array().size() == 100);
  CHECK(json::parse(deliveries[1].body).as_array().size() == 50);
  CHECK(json::parse(deliveries[1].body).at(0).at("attemptNumber").as_int64() == 2);
  std::map<std::string, std::string> h(deliveries[1].headers.begin(), deliveries[1].headers.end());
  CHECK(h["X-HubSpot-Request-Timestamp"] == "1714557600123");
  CHECK(h["X-HubSpot-Signature"] == hs::signature_v1("secret", deliveries[1].body));
  CHECK(h["X-HubSpot-Signature-v3"] ==
        hs::signature_v3("secret", "POST", url, deliveries[1].body, "1714557600123"));
  CHECK(h["X-HubSpot-Signature-v3"] !=
        hs::signature_v3("other", "POST", url, deliveries[1].body, "1714557600123"));
}

TEST_CASE("HubSpot admin routing: create, read, patch, delete and snapshot", "[sim][hubspot][admin]") {
  hubspot_fixture f;
  auto created = f.api.admin("POST", "contacts", "", R"({"email":"admin.made@example.com","firstname":"A"})");
  REQUIRE(created.status == 201);
  const std::string id(created.body.at("id").as_string());
  CHECK(f.api.admin("GET", "contacts", id, "").body.at("properties").at("email").as_string() == "admin.made@example.com");
  CHECK(f.api.admin("PATCH", "contacts", id, R"({"properties":{"firstname":"B"}})").body.at("properties").at("firstname").as_string() == "B");
  CHECK(f.api.admin("DELETE", "contacts", id, "").status == 200);
  CHECK(f.api.admin("DELETE", "contacts", id, "").status == 404);
  CHECK(f.api.admin("GET", "widgets", "", "").status == 404);
  CHECK(f.api.admin("PATCH", "contacts", "1", "{bad").status == 400);
  auto snap = f.api.snapshot();
  CHECK(snap.at("contacts").as_array().size() == 251);  // 250 seeded + the archived one
  CHECK(snap.at("deals").as_array().size() == 125);
  const auto events = f.api.take_events();
  CHECK(events.front().subscription_type == "contact.creation");
  CHECK(events.back().subscription_type == "contact.deletion");
}

TEST_CASE("HubSpot indexed search agrees with the full scan after mutations", "[sim][hubspot][search]") {
  hubspot_fixture f;
  const auto search = [&](const std::string& filters, const std::string& direction, const std::string& extra_sort) {
    std::vector<std::string> ids;
    std::string after = "0";
    for (int i = 0; i < 100; ++i) {
      auto body = f.call_json("POST", "/crm/v3/objects/contacts/search",
                              R"({"filterGroups":[{"filters":[)" + filters + R"(]}],"sorts":[{"propertyName":"lastmodifieddate","direction":")" +
                                  direction + "\"}" + extra_sort + R"(],"limit":7,"after":")" + after + "\"}");
      for (const auto& r : body.at("results").as_array()) ids.emplace_back(r.at("id").as_string());
      if (!body.as_object().contains("paging")) break;
      after = std::string(body.at("paging").at("next").at("after").as_string());
    }
    return ids;
  };
  const std::string since = std::to_string(f.now - 60 * 60'000);
  const std::string filter = R"({"propertyName":"lastmodifieddate","operator":"GTE","value":")" + since + "\"}";
  // The second sort key ("email") keeps the request off the fast path: the full scan is the reference.
  const std::string slow_sort = R"(,{"propertyName":"hs_object_id","direction":"ASCENDING"})";
  for (int round = 0; round < 3; ++round) {
    CHECK(search(filter, "ASCENDING", "") == search(filter, "ASCENDING", slow_sort));
    CHECK(search(filter, "DESCENDING", "") == search(filter, "DESCENDING", slow_sort));
    const std::string with_other = filter + R"(,{"propertyName":"lifecyclestage","operator":"EQ","value":"lead"})";
    CHECK(search(with_other, "ASCENDING", "") == search(with_other, "ASCENDING", slow_sort));
    // Mutate: two records get the same new stamp, one is archived, one is created.
    f.now += 1000;
    REQUIRE(f.api.admin_update("contacts", 3 + round, json::object{{"firstname", "R" + std::to_string(round)}}));
    REQUIRE(f.api.admin_update("contacts", 200 + round, json::object{{"firstname", "S" + std::to_string(round)}}));
    REQUIRE(f.api.admin_archive("contacts", 240 + round));
    REQUIRE(f.api.admin_create("contacts", json::object{{"email", "n" + std::to_string(round) + "@example.com"}}));
  }
}

TEST_CASE("HubSpot association batch reads (v3 and v4) in both directions", "[sim][hubspot]") {
  hubspot_fixture f;
  auto v3 = f.call_json("POST", "/crm/v3/associations/deals/contacts/batch/read", R"({"inputs":[{"id":"2"},{"id":"5"}]})");
  REQUIRE(v3.at("results").as_array().size() == 2);
  CHECK(v3.at("results").at(0).at("to").at(0).at("id").as_string() == "3");
  CHECK(v3.at("results").at(0).at("to").at(0).at("type").as_string() == "deal_to_contact");
  // Contact 9 has deal 5 (deal i belongs to contact 2i-1); contact 2 has none (even contacts have no deal).
  auto back = f.call("POST", "/crm/v4/associations/contacts/deals/batch/read", R"({"inputs":[{"id":"9"},{"id":"2"}]})");
  REQUIRE(back.status == 207);
  auto bj = json::parse(back.body);
  CHECK(bj.at("results").at(0).at("to").at(0).at("toObjectId").as_int64() == 5);
  CHECK(bj.at("results").at(0).at("to").at(0).at("associationTypes").at(0).at("typeId").as_int64() == 4);
  CHECK(bj.at("errors").at(0).at("subCategory").as_string() == "crm.associations.NO_ASSOCIATIONS_FOUND");
  CHECK(f.call("POST", "/crm/v4/associations/deals/widgets/batch/read", R"({"inputs":[]})").status == 400);
}

TEST_CASE("HubSpot upsert on omnisync_id creates the custom properties and echoes what it wrote", "[sim][hubspot]") {
  hubspot_fixture f;
  auto r = f.call("POST", "/crm/v3/objects/contacts/batch/upsert",
                  R"({"inputs":[{"id":"p_1","idProperty":"omnisync_id","properties":{"omnisync_id":"p_1",)"
                  R"("email":"new.person@example.com","omnisync_lifetime_value":2400,"omnisync_csat_average":"0.75"}}]})");
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto body = json::parse(r.body);
  const auto& props = body.at("results").at(0).at("properties");
  CHECK(body.at("results").at(0).at("new").as_bool());
  CHECK(props.at("omnisync_id").as_string() == "p_1");  // the idProperty comes back, so callers can match results
  CHECK(props.at("omnisync_lifetime_value").as_string() == "2400");
  CHECK(props.at("email").as_string() == "new.person@example.com");
  // A number property refuses text, per record (207), naming the id.
  auto bad = f.call_json("POST", "/crm/v3/objects/contacts/batch/upsert",
                         R"({"inputs":[{"id":"p_2","idProperty":"omnisync_id","properties":{"omnisync_open_tickets":"many"}}]})",
                         207);
  CHECK(bad.at("errors").at(0).at("context").at("id").as_string() == "p_2");
  auto described = f.call_json("GET", "/crm/v3/properties/contacts");
  bool custom = false;
  for (const auto& p : described.at("results").as_array())
    if (p.at("name").as_string() == "omnisync_lifetime_value") custom = !p.at("hubspotDefined").as_bool();
  CHECK(custom);
}

TEST_CASE("HubSpot batch update by id writes known ids and reports unknown ones with 207", "[sim][hubspot][batch]") {
  hubspot_fixture f;
  auto ok = f.call_json("POST", "/crm/v3/objects/contacts/batch/update",
                        R"({"inputs":[{"id":"3","properties":{"firstname":"ById","omnisync_id":"p_3"}}]})");
  CHECK(ok.at("status").as_string() == "COMPLETE");
  CHECK(ok.at("results").at(0).at("id").as_string() == "3");
  CHECK_FALSE(ok.as_object().contains("errors"));
  auto partial = f.call("POST", "/crm/v3/objects/contacts/batch/update",
                        R"({"inputs":[{"id":"4","properties":{"firstname":"Four"}},{"id":"987654","properties":{"firstname":"X"}}]})");
  REQUIRE(partial.status == 207);
  auto p = json::parse(partial.body);
  CHECK(p.at("results").as_array().size() == 1);
  CHECK(p.at("numErrors").as_int64() == 1);
  CHECK(p.at("errors").at(0).at("category").as_string() == "OBJECT_NOT_FOUND");
  CHECK(p.at("errors").at(0).at("context").at("ids").at(0).as_string() == "987654");
  auto three = f.call_json("GET", "/crm/v3/objects/contacts/3?properties=firstname,omnisync_id");
  CHECK(three.at("properties").at("firstname").as_string() == "ById");
  CHECK(three.at("properties").at("omnisync_id").as_string() == "p_3");
}
