#include "adapters/hubspot/settings.hpp"

#include "adapters/rest/settings.hpp"

namespace omnisync::adapters::hubspot {

namespace {

config::schema build_schema() {
  using namespace std::chrono_literals;
  config::schema s;
  s.url("base_url", "the API (or the simulator)").fallback("https://api.hubapi.com").into(&settings::base_url);
  s.list("objects", "CRM objects to poll (feedback_submissions, tickets and custom objects work too)")
      .fallback(std::vector<std::string>{"contacts", "companies", "deals"})
      .into(&settings::objects);
  s.duration("settle_lag", "search reads changes up to \"now minus this\": HubSpot's search index shows a change a "
                           "few seconds late")
      .fallback(15s);
  s.integer("batch_size", "inputs per batch upsert (at most 100)").range(1, 2000).fallback(100);

  auto& auth = s.block("auth", "");
  auth.enumeration("flow", {"private_app", "oauth", "token", "refresh_token"},
                   "`oauth`: a public app's refresh-token flow instead of a static token (needs client_id, "
                   "client_secret, refresh_token); `token` is `private_app`, `refresh_token` is `oauth`")
      .fallback("private_app")
      .into(&settings::flow, std::vector<std::pair<std::string, auth_flow>>{{"private_app", auth_flow::private_app},
                                                                           {"token", auth_flow::private_app},
                                                                           {"oauth", auth_flow::oauth},
                                                                           {"refresh_token", auth_flow::oauth}});
  auth.secret("private_app_token", "a private app's access token, sent as `Authorization: Bearer`")
      .default_text("required for `private_app`")
      .into([](settings& x) -> auto& { return x.written.private_app_token; });
  auth.secret("access_token", "an OAuth access token obtained elsewhere, instead of `private_app_token`")
      .into([](settings& x) -> auto& { return x.written.access_token; });
  auth.string("client_id", "oauth: the app's client id").into(&settings::client_id);
  auth.secret("client_secret", "oauth: the app's client secret").into(&settings::client_secret);
  auth.secret("refresh_token", "oauth: the refresh token from the app's installation; a rotated one HubSpot returns "
                               "is kept in memory only")
      .into(&settings::refresh_token);
  auth.url("token_url", "oauth: the token endpoint")
      .default_text("`<base_url>/oauth/v1/token`")
      .into([](settings& x) -> auto& { return x.written.token_url; });

  auto& webhook = s.block("webhook", "");
  webhook.secret("client_secret", "the app's client secret; enables `POST /webhooks/<name>` with signature checks")
      .into(&settings::webhook_secret);
  webhook.enumeration("signature_version", {"v1", "v2", "v3"},
                      "`v3` (HMAC-SHA256 over method, URL, body and timestamp; needs `http.public_url`), `v2` (needs "
                      "`http.public_url`) or `v1`")
      .fallback("v3")
      .into(&settings::signature_version);
  webhook.duration("max_age", "v3: requests whose `X-HubSpot-Request-Timestamp` is older are refused")
      .fallback(5min)
      .into(&settings::webhook_max_age);

  auto& sync = s.block("sync", "");
  sync.integer("page_size", "records per search page (at most 200) and per list page (at most 100)")
      .range(1, 200)
      .fallback(100)
      .into(&settings::page_size);
  sync.integer("membership_chunk", "record ids per list membership request (segment sync: "
                                   "`PUT /crm/v3/lists/{listId}/memberships/add-and-remove`)")
      .range(1, 100000)
      .fallback(1000)
      .into(&settings::membership_chunk);
  sync.duration("archived_scan_interval", "how often the archived list is read for deletions search cannot show "
                                          "(`0`: after every caught-up poll); webhooks report deletions at once")
      .fallback(10min)
      .into(&settings::archived_scan_interval);
  sync.map("properties", "<object>",
           config::setting("", config::value_type::string_list, "").comma_list(),
           "the properties to read, or `all` (every property the properties API lists)")
      .names_from("objects")
      .default_text("the properties the shipped mappings read")
      .into(&settings::properties);
  sync.map("associations", "<object>",
           config::setting("", config::value_type::string_list, "").comma_list(),
           "associated object types attached to each record as `associations.<type>.results[].id`")
      .names_from("objects")
      .default_text("deals, feedback_submissions: `contacts`")
      .into(&settings::associations);
  sync.map("upsert_property", "<object>", config::setting("", config::value_type::string, ""),
           "the `idProperty` of upserts; by default the payload field whose value is the record key (the outbound "
           "mapping's `upsert_key`), else `email` for contacts, `omnisync_id` otherwise")
      .scalar_for_all()
      .names_from("objects")
      .default_text("from the payload")
      .into(&settings::upsert_property);
  rest::declare_retries(sync, &settings::policy, {.max_wait = "max_retry_wait", .backoff = false});
  rest::declare_timeouts(sync, &settings::http);

  auto& rate = s.block("rate_limit", "");
  rate.number("per_10s", "calls per rolling 10 s for the app (HubSpot's Professional/Enterprise limit; 100 on lower tiers)")
      .range(1, 1e6)
      .fallback(190)
      .into(&settings::per_10s);
  rate.number("search_per_second", "search calls per second (a separate HubSpot limit)")
      .range(0.1, 1e4)
      .fallback(5)
      .into(&settings::search_per_second);
  return s;
}

}  // namespace

const config::schema& settings_schema() {
  static const config::schema s = build_schema();
  return s;
}

settings read_settings(const config::connector_common& cfg) {
  auto fail = [&](std::string key, std::string why) { throw config::setting_error(cfg.name, std::move(key), std::move(why)); };
  settings s;
  config::bind_into(settings_schema(), cfg.settings, s);
  if (!cfg.base_url.empty()) s.base_url = cfg.base_url;  // login_url sets it too
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  if (!cfg.objects.empty()) s.objects = cfg.objects;
  // Two ways in: a private app's static token, or a public app's OAuth refresh token (auth.flow: oauth),
  // exchanged at /oauth/v1/token for 30-minute access tokens.
  if (s.flow == auth_flow::oauth) {
    if (s.client_id.empty()) fail("auth.client_id", "required for auth.flow oauth (the app's client id)");
    if (s.client_secret.empty())
      fail("auth.client_secret", "required for auth.flow oauth (client_secret_file: the app's client secret)");
    if (s.refresh_token.empty())
      fail("auth.refresh_token", "required for auth.flow oauth (refresh_token_file: from the app's installation)");
    s.token_url = s.written.token_url.empty() ? s.base_url + "/oauth/v1/token" : s.written.token_url;
  } else {
    s.token = s.written.private_app_token.empty() ? s.written.access_token : s.written.private_app_token;
    if (s.token.empty())
      fail("auth.private_app_token",
           "HubSpot needs auth.private_app_token (or auth.access_token), e.g. auth: { private_app_token_file: "
           "/etc/omnisync/hubspot.token }, or auth: { flow: oauth, client_id, client_secret_file, refresh_token_file }");
  }
  rest::apply_connection(s.http, cfg);
  return s;
}

}  // namespace omnisync::adapters::hubspot
