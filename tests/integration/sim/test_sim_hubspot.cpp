// The HubSpot simulator over real HTTP(S) against the real omnisync-sim process: search paging, batch upsert,
// 429 after lowering the limit through the admin API, and signed webhooks for admin and API changes.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "sim/hubspot/signature.hpp"
#include "tests/integration/sim/read_request.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace json = boost::json;
using namespace omnisync::test::sim;

namespace {
const std::vector<std::string> hubspot_auth = {"Authorization: Bearer test-token", "Content-Type: application/json"};

/// A webhook target that accepts connections and holds them unanswered until told to answer: the connections it
/// holds are the requests the vendor has in flight.
class holding_receiver {
 public:
  holding_receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(fd_ >= 0);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 128) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~holding_receiver() {
    for (int c : held_) ::close(c);
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  /// Accepts what arrives within `d`; the number of connections held.
  std::size_t accept_for(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      if (const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC); c >= 0) held_.push_back(c);
    }
    return held_.size();
  }
  /// Reads each held request whole, answers it 200 and closes it; how many were answered.
  std::size_t answer_all() {
    const std::size_t n = held_.size();
    for (int c : held_) {
      read_raw_request(c, 2000);
      const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      [[maybe_unused]] auto w = ::write(c, ok.data(), ok.size());
      ::close(c);
    }
    held_.clear();
    return n;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> held_;
};
}

TEST_CASE("HubSpot over HTTP: search pages with after until no paging.next", "[sim][hubspot][http]") {
  running_sim sim;
  const std::string base = sim.url("hubspot");
  std::string after = "0";
  std::size_t seen = 0;
  std::int64_t total = -1;
  for (int i = 0; i < 500; ++i) {
    auto r = http("POST", base + "/crm/v3/objects/contacts/search",
                  R"({"sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}],"limit":100,"after":")" +
                      after + "\"}",
                  hubspot_auth);
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto j = r.json();
    total = j.at("total").as_int64();
    seen += j.at("results").as_array().size();
    if (!j.as_object().contains("paging")) break;
    after = std::string(j.at("paging").at("next").at("after").as_string());
  }
  CHECK(total > 0);
  CHECK(seen == static_cast<std::size_t>(std::min<std::int64_t>(total, 10000)));
  CHECK(http("GET", base + "/crm/v3/objects/contacts").status == 401);
}

TEST_CASE("HubSpot over HTTP: batch upsert 200 then 207 with an invalid input", "[sim][hubspot][http]") {
  running_sim sim;
  const std::string base = sim.url("hubspot");
  auto ok = http("POST", base + "/crm/v3/objects/contacts/batch/upsert",
                 R"({"inputs":[{"id":"http.upsert@example.com","idProperty":"email","properties":{"firstname":"H"}}]})",
                 hubspot_auth);
  REQUIRE(ok.status == 200);
  CHECK(ok.json().at("results").at(0).at("new").as_bool());
  auto partial = http("POST", base + "/crm/v3/objects/contacts/batch/upsert",
                      R"({"inputs":[{"id":"http.upsert@example.com","idProperty":"email","properties":{"firstname":"H2"}},)"
                      R"({"id":"x@example.com","idProperty":"firstname","properties":{}}]})",
                      hubspot_auth);
  REQUIRE(partial.status == 207);
  CHECK(partial.json().at("numErrors").as_int64() == 1);
  CHECK(partial.json().at("results").at(0).at("new").as_bool() == false);
}

TEST_CASE("HubSpot over HTTP: 429 with policyName once the ten-secondly limit is reached", "[sim][hubspot][http]") {
  running_sim sim;
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","ten_secondly_max":2})");
  const std::string url = sim.url("hubspot") + "/crm/v3/objects/contacts?limit=1";
  CHECK(http("GET", url, {}, hubspot_auth).status == 200);
  auto second = http("GET", url, {}, hubspot_auth);
  CHECK(second.headers["x-hubspot-ratelimit-remaining"] == "0");
  auto limited = http("GET", url, {}, hubspot_auth);
  REQUIRE(limited.status == 429);
  CHECK(limited.json().at("policyName").as_string() == "TEN_SECONDLY_ROLLING");
}

TEST_CASE("HubSpot over HTTP: admin and API changes arrive as signed webhooks", "[sim][hubspot][http][webhook]") {
  running_sim sim;
  webhook_receiver receiver;
  const std::string url = receiver.url() + "/webhooks/hubspot";
  sim.admin("POST", "/admin/webhooks", R"({"service":"hubspot","url":")" + url + R"(","secret":"s3cret"})");
  sim.admin("PATCH", "/admin/hubspot/contacts/4", R"({"firstname":"FromAdmin"})");
  auto req = receiver.wait_for([](const received_request& r) { return r.body.find("FromAdmin") != std::string::npos; });
  CHECK(req.method == "POST");
  CHECK(req.headers["x-hubspot-signature-v3"] ==
        omnisync::sim::hubspot::signature_v3("s3cret", "POST", url, req.body, req.headers["x-hubspot-request-timestamp"]));
  CHECK(req.headers["x-hubspot-signature"] == omnisync::sim::hubspot::signature_v1("s3cret", req.body));
  auto events = json::parse(req.body).as_array();
  CHECK(events.at(0).at("changeSource").as_string() == "CRM_UI");
  CHECK(events.at(0).at("objectId").as_int64() == 4);

  auto r = http("PATCH", sim.url("hubspot") + "/crm/v3/objects/contacts/5", R"({"properties":{"firstname":"FromApi"}})", hubspot_auth);
  REQUIRE(r.status == 200);
  auto own = receiver.wait_for([](const received_request& r) { return r.body.find("FromApi") != std::string::npos; });
  CHECK(json::parse(own.body).at(0).at("changeSource").as_string() == "INTEGRATION");
}

TEST_CASE("HubSpot over HTTPS with the simulator's CA", "[sim][hubspot][http][tls]") {
  running_sim sim;
  if (sim.ca_file().empty() || !sim.urls().at("hubspot").as_object().contains("https")) {
    FAIL("the simulator announced no https URL or ca_file");
  }
  auto r = http("GET", sim.url("hubspot", "https") + "/crm/v3/properties/contacts", {}, hubspot_auth, sim.ca_file());
  REQUIRE(r.status == 200);
  CHECK(r.json().at("results").as_array().size() > 5);
}

TEST_CASE("HubSpot over HTTP: a failed webhook delivery is redelivered with the same event", "[sim][hubspot][http][webhook]") {
  running_sim sim;
  webhook_receiver receiver(200, 1);  // the first delivery gets a 500
  const std::string url = receiver.url() + "/hook";
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","webhook_time_scale":0.001})");
  sim.admin("POST", "/admin/webhooks", R"({"service":"hubspot","url":")" + url + R"(","secret":"s"})");
  sim.admin("PATCH", "/admin/hubspot/contacts/7", R"({"firstname":"Retried"})");
  receiver.wait_for([](const received_request& r) { return r.body.find("Retried") != std::string::npos; });
  // Wait for the redelivery (HubSpot's first pause, 42-84 s, lasts 42-84 ms at this time scale).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<received_request> hits;
  while (std::chrono::steady_clock::now() < deadline) {
    hits.clear();
    for (const auto& r : receiver.received()) {
      if (r.body.find("Retried") != std::string::npos) hits.push_back(r);
    }
    if (hits.size() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(hits.size() == 2);
  CHECK(json::parse(hits[0].body).at(0).at("eventId") == json::parse(hits[1].body).at(0).at("eventId"));
  CHECK(json::parse(hits[1].body).at(0).at("attemptNumber").as_int64() == 1);
  CHECK(hits[1].headers["x-hubspot-signature"] == omnisync::sim::hubspot::signature_v1("s", hits[1].body));
}

TEST_CASE("HubSpot over HTTP: OAuth refresh-token grant, expiring access tokens, BAD_REFRESH_TOKEN",
          "[sim][hubspot][http][oauth]") {
  running_sim sim;
  const std::string base = sim.url("hubspot");
  const std::vector<std::string> form = {"Content-Type: application/x-www-form-urlencoded"};
  sim.admin("POST", "/admin/limits",
            R"({"service":"hubspot","oauth_client_id":"cid","oauth_client_secret":"csec","oauth_refresh_token":"rt-1"})");
  auto ok = http("POST", base + "/oauth/v1/token",
                 "grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=rt-1", form);
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  auto tok = ok.json();
  CHECK(tok.at("token_type").as_string() == "bearer");
  CHECK(tok.at("expires_in").as_int64() == 1800);
  CHECK(tok.at("refresh_token").as_string() == "rt-1");
  const std::string bearer = "Authorization: Bearer " + std::string(tok.at("access_token").as_string());
  CHECK(http("GET", base + "/crm/v3/objects/contacts?limit=1", {}, {bearer}).status == 200);

  // The issued token expires (lifetime lowered through the admin API: existing tokens too).
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":0})");
  auto expired = http("GET", base + "/crm/v3/objects/contacts?limit=1", {}, {bearer});
  REQUIRE(expired.status == 401);
  CHECK(expired.json().at("category").as_string() == "EXPIRED_AUTHENTICATION");
  // A token the simulator never issued is refused; a private app token (any other bearer) still works.
  CHECK(http("GET", base + "/crm/v3/objects/contacts?limit=1", {}, {"Authorization: Bearer CNSIM999-x"}).status == 401);
  CHECK(http("GET", base + "/crm/v3/objects/contacts?limit=1", {}, hubspot_auth).status == 200);

  // Refused grants: 400 with HubSpot's status codes.
  auto bad_rt = http("POST", base + "/oauth/v1/token",
                     "grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=nope", form);
  REQUIRE(bad_rt.status == 400);
  CHECK(bad_rt.json().at("status").as_string() == "BAD_REFRESH_TOKEN");
  CHECK(bad_rt.json().at("message").as_string() == "missing or unknown refresh token");
  CHECK(bad_rt.json().as_object().contains("correlationId"));
  auto bad_client = http("POST", base + "/oauth/v1/token",
                         "grant_type=refresh_token&client_id=other&client_secret=csec&refresh_token=rt-1", form);
  REQUIRE(bad_client.status == 400);
  CHECK(bad_client.json().at("status").as_string() == "BAD_CLIENT_ID");
  auto bad_grant = http("POST", base + "/oauth/v1/token", "grant_type=password&client_id=cid", form);
  REQUIRE(bad_grant.status == 400);
  CHECK(bad_grant.json().at("status").as_string() == "BAD_GRANT_TYPE");

  // With rotation on, a grant issues a new refresh token and the old one stops working.
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":1800000,"oauth_rotate_refresh_tokens":true})");
  auto rotated = http("POST", base + "/oauth/v1/token",
                      "grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=rt-1", form);
  REQUIRE(rotated.status == 200);
  const std::string next_rt(rotated.json().at("refresh_token").as_string());
  CHECK(next_rt != "rt-1");
  CHECK(http("POST", base + "/oauth/v1/token",
             "grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=rt-1", form).status == 400);
  CHECK(http("POST", base + "/oauth/v1/token",
             "grant_type=refresh_token&client_id=cid&client_secret=csec&refresh_token=" + next_rt, form).status == 200);
}

TEST_CASE("HubSpot over HTTP: at most maxConcurrentRequests webhook requests are in flight, the others wait",
          "[sim][hubspot][http][webhook]") {
  running_sim sim;
  holding_receiver target;
  sim.admin("POST", "/admin/webhooks", R"({"service":"hubspot","url":")" + target.url() + R"(","secret":"s"})");
  auto change = [&](int from, int to) {  // one delivery each: every admin change is sent on its own
    for (int id = from; id <= to; ++id)
      sim.admin("PATCH", "/admin/hubspot/contacts/" + std::to_string(id), R"({"firstname":"Held)" + std::to_string(id) + R"("})");
  };
  // 15 deliveries with HubSpot's default of 10 in flight: 10 arrive, 5 wait until answers free their slots.
  change(1, 15);
  CHECK(target.accept_for(std::chrono::milliseconds(1500)) == 10);
  CHECK(target.answer_all() == 10);
  CHECK(target.accept_for(std::chrono::milliseconds(1500)) == 5);
  CHECK(target.answer_all() == 5);
  // A cap set through the admin API; 0 lifts it (all 12 at once).
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","webhook_max_concurrent":3})");
  change(16, 20);
  CHECK(target.accept_for(std::chrono::milliseconds(1000)) == 3);
  target.answer_all();
  CHECK(target.accept_for(std::chrono::milliseconds(1000)) == 2);
  target.answer_all();
  sim.admin("POST", "/admin/limits", R"({"service":"hubspot","webhook_max_concurrent":0})");
  change(21, 32);
  CHECK(target.accept_for(std::chrono::milliseconds(1500)) == 12);
  target.answer_all();
  CHECK(http("POST", sim.admin_url() + "/admin/limits", R"({"service":"hubspot","webhook_max_concurrent":-1})",
             {"Content-Type: application/json"})
            .status == 400);
}
