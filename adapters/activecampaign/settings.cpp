#include "adapters/activecampaign/settings.hpp"

#include "adapters/rest/settings.hpp"

namespace omnisync::adapters::activecampaign {

namespace {

config::schema build_schema() {
  config::schema s;
  s.url("base_url", "the account's API URL (`https://<account>.api-us1.com`, Settings > Developer) or the simulator; "
                    "wins over `subdomain`")
      .default_text("`https://<subdomain>.api-us1.com`");
  s.string("subdomain", "the account name, for `https://<subdomain>.api-us1.com` when there is no `base_url`")
      .pattern(R"([a-z0-9][a-z0-9-]{0,62})", "a subdomain like \"acme\" (letters, digits, hyphens)")
      .default_text("one of subdomain, base_url required")
      .into(&settings::subdomain);
  s.list("objects", "the only object").choices({"contacts"}).fallback(std::vector<std::string>{"contacts"}).into(&settings::objects);
  s.integer("batch_size", "ignored: `contact/sync` takes one contact per call").range(1, 2000).fallback(1);

  s.block("auth", "").secret("api_token", "sent as the `Api-Token` header").default_text("required").into(&settings::api_token);
  s.block("webhook", "")
      .secret("url_token", "enables `POST /webhooks/<name>/<url_token>`: ActiveCampaign signs nothing, so the webhook "
                           "URL configured in ActiveCampaign carries this token as its last segment (compared in "
                           "constant time)")
      .into(&settings::url_token);

  auto& sync = s.block("sync", "");
  sync.integer("page_size", "contacts per listing page (at most 100)").range(1, 100).fallback(100).into(&settings::page_size);
  sync.integer("segment_list", "segment sync: the list an added member is subscribed to (status 1; never a contact "
                               "who unsubscribed, unless the segment says `resubscribe: true`); `0`: tags only")
      .range(0, 1000000000)
      .fallback(0)
      .into(&settings::segment_list);
  rest::declare_retries(sync, &settings::policy, {.max_wait = "max_retry_wait", .backoff = true});
  rest::declare_timeouts(sync, &settings::http);

  s.block("rate_limit", "")
      .number("per_second", "calls per second for the account; calls are spaced evenly (one every 1/rate s, plus 2 %)")
      .range(0.1, 1e5)
      .fallback(5)
      .into(&settings::per_second);
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
  if (!cfg.base_url.empty()) s.base_url = cfg.base_url;
  else if (!s.subdomain.empty()) s.base_url = "https://" + s.subdomain + ".api-us1.com";
  else
    fail("base_url", "ActiveCampaign needs base_url (the account's API URL, e.g. https://acme.api-us1.com) or subdomain");
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  if (s.api_token.empty()) fail("auth.api_token", "ActiveCampaign needs auth.api_token (Settings > Developer in the account)");
  if (!cfg.objects.empty()) s.objects = cfg.objects;
  for (const auto& o : s.objects)
    if (o != "contacts") fail("objects", "ActiveCampaign object \"" + o + "\" is not supported (contacts)");
  rest::apply_connection(s.http, cfg);
  return s;
}

}  // namespace omnisync::adapters::activecampaign
