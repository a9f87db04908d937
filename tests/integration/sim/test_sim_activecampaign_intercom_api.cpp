// ActiveCampaign and Intercom simulator semantics in-process (no HTTP).
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "sim/activecampaign/api.hpp"
#include "sim/activecampaign/form.hpp"
#include "sim/intercom/api.hpp"
#include "sim/intercom/signature.hpp"

namespace ac = omnisync::sim::activecampaign;
namespace ic = omnisync::sim::intercom;
namespace json = boost::json;

TEST_CASE("ActiveCampaign contact sync creates (201) then updates (200) by email", "[sim][activecampaign]") {
  std::int64_t now = 1'714'557'600'000;
  ac::api api(ac::default_seed(3, 40, now), [&] { return now; });
  const auto call = [&](std::string m, std::string t, std::string b = {}) {
    return api.handle({std::move(m), std::move(t), std::move(b), "key", "http://sim"});
  };
  auto created = call("POST", "/api/3/contact/sync",
                      R"({"contact":{"email":"Ann@Example.com","firstName":"Ann","fieldValues":[{"field":"1","value":"crm-1"}]}})");
  REQUIRE(created.status == 201);
  const auto id = std::string(json::parse(created.body).at("contact").at("id").as_string());
  CHECK(std::stoll(id) == 21);
  now += 1000;
  auto updated = call("POST", "/api/3/contact/sync", R"({"contact":{"email":"ann@example.com","lastName":"Lee"}})");
  REQUIRE(updated.status == 200);
  auto uj = json::parse(updated.body);
  CHECK(uj.at("contact").at("id").as_string() == id);
  CHECK(uj.at("contact").at("lastName").as_string() == "Lee");
  CHECK(uj.at("fieldValues").at(0).at("value").as_string() == "crm-1");
  CHECK(call("POST", "/api/3/contact/sync", R"({"contact":{"email":"nope"}})").status == 422);
  CHECK(api.handle({"GET", "/api/3/contacts", "", "", "http://sim"}).status == 401);

  auto events = api.take_events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == "subscribe");
  CHECK(events[1].type == "update");
  const auto fields = ac::form_decode(api.webhook_body(events[1]));
  const auto get = [&](const std::string& key) {
    for (const auto& [k, v] : fields) {
      if (k == key) return v;
    }
    return std::string("<missing>");
  };
  CHECK(get("type") == "update");
  CHECK(get("contact[id]") == id);
  CHECK(get("contact[email]") == "ann@example.com");  // sync writes the email as sent
  CHECK(get("contact[last_name]") == "Lee");
  CHECK(get("contact[fields][1]") == "crm-1");
  CHECK(get("initiated_by") == "api");
}

TEST_CASE("ActiveCampaign lists contacts with updated_after, udate order and offsets", "[sim][activecampaign]") {
  std::int64_t now = 1'714'557'600'000;
  ac::api api(ac::default_seed(3, 40, now), [&] { return now; });
  api.set_limits(json::object{{"per_second", 1000}});
  const auto list = [&](const std::string& q) {
    auto r = api.handle({"GET", "/api/3/contacts?" + q, "", "key", "http://sim"});
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  auto all = list("limit=100");
  CHECK(all.at("meta").at("total").as_string() == "20");
  REQUIRE(api.admin_update(5, json::object{{"firstName", "Changed"}}));
  auto recent = list("filters%5Bupdated_after%5D=" + ac::ac_time(now / 1000 - 1) + "&orders%5Budate%5D=ASC");
  REQUIRE(recent.at("contacts").as_array().size() == 1);
  CHECK(recent.at("contacts").at(0).at("firstName").as_string() == "Changed");
  for (const char* bad : {"2024-05-01T05:00:00%2Bab:cd", "2024-05-01T05:00", "yesterday"}) {
    CHECK(api.handle({"GET", std::string("/api/3/contacts?filters%5Bupdated_after%5D=") + bad, "", "key", "http://sim"}).status == 400);
  }
  CHECK(list("filters%5Bupdated_after%5D=2024-05-01T05:00:00%2B02:00").at("meta").at("total").as_string() == "20");
  auto page2 = list("limit=5&offset=5");
  CHECK(page2.at("contacts").at(0).at("id").as_string() == "6");
  api.set_limits(json::object{{"per_second", 1}});
  CHECK(api.handle({"GET", "/api/3/contacts", "", "key", "http://sim"}).status == 200);
  CHECK(api.handle({"GET", "/api/3/contacts", "", "key", "http://sim"}).status == 429);
}

TEST_CASE("Intercom contact ids round-trip", "[sim][intercom]") {
  CHECK(ic::contact_id(1).size() == 24);
  CHECK(ic::contact_index(ic::contact_id(123456)) == 123456);
  CHECK_FALSE(ic::contact_index("530370b477ad7120001d"));
}

TEST_CASE("Intercom timestamp search compares whole days", "[sim][intercom]") {
  const std::int64_t day = 1'714'521'600;  // 2024-05-01T00:00:00Z
  CHECK_FALSE(ic::timestamp_matches(day + 3600, ">", day));  // same day is not "greater"
  CHECK(ic::timestamp_matches(day + 86400, ">", day + 80000));
  CHECK(ic::timestamp_matches(day + 10, "=", day + 86399));
  CHECK(ic::timestamp_matches(day - 1, "<", day));
}

TEST_CASE("Intercom search, list paging, create conflicts and update", "[sim][intercom]") {
  std::int64_t now = 1'714'557'600'000;
  ic::api api(ic::default_seed(5, 90, now), [&] { return now; });
  const auto call = [&](std::string m, std::string t, std::string b = {}) {
    return api.handle({std::move(m), std::move(t), std::move(b), "Bearer tok"});
  };
  // List pages of 7 until no next.
  std::size_t seen = 0;
  std::string target = "/contacts?per_page=7";
  for (int i = 0; i < 10; ++i) {
    auto r = call("GET", target);
    REQUIRE(r.status == 200);
    auto j = json::parse(r.body);
    CHECK(j.at("total_count").as_int64() == 30);
    seen += j.at("data").as_array().size();
    if (!j.at("pages").as_object().contains("next")) break;
    target = "/contacts?per_page=7&starting_after=" + std::string(j.at("pages").at("next").at("starting_after").as_string());
  }
  CHECK(seen == 30);
  CHECK(call("GET", "/contacts?per_page=151").status == 400);

  // A change today is not found by "> today" (day granularity) but is by "> yesterday".
  now += 3'600'000;
  auto created = call("POST", "/contacts", R"({"role":"user","email":"new@example.com","external_id":"crm-new"})");
  REQUIRE(created.status == 200);
  const std::string id(json::parse(created.body).at("id").as_string());
  const auto today = now / 1000;
  auto search = [&](std::int64_t value) {
    auto r = call("POST", "/contacts/search",
                  R"({"query":{"operator":"AND","value":[{"field":"updated_at","operator":">","value":)" +
                      std::to_string(value) + R"(},{"field":"role","operator":"=","value":"user"}]},)"
                      R"("sort":{"field":"updated_at","order":"ascending"},"pagination":{"per_page":50}})");
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  CHECK(search(today).at("total_count").as_int64() == 0);
  auto hits = search(today - 86400);
  REQUIRE(hits.at("total_count").as_int64() >= 1);
  CHECK(hits.at("data").as_array().back().at("id").as_string() == id);
  CHECK(call("POST", "/contacts/search", R"({"query":{"field":"updated_at","operator":">=","value":1}})").status == 400);

  auto dup = call("POST", "/contacts", R"({"role":"user","email":"NEW@example.com"})");
  CHECK(dup.status == 409);
  CHECK(json::parse(dup.body).at("errors").at(0).at("code").as_string() == "conflict");
  auto upd = call("PUT", "/contacts/" + id, R"({"name":"Nu","custom_attributes":{"plan":"pro"}})");
  REQUIRE(upd.status == 200);
  CHECK(json::parse(upd.body).at("custom_attributes").at("plan").as_string() == "pro");
  CHECK(call("PUT", "/contacts/65a100000000000000000999", "{}").status == 404);
  auto unauthorized = api.handle({"GET", "/contacts", "", ""});
  CHECK(unauthorized.status == 401);
  CHECK(json::parse(unauthorized.body).at("type").as_string() == "error.list");

  auto events = api.take_events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].topic == "contact.user.created");
  CHECK(events[1].topic == "contact.user.updated");
  auto body = json::parse(api.webhook_body(events[1]));
  CHECK(body.at("type").as_string() == "notification_event");
  CHECK(body.at("data").at("item").at("id").as_string() == id);

  auto convs = call("GET", "/conversations?per_page=10");
  REQUIRE(convs.status == 200);
  auto cj = json::parse(convs.body);
  CHECK(cj.at("total_count").as_int64() == 30);
  CHECK(cj.at("conversations").as_array().size() == 10);
}

TEST_CASE("Intercom webhook deliveries are signed with X-Hub-Signature", "[sim][intercom][webhook]") {
  std::int64_t now = 1'714'557'600'000;
  ic::api api(ic::default_seed(5, 30, now), [&] { return now; });
  REQUIRE(api.admin_update("contacts", "2", boost::json::object{{"name", "Changed"}}));
  const auto deliveries = api.sign_webhooks(api.take_events(), "client-secret");
  REQUIRE(deliveries.size() == 1);
  CHECK(deliveries[0].headers.back().first == "X-Hub-Signature");
  CHECK(deliveries[0].headers.back().second == ic::hub_signature("client-secret", deliveries[0].body));
  CHECK(json::parse(deliveries[0].body).at("topic").as_string().ends_with(".updated"));
}

TEST_CASE("Intercom ping notification", "[sim][intercom][webhook]") {
  std::int64_t now = 1'714'557'600'000;
  ic::api api(ic::default_seed(5, 3, now), [&] { return now; });
  const auto ping = api.ping_event();
  auto body = json::parse(api.webhook_body(ping));
  CHECK(body.at("topic").as_string() == "ping");
  CHECK(body.at("created_at").as_int64() == now / 1000);
  CHECK(api.take_events().empty());
}

TEST_CASE("Intercom conversation search by updated_at, show, and data attributes per model", "[sim][intercom]") {
  std::int64_t now = 1'714'557'600'000;
  ic::api api(ic::default_seed(5, 90, now), [&] { return now; });
  const auto call = [&](std::string m, std::string t, std::string b = {}) {
    return api.handle({std::move(m), std::move(t), std::move(b), "Bearer tok"});
  };
  // Every conversation once, in pages of 7, ascending by created_at: the same paging as contact search.
  std::set<std::string> ids;
  std::string after;
  std::int64_t last_created = 0;
  for (int i = 0; i < 10; ++i) {
    std::string body = R"({"query":{"field":"updated_at","operator":">","value":0},"sort":{"field":"created_at","order":"ascending"},"pagination":{"per_page":7)";
    if (!after.empty()) body += R"(,"starting_after":")" + after + "\"";
    body += "}}";
    auto r = call("POST", "/conversations/search", body);
    REQUIRE(r.status == 200);
    auto j = json::parse(r.body);
    CHECK(j.at("type").as_string() == "conversation.list");
    CHECK(j.at("total_count").as_int64() == 30);
    for (const auto& c : j.at("conversations").as_array()) {
      CHECK(ids.insert(std::string(c.at("id").as_string())).second);
      CHECK(c.at("created_at").as_int64() >= last_created);
      last_created = c.at("created_at").as_int64();
    }
    if (!j.at("pages").as_object().contains("next")) break;
    after = std::string(j.at("pages").at("next").at("starting_after").as_string());
  }
  CHECK(ids.size() == 30);
  // Day granularity as for contacts: nothing is "after" today, and >= is refused on timestamps.
  auto none = call("POST", "/conversations/search", R"({"query":{"field":"updated_at","operator":">","value":)" +
                                                        std::to_string(now / 1000 + 86400) + "}}");
  REQUIRE(none.status == 200);
  CHECK(json::parse(none.body).at("total_count").as_int64() == 0);
  CHECK(call("POST", "/conversations/search", R"({"query":{"field":"updated_at","operator":">=","value":1}})").status == 400);
  CHECK(json::parse(call("POST", "/conversations/search", "{}").body).at("type").as_string() == "error.list");

  auto one = call("GET", "/conversations/" + *ids.begin());
  REQUIRE(one.status == 200);
  CHECK(json::parse(one.body).at("id").as_string() == *ids.begin());
  CHECK(call("GET", "/conversations/100000").status == 404);
  CHECK(call("GET", "/conversations/100031").status == 404);

  auto attrs = call("GET", "/data_attributes?model=contact");
  REQUIRE(attrs.status == 200);
  std::map<std::string, json::object> by_name;
  const auto attrs_json = json::parse(attrs.body);
  for (const auto& a : attrs_json.at("data").as_array()) {
    CHECK(a.at("model").as_string() == "contact");
    by_name[std::string(a.at("full_name").as_string())] = a.as_object();
  }
  REQUIRE(by_name.count("email"));
  CHECK(by_name["email"].at("api_writable").as_bool());
  CHECK_FALSE(by_name["updated_at"].at("api_writable").as_bool());
  REQUIRE(by_name.count("custom_attributes.plan"));
  CHECK(by_name["custom_attributes.plan"].at("custom").as_bool());
  CHECK(by_name["custom_attributes.plan"].at("name").as_string() == "plan");
  auto conv_attrs = json::parse(call("GET", "/data_attributes?model=conversation").body);
  for (const auto& a : conv_attrs.at("data").as_array()) CHECK(a.at("model").as_string() == "conversation");
  CHECK_FALSE(conv_attrs.at("data").as_array().empty());
  CHECK(call("GET", "/data_attributes?model=ticket").status == 400);
}

TEST_CASE("ActiveCampaign pages contacts by id_greater with orders[id]", "[sim][activecampaign]") {
  std::int64_t now = 1'714'557'600'000;
  ac::api api(ac::default_seed(3, 40, now), [&] { return now; });
  api.set_limits(json::object{{"per_second", 1000}});
  const auto list = [&](const std::string& q) {
    auto r = api.handle({"GET", "/api/3/contacts?" + q, "", "key", "http://sim"});
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  };
  REQUIRE(api.admin_delete(4));
  std::vector<std::string> ids;
  std::string after = "0";
  for (int i = 0; i < 10; ++i) {
    auto page = list("orders%5Bid%5D=ASC&limit=6&id_greater=" + after);
    const auto& contacts = page.at("contacts").as_array();
    for (const auto& c : contacts) ids.emplace_back(c.at("id").as_string());
    if (contacts.size() < 6) break;
    after = ids.back();
  }
  REQUIRE(ids.size() == 19);  // 20 seeded, one deleted
  CHECK(std::find(ids.begin(), ids.end(), "4") == ids.end());
  CHECK(std::is_sorted(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); }));
  auto desc = list("orders%5Bid%5D=DESC&limit=1");
  CHECK(desc.at("contacts").at(0).at("id").as_string() == "20");
  CHECK(api.handle({"GET", "/api/3/contacts?id_greater=x", "", "key", "http://sim"}).status == 400);
}
