// The Zendesk simulator over real HTTP against the real omnisync-sim process: cursor export, start_time
// rule, create_or_update_many job flow, 429 + Retry-After, and signed webhooks.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "sim/zendesk/signature.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace json = boost::json;
using namespace omnisync::test::sim;

namespace {
const std::vector<std::string> zendesk_auth = {"Authorization: Basic YWdlbnRAZXhhbXBsZS5jb20vdG9rZW46eA==",
                                       "Content-Type: application/json"};
}

TEST_CASE("Zendesk over HTTP: cursor export to end_of_stream, then only changes", "[sim][zendesk][http]") {
  running_sim sim;
  sim.admin("POST", "/admin/limits", R"({"service":"zendesk","cursor_users_per_minute":100000})");
  const std::string base = sim.url("zendesk");
  std::string target = base + "/api/v2/incremental/users/cursor.json?start_time=0&per_page=500";
  std::string cursor;
  std::size_t users = 0;
  for (int i = 0; i < 1000; ++i) {
    auto r = http("GET", target, {}, zendesk_auth);
    INFO(r.body.substr(0, 300));
    REQUIRE(r.status == 200);
    auto j = r.json();
    users += j.at("users").as_array().size();
    cursor = std::string(j.at("after_cursor").as_string());
    if (j.at("end_of_stream").as_bool()) break;
    target = std::string(j.at("after_url").as_string());
    CHECK(target.starts_with(base));
  }
  CHECK(users > 0);
  sim.admin("PATCH", "/admin/zendesk/users/2", R"({"name":"Only Change"})");
  sim.admin("POST", "/admin/clock", R"({"advance_ms":1000})");  // past the export's settle time (the current second)
  auto delta = http("GET", base + "/api/v2/incremental/users/cursor.json?cursor=" + cursor, {}, zendesk_auth);
  REQUIRE(delta.status == 200);
  REQUIRE(delta.json().at("users").as_array().size() == 1);
  CHECK(delta.json().at("users").at(0).at("name").as_string() == "Only Change");
  auto too_recent = http("GET", base + "/api/v2/incremental/users/cursor.json?start_time=99999999999", {}, zendesk_auth);
  CHECK(too_recent.status == 400);
}

TEST_CASE("Zendesk over HTTP: create_or_update_many job completes with results", "[sim][zendesk][http]") {
  running_sim sim;
  const std::string base = sim.url("zendesk");
  auto r = http("POST", base + "/api/v2/users/create_or_update_many.json",
                R"({"users":[{"email":"job.one@example.com","name":"Job One"},{"email":"bad","name":"B"}]})", zendesk_auth);
  REQUIRE(r.status == 200);
  const std::string url(r.json().at("job_status").at("url").as_string());
  CHECK(url.starts_with(base));
  auto done = http("GET", url, {}, zendesk_auth);
  REQUIRE(done.status == 200);
  CHECK(done.json().at("job_status").at("status").as_string() == "completed");
  CHECK(done.json().at("job_status").at("results").at(0).at("status").as_string() == "Created");
  CHECK(done.json().at("job_status").at("results").at(1).at("status").as_string() == "Failed");
}

TEST_CASE("Zendesk over HTTP: 429 carries Retry-After and a non-JSON body", "[sim][zendesk][http]") {
  running_sim sim;
  sim.admin("POST", "/admin/limits", R"({"service":"zendesk","per_minute":1})");
  const std::string url = sim.url("zendesk") + "/api/v2/users/1.json";
  CHECK(http("GET", url, {}, zendesk_auth).status == 200);
  auto limited = http("GET", url, {}, zendesk_auth);
  REQUIRE(limited.status == 429);
  CHECK(std::stoi(limited.headers["retry-after"]) >= 1);
  CHECK(limited.headers["content-type"].starts_with("text/plain"));
}

TEST_CASE("Zendesk over HTTP: admin changes arrive as signed webhooks", "[sim][zendesk][http][webhook]") {
  running_sim sim;
  webhook_receiver receiver;
  sim.admin("POST", "/admin/webhooks",
            R"({"service":"zendesk","url":")" + receiver.url() + R"(/webhooks/zendesk","secret":"zsecret"})");
  sim.admin("PATCH", "/admin/zendesk/users/6", R"({"name":"Hooked"})");
  auto req = receiver.wait_for([](const received_request& r) { return r.body.find("Hooked") != std::string::npos; });
  const std::string ts = req.headers["x-zendesk-webhook-signature-timestamp"];
  CHECK(ts.size() == 20);
  CHECK(req.headers["x-zendesk-webhook-signature"] == omnisync::sim::zendesk::webhook_signature("zsecret", ts, req.body));
  CHECK(json::parse(req.body).at("subject").as_string() == "zen:user:6");
}

TEST_CASE("Zendesk over HTTP: users and tickets lists with cursor pagination, purged records gone",
          "[sim][zendesk][http]") {
  running_sim sim;
  const std::string base = sim.url("zendesk");
  sim.admin("DELETE", "/admin/zendesk/users/2");               // soft-deleted: not in List Users
  sim.admin("DELETE", "/admin/zendesk/users/3?purge=true");    // permanently deleted
  auto first = http("GET", base + "/api/v2/users.json?page%5Bsize%5D=2", {}, zendesk_auth);
  INFO(first.body);
  REQUIRE(first.status == 200);
  auto j = first.json();
  REQUIRE(j.at("users").as_array().size() == 2);
  CHECK(j.at("users").at(0).at("id").as_int64() == 1);
  CHECK(j.at("users").at(1).at("id").as_int64() == 4);
  CHECK(j.at("meta").at("has_more").as_bool());
  const std::string next(j.at("links").at("next").as_string());
  auto second = http("GET", next, {}, zendesk_auth);
  REQUIRE(second.status == 200);
  CHECK(second.json().at("users").at(0).at("id").as_int64() == 5);
  CHECK(http("GET", base + "/api/v2/users.json?page%5Bsize%5D=101", {}, zendesk_auth).status == 400);
  CHECK(http("GET", base + "/api/v2/users/3.json", {}, zendesk_auth).status == 404);
  CHECK(http("GET", base + "/api/v2/users/2.json", {}, zendesk_auth).status == 200);  // deleted users stay readable

  // Walk the tickets list to the end: every live ticket once, the last page without has_more.
  std::string url = base + "/api/v2/tickets.json?page%5Bsize%5D=100";
  std::size_t seen = 0;
  for (int i = 0; i < 20 && !url.empty(); ++i) {
    auto r = http("GET", url, {}, zendesk_auth);
    REQUIRE(r.status == 200);
    auto p = r.json();
    seen += p.at("tickets").as_array().size();
    url = p.at("meta").at("has_more").as_bool() ? std::string(p.at("links").at("next").as_string()) : std::string();
  }
  CHECK(seen == 500);
}
