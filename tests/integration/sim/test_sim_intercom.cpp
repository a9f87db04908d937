// The Intercom simulator over real HTTP: contact create/search/update and X-Hub-Signature webhooks.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "sim/intercom/signature.hpp"
#include "tests/integration/sim/sim_http.hpp"

namespace json = boost::json;
using namespace omnisync::test::sim;

TEST_CASE("Intercom over HTTP: create, search, update and a signed webhook", "[sim][intercom][http]") {
  running_sim sim;
  webhook_receiver receiver;
  sim.admin("POST", "/admin/webhooks",
            R"({"service":"intercom","url":")" + receiver.url() + R"(/webhooks/intercom","secret":"ic-secret"})");
  const std::vector<std::string> headers = {"Authorization: Bearer tok", "Intercom-Version: 2.11",
                                            "Content-Type: application/json"};
  const std::string base = sim.url("intercom");
  auto created = http("POST", base + "/contacts", R"({"role":"user","email":"ic.http@example.com","external_id":"ic-1"})", headers);
  REQUIRE(created.status == 200);
  const std::string id(created.json().at("id").as_string());
  CHECK(http("POST", base + "/contacts", R"({"role":"user","email":"IC.http@example.com"})", headers).status == 409);
  auto found = http("POST", base + "/contacts/search",
                    R"({"query":{"field":"external_id","operator":"=","value":"ic-1"}})", headers);
  REQUIRE(found.status == 200);
  CHECK(found.json().at("data").at(0).at("id").as_string() == id);
  auto updated = http("PUT", base + "/contacts/" + id, R"({"name":"Ic Http"})", headers);
  REQUIRE(updated.status == 200);
  auto req = receiver.wait_for([](const received_request& r) { return r.body.find("contact.user.updated") != std::string::npos; });
  CHECK(req.headers["x-hub-signature"] == omnisync::sim::intercom::hub_signature("ic-secret", req.body));
  CHECK(json::parse(req.body).at("data").at("item").at("name").as_string() == "Ic Http");
  CHECK(http("GET", base + "/contacts").status == 401);
}
