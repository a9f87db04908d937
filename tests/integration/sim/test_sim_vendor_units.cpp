// Pure parts of the HubSpot, Zendesk, ActiveCampaign and Intercom simulators: signatures against the
// vectors in api-notes §7, Zendesk cursors and start_time rule, bracketed form encoding, HubSpot search.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "sim/activecampaign/form.hpp"
#include "sim/hubspot/search.hpp"
#include "sim/hubspot/signature.hpp"
#include "sim/intercom/signature.hpp"
#include "sim/zendesk/cursor.hpp"
#include "sim/zendesk/signature.hpp"

namespace hs = omnisync::sim::hubspot;
namespace zd = omnisync::sim::zendesk;
namespace ac = omnisync::sim::activecampaign;
namespace ic = omnisync::sim::intercom;

namespace {
const std::string hs_secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const std::string hs_uri = "https://www.example.com/webhook_uri";
const std::string hs_body_sdk = "{'example_field':'example_value'}";
}  // namespace

TEST_CASE("HubSpot v1 signature matches the documented vectors HS-1 and HS-4", "[sim][hubspot][signature]") {
  const std::string b1 =
      R"([{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,)"
      R"("subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,)"
      R"("changeSource":"CRM","changeFlag":"NEW","appId":54321}])";
  CHECK(hs::signature_v1(hs_secret, b1) == "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de");
  CHECK(hs::signature_v1(hs_secret, hs_body_sdk) ==
        "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750");
  CHECK(hs::signature_v1(hs_secret + "x", hs_body_sdk) !=
        "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750");
}

TEST_CASE("HubSpot v2 signature matches HS-2, HS-3 and HS-5", "[sim][hubspot][signature]") {
  CHECK(hs::signature_v2(hs_secret, "GET", hs_uri, "") ==
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e");
  CHECK(hs::signature_v2(hs_secret, "POST", hs_uri, R"({"example_field":"example_value"})") ==
        "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900");
  CHECK(hs::signature_v2(hs_secret, "POST", hs_uri, hs_body_sdk) ==
        "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383");
}

TEST_CASE("HubSpot v3 signature matches HS-6 and decodes only the listed escapes", "[sim][hubspot][signature]") {
  CHECK(hs::signature_v3(hs_secret, "POST", hs_uri, hs_body_sdk, "15000000") ==
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=");
  CHECK(hs::signature_v3(hs_secret, "POST", hs_uri, hs_body_sdk, "15000001") !=
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=");
  CHECK(hs::v3_canonical_uri("https://h/p%3Aq%2fr?a=%40b%20c%2C%3b") == "https://h/p:q/r?a=@b%20c,;");
  CHECK(hs::v3_canonical_uri("https://h/x%2") == "https://h/x%2");
  // The encoded and the decoded spelling sign the same.
  CHECK(hs::signature_v3(hs_secret, "POST", "https://h/a%40b", "x", "1") ==
        hs::signature_v3(hs_secret, "POST", "https://h/a@b", "x", "1"));
}

TEST_CASE("Zendesk signature is base64 HMAC-SHA256 over TIMESTAMP+BODY (ZD-3, ZD-1b)", "[sim][zendesk][signature]") {
  const std::string test_secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
  CHECK(zd::webhook_signature(test_secret, "2021-03-25T05:09:27Z", R"({"event":"ticket.updated","id":123})") ==
        "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=");
  const std::string legacy_secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=";
  CHECK(zd::webhook_signature(legacy_secret, "2021-07-25T10:00:00Z", R"({"say": "hello"})") ==
        "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=");
  // The legacy doc's BODY+TS value must not come out: the current order is TS+BODY.
  CHECK(zd::webhook_signature(legacy_secret, "2021-07-25T10:00:00Z", R"({"say": "hello"})") !=
        "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=");
}

TEST_CASE("Zendesk signature reproduces ZD-2 (tab-indented body with trailing newline)", "[sim][zendesk][signature]") {
  const std::string body =
      "{\n\t\"type\": \"zen:event-type:user.group_membership_created\",\n\t\"account_id\": 12514403,\n"
      "\t\"id\": \"6b9bbadf-5725-4e92-bebe-7b71011bf5f1\",\n\t\"subject\": \"zen:user:6596848315901\",\n"
      "\t\"time\": \"2099-07-04T05:33:18Z\",\n\t\"zendesk_event_version\": \"2022-06-20\",\n\t\"detail\": {\n"
      "\t\t\"created_at\": \"2099-07-04T05:27:58Z\",\n\t\t\"default_group_id\": \"0\",\n"
      "\t\t\"email\": \"user.name@example.com\",\n\t\t\"external_id\": \"\",\n\t\t\"id\": \"6596848315901\",\n"
      "\t\t\"organization_id\": \"0\",\n\t\t\"role\": \"end-user\",\n\t\t\"updated_at\": \"2099-07-04T05:33:18Z\"\n"
      "\t},\n\t\"event\": { \"group\": { \"id\": \"1\" } }\n}\n";
  CHECK(zd::webhook_signature("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==", "1234", body) ==
        "10IqYzYTLHRftNsNE+im0DeOM6/JactIRuy0XCHJ9B8=");
}

TEST_CASE("Intercom X-Hub-Signature is sha1= plus hex HMAC-SHA1 of the body", "[sim][intercom][signature]") {
  // Constructed vector (api-notes §7.3 has none): RFC 2202 test case 2, key "Jefe".
  CHECK(ic::hub_signature("Jefe", "what do ya want for nothing?") ==
        "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CHECK(ic::hub_signature("Jefe", "what do ya want for nothing!") !=
        "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
}

TEST_CASE("Zendesk cursors round-trip and look like Zendesk's", "[sim][zendesk]") {
  // Zendesk's documented example cursor decodes to "1576613539.0||467|".
  const auto documented = zd::decode_cursor("MTU3NjYxMzUzOS4wfHw0Njd8");
  REQUIRE(documented);
  CHECK(documented->updated_at_s == 1576613539);
  CHECK(documented->id == 467);
  CHECK(zd::encode_cursor({1576613539, 467}) == "MTU3NjYxMzUzOS4wfHw0Njd8");
  for (const zd::export_position p : {zd::export_position{0, 0}, zd::export_position{1714557600, 1},
                                      zd::export_position{1714557600, 123456789012}}) {
    const auto back = zd::decode_cursor(zd::encode_cursor(p));
    REQUIRE(back);
    CHECK(*back == p);
  }
  CHECK_FALSE(zd::decode_cursor(""));
  CHECK_FALSE(zd::decode_cursor("not a cursor"));
  CHECK_FALSE(zd::decode_cursor("aGVsbG8="));  // "hello"
}

TEST_CASE("Zendesk start_time must be at least a minute old", "[sim][zendesk]") {
  CHECK_FALSE(zd::check_start_time(1000, 1060));
  CHECK(zd::check_start_time(1001, 1060));
  CHECK(zd::check_start_time(2000, 1060));
  CHECK(zd::check_start_time(-1, 1060));
}

TEST_CASE("ActiveCampaign form bodies use bracketed, percent-encoded keys", "[sim][activecampaign]") {
  const auto payload = boost::json::parse(
                           R"({"type":"update","contact":{"id":"3","email":"a+b@example.com","first_name":"Ann Lee",)"
                           R"("fields":{"7":"x&y"}},"list":0,"tags":["t1","t2"]})")
                           .as_object();
  const auto fields = ac::flatten(payload);
  REQUIRE(fields.size() == 8);
  CHECK(fields[1] == std::pair<std::string, std::string>{"contact[id]", "3"});
  CHECK(fields[4] == std::pair<std::string, std::string>{"contact[fields][7]", "x&y"});
  CHECK(fields[5] == std::pair<std::string, std::string>{"list", "0"});
  CHECK(fields[7] == std::pair<std::string, std::string>{"tags[1]", "t2"});
  const std::string body = ac::form_encode(fields);
  CHECK(body.starts_with("type=update&contact%5Bid%5D=3&contact%5Bemail%5D=a%2Bb%40example.com&"
                         "contact%5Bfirst_name%5D=Ann+Lee&contact%5Bfields%5D%5B7%5D=x%26y"));
  CHECK(ac::form_decode(body) == fields);
  CHECK(ac::form_decode("a=%zz&b") == ac::form_fields{{"a", "%zz"}, {"b", ""}});
}

TEST_CASE("HubSpot search filters compare dates as epoch ms and text without case", "[sim][hubspot][search]") {
  const hs::properties p = {{"lastmodifieddate", "2024-05-01T10:00:00.000Z"}, {"email", "Ann@Example.com"},
                            {"num", "42"}};
  const auto ms = std::to_string(1714557600000LL);  // 2024-05-01T10:00:00Z
  CHECK(hs::matches(hs::search_filter{"lastmodifieddate", "GTE", ms, "", {}}, p));
  CHECK_FALSE(hs::matches(hs::search_filter{"lastmodifieddate", "GT", ms, "", {}}, p));
  CHECK(hs::matches(hs::search_filter{"lastmodifieddate", "LT", "2024-05-02", "", {}}, p));
  CHECK(hs::matches(hs::search_filter{"lastmodifieddate", "EQ", ms, "", {}}, p));
  CHECK(hs::matches(hs::search_filter{"email", "EQ", "ann@example.com", "", {}}, p));
  CHECK(hs::matches(hs::search_filter{"num", "BETWEEN", "40", "42", {}}, p));
  CHECK_FALSE(hs::matches(hs::search_filter{"num", "LT", "9", "", {}}, p));  // numeric, not lexical
  CHECK(hs::matches(hs::search_filter{"num", "IN", "", "", {"1", "42"}}, p));
  CHECK(hs::matches(hs::search_filter{"phone", "NOT_HAS_PROPERTY", "", "", {}}, p));
  CHECK_FALSE(hs::matches(hs::search_filter{"phone", "EQ", "1", "", {}}, p));
  CHECK(hs::matches(hs::search_filter{"email", "CONTAINS_TOKEN", "ann@example.com", "", {}}, p));
  CHECK(hs::iso_ms(1714557600123LL) == "2024-05-01T10:00:00.123Z");
  CHECK(hs::numeric_value("2024-05-01T10:00:00Z") == 1714557600000.0);
  CHECK_FALSE(hs::numeric_value("2024-13-01"));
}

TEST_CASE("HubSpot search requests are validated like the API", "[sim][hubspot][search]") {
  auto ok = hs::parse_search_request(boost::json::parse(
      R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"1"}]},)"
      R"({"filters":[{"propertyName":"email","operator":"EQ","value":"x"}]}],)"
      R"("sorts":[{"propertyName":"lastmodifieddate","direction":"DESCENDING"}],"limit":200,"after":"100",)"
      R"("properties":["email"]})"));
  REQUIRE(std::holds_alternative<hs::search_request>(ok));
  const auto& req = std::get<hs::search_request>(ok);
  CHECK(req.filter_groups.size() == 2);
  CHECK(req.limit == 200);
  CHECK(req.after == 100);
  CHECK_FALSE(req.sorts.at(0).ascending);
  // Groups are ORed.
  CHECK(hs::matches(req, {{"email", "x"}}));
  CHECK_FALSE(hs::matches(req, {{"email", "y"}}));

  const auto error = [](const char* json) {
    auto r = hs::parse_search_request(boost::json::parse(json));
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
  };
  CHECK(error(R"({"limit":201})").find("at most 200") != std::string::npos);
  CHECK_FALSE(error(R"({"limit":0})").empty());
  CHECK(error(R"({"filterGroups":[{"filters":[{"propertyName":"a","operator":"LIKE","value":"1"}]}]})")
            .find("Invalid operator") != std::string::npos);
  CHECK_FALSE(error(R"({"filterGroups":[{"filters":[{"propertyName":"a","operator":"GT"}]}]})").empty());
  CHECK_FALSE(error(R"({"after":"abc"})").empty());
  std::string six_groups = R"({"filterGroups":[)";
  for (int i = 0; i < 6; ++i) six_groups += std::string(i ? "," : "") + R"({"filters":[]})";
  CHECK(error((six_groups + "]}").c_str()).find("Too many filter groups") != std::string::npos);
}

TEST_CASE("HubSpot search ordering follows sorts and breaks ties by id", "[sim][hubspot][search]") {
  hs::search_request req;
  req.sorts.push_back({"lastmodifieddate", true});
  const hs::properties early = {{"lastmodifieddate", "2024-05-01T10:00:00.000Z"}};
  const hs::properties late = {{"lastmodifieddate", "2024-05-01T10:00:00.001Z"}};
  CHECK(hs::sorts_before(req, early, 9, late, 1));
  CHECK_FALSE(hs::sorts_before(req, late, 1, early, 9));
  CHECK(hs::sorts_before(req, early, 1, early, 2));
  req.sorts.front().ascending = false;
  CHECK(hs::sorts_before(req, late, 1, early, 9));
}

#include "sim/activecampaign/api.hpp"
#include "sim/hubspot/api.hpp"
#include "sim/intercom/api.hpp"
#include "sim/zendesk/api.hpp"

TEST_CASE("Seeded people overlap across vendors with different email casing", "[sim][seed]") {
  const std::int64_t base = 1'714'557'600'000;
  const auto hs_seed = hs::default_seed(42, 30, base);
  const auto zd_seed = zd::default_seed(42, 30, base);
  const auto ac_seed = ac::default_seed(42, 30, base);
  const auto ic_seed = ic::default_seed(42, 30, base);
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  // Person 7: HubSpot contact 7, Zendesk user 7, ActiveCampaign contact 4 (2i-1), Intercom contact 3 (3i-2).
  const std::string hs_email = hs_seed.make("contacts", 7).props.at("email");
  const std::string zd_email(zd_seed.make("users", 7).fields.at("email").as_string());
  const std::string ac_email = ac_seed.make(4).email;
  const std::string ic_email(ic_seed.make_contact(3).fields.at("email").as_string());
  CHECK(lower(hs_email) == lower(zd_email));
  CHECK(lower(hs_email) == lower(ac_email));
  CHECK(lower(hs_email) == lower(ic_email));
  CHECK(hs_seed.make("contacts", 7).props.at("firstname") + " " + hs_seed.make("contacts", 7).props.at("lastname") ==
        std::string(zd_seed.make("users", 7).fields.at("name").as_string()));
  // Deterministic: same seed, same record; another seed, other people.
  CHECK(hs_seed.make("contacts", 9).props == hs::default_seed(42, 30, base).make("contacts", 9).props);
  CHECK(hs_seed.make("contacts", 9).props != hs::default_seed(43, 30, base).make("contacts", 9).props);
}
