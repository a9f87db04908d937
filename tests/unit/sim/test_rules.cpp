// The simulators' shared field checks, query-string handling, Outbound Message acknowledgements and each
// vendor's webhook redelivery schedule, in process.
#include <catch2/catch.hpp>

#include <numeric>

#include "sim/core/form.hpp"
#include "sim/core/validate.hpp"
#include "sim/hubspot/api.hpp"
#include "sim/intercom/api.hpp"
#include "sim/salesforce/api.hpp"
#include "sim/zendesk/api.hpp"

using omnisync::sim::delivery_outcome;

TEST_CASE("sim rules: e-mail addresses as the vendors accept them", "[sim][validate]") {
  using omnisync::sim::valid_email;
  for (const char* ok : {"a@example.com", "ANN.LEE5@EXAMPLE.COM", "first.last+tag@sub.example.co.uk", "o'neil@example.org"})
    CHECK(valid_email(ok));
  for (const char* no : {"", "not-an-email", "a@b", "two@@example.com", "a b@example.com", "@example.com", "a@.com",
                         "a@example.c", "a@example.123", ".a@example.com", "a..b@example.com", "\"q\"@example.com",
                         "a@-example.com", "a@example..com", "a@exa_mple.com"})
    CHECK_FALSE(valid_email(no));
}

TEST_CASE("sim rules: plain numbers and calendar dates", "[sim][validate]") {
  using omnisync::sim::calendar_date;
  using omnisync::sim::plain_number;
  for (const char* ok : {"0", "-12", "+3.5", "1250.50", ".5", "1e20", "2.5E-3"}) CHECK(plain_number(ok));
  for (const char* no : {"", "12,5", "$15", "1 000", "abc", "1e", "nan", "inf", "0x10", "1.2.3"}) CHECK_FALSE(plain_number(no));
  CHECK(calendar_date("2024-02-29"));
  CHECK_FALSE(calendar_date("2023-02-29"));
  CHECK_FALSE(calendar_date("2026-13-01"));
  CHECK_FALSE(calendar_date("2026-1-01"));
}

TEST_CASE("sim rules: literal brackets in query strings are percent-encoded, escapes kept", "[sim][form]") {
  using omnisync::sim::encode_target;
  CHECK(encode_target("/api/v2/users.json?page[size]=2&page[after]=abc") ==
        "/api/v2/users.json?page%5Bsize%5D=2&page%5Bafter%5D=abc");
  CHECK(encode_target("/api/3/contacts?filters%5Bupdated_after%5D=2024-01-01") ==
        "/api/3/contacts?filters%5Bupdated_after%5D=2024-01-01");
  CHECK(encode_target("/q?x={a}|b^c") == "/q?x=%7Ba%7D%7Cb%5Ec");
  CHECK(omnisync::sim::parse_form("page%5Bsize%5D=2")["page[size]"] == "2");
}

TEST_CASE("sim rules: salesforce: only the SOAP notificationsResponse in its namespace acknowledges", "[sim][salesforce]") {
  using omnisync::sim::salesforce::acknowledges;
  const std::string ack =
      R"(<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">)"
      R"(<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>)"
      R"(</notificationsResponse></soapenv:Body></soapenv:Envelope>)";
  CHECK(acknowledges(200, ack));
  CHECK_FALSE(acknowledges(500, ack));
  CHECK_FALSE(acknowledges(200, "<Ack>true</Ack>"));
  CHECK_FALSE(acknowledges(200, "ok <Ack>true</Ack>"));
  std::string other_ns = ack;
  other_ns.replace(other_ns.find("2005/09/outbound"), 16, "2005/09/inbound!");
  CHECK_FALSE(acknowledges(200, other_ns));
  std::string no = ack;
  no.replace(no.find(">true<"), 6, ">false<");
  CHECK_FALSE(acknowledges(200, no));
  // Prefixed names resolve through their declarations.
  CHECK(acknowledges(200, R"(<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>)"
                          R"(<o:notificationsResponse xmlns:o="http://soap.sforce.com/2005/09/outbound"><o:Ack> 1 </o:Ack>)"
                          R"(</o:notificationsResponse></e:Body></e:Envelope>)"));
  // An unqualified Ack is not the WSDL's (elementFormDefault="qualified").
  CHECK_FALSE(acknowledges(200, R"(<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>)"
                                R"(<o:notificationsResponse xmlns:o="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>)"
                                R"(</o:notificationsResponse></e:Body></e:Envelope>)"));
}

namespace {
/// Runs a schedule to the end: the pauses it asks for until it gives up (status as given each time).
std::vector<std::int64_t> run(const omnisync::sim::retry_schedule& s, int status, std::string retry_after = {},
                              std::uint64_t seed = 7) {
  std::vector<std::int64_t> pauses;
  delivery_outcome o;
  o.status = status;
  o.retry_after = std::move(retry_after);
  o.seed = seed;
  for (o.attempts = 1; o.attempts < 1000; ++o.attempts) {
    auto p = s(o);
    if (!p) break;
    pauses.push_back(*p);
    o.elapsed_ms += *p;
    o.last_pause_ms = *p;
  }
  return pauses;
}
constexpr std::int64_t hour = 3600 * 1000;
}  // namespace

TEST_CASE("sim rules: salesforce: Outbound Messages back off exponentially to 2 h and stop at 24 h", "[sim][salesforce]") {
  const auto p = run(omnisync::sim::salesforce::outbound_retry_delay, 503);
  REQUIRE(p.size() == 19);  // 20 attempts: 9 doubling pauses from 15 s, then 2 h until the next would pass 24 h
  CHECK(p.front() == 15'000);
  for (std::size_t i = 1; i < p.size(); ++i) CHECK(p[i] == std::min<std::int64_t>(2 * p[i - 1], 2 * hour));
  const auto total = std::accumulate(p.begin(), p.end(), std::int64_t{0});
  CHECK(total <= 24 * hour);
  CHECK(total + 2 * hour > 24 * hour);
}

TEST_CASE("sim rules: hubspot: 10 randomised retries within 24 h, none after 400/401/403/404/405", "[sim][hubspot]") {
  const auto& s = omnisync::sim::hubspot::webhook_retry_delay;
  for (std::uint64_t seed : {1u, 2u, 99u}) {
    const auto p = run(s, 500, {}, seed);
    REQUIRE(p.size() == 10);
    CHECK(std::accumulate(p.begin(), p.end(), std::int64_t{0}) <= 24 * hour);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double nominal = 24.0 * hour * static_cast<double>(1LL << i) / 1023.0;
      CHECK(p[i] >= static_cast<std::int64_t>(nominal / 2) - 1);
      CHECK(p[i] <= static_cast<std::int64_t>(nominal));
    }
  }
  CHECK(run(s, 500, {}, 1) != run(s, 500, {}, 2));  // randomised per delivery
  CHECK(run(s, 0).size() == 10);                     // no answer at all: retried too
  for (int status : {400, 401, 403, 404, 405}) CHECK(run(s, status).empty());
  CHECK(run(s, 429, "3600").front() >= 3600 * 1000);  // Retry-After respected
}

TEST_CASE("sim rules: zendesk and intercom webhook retries", "[sim][zendesk][intercom]") {
  const auto& z = omnisync::sim::zendesk::webhook_retry_delay;
  CHECK(run(z, 409).size() == 3);
  CHECK(run(z, 0).size() == 3);
  CHECK(run(z, 429, "30") == std::vector<std::int64_t>{30'000, 30'000, 30'000});
  CHECK(run(z, 503, "120").empty());  // Retry-After over 60 s: not retried
  CHECK(run(z, 429).empty());         // without Retry-After
  CHECK(run(z, 500).empty());
  CHECK(run(z, 410).empty());
  CHECK(run(omnisync::sim::intercom::webhook_retry_delay, 500) == std::vector<std::int64_t>{60'000});
}
