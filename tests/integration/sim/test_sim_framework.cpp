// The simulator framework over real HTTP/HTTPS: the first stdout line, TLS with the generated CA, every fault
// kind, the clock, counts, the request log, reset, snapshots and webhook delivery with retries.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <thread>

#include "sim/core/form.hpp"
#include "tests/integration/sim/sim_http.hpp"

using namespace omnisync::test::sim;
namespace json = boost::json;

namespace {
const std::vector<std::string> auth = {"Authorization: Bearer test-token"};
std::string contacts(running_sim& s, const std::string& scheme = "http") {
  return s.url("hubspot", scheme) + "/crm/v3/objects/contacts?limit=1";
}
}  // namespace

TEST_CASE("sim framework: form bodies are decoded as the vendors decode them", "[sim][framework]") {
  // OAuth token requests (Salesforce, HubSpot) and query strings: '+' is a space, %XX decoded.
  const std::map<std::string, std::string> want{{"a", "1"}, {"b", "x y!"}, {"c", ""}, {"k&", "v=w"}};
  CHECK(omnisync::sim::parse_form("a=1&b=x+y%21&c&k%26=v%3Dw") == want);
}

TEST_CASE("sim framework: first line names every service over HTTP and HTTPS, the admin URL and the CA",
          "[sim][framework]") {
  running_sim s;
  for (const char* svc : {"hubspot", "zendesk", "activecampaign", "intercom"}) {
    CHECK(s.url(svc, "http").starts_with("http://127.0.0.1:"));
    CHECK(s.url(svc, "https").starts_with("https://127.0.0.1:"));
  }
  CHECK(s.admin_url().starts_with("http://127.0.0.1:"));
  CHECK_FALSE(s.ca_file().empty());
}

TEST_CASE("sim framework: HTTPS verifies with the generated CA and is refused without it", "[sim][framework]") {
  running_sim s;
  auto ok = http("GET", contacts(s, "https"), "", auth, s.ca_file());
  CHECK(ok.status == 200);
  // With only the system trust store, curl refuses the handshake (the helper throws on a curl failure).
  CHECK_THROWS(http("GET", contacts(s, "https"), "", auth, "/etc/ssl/certs/ca-certificates.crt"));
}

TEST_CASE("sim framework: faults — status, 429 with Retry-After, token expiry, reset, latency, malformed, "
          "truncated, slow body", "[sim][framework]") {
  running_sim s;
  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"status","status":503,"count":1})");
  CHECK(http("GET", contacts(s), "", auth).status == 503);
  CHECK(http("GET", contacts(s), "", auth).status == 200);  // count 1: used up

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"rate_limit","retry_after":7})");
  auto limited = http("GET", contacts(s), "", auth);
  CHECK(limited.status == 429);
  CHECK(limited.headers["retry-after"] == "7");

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"token_expiry"})");
  CHECK(http("GET", contacts(s), "", auth).status == 401);

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"reset"})");
  CHECK_THROWS_WITH(http("GET", contacts(s), "", auth), Catch::Contains("reset"));  // no answer at all

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"latency","latency_ms":400})");
  auto start = std::chrono::steady_clock::now();
  CHECK(http("GET", contacts(s), "", auth).status == 200);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(380));

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"malformed"})");
  auto bad = http("GET", contacts(s), "", auth);
  CHECK(bad.status == 200);
  boost::system::error_code ec;
  json::parse(bad.body, ec);
  CHECK(ec);  // not JSON

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"truncated"})");
  // A body shorter than its Content-Length: curl reports the transfer as cut off.
  CHECK_THROWS_WITH(http("GET", contacts(s), "", auth), Catch::Contains("remaining"));

  s.admin("POST", "/admin/faults", R"({"service":"hubspot","kind":"slow_body","latency_ms":400})");
  start = std::chrono::steady_clock::now();
  auto slow = http("GET", contacts(s), "", auth);
  CHECK(slow.status == 200);
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(300));
  json::parse(slow.body, ec);
  CHECK_FALSE(ec);

  // Faults only hit what they match: another service, method or path is untouched.
  s.admin("POST", "/admin/faults", R"({"service":"zendesk","kind":"status","status":500,"count":-1})");
  CHECK(http("GET", contacts(s), "", auth).status == 200);
  s.admin("DELETE", "/admin/faults");
}

TEST_CASE("sim framework: counts, request log, clock and reset", "[sim][framework]") {
  running_sim s;
  http("GET", contacts(s), "", auth);
  http("GET", contacts(s), "", auth);
  auto counts = s.admin("GET", "/admin/counts").json();
  CHECK(counts.at("hubspot").at("GET /crm/v3/objects/contacts").as_int64() == 2);
  auto log = s.admin("GET", "/admin/requests").json();
  REQUIRE(log.as_array().size() >= 2);
  CHECK(log.as_array().back().at("status").as_int64() == 200);
  // Request body bytes per endpoint, with the same keys as the counts; each log entry has its own.
  const std::string search = R"({"limit":2,"properties":["email"]})";
  http("POST", s.url("hubspot", "http") + "/crm/v3/objects/contacts/search", search, auth);
  auto bytes = s.admin("GET", "/admin/bytes").json();
  CHECK(bytes.at("hubspot").at("POST /crm/v3/objects/contacts/search").as_int64() == std::int64_t(search.size()));
  CHECK(bytes.at("hubspot").at("GET /crm/v3/objects/contacts").as_int64() == 0);
  CHECK(bytes.at("hubspot").at("total").as_int64() == std::int64_t(search.size()));
  std::int64_t logged = -1;
  const auto requests = s.admin("GET", "/admin/requests").json();
  for (const auto& e : requests.as_array())
    if (e.at("direction") == "in" && e.at("method") == "POST") logged = e.at("bytes").as_int64();
  CHECK(logged == std::int64_t(search.size()));

  auto before = s.admin("GET", "/admin/clock").json().at("now_ms").as_int64();
  auto after = s.admin("POST", "/admin/clock", R"({"advance_ms":3600000})").json().at("now_ms").as_int64();
  CHECK(after - before >= 3600000);

  s.admin("POST", "/admin/reset");
  CHECK(s.admin("GET", "/admin/counts").json().as_object().empty());
  CHECK(s.admin("GET", "/admin/bytes").json().as_object().empty());
  auto snap = s.admin("GET", "/admin/snapshot").json();
  CHECK(snap.as_object().contains("hubspot"));
  CHECK(snap.as_object().contains("zendesk"));
  CHECK(http("GET", s.admin_url() + "/admin/nothing-here").status == 404);
  CHECK(http("POST", s.admin_url() + "/admin/faults", "{\"kind\":\"explode\"}").status == 400);
  CHECK(http("POST", s.admin_url() + "/admin/faults", "not json").status == 400);
}

TEST_CASE("sim framework: an admin change fires the vendor's webhook, redelivered until it is accepted",
          "[sim][framework]") {
  running_sim s;
  webhook_receiver flaky(500);  // answers 500: the simulator must retry
  // HubSpot's first retry comes after 42-84 s; the time scale makes that 42-84 ms.
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","webhook_time_scale":0.001})");
  s.admin("POST", "/admin/webhooks",
          json::serialize(json::object{{"service", "hubspot"}, {"url", flaky.url()}, {"secret", "s3cret"}}));
  s.admin("POST", "/admin/hubspot/contacts", R"({"properties":{"email":"new.person@example.com","firstname":"New"}})");
  flaky.wait_for([](const received_request&) { return true; });
  // The receiver answered 500: the same events come again, as the next attempt.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (flaky.received().size() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto got = flaky.received();
  REQUIRE(got.size() >= 2);
  CHECK(got[1].method == "POST");
  const auto a = json::parse(got[0].body).as_array(), b = json::parse(got[1].body).as_array();
  CHECK(a[0].at("eventId") == b[0].at("eventId"));
  CHECK(a[0].at("attemptNumber").as_int64() == 0);
  CHECK(b[0].at("attemptNumber").as_int64() == 1);
  CHECK(got[1].headers.count("x-hubspot-signature-v3") == 1);
  // The admin API shows the delivery and its attempts; a reset stops it.
  auto list = s.admin("GET", "/admin/deliveries?service=hubspot").json().as_array();
  REQUIRE(list.size() == 1);
  CHECK(list[0].at("attempts").as_int64() >= 2);
  CHECK(list[0].at("state").as_string() == "pending");
  CHECK(list[0].at("pauses_ms").as_array().size() >= 1);
  CHECK(http("POST", s.admin_url() + "/admin/limits", R"({"service":"hubspot","webhook_time_scale":-1})").status == 400);

  webhook_receiver good(200);
  s.admin("POST", "/admin/webhooks",
          json::serialize(json::object{{"service", "zendesk"}, {"url", good.url()}, {"secret", "zd"}}));
  auto users = s.admin("GET", "/admin/zendesk/users").json();
  REQUIRE(users.is_array());
  REQUIRE_FALSE(users.as_array().empty());
  auto id = users.as_array()[0].at("id");
  std::string id_text = id.is_string() ? std::string(id.as_string()) : std::to_string(id.to_number<std::int64_t>());
  s.admin("PATCH", "/admin/zendesk/users/" + id_text, R"({"name":"Changed Name"})");
  auto hook = good.wait_for([](const received_request&) { return true; });
  CHECK(hook.headers.count("x-zendesk-webhook-signature") == 1);
  CHECK(hook.body.find("Changed Name") != std::string::npos);
}

TEST_CASE("sim framework: SIGTERM and SIGINT end the simulator cleanly, also after bad requests", "[sim][framework]") {
  for (int sig : {SIGTERM, SIGINT}) {
    running_sim s;
    // Garbage on a service and the admin port is answered (or refused), never a crash.
    CHECK(http("GET", s.url("hubspot", "http") + "/%%%/../..?a=%ZZ").status >= 400);
    CHECK(http("POST", s.admin_url() + "/admin/faults", "{not json").status == 400);
    CHECK(http("GET", contacts(s), {}, auth).status == 200);
    const auto code = s.stop(sig, std::chrono::seconds(5));
    REQUIRE(code.has_value());
    CHECK(*code == 0);
  }
}
