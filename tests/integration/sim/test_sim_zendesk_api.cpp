// Zendesk simulator semantics in-process (no HTTP): cursor and time-based incremental exports, start_time
// rules, create_or_update(_many) with job statuses, satisfaction ratings paging, rate limits, webhook events.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include <boost/json.hpp>

#include "sim/zendesk/api.hpp"
#include "sim/zendesk/signature.hpp"

namespace zd = omnisync::sim::zendesk;
namespace json = boost::json;

namespace {

struct zendesk_fixture {
  std::int64_t now = 1'714'557'600'000;
  zd::api api{zd::default_seed(11, 120, now), [this] { return now; }};
  zd::api_reply call(std::string method, std::string target, std::string body = {}) {
    return api.handle({std::move(method), std::move(target), std::move(body), "Basic dXNlcjp0b2tlbg==", "http://sim"});
  }
  json::value ok(std::string method, std::string target, std::string body = {}, int expect = 200) {
    auto r = call(std::move(method), std::move(target), std::move(body));
    INFO(r.body);
    REQUIRE(r.status == expect);
    return json::parse(r.body);
  }
};

std::string header(const zd::api_reply& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace

TEST_CASE("Zendesk cursor export walks every user once and ends with end_of_stream", "[sim][zendesk]") {
  zendesk_fixture f;
  f.api.set_limits(json::object{{"cursor_users_per_minute", 1000}});
  std::set<std::int64_t> ids;
  std::string target = "/api/v2/incremental/users/cursor.json?start_time=0&per_page=25";
  std::string last_cursor;
  for (int i = 0; i < 20; ++i) {
    auto body = f.ok("GET", target);
    for (const auto& u : body.at("users").as_array()) CHECK(ids.insert(u.at("id").as_int64()).second);
    last_cursor = std::string(body.at("after_cursor").as_string());
    CHECK(body.at("after_url").as_string().starts_with("http://sim/api/v2/incremental/users/cursor.json?cursor="));
    if (body.at("end_of_stream").as_bool()) break;
    target = "/api/v2/incremental/users/cursor?cursor=" + last_cursor;
  }
  CHECK(ids.size() == 120);
  // Polling again from the stored cursor yields nothing until something changes.
  auto again = f.ok("GET", "/api/v2/incremental/users/cursor.json?cursor=" + last_cursor);
  CHECK(again.at("users").as_array().empty());
  CHECK(again.at("end_of_stream").as_bool());
  CHECK(again.at("after_cursor").as_string() == last_cursor);
  f.now += 5000;
  REQUIRE(f.api.admin_update("users", 7, json::object{{"name", "Renamed"}}));
  // An export leaves out what changed within the settle time (Zendesk: the last minute; the simulator: the current
  // second), so a cursor never passes a second that can still change.
  auto early = f.ok("GET", "/api/v2/incremental/users/cursor.json?cursor=" + last_cursor);
  CHECK(early.at("users").as_array().empty());
  CHECK(early.at("after_cursor").as_string() == last_cursor);
  f.now += 1000;
  auto changed = f.ok("GET", "/api/v2/incremental/users/cursor.json?cursor=" + last_cursor);
  REQUIRE(changed.at("users").as_array().size() == 1);
  CHECK(changed.at("users").at(0).at("name").as_string() == "Renamed");
  CHECK(f.call("GET", "/api/v2/incremental/users/cursor.json?cursor=garbage").status == 400);
}

TEST_CASE("Zendesk exports hold back changes for the configured settle time (60 s as Zendesk documents)",
          "[sim][zendesk]") {
  zendesk_fixture f;
  f.api.set_limits(json::object{{"cursor_users_per_minute", 1000}, {"export_settle_s", 60}});
  auto tail = [&] {
    std::string target = "/api/v2/incremental/users/cursor.json?start_time=0&per_page=1000";
    auto body = f.ok("GET", target);
    return std::string(body.at("after_cursor").as_string());
  };
  const std::string settled = tail();
  f.now += 1000;
  REQUIRE(f.api.admin_update("users", 5, json::object{{"name", "Within The Minute"}}));
  f.now += 59'000;
  CHECK(f.ok("GET", "/api/v2/incremental/users/cursor.json?cursor=" + settled).at("users").as_array().empty());
  f.now += 1000;
  auto body = f.ok("GET", "/api/v2/incremental/users/cursor.json?cursor=" + settled);
  REQUIRE(body.at("users").as_array().size() == 1);
  CHECK(body.at("users").at(0).at("name").as_string() == "Within The Minute");
}

TEST_CASE("Zendesk rejects a start_time within the last minute", "[sim][zendesk]") {
  zendesk_fixture f;
  const auto now_s = f.now / 1000;
  auto r = f.call("GET", "/api/v2/incremental/users/cursor.json?start_time=" + std::to_string(now_s - 30));
  CHECK(r.status == 400);
  CHECK(r.body.find("Too recent start_time") != std::string::npos);
  CHECK(f.call("GET", "/api/v2/incremental/tickets/cursor.json?start_time=" + std::to_string(now_s - 60)).status == 200);
  CHECK(f.call("GET", "/api/v2/incremental/users/cursor.json").status == 400);
}

TEST_CASE("Zendesk time-based export pages by end_time", "[sim][zendesk]") {
  zendesk_fixture f;
  auto body = f.ok("GET", "/api/v2/incremental/tickets.json?start_time=0&per_page=50");
  CHECK(body.at("count").as_int64() == 50);
  CHECK_FALSE(body.at("end_of_stream").as_bool());
  CHECK(body.at("tickets").at(0).as_object().contains("generated_timestamp"));
  const auto end_time = body.at("end_time").as_int64();
  CHECK(body.at("next_page").as_string().ends_with("start_time=" + std::to_string(end_time)));
  auto rest = f.ok("GET", "/api/v2/incremental/tickets.json?start_time=" + std::to_string(end_time));
  CHECK(rest.at("end_of_stream").as_bool());
  CHECK(rest.at("count").as_int64() >= 10);  // 60 tickets, boundary repeats allowed
}

TEST_CASE("Zendesk create_or_update_many returns a job that completes with per-user results", "[sim][zendesk]") {
  zendesk_fixture f;
  f.api.set_limits(json::object{{"job_delay_ms", 1000}});
  auto existing = f.ok("GET", "/api/v2/users/3.json");
  const std::string email(existing.at("user").at("email").as_string());
  std::string upper = email;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto job = f.ok("POST", "/api/v2/users/create_or_update_many.json",
                  R"({"users":[{"email":")" + upper + R"(","name":"Updated Name","external_id":null},)"
                  R"({"email":"brand.new@example.com","name":"Brand New"},{"email":"bad-email","name":"X"}]})");
  CHECK(job.at("job_status").at("status").as_string() == "queued");
  CHECK(job.at("job_status").at("total").as_int64() == 3);
  const std::string id(job.at("job_status").at("id").as_string());
  CHECK(f.ok("GET", "/api/v2/job_statuses/" + id + ".json").at("job_status").at("status").as_string() == "queued");
  f.now += 1000;
  auto done = f.ok("GET", "/api/v2/job_statuses/" + id);
  CHECK(done.at("job_status").at("status").as_string() == "completed");
  const auto& results = done.at("job_status").at("results").as_array();
  REQUIRE(results.size() == 3);
  CHECK(results[0].at("status").as_string() == "Updated");
  CHECK(results[0].at("id").as_int64() == 3);
  CHECK(results[1].at("status").as_string() == "Created");
  CHECK(results[1].at("action").as_string() == "create");
  CHECK(results[2].at("status").as_string() == "Failed");
  CHECK(results[2].at("index").as_int64() == 2);
  CHECK(f.ok("GET", "/api/v2/users/3.json").at("user").at("name").as_string() == "Updated Name");
  CHECK(f.call("GET", "/api/v2/job_statuses/nope.json").status == 404);

  std::string many = R"({"users":[)";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + R"({"email":"u)" + std::to_string(i) + R"(@x.com","name":"U"})";
  CHECK(f.call("POST", "/api/v2/users/create_or_update_many.json", many + "]}").status == 400);
}

TEST_CASE("Zendesk create_or_update answers 201 then 200", "[sim][zendesk]") {
  zendesk_fixture f;
  auto a = f.call("POST", "/api/v2/users/create_or_update.json", R"({"user":{"email":"x@example.com","name":"X","external_id":"crm-x"}})");
  CHECK(a.status == 201);
  auto b = f.call("POST", "/api/v2/users/create_or_update.json", R"({"user":{"external_id":"crm-x","name":"X2"}})");
  CHECK(b.status == 200);
  CHECK(json::parse(b.body).at("user").at("name").as_string() == "X2");
  CHECK(f.call("POST", "/api/v2/users/create_or_update.json", R"({"user":{"name":"no key"}})").status == 422);
}

TEST_CASE("Zendesk satisfaction ratings page with cursors and links.next", "[sim][zendesk]") {
  zendesk_fixture f;
  auto page = f.ok("GET", "/api/v2/satisfaction_ratings.json?page%5Bsize%5D=20");
  CHECK(page.at("satisfaction_ratings").as_array().size() == 20);
  CHECK(page.at("meta").at("has_more").as_bool());
  const std::string next(page.at("links").at("next").as_string());
  auto rest = f.ok("GET", next.substr(std::string("http://sim").size()));
  CHECK(rest.at("satisfaction_ratings").as_array().size() == 10);
  CHECK_FALSE(rest.at("meta").at("has_more").as_bool());
  CHECK(rest.at("satisfaction_ratings").at(0).at("id").as_int64() == 21);
  auto fields = f.ok("GET", "/api/v2/user_fields.json");
  CHECK(fields.at("user_fields").as_array().size() == 5);
}

TEST_CASE("Zendesk rate limit answers 429 with Retry-After and a plain-text body", "[sim][zendesk]") {
  zendesk_fixture f;
  f.api.set_limits(json::object{{"per_minute", 2}});
  auto first = f.call("GET", "/api/v2/users/1.json");
  CHECK(header(first, "X-Rate-Limit") == "2");
  CHECK(header(first, "X-Rate-Limit-Remaining") == "1");
  f.call("GET", "/api/v2/users/1.json");
  f.now += 15'000;
  auto limited = f.call("GET", "/api/v2/users/1.json");
  CHECK(limited.status == 429);
  CHECK(header(limited, "Retry-After") == "45");
  CHECK(header(limited, "Content-Type").starts_with("text/plain"));
  boost::system::error_code ec;
  json::parse(limited.body, ec);
  CHECK(ec);  // not JSON, as the real 429 body
  f.now += 45'000;
  CHECK(f.call("GET", "/api/v2/users/1.json").status == 200);
  CHECK(f.api.handle({"GET", "/api/v2/users/1.json", "", "", "http://sim"}).status == 401);
}

TEST_CASE("Zendesk mutations produce signed-ready webhook events", "[sim][zendesk][webhook]") {
  zendesk_fixture f;
  f.api.take_events();
  REQUIRE(f.api.admin_update("users", 4, json::object{{"name", "New Name"}}));
  REQUIRE(f.api.admin_create("users", json::object{{"name", "Admin Made"}, {"email", "made@example.com"}}));
  auto events = f.api.take_events();
  REQUIRE(events.size() == 2);
  auto body = json::parse(f.api.webhook_body(events[0]));
  CHECK(body.at("type").as_string() == "zen:event-type:user.name_changed");
  CHECK(body.at("subject").as_string() == "zen:user:4");
  CHECK(body.at("detail").at("id").as_string() == "4");
  CHECK(body.at("event").at("current").as_string() == "New Name");
  CHECK(json::parse(f.api.webhook_body(events[1])).at("type").as_string() == "zen:event-type:user.created");
  CHECK(events[0].id != events[1].id);
}

TEST_CASE("Zendesk webhook deliveries carry the documented headers and a verifiable signature", "[sim][zendesk][webhook]") {
  zendesk_fixture f;
  f.api.take_events();
  REQUIRE(f.api.admin_delete("users", 9));
  const auto deliveries = f.api.sign_webhooks(f.api.take_events(), "whsec", 1'714'557'600'999);
  REQUIRE(deliveries.size() == 1);
  std::map<std::string, std::string> h(deliveries[0].headers.begin(), deliveries[0].headers.end());
  CHECK(h["X-Zendesk-Webhook-Signature-Timestamp"] == "2024-05-01T10:00:00Z");
  CHECK(h["X-Zendesk-Webhook-Signature"] == zd::webhook_signature("whsec", "2024-05-01T10:00:00Z", deliveries[0].body));
  CHECK(h["X-Zendesk-Account-Id"] == std::to_string(f.api.account_id()));
  CHECK(json::parse(deliveries[0].body).at("type").as_string() == "zen:event-type:user.deleted");
}

TEST_CASE("Zendesk admin routing and snapshot", "[sim][zendesk][admin]") {
  zendesk_fixture f;
  auto created = f.api.admin("POST", "tickets", "", R"({"ticket":{"subject":"Admin ticket","status":"new","requester_id":1}})");
  REQUIRE(created.status == 201);
  const auto id = std::to_string(created.body.at("id").as_int64());
  CHECK(f.api.admin("PATCH", "tickets", id, R"({"status":"solved"})").body.at("status").as_string() == "solved");
  CHECK(f.api.admin("DELETE", "users", "1", "").status == 200);
  CHECK(f.api.admin("GET", "users", "1", "").body.at("active").as_bool() == false);
  CHECK(f.api.admin("GET", "users", "abc", "").status == 404);
  auto snap = f.api.snapshot();
  CHECK(snap.at("users").as_array().size() == 120);
  CHECK(snap.at("tickets").as_array().size() == 61);
}

TEST_CASE("Zendesk show_many, user search and partial user_fields updates", "[sim][zendesk]") {
  zendesk_fixture f;
  auto many = f.ok("GET", "/api/v2/users/show_many.json?ids=1,2,99999");
  REQUIRE(many.at("users").as_array().size() == 2);  // unknown ids are left out
  CHECK(many.at("users").at(1).at("id").as_int64() == 2);
  auto tickets = f.ok("GET", "/api/v2/tickets/show_many.json?ids=3");
  CHECK(tickets.at("tickets").at(0).at("id").as_int64() == 3);
  CHECK(f.call("GET", "/api/v2/users/show_many.json?ids=x").status == 400);

  const std::string email(many.at("users").at(0).at("email").as_string());
  std::string upper = email;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto found = f.ok("GET", "/api/v2/users/search.json?query=email:" + upper);
  REQUIRE(found.at("users").as_array().size() == 1);  // emails match without case
  CHECK(found.at("users").at(0).at("id").as_int64() == 1);
  CHECK(f.ok("GET", "/api/v2/users/search.json?query=nobody@example.com").at("count").to_number<std::int64_t>() == 0);

  // user_fields named in a write change; the others keep their values.
  f.ok("POST", "/api/v2/users/create_or_update.json",
       R"({"user":{"email":")" + email + R"(","user_fields":{"lifetime_value":99.5}}})");
  auto user = f.ok("GET", "/api/v2/users/1.json");
  CHECK(user.at("user").at("user_fields").at("lifetime_value").as_double() == 99.5);
  CHECK(user.at("user").at("user_fields").as_object().contains("plan"));
}

TEST_CASE("Zendesk update_many updates users by id in a job, unknown ids and taken emails fail alone", "[sim][zendesk]") {
  zendesk_fixture f;
  const std::string taken(f.ok("GET", "/api/v2/users/4.json").at("user").at("email").as_string());
  f.api.admin("DELETE", "users", "6", "");
  auto job = f.ok("PUT", "/api/v2/users/update_many.json",
                  R"({"users":[{"id":3,"name":"By Id","external_id":"linked-3"},{"id":99999,"name":"Ghost"},)"
                  R"({"id":5,"email":")" + taken + R"("},{"id":6,"name":"Deleted"},{"name":"No Id"}]})");
  CHECK(job.at("job_status").at("total").as_int64() == 5);
  const std::string id(job.at("job_status").at("id").as_string());
  auto done = f.ok("GET", "/api/v2/job_statuses/" + id + ".json");
  CHECK(done.at("job_status").at("status").as_string() == "completed");
  const auto& results = done.at("job_status").at("results").as_array();
  REQUIRE(results.size() == 5);
  CHECK(results[0].at("id").as_int64() == 3);
  CHECK(results[0].at("status").as_string() == "Updated");
  CHECK(results[0].at("success").as_bool());
  CHECK(results[1].at("error").as_string() == "RecordNotFound");
  CHECK(results[1].at("index").as_int64() == 1);
  CHECK(results[2].at("error").as_string() == "RecordInvalid");
  CHECK(results[3].at("error").as_string() == "RecordNotFound");
  CHECK(results[4].at("error").as_string() == "InvalidValue");
  auto user = f.ok("GET", "/api/v2/users/3.json").at("user");
  CHECK(user.at("name").as_string() == "By Id");
  CHECK(user.at("external_id").as_string() == "linked-3");
  CHECK(f.ok("GET", "/api/v2/users/5.json").at("user").at("email").as_string() != taken);

  // One change to several users: ?ids= with {"user":{...}}.
  auto same = f.ok("PUT", "/api/v2/users/update_many.json?ids=7,8", R"({"user":{"phone":"+14155550000"}})");
  f.ok("GET", "/api/v2/job_statuses/" + std::string(same.at("job_status").at("id").as_string()) + ".json");
  CHECK(f.ok("GET", "/api/v2/users/8.json").at("user").at("phone").as_string() == "+14155550000");
  CHECK(f.call("PUT", "/api/v2/users/update_many.json", R"({"nothing":1})").status == 400);
}
