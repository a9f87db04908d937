// Pure pieces of the REST adapters: URL encoding, the settings every vendor declares alike, status
// classification, and the HubSpot poll cursor's round trip. (Vendor timestamps: tests/unit/core.)
#include <catch2/catch.hpp>

#include "adapters/hubspot/hubspot_cursor.hpp"
#include "adapters/rest/rest_util.hpp"
#include "adapters/rest/settings.hpp"
#include "config/validate.hpp"

#include <yaml-cpp/yaml.h>

using omnisync::adapters::hubspot::poll_cursor;
namespace rest = omnisync::adapters::rest;

TEST_CASE("Query values are percent-encoded", "[unit][adapters]") {
  CHECK(rest::url_encode("a b@c.d/e?f=g&h") == "a%20b%40c.d%2Fe%3Ff%3Dg%26h");
  CHECK(rest::url_encode("Az09-_.~") == "Az09-_.~");
}

TEST_CASE("The retry and timeout keys every vendor declares bind with the client's and policy's defaults",
          "[unit][adapters]") {
  struct vendor {
    omnisync::http::client_options http;
    omnisync::adapters::pacing::call_policy policy;
  };
  omnisync::config::schema s;
  auto& sync = s.block("sync", "");
  rest::declare_timeouts(sync, &vendor::http);
  rest::declare_retries(sync, &vendor::policy, {.max_wait = "max_retry_wait", .backoff = false});
  omnisync::config::diagnostics problems;
  omnisync::config::validation_context ctx{"t.yaml", "/", &problems};
  auto values = omnisync::config::validate(
      s, YAML::Load("sync: { read_timeout: 300ms, max_attempts: 2, backoff_base: 1s, connect_timeout: 0 }"), "c", ctx);
  // backoff_base is not declared for this vendor; a zero connect timeout is below its range.
  INFO(problems.format());
  CHECK(problems.size() == 2);
  CHECK(problems.format().find("c.sync.backoff_base: unknown key") != std::string::npos);
  CHECK(problems.format().find("c.sync.connect_timeout: expected a duration") != std::string::npos);
  vendor v;
  v.policy.max_wait = std::chrono::seconds(1);  // replaced by the declared default
  omnisync::config::bind_into(s, values, v);
  CHECK(v.http.read_timeout == std::chrono::milliseconds(300));
  CHECK(v.http.connect_timeout == omnisync::http::client_options{}.connect_timeout);
  CHECK(v.policy.max_attempts == 2);
  CHECK(v.policy.max_wait == omnisync::adapters::pacing::call_policy{}.max_wait);
}

TEST_CASE("Leftover HTTP statuses map to error classes", "[unit][adapters]") {
  using omnisync::errc;
  CHECK(rest::classify_status(400) == errc::invalid_input);
  CHECK(rest::classify_status(422) == errc::invalid_input);
  CHECK(rest::classify_status(404) == errc::not_found);
  CHECK(rest::classify_status(409) == errc::conflict);
  CHECK(rest::classify_status(429) == errc::rate_limited);
  CHECK(rest::classify_status(503) == errc::retry);
  CHECK(rest::classify_status(403) == errc::fail);
}

TEST_CASE("HubSpot poll cursors survive a round trip and refuse foreign text", "[unit][adapters]") {
  poll_cursor c;
  c.at = poll_cursor::phase::search;
  c.since_ms = 1714557600123;
  c.seen = {"11", "12"};
  c.tie_after = 40;
  c.archived_since_ms = 1714557000000;
  c.last_scan_ms = 1714557100000;
  c.archived_seen = {{"7", 1714557000001}};
  c.archived_fresh = {{"8", 1714557000002}, {"9", 1714557000003}};
  auto back = poll_cursor::decode(c.encode());
  REQUIRE(back.has_value());
  CHECK(back->at == poll_cursor::phase::search);
  CHECK(back->since_ms == c.since_ms);
  CHECK(back->seen == c.seen);
  CHECK(back->tie_after == 40);
  CHECK_FALSE(back->exclusive);
  CHECK(back->archived_since_ms == c.archived_since_ms);
  CHECK(back->last_scan_ms == c.last_scan_ms);
  CHECK(back->archived_seen == c.archived_seen);
  CHECK(back->archived_fresh == c.archived_fresh);
  CHECK(back->was_seen("12"));
  CHECK_FALSE(back->was_seen("13"));

  poll_cursor l;
  l.at = poll_cursor::phase::list;
  l.after = "501";
  l.list_archived = true;
  l.started_ms = 5;
  auto lb = poll_cursor::decode(l.encode());
  REQUIRE(lb.has_value());
  CHECK(lb->at == poll_cursor::phase::list);
  CHECK(lb->after == "501");
  CHECK(lb->list_archived);
  CHECK(lb->started_ms == 5);
  for (const char* bad : {"", "{}", "[1]", R"({"v":2,"phase":"search"})", R"({"v":1,"phase":"sideways"})", "0001"})
    CHECK_FALSE(poll_cursor::decode(bad).has_value());
}
