#include "adapters/zendesk/settings.hpp"

#include <algorithm>

#include "adapters/rest/settings.hpp"

namespace omnisync::adapters::zendesk {

namespace {

const std::vector<std::string> supported_objects{"users", "tickets", "satisfaction_ratings"};

config::schema build_schema() {
  using namespace std::chrono_literals;
  config::schema s;
  s.url("base_url", "the API, e.g. the simulator; wins over `subdomain` when both are set")
      .default_text("`https://<subdomain>.zendesk.com`");
  s.string("subdomain", "the account: `https://<subdomain>.zendesk.com` when there is no `base_url`")
      .pattern(R"([a-z0-9][a-z0-9-]{0,62})", "a subdomain like \"acme\" (letters, digits, hyphens)")
      .default_text("one of subdomain, base_url required")
      .into(&settings::subdomain);
  s.list("objects", "what to poll; writes go to users only")
      .choices(supported_objects)
      .fallback(supported_objects)
      .into(&settings::objects);
  s.integer("batch_size", "users per `create_or_update_many` (at most 100)").range(1, 2000).fallback(100);

  auto& auth = s.block("auth", "");
  auth.string("email", "API token auth: the agent the token belongs to (`email/token:api_token`, HTTP Basic)")
      .into(&settings::email);
  auth.secret("api_token", "API token auth, with `email`").into(&settings::api_token);
  auth.secret("access_token", "an OAuth access token instead (`Authorization: Bearer`)").into(&settings::access_token);

  auto& webhook = s.block("webhook", "");
  webhook.secret("signing_secret", "the webhook's signing secret; enables `POST /webhooks/<name>` (signature over "
                                   "timestamp + body)")
      .into(&settings::signing_secret);
  webhook.duration("max_skew", "requests whose signature timestamp is further from now are refused (Zendesk documents "
                               "no window; this is ours)")
      .fallback(5min)
      .into(&settings::webhook_max_skew);

  auto& sync = s.block("sync", "");
  sync.integer("page_size", "records per incremental export page (at most 1000; ratings pages at most 100)")
      .range(1, 1000)
      .fallback(1000)
      .into(&settings::page_size);
  sync.duration("job_poll_interval", "how often a bulk write's job status is read until it completes")
      .at_least(std::chrono::milliseconds(1))
      .fallback(1s)
      .into(&settings::job_poll_interval);
  sync.duration("job_timeout", "a job not finished by then has its users written again later (upserts repeat harmlessly)")
      .fallback(10min)
      .into(&settings::job_timeout);
  rest::declare_retries(sync, &settings::policy, {.max_wait = "max_retry_wait", .backoff = false});
  rest::declare_timeouts(sync, &settings::http);

  auto& rate = s.block("rate_limit", "");
  rate.number("per_minute", "account-wide calls per minute (Enterprise; 200 on Team, 400 on Professional)")
      .range(1, 1e6)
      .fallback(700)
      .into(&settings::per_minute);
  rate.number("exports_per_minute", "incremental export calls per minute (tickets)")
      .range(1, 1e5)
      .fallback(10)
      .into(&settings::exports_per_minute);
  rate.number("user_exports_per_minute", "users cursor export calls per minute (60 with the High Volume add-on)")
      .range(1, 1e5)
      .fallback(20)
      .into(&settings::user_exports_per_minute);
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
  else if (!s.subdomain.empty()) s.base_url = "https://" + s.subdomain + ".zendesk.com";
  else fail("subdomain", "Zendesk needs subdomain (or base_url)");
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  if (!s.api_token.empty()) {
    if (s.email.empty()) fail("auth.email", "auth.api_token needs auth.email (the agent it belongs to)");
  } else if (s.access_token.empty()) {
    fail("auth.api_token", "Zendesk needs auth.email with auth.api_token (or an OAuth auth.access_token)");
  }
  if (!cfg.objects.empty()) s.objects = cfg.objects;
  for (const auto& o : s.objects)
    if (std::find(supported_objects.begin(), supported_objects.end(), o) == supported_objects.end())
      fail("objects", "Zendesk object \"" + o + "\" is not supported (users, tickets, satisfaction_ratings)");
  rest::apply_connection(s.http, cfg);
  return s;
}

}  // namespace omnisync::adapters::zendesk
