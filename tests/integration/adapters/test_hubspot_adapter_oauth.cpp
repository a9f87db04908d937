// The HubSpot adapter against a real omnisync-sim: OAuth (a token expiring mid-sync, requests in flight sharing
// one renewal, renewal before expiry, a refused refresh token, missing config) and resync --fields partial pages.
#include <catch2/catch.hpp>

#include "tests/integration/adapters/hubspot_harness.hpp"

using namespace omnisync::test::hubspot;

namespace {
/// A connector that signs in through the OAuth refresh-token flow (auth.flow: oauth) instead of a private app token.
omnisync::test::adapters::connector_config hs_oauth_config(running_sim& s, std::string refresh_token) {
  auto c = hs_config(s, {{"auth.flow", "oauth"}, {"auth.client_id", "omnisync-app"}});
  c.erase("auth.private_app_token");
  c.set("auth.client_secret", "app-secret");
  c.set("auth.refresh_token", std::move(refresh_token));
  return c;
}

/// Answers of `status` the simulator logged for HubSpot API calls.
std::int64_t hubspot_answers(running_sim& s, int status) {
  std::int64_t n = 0;
  const auto log = s.admin("GET", "/admin/requests").json();
  for (const auto& e : log.as_array())
    if (e.at("service").as_string() == "hubspot" && e.at("status").to_number<int>() == status) ++n;
  return n;
}
}  // namespace

TEST_CASE("HubSpot OAuth: the access token expires mid-sync, one refresh, the read completes", "[adapters][hubspot][oauth]") {
  auto& s = fresh_sim();
  s.admin("POST", "/admin/limits",
          R"({"service":"hubspot","oauth_client_id":"omnisync-app","oauth_client_secret":"app-secret",)"
          R"("oauth_refresh_token":"rt-good","oauth_rotate_refresh_tokens":true})");
  harness h(hs_oauth_config(s, "rt-good"));
  read_result out;
  // First page: the connector gets its first access token.
  auto first = h.run(h.c->poll(page_request("contacts", std::nullopt, poll_mode::full)));
  REQUIRE(first.has_value());
  REQUIRE(first->more);
  for (auto& r : first->records) out.by_id[r.id] = r;
  CHECK(sim_calls(s, "hubspot", "/oauth/v1/token") == 1);
  // Every token issued so far expires now (new ones live 30 minutes again).
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":0})");
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":1800000})");
  auto rest = read_all(h, "contacts", poll_mode::full, first->cursor);
  for (auto& [id, r] : rest.by_id) out.by_id[id] = r;
  CHECK(out.by_id.size() == 1000);
  // One 401 (EXPIRED_AUTHENTICATION), one refresh with the refresh token HubSpot rotated in the first answer,
  // and the refused call sent again.
  CHECK(hubspot_answers(s, 401) == 1);
  CHECK(sim_calls(s, "hubspot", "/oauth/v1/token") == 2);
  CHECK(h.c->usage().api_errors == 0);  // the refresh and the second send happen inside one call
}

TEST_CASE("HubSpot OAuth: requests in flight when the token expires share one renewal", "[adapters][hubspot][oauth]") {
  auto& s = fresh_sim();
  harness h(hs_oauth_config(s, "rt"));
  REQUIRE(h.run(h.c->list_ids("contacts", std::nullopt)).has_value());
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":0})");
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":1800000})");
  // Eight calls at once on the connector's executor, as the daemon's poll and write loops make them.
  std::vector<std::future<omnisync::result<omnisync::adapters::id_page>>> calls;
  for (int i = 0; i < 8; ++i)
    calls.push_back(boost::asio::co_spawn(h.io, h.c->list_ids("contacts", std::nullopt), boost::asio::use_future));
  h.io.restart();
  h.io.run();
  for (auto& f : calls) CHECK(f.get().has_value());
  // (how many were sent before the renewal finished depends on scheduling: usually all eight)
  INFO("401 answers: " << hubspot_answers(s, 401));
  CHECK(hubspot_answers(s, 401) >= 1);
  CHECK(sim_calls(s, "hubspot", "/oauth/v1/token") == 2);  // the first token and one renewal
}

TEST_CASE("HubSpot OAuth: a token about to expire is renewed before the call, without a 401", "[adapters][hubspot][oauth]") {
  auto& s = fresh_sim();
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","token_lifetime_ms":1000})");  // expires_in: 1 s
  harness h(hs_oauth_config(s, "any-refresh-token"));
  auto a = h.run(h.c->list_ids("contacts", std::nullopt));
  REQUIRE(a.has_value());
  std::this_thread::sleep_for(800ms);  // inside the last quarter of the token's life
  auto b = h.run(h.c->list_ids("contacts", a->next));
  REQUIRE(b.has_value());
  CHECK(sim_calls(s, "hubspot", "/oauth/v1/token") == 2);
  CHECK(hubspot_answers(s, 401) == 0);
}

TEST_CASE("HubSpot OAuth: a refused refresh token is a clear auth_expired, not a crash or a retry storm",
          "[adapters][hubspot][oauth]") {
  auto& s = fresh_sim();
  s.admin("POST", "/admin/limits", R"({"service":"hubspot","oauth_refresh_token":"rt-good"})");
  harness h(hs_oauth_config(s, "rt-revoked"));
  auto pg = h.run(h.c->poll(page_request("contacts", std::nullopt, poll_mode::full)));
  REQUIRE_FALSE(pg.has_value());
  CHECK(pg.error() == omnisync::errc::auth_expired);
  CHECK(sim_calls(s, "hubspot", "/oauth/v1/token") == 1);  // refused once, not retried by the api_caller
  CHECK(sim_calls(s, "hubspot", "/crm/") == 0);            // nothing sent without a token
  // The next operation asks again (the engine decides when: it backs off a failing connector).
  auto again = h.run(h.c->list_ids("contacts", std::nullopt));
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error() == omnisync::errc::auth_expired);
  CHECK(sim_calls(s, "hubspot", "/oauth/v1/token") == 2);
}

TEST_CASE("HubSpot OAuth config: missing pieces are named at start-up", "[adapters][hubspot][oauth]") {
  auto& s = fresh_sim();
  auto c = hs_oauth_config(s, "rt");
  c.erase("auth.client_secret");
  CHECK_THROWS_WITH(harness(c), Catch::Contains("auth.client_secret"));
  auto d = hs_oauth_config(s, "rt");
  d.set("auth.flow", "password");
  CHECK_THROWS_WITH(harness(d), Catch::Contains("auth.flow"));
}

TEST_CASE("HubSpot resync --fields reads only those properties as partial pages", "[adapters][hubspot][fields]") {
  auto& s = fresh_sim();
  harness h(hs_config(s));
  std::map<std::string, omnisync::adapters::source_record> got;
  std::optional<std::string> cursor;
  int pages = 0;
  while (pages < 100) {
    page_request req("contacts", cursor, poll_mode::full);
    req.fields = {"phone", "jobtitle"};
    auto pg = h.run(h.c->poll(std::move(req)));
    ++pages;
    REQUIRE(pg.has_value());
    CHECK(pg->partial);
    for (auto& r : pg->records) got[r.id] = r;
    cursor = pg->cursor;
    if (!pg->more) break;
  }
  CHECK(got.size() == 1000);
  CHECK(pages == 10);  // 10 pages of 100, the last one ends the read (no archived pass)
  const auto one = payload(got.at("1"));
  const auto& props = one.at("properties").as_object();
  CHECK(props.contains("phone"));
  CHECK(props.contains("jobtitle"));
  // Only the fields asked for: no stamps (a merged record must not look as new as a change it holds only part of).
  CHECK(props.size() == 2);
  CHECK(one.as_object().size() == 2);  // id and properties
  CHECK_FALSE(props.contains("email"));
  CHECK_FALSE(props.contains("lifecyclestage"));
  CHECK(got.at("1").source_updated_at.time_since_epoch().count() > 0);
  CHECK(sim_calls(s, "hubspot", "archived=true") == 0);
  // The list asked HubSpot for just those properties.
  const auto log = s.admin("GET", "/admin/requests").json();
  bool asked = false;
  for (const auto& e : log.as_array())
    if (std::string_view(e.at("target").as_string()).find("properties=phone%2Cjobtitle%2Clastmodifieddate%2Chs_object_id") !=
        std::string_view::npos)
      asked = true;
  CHECK(asked);
  // Deals: no association calls in a partial read.
  page_request deals("deals", std::nullopt, poll_mode::full);
  deals.fields = {"amount"};
  auto d = h.run(h.c->poll(std::move(deals)));
  REQUIRE(d.has_value());
  CHECK(d->partial);
  CHECK(sim_calls(s, "hubspot", "associations") == 0);
}
