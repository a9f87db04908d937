// The Salesforce simulator over real HTTP(S): OAuth grants and token expiry, query paging to the end,
// queryAll and getDeleted after deletes, collections with allOrNone, upsert by external id, describe and the
// formula field, the daily budget, and Outbound Messages redelivered until the documented Ack.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <set>
#include <thread>

#include "tests/integration/sim/sim_http.hpp"
#include "tests/integration/sim/base64url.hpp"

using namespace omnisync::test::sim;
namespace json = boost::json;

namespace {
struct sf {
  running_sim sim;
  std::string base = sim.url("salesforce", "https");
  std::string token;
  sf() { token = grant("grant_type=client_credentials&client_id=cid&client_secret=cs"); }
  std::string grant(const std::string& form) {
    auto r = http("POST", base + "/services/oauth2/token", form, {"Content-Type: application/x-www-form-urlencoded"},
                  sim.ca_file());
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto v = r.json();
    CHECK(v.at("instance_url").as_string() == base);
    return std::string(v.at("access_token").as_string());
  }
  http_reply get(const std::string& path, std::vector<std::string> extra = {}) {
    extra.push_back("Authorization: Bearer " + token);
    return http("GET", base + path, "", extra, sim.ca_file());
  }
  http_reply send(const std::string& method, const std::string& path, const std::string& body) {
    return http(method, base + path, body, {"Authorization: Bearer " + token, "Content-Type: application/json"},
                sim.ca_file());
  }
  static std::string q(const std::string& soql) {
    std::string out;
    for (char c : soql) out += c == ' ' ? std::string("+") : c == '>' ? std::string("%3E") : c == '=' ? std::string("%3D") : std::string(1, c);
    return out;
  }
};

using omnisync::test::b64url;
}  // namespace

TEST_CASE("salesforce sim: OAuth grants — refresh token, client credentials, JWT bearer, bad grants refused",
          "[sim][salesforce]") {
  sf s;
  CHECK_FALSE(s.grant("grant_type=refresh_token&refresh_token=rt&client_id=cid").empty());
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto jwt = b64url(R"({"alg":"RS256"})") + "." +
             b64url(R"({"iss":"cid","sub":"u@example.com","aud":"https://login.salesforce.com","exp":)" +
                    std::to_string(now + 120) + "}") + ".c2ln";
  CHECK_FALSE(s.grant("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + jwt).empty());
  auto expired = b64url(R"({"alg":"RS256"})") + "." +
                 b64url(R"({"iss":"cid","sub":"u","aud":"x","exp":)" + std::to_string(now - 10) + "}") + ".c2ln";
  auto r = http("POST", s.base + "/services/oauth2/token",
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + expired,
                {"Content-Type: application/x-www-form-urlencoded"}, s.sim.ca_file());
  CHECK(r.status == 400);
  CHECK(r.json().at("error").as_string() == "invalid_grant");
  auto revoked = http("POST", s.base + "/services/oauth2/token", "grant_type=refresh_token&refresh_token=revoked&client_id=c",
                      {"Content-Type: application/x-www-form-urlencoded"}, s.sim.ca_file());
  CHECK(revoked.status == 400);
  auto unknown = http("POST", s.base + "/services/oauth2/token", "grant_type=password",
                      {"Content-Type: application/x-www-form-urlencoded"}, s.sim.ca_file());
  CHECK(unknown.json().at("error").as_string() == "unsupported_grant_type");
}

TEST_CASE("salesforce sim: tokens expire with 401 INVALID_SESSION_ID", "[sim][salesforce]") {
  sf s;
  CHECK(s.get("/services/data/v62.0/sobjects/Contact/describe").status == 200);
  s.sim.admin("POST", "/admin/limits", R"({"service":"salesforce","token_lifetime_ms":0})");
  auto r = s.get("/services/data/v62.0/sobjects/Contact/describe");
  CHECK(r.status == 401);
  CHECK(r.json().as_array()[0].at("errorCode").as_string() == "INVALID_SESSION_ID");
  CHECK(http("GET", s.base + "/services/data/v62.0/sobjects/Contact/describe", "", {}, s.sim.ca_file()).status == 401);
}

TEST_CASE("salesforce sim: query pages to the end with nextRecordsUrl and batchSize", "[sim][salesforce]") {
  sf s;
  auto first = s.get("/services/data/v62.0/query?q=" + sf::q("SELECT Id, Email, Account.Name FROM Contact ORDER BY SystemModstamp"),
                     {"Sforce-Query-Options: batchSize=200"});
  REQUIRE(first.status == 200);
  auto page = first.json();
  auto total = page.at("totalSize").as_int64();
  CHECK(total == 1000);  // the default data set
  std::set<std::string> ids;
  int pages = 0;
  for (;;) {
    ++pages;
    for (auto& rec : page.at("records").as_array()) {
      ids.insert(std::string(rec.at("Id").as_string()));
      CHECK(rec.at("attributes").at("type").as_string() == "Contact");
    }
    if (page.at("done").as_bool()) break;
    auto next = s.get(std::string(page.at("nextRecordsUrl").as_string()));
    REQUIRE(next.status == 200);
    page = next.json();
  }
  CHECK(pages == 5);
  CHECK(static_cast<std::int64_t>(ids.size()) == total);
  CHECK(first.headers["sforce-limit-info"].starts_with("api-usage="));
}

TEST_CASE("salesforce sim: bad SOQL is MALFORMED_QUERY, unknown fields INVALID_FIELD", "[sim][salesforce]") {
  sf s;
  auto bad = s.get("/services/data/v62.0/query?q=" + sf::q("SELECT Id FROM Contact WHERE Email LIKE 'a%'"));
  CHECK(bad.status == 400);
  CHECK(bad.json().as_array()[0].at("errorCode").as_string() == "MALFORMED_QUERY");
  auto field = s.get("/services/data/v62.0/query?q=" + sf::q("SELECT Nope__c FROM Contact"));
  CHECK(field.json().as_array()[0].at("errorCode").as_string() == "INVALID_FIELD");
}

TEST_CASE("salesforce sim: deletes are seen by queryAll and getDeleted, purged records vanish", "[sim][salesforce]") {
  sf s;
  auto id = std::string("003000000000007AAA");
  s.sim.admin("DELETE", "/admin/salesforce/Contact/" + id);
  auto where = sf::q("SELECT Id, IsDeleted FROM Contact WHERE Id = '" + id + "'");
  CHECK(s.get("/services/data/v62.0/query?q=" + where).json().at("totalSize").as_int64() == 0);
  auto all = s.get("/services/data/v62.0/queryAll?q=" + where).json();
  REQUIRE(all.at("totalSize").as_int64() == 1);
  CHECK(all.at("records").as_array()[0].at("IsDeleted").as_bool());
  auto del = s.get("/services/data/v62.0/sobjects/Contact/deleted/?start=2020-01-01T00:00:00Z&end=2099-01-01T00:00:00Z").json();
  REQUIRE(del.at("deletedRecords").as_array().size() == 1);
  CHECK(del.at("deletedRecords").as_array()[0].at("id").as_string() == id);
  s.sim.admin("DELETE", "/admin/salesforce/Contact/" + id + "?purge=true");
  CHECK(s.get("/services/data/v62.0/queryAll?q=" + where).json().at("totalSize").as_int64() == 0);
}

TEST_CASE("salesforce sim: collections DELETE — one result per id in order, allOrNone rolls back, queryAll sees it", "[sim][salesforce]") {
  sf s;
  const std::string a = "003000000000011AAA", b = "003000000000012AAA", gone = "003000000000013AAA";
  s.sim.admin("DELETE", "/admin/salesforce/Contact/" + gone);
  // allOrNone=true with one bad id: nothing is deleted.
  auto aon = s.send("DELETE", "/services/data/v62.0/composite/sobjects?ids=" + a + "," + gone + "&allOrNone=true", "");
  REQUIRE(aon.status == 200);
  CHECK_FALSE(aon.json().as_array()[0].at("success").as_bool());
  CHECK(aon.json().as_array()[0].at("errors").as_array()[0].at("statusCode").as_string() == "ALL_OR_NONE_OPERATION_ROLLED_BACK");
  auto where = sf::q("SELECT Id, IsDeleted FROM Contact WHERE Id = '" + a + "'");
  CHECK(s.get("/services/data/v62.0/query?q=" + where).json().at("totalSize").as_int64() == 1);
  // allOrNone=false: the good ones go, the others say why.
  auto r = s.send("DELETE", "/services/data/v62.0/composite/sobjects?ids=" + a + "," + gone + ",bad," + b + "&allOrNone=false", "");
  REQUIRE(r.status == 200);
  const auto v = r.json();
  const auto& res = v.as_array();
  REQUIRE(res.size() == 4);
  CHECK(res[0].at("id").as_string() == a);
  CHECK(res[0].at("success").as_bool());
  CHECK(res[1].at("errors").as_array()[0].at("statusCode").as_string() == "ENTITY_IS_DELETED");
  CHECK(res[2].at("errors").as_array()[0].at("statusCode").as_string() == "MALFORMED_ID");
  CHECK(res[3].at("success").as_bool());
  CHECK(s.get("/services/data/v62.0/query?q=" + where).json().at("totalSize").as_int64() == 0);
  auto all = s.get("/services/data/v62.0/queryAll?q=" + where).json();
  REQUIRE(all.at("totalSize").as_int64() == 1);
  CHECK(all.at("records").as_array()[0].at("IsDeleted").as_bool());
  std::string many;
  for (int i = 0; i < 201; ++i) many += (i ? "," : "") + a;
  CHECK(s.send("DELETE", "/services/data/v62.0/composite/sobjects?ids=" + many, "").status == 400);
}

TEST_CASE("salesforce sim: collections — per-record results in order, allOrNone rolls back, ≤ 200", "[sim][salesforce]") {
  sf s;
  auto r = s.send("PATCH", "/services/data/v62.0/composite/sobjects/Contact/Omnisync_Id__c",
                  R"({"allOrNone":false,"records":[
                      {"attributes":{"type":"Contact"},"Omnisync_Id__c":"p_1","LastName":"One"},
                      {"attributes":{"type":"Contact"},"Omnisync_Id__c":"p_2","LastName":"Two","Nope__c":1},
                      {"attributes":{"type":"Contact"},"Omnisync_Id__c":"p_3","LastName":"Three"}]})");
  REQUIRE(r.status == 200);
  auto res = r.json().as_array();
  REQUIRE(res.size() == 3);
  CHECK(res[0].at("success").as_bool());
  CHECK(res[0].at("created").as_bool());
  CHECK_FALSE(res[1].at("success").as_bool());
  CHECK(res[1].at("errors").as_array()[0].at("statusCode").as_string() == "INVALID_FIELD");
  CHECK(res[2].at("success").as_bool());
  auto again = s.send("PATCH", "/services/data/v62.0/composite/sobjects/Contact/Omnisync_Id__c",
                      R"({"allOrNone":false,"records":[{"attributes":{"type":"Contact"},"Omnisync_Id__c":"p_1","LTV__c":99}]})");
  CHECK_FALSE(again.json().as_array()[0].at("created").as_bool());

  auto aon = s.send("POST", "/services/data/v62.0/composite/sobjects",
                    R"({"allOrNone":true,"records":[{"attributes":{"type":"Contact"},"LastName":"Ok"},
                                                    {"attributes":{"type":"Contact"},"FirstName":"NoLastName"}]})");
  auto ares = aon.json().as_array();
  CHECK(ares[0].at("errors").as_array()[0].at("statusCode").as_string() == "ALL_OR_NONE_OPERATION_ROLLED_BACK");
  CHECK(ares[1].at("errors").as_array()[0].at("statusCode").as_string() == "REQUIRED_FIELD_MISSING");

  std::string many = R"({"records":[)";
  for (int i = 0; i < 201; ++i) many += std::string(i ? "," : "") + R"({"attributes":{"type":"Contact"},"LastName":"x"})";
  CHECK(s.send("POST", "/services/data/v62.0/composite/sobjects", many + "]}").status == 400);

  auto formula = s.send("PATCH", "/services/data/v62.0/composite/sobjects",
                        R"({"records":[{"attributes":{"type":"Contact"},"id":"003000000000001AAA","Days_Since_Created__c":3}]})");
  CHECK(formula.json().as_array()[0].at("errors").as_array()[0].at("statusCode").as_string() ==
        "INVALID_FIELD_FOR_INSERT_UPDATE");
}

TEST_CASE("salesforce sim: collections update by Id — unknown, deleted, malformed and missing ids fail alone",
          "[sim][salesforce]") {
  sf s;
  s.sim.admin("DELETE", "/admin/salesforce/Contact/003000000000006AAA");
  auto r = s.send("PATCH", "/services/data/v62.0/composite/sobjects",
                  R"({"allOrNone":false,"records":[
                      {"attributes":{"type":"Contact"},"Id":"003000000000005AAA","FirstName":"ById","Omnisync_Id__c":"p_5"},
                      {"attributes":{"type":"Contact"},"Id":"003000099999999AAA","LastName":"Never"},
                      {"attributes":{"type":"Contact"},"Id":"003000000000006AAA","LastName":"Deleted"},
                      {"attributes":{"type":"Contact"},"Id":"001000000000001AAA","LastName":"Account id"},
                      {"attributes":{"type":"Contact"},"LastName":"No id"}]})");
  REQUIRE(r.status == 200);
  auto res = r.json().as_array();
  REQUIRE(res.size() == 5);
  CHECK(res[0].at("success").as_bool());
  CHECK(res[0].at("id").as_string() == "003000000000005AAA");
  CHECK_FALSE(res[0].as_object().contains("created"));  // an update, not an upsert
  auto code = [&](std::size_t i) { return std::string(res[i].at("errors").as_array()[0].at("statusCode").as_string()); };
  CHECK(code(1) == "INVALID_CROSS_REFERENCE_KEY");
  CHECK(code(2) == "ENTITY_IS_DELETED");
  CHECK(code(3) == "MALFORMED_ID");
  CHECK(code(4) == "MISSING_ARGUMENT");
  auto five = s.get("/services/data/v62.0/sobjects/Contact/003000000000005AAA").json();
  CHECK(five.at("FirstName").as_string() == "ById");
  CHECK(five.at("Omnisync_Id__c").as_string() == "p_5");
  // Linked: an upsert on the key it was given lands on the same record.
  auto up = s.send("PATCH", "/services/data/v62.0/composite/sobjects/Contact/Omnisync_Id__c",
                   R"({"records":[{"attributes":{"type":"Contact"},"Omnisync_Id__c":"p_5","LastName":"Upserted"}]})");
  CHECK(up.json().as_array()[0].at("id").as_string() == "003000000000005AAA");
  CHECK_FALSE(up.json().as_array()[0].at("created").as_bool());
}

TEST_CASE("salesforce sim: the formula field changes with time while SystemModstamp stays put", "[sim][salesforce]") {
  sf s;
  auto read = [&] { return s.get("/services/data/v62.0/sobjects/Contact/003000000000001AAA").json(); };
  auto before = read();
  s.sim.admin("POST", "/admin/clock", R"({"advance_ms":172800000})");  // two days
  s.token = s.grant("grant_type=client_credentials&client_id=cid&client_secret=cs");
  auto after = read();
  CHECK(after.at("Days_Since_Created__c").as_double() == before.at("Days_Since_Created__c").as_double() + 2);
  CHECK(after.at("SystemModstamp") == before.at("SystemModstamp"));
}

TEST_CASE("salesforce sim: the daily budget ends in REQUEST_LIMIT_EXCEEDED", "[sim][salesforce]") {
  sf s;
  s.sim.admin("POST", "/admin/limits", R"({"service":"salesforce","daily_api_requests":3,"api_requests_used":2})");
  auto last = s.get("/services/data/v62.0/sobjects/Contact/describe");
  CHECK(last.status == 200);
  CHECK(last.headers["sforce-limit-info"] == "api-usage=3/3");
  auto over = s.get("/services/data/v62.0/sobjects/Contact/describe");
  CHECK(over.status == 403);
  CHECK(over.json().as_array()[0].at("errorCode").as_string() == "REQUEST_LIMIT_EXCEEDED");
}

TEST_CASE("salesforce sim: Outbound Messages are redelivered until the receiver answers with the Ack",
          "[sim][salesforce]") {
  sf s;
  webhook_receiver no_ack(200);  // 200 but no SOAP notificationsResponse: Salesforce keeps trying
  // Salesforce's first pause is 15 s; at this scale 15 ms (the schedule itself is checked in tests/unit/sim).
  s.sim.admin("POST", "/admin/limits", R"({"service":"salesforce","webhook_time_scale":0.001})");
  s.sim.admin("POST", "/admin/webhooks", json::serialize(json::object{{"service", "salesforce"}, {"url", no_ack.url()}}));
  s.sim.admin("PATCH", "/admin/salesforce/Contact/003000000000003AAA", R"({"FirstName":"Renamed"})");
  auto first = no_ack.wait_for([](const received_request&) { return true; });
  CHECK(first.headers["content-type"].starts_with("text/xml"));
  CHECK(first.body.find("<OrganizationId>00DSIM0000000001AA</OrganizationId>") != std::string::npos);
  CHECK(first.body.find("<sf:FirstName>Renamed</sf:FirstName>") != std::string::npos);
  // A redelivery carries the record's data as it is then ("only the latest data is delivered"), under the same
  // notification id.
  s.sim.admin("PATCH", "/admin/salesforce/Contact/003000000000003AAA", R"({"FirstName":"Renamed Again"})");
  auto notification = [](const std::string& body) {
    auto a = body.find("<Notification><Id>") + 18;
    return body.substr(a, body.find('<', a) - a);
  };
  const auto id = notification(first.body);
  auto again = no_ack.wait_for([&](const received_request& r) {
    return r.body.find("Renamed Again") != std::string::npos && notification(r.body) == id;
  });
  CHECK(again.body.find("<sf:FirstName>Renamed</sf:FirstName>") == std::string::npos);
  auto deliveries = s.sim.admin("GET", "/admin/deliveries?service=salesforce").json().as_array();
  REQUIRE_FALSE(deliveries.empty());
  CHECK(deliveries[0].at("label").as_string().find(id) != std::string::npos);
  CHECK(deliveries[0].at("state").as_string() == "pending");
  CHECK(deliveries[0].at("attempts").as_int64() >= 2);
}
