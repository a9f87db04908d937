// Vendor webhook verification against the vendors' published signature vectors (../shared/api-notes.md §7)
// and constructed requests: good ones pass with their dedupe key, tampered, stale or unauthenticated ones fail.
#include <catch2/catch.hpp>

#include "adapters/common/crypto.hpp"
#include "adapters/activecampaign/webhook.hpp"
#include "adapters/hubspot/webhook.hpp"
#include "adapters/intercom/webhook.hpp"
#include "adapters/salesforce/webhook.hpp"
#include "adapters/zendesk/webhook.hpp"

using namespace omnisync::adapters;
using omnisync::errc;
using omnisync::adapters::inbound_request;
using clock_point = std::chrono::system_clock::time_point;

namespace {
const std::string hs_secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
const std::string hs_uri = "https://www.example.com/webhook_uri";

inbound_request post(std::string target, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  inbound_request r;
  r.method = "POST";
  r.target = std::move(target);
  r.path = r.target.substr(0, r.target.find('?'));
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

wall_clock fixed(clock_point t) {
  return [t] { return t; };
}

clock_point at_ms(long long ms) { return clock_point(std::chrono::milliseconds(ms)); }

bool is(const omnisync::result<omnisync::adapters::verified_event>& r, errc e) {
  return !r && r.error() == omnisync::make_error_code(e);
}
}  // namespace

TEST_CASE("hubspot signatures match the official vectors", "[webhooks]") {
  const std::string hs1_body =
      R"([{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}])";
  CHECK(hubspot_signature_v1(hs_secret, hs1_body) == "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de");
  CHECK(hubspot_signature_v2(hs_secret, "GET", hs_uri, "") ==
        "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e");
  CHECK(hubspot_signature_v2(hs_secret, "POST", hs_uri, R"({"example_field":"example_value"})") ==
        "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900");
  const std::string sdk_body = "{'example_field':'example_value'}";
  CHECK(hubspot_signature_v1(hs_secret, sdk_body) == "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750");
  CHECK(hubspot_signature_v2(hs_secret, "POST", hs_uri, sdk_body) ==
        "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383");
  CHECK(hubspot_signature_v3(hs_secret, "POST", hs_uri, sdk_body, "15000000") ==
        "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=");
}

TEST_CASE("hubspot URI normalisation decodes only the documented escapes", "[webhooks]") {
  CHECK(hubspot_normalize_uri("https://x.example/a%3Ab%2Fc%3Fd%40e%21f%24g%27h%28i%29j%2Ak%2Cl%3Bm") ==
        "https://x.example/a:b/c?d@e!f$g'h(i)j*k,l;m");
  CHECK(hubspot_normalize_uri("https://x.example/a%20b?q=%2f%7E") == "https://x.example/a%20b?q=/%7E");
  CHECK(hubspot_normalize_uri("https://x.example/end%3") == "https://x.example/end%3");
}

TEST_CASE("hubspot v3 webhook: verified against the public URL, 5-minute window, dedupe on event ids", "[webhooks]") {
  const long long now = 1764000000000;
  hubspot_webhook_options o{"hubspot", hs_secret, "https://sync.example.com/", hubspot_webhook_options::version::v3,
                            std::chrono::milliseconds(300000), fixed(at_ms(now))};
  auto ep = make_hubspot_webhook(o);
  const std::string body = R"([{"eventId":7,"objectId":1},{"eventId":5,"objectId":2}])";
  auto signed_at = [&](long long ts, std::string b = {}) {
    if (b.empty()) b = body;
    auto sig = hubspot_signature_v3(hs_secret, "POST", "https://sync.example.com/webhooks/hubspot?x=1", b,
                                     std::to_string(ts));
    return post("/webhooks/hubspot?x=1", b,
                {{"X-HubSpot-Signature-v3", sig}, {"X-HubSpot-Request-Timestamp", std::to_string(ts)}});
  };
  auto ok = ep->verify(signed_at(now - 1000));
  REQUIRE(ok.has_value());
  CHECK(ok->dedupe_key == "events:5,7");
  CHECK(ok->ack.status == 200);

  CHECK(is(ep->verify(signed_at(now - 300001)), errc::timeout));  // stale: outside the replay window (401)
  CHECK(is(ep->verify(signed_at(now + 300001)), errc::timeout));  // from the future: the same
  auto tampered = signed_at(now);
  tampered.body[3] = 'X';
  CHECK(is(ep->verify(tampered), errc::auth_expired));
  auto unsigned_req = post("/webhooks/hubspot?x=1", body, {});
  CHECK(is(ep->verify(unsigned_req), errc::auth_expired));
  // Signed but unreadable: accepted (stored, then quarantined when processed), keyed by the body's hash.
  auto odd = ep->verify(signed_at(now, R"({"not":"an array"})"));
  REQUIRE(odd.has_value());
  CHECK(odd->ack.status == 200);
  CHECK(odd->dedupe_key.rfind("body-sha256:", 0) == 0);
  auto no_id = ep->verify(signed_at(now, R"([{"objectId":1}])"));  // no eventId
  REQUIRE(no_id.has_value());
  CHECK(no_id->dedupe_key != odd->dedupe_key);
}

TEST_CASE("hubspot v3 webhook: timestamp forms, escapes at the base URL's end, a large delivery", "[webhooks]") {
  const long long now = 1764000000000;
  auto sign = [&](const std::string& public_url, const std::string& signed_uri, const std::string& ts,
                  const std::string& body) {
    hubspot_webhook_options o{"hubspot", hs_secret, public_url, hubspot_webhook_options::version::v3,
                              std::chrono::milliseconds(300000), fixed(at_ms(now))};
    auto sig = hubspot_signature_v3(hs_secret, "POST", signed_uri, body, ts);
    auto req = post("/webhooks/hubspot", body, {{"X-HubSpot-Signature-v3", sig}, {"X-HubSpot-Request-Timestamp", ts}});
    return make_hubspot_webhook(o)->verify(req);
  };
  const std::string body = R"([{"eventId":1}])";
  const std::string uri = "https://sync.example.com/webhooks/hubspot";
  const std::string ts = std::to_string(now);
  // The timestamp is read as before (leading blanks, a '+', digits up to the first other character); the
  // signature covers the header exactly as sent.
  CHECK(sign("https://sync.example.com", uri, ts, body).has_value());
  CHECK(sign("https://sync.example.com", uri, "+" + ts, body).has_value());
  CHECK(sign("https://sync.example.com", uri, ts + "ms", body).has_value());
  // No usable timestamp: not authenticated (401).
  CHECK(is(sign("https://sync.example.com", uri, "abc", body), errc::auth_expired));
  CHECK(is(sign("https://sync.example.com", uri, "+-" + ts, body), errc::auth_expired));
  CHECK(is(sign("https://sync.example.com", uri, "99999999999999999999999", body), errc::auth_expired));
  // The base URL's escapes are decoded as in the whole URL, also when one ends it (or half of one does).
  CHECK(sign("https://sync.example.com/a%3A", "https://sync.example.com/a:/webhooks/hubspot", ts, body).has_value());
  CHECK(sign("https://sync.example.com/a%3", "https://sync.example.com/a%3/webhooks/hubspot", ts, body).has_value());
  CHECK(is(sign("https://sync.example.com/a%3A", uri, ts, body), errc::auth_expired));
  // A delivery larger than the parser's stack arena (100 events) still yields its ids.
  std::string many = "[";
  for (int i = 0; i < 100; ++i)
    many += (i ? "," : "") + std::string(R"({"eventId":)") + std::to_string(1000 + i) +
            R"(,"subscriptionType":"contact.propertyChange","propertyName":"email","propertyValue":"p)" +
            std::to_string(i) + R"(@example.com"})";
  many += "]";
  auto big = sign("https://sync.example.com", uri, ts, many);
  REQUIRE(big.has_value());
  CHECK(big->dedupe_key.rfind("events-sha256:", 0) == 0);
}

TEST_CASE("hubspot v1 webhook", "[webhooks]") {
  hubspot_webhook_options o{"hs", hs_secret, "https://sync.example.com", hubspot_webhook_options::version::v1, {}, {}};
  auto ep = make_hubspot_webhook(o);
  const std::string body = R"([{"eventId":1}])";
  CHECK(ep->verify(post("/webhooks/hs", body, {{"X-HubSpot-Signature", hubspot_signature_v1(hs_secret, body)}})).has_value());
  CHECK(is(ep->verify(post("/webhooks/hs", body, {{"X-HubSpot-Signature", std::string(64, 'a')}})), errc::auth_expired));
}

TEST_CASE("zendesk signatures match the vectors (timestamp + body)", "[webhooks]") {
  const std::string test_secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
  CHECK(zendesk_signature(test_secret, "2021-03-25T05:09:27Z", R"({"event":"ticket.updated","id":123})") ==
        "S/RDdU2ERmj7LHDDoWJ2onPYH+t7/f2+LTM4dL7UiLM=");
  CHECK(zendesk_signature("HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=", "2021-07-25T10:00:00Z", R"({"say": "hello"})") ==
        "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=");
}

TEST_CASE("zendesk webhook: signature, ±5 minute window, event id dedupe", "[webhooks]") {
  auto now = std::chrono::sys_days(std::chrono::year(2026) / 11 / 23) + std::chrono::hours(10);
  zendesk_webhook_options o{"zendesk", "secret", std::chrono::milliseconds(300000), fixed(now)};
  auto ep = make_zendesk_webhook(o);
  auto req = [&](std::string ts, std::string body) {
    return post("/webhooks/zendesk", body,
                {{"X-Zendesk-Webhook-Signature", zendesk_signature("secret", ts, body)},
                 {"X-Zendesk-Webhook-Signature-Timestamp", ts},
                 {"X-Zendesk-Webhook-Invocation-Id", "inv-9"}});
  };
  auto ok = ep->verify(req("2026-11-23T10:01:00Z", R"({"id":"evt-1","type":"zen:event-type:user.created"})"));
  REQUIRE(ok.has_value());
  CHECK(ok->dedupe_key == "event:evt-1");
  auto trigger = ep->verify(req("2026-11-23T09:58:00Z", R"({"custom":"body"})"));
  REQUIRE(trigger.has_value());
  CHECK(trigger->dedupe_key == "invocation:inv-9");
  CHECK(is(ep->verify(req("2026-11-23T09:50:00Z", "{}")), errc::timeout));  // 10 minutes old (401)
  CHECK(is(ep->verify(req("2026-11-23T10:10:00Z", "{}")), errc::timeout));  // 10 minutes ahead
  CHECK(is(ep->verify(req("yesterday", "{}")), errc::auth_expired));         // no usable timestamp
  auto bad = req("2026-11-23T10:00:00Z", "{}");
  bad.body = "{ }";
  CHECK(is(ep->verify(bad), errc::auth_expired));
}

TEST_CASE("intercom webhook: X-Hub-Signature sha1, HEAD validation, notification id dedupe", "[webhooks]") {
  auto ep = make_intercom_webhook({"intercom", "client-secret"});
  const std::string body = R"({"type":"notification_event","id":"notif_1","topic":"contact.user.created"})";
  // HMAC-SHA1 computed independently: printf '%s' BODY | openssl dgst -sha1 -hmac client-secret
  CHECK(intercom_signature("client-secret", body).size() == 45);
  CHECK(intercom_signature("key", "The quick brown fox jumps over the lazy dog") ==
        "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");  // RFC 2104 / Wikipedia HMAC-SHA1 example
  auto ok = ep->verify(post("/webhooks/intercom", body, {{"X-Hub-Signature", intercom_signature("client-secret", body)}}));
  REQUIRE(ok.has_value());
  CHECK(ok->dedupe_key == "notification:notif_1");
  CHECK(is(ep->verify(post("/webhooks/intercom", body, {{"X-Hub-Signature", "sha1=" + std::string(40, '0')}})),
           errc::auth_expired));
  inbound_request head;
  head.method = "HEAD";
  REQUIRE(ep->validation(head).has_value());
  CHECK(ep->validation(head)->status == 200);
}

TEST_CASE("activecampaign webhook: secret URL token, form-encoded, body-hash dedupe", "[webhooks]") {
  auto ep = make_activecampaign_webhook({"activecampaign", "t0ken-abc"});
  CHECK(ep->content_types() == std::vector<std::string>{"application/x-www-form-urlencoded"});
  auto req = post("/webhooks/activecampaign/t0ken-abc", "type=update&contact%5Bid%5D=42", {});
  req.token = "t0ken-abc";
  auto ok = ep->verify(req);
  REQUIRE(ok.has_value());
  CHECK(ok->dedupe_key == "sha256:" + sha256_hex("type=update&contact%5Bid%5D=42"));
  req.token = "t0ken-abd";
  CHECK(is(ep->verify(req), errc::auth_expired));
  req.token = "";
  CHECK(is(ep->verify(req), errc::auth_expired));
}

TEST_CASE("salesforce outbound messages: org check, notification ids, the documented SOAP Ack", "[webhooks]") {
  auto ep = make_salesforce_outbound_endpoint({"salesforce", "00D000000000062EAA", 8u << 20});
  auto envelope = [](std::string org, std::vector<std::string> ids) {
    std::string s = R"(<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>)" + org + R"(</OrganizationId>
   <ActionId>04k000000000001AAA</ActionId>
   <SessionId xsi:nil="true"/>)";
    for (const auto& id : ids)
      s += "<Notification><Id>" + id +
           R"(</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>003000000000001AAA</sf:Id></sObject></Notification>)";
    return s + "</notifications></soapenv:Body></soapenv:Envelope>";
  };
  auto one = ep->verify(post("/webhooks/salesforce", envelope("00D000000000062EAA", {"04l000000000001AAA"}), {}));
  REQUIRE(one.has_value());
  CHECK(one->dedupe_key == "notification:04l000000000001AAA");
  CHECK(one->ack.content_type.starts_with("text/xml"));
  CHECK(one->ack.body.find("<Ack>true</Ack>") != std::string::npos);
  CHECK(one->ack.body.find("http://soap.sforce.com/2005/09/outbound") != std::string::npos);
  // The 15-character form of the same org id is the same org.
  CHECK(ep->verify(post("/webhooks/salesforce", envelope("00D000000000062", {"04lA"}), {})).has_value());
  auto two_a = ep->verify(post("/webhooks/salesforce", envelope("00D000000000062EAA", {"04lB", "04lA"}), {}));
  auto two_b = ep->verify(post("/webhooks/salesforce", envelope("00D000000000062EAA", {"04lA", "04lB"}), {}));
  REQUIRE(two_a.has_value());
  REQUIRE(two_b.has_value());
  CHECK(two_a->dedupe_key == two_b->dedupe_key);
  CHECK(is(ep->verify(post("/webhooks/salesforce", envelope("00D000000000099EAA", {"04lA"}), {})), errc::auth_expired));
  CHECK(is(ep->verify(post("/webhooks/salesforce", envelope("00D000000000062EAA", {}), {})), errc::invalid_input));
  CHECK(is(ep->verify(post("/webhooks/salesforce", "<not xml", {})), errc::invalid_input));
  std::vector<std::string> many;
  for (int i = 0; i < 101; ++i) many.push_back("04l" + std::to_string(i));
  CHECK(is(ep->verify(post("/webhooks/salesforce", envelope("00D000000000062EAA", many), {})), errc::invalid_input));
}
