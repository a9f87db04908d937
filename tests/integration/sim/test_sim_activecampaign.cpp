// The ActiveCampaign simulator over real HTTP: contact sync create/update, listing, form-encoded webhooks.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "sim/activecampaign/form.hpp"
#include "tests/integration/sim/sim_http.hpp"

using namespace omnisync::test::sim;

TEST_CASE("ActiveCampaign over HTTP: contact sync 201 then 200, and a form-encoded webhook", "[sim][activecampaign][http]") {
  running_sim sim;
  webhook_receiver receiver;
  sim.admin("POST", "/admin/webhooks",
            R"({"service":"activecampaign","url":")" + receiver.url() + R"(/webhooks/ac/tok3n","secret":""})");
  const std::vector<std::string> headers = {"Api-Token: key", "Content-Type: application/json"};
  const std::string base = sim.url("activecampaign");
  auto created = http("POST", base + "/api/3/contact/sync", R"({"contact":{"email":"ac.http@example.com","firstName":"Ac"}})", headers);
  REQUIRE(created.status == 201);
  auto updated = http("POST", base + "/api/3/contact/sync", R"({"contact":{"email":"AC.http@example.com","lastName":"Http"}})", headers);
  REQUIRE(updated.status == 200);
  CHECK(updated.json().at("contact").at("id") == created.json().at("contact").at("id"));
  auto req = receiver.wait_for([](const received_request& r) { return r.body.find("type=update") != std::string::npos; });
  CHECK(req.target == "/webhooks/ac/tok3n");
  CHECK(req.headers["content-type"] == "application/x-www-form-urlencoded");
  bool found = false;
  for (const auto& [k, v] : omnisync::sim::activecampaign::form_decode(req.body)) {
    if (k == "contact[last_name]") found = v == "Http";
  }
  CHECK(found);
  auto list = http("GET", base + "/api/3/contacts?limit=5", {}, headers);
  REQUIRE(list.status == 200);
  CHECK(list.json().at("contacts").as_array().size() == 5);
  CHECK(http("GET", base + "/api/3/contacts").status == 401);
}
