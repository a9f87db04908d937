#include "adapters/intercom/settings.hpp"

#include "adapters/rest/settings.hpp"

namespace omnisync::adapters::intercom {

namespace {

config::schema build_schema() {
  using namespace std::chrono_literals;
  config::schema s;
  s.url("base_url", "the API: `https://api.eu.intercom.io` / `https://api.au.intercom.io` for EU/AU workspaces, or the "
                    "simulator")
      .fallback("https://api.intercom.io")
      .into(&settings::base_url);
  s.list("objects", "what to poll; writes go to contacts only")
      .choices({"contacts", "conversations"})
      .fallback(std::vector<std::string>{"contacts", "conversations"})
      .into(&settings::objects);
  s.integer("batch_size", "ignored: a contact is created or updated by its own call").range(1, 2000).fallback(1);

  s.block("auth", "")
      .secret("access_token", "the app's access token, sent as `Authorization: Bearer`")
      .default_text("required")
      .into(&settings::access_token);
  s.block("webhook", "")
      .secret("client_secret", "the app's client secret; enables `POST /webhooks/<name>` with `X-Hub-Signature` "
                               "checks (HEAD validation answered)")
      .into(&settings::webhook_secret);

  auto& sync = s.block("sync", "");
  sync.string("api_version", "the `Intercom-Version` header").fallback("2.11").into(&settings::api_version);
  sync.integer("page_size", "records per search page (at most 150)").range(1, 150).fallback(150).into(&settings::page_size);
  sync.duration("overlap", "each scan starts this far below the newest `updated_at` read (search compares whole days, "
                           "so the whole day is read anyway; `(id, updated_at)` pairs inside the overlap are "
                           "remembered and skipped)")
      .fallback(10min)
      .into(&settings::overlap);
  sync.enumeration("upsert_key", {"external_id", "email"},
                   "which contact field the outbound mapping's record key fills when the payload lacks it; contacts "
                   "are found by external_id or email either way")
      .fallback("external_id")
      .into(&settings::upsert_key);
  sync.enumeration("role", {"user", "lead"}, "role of contacts omnisync creates when the payload has none")
      .fallback("user")
      .into(&settings::role);
  rest::declare_retries(sync, &settings::policy, {.max_wait = "max_retry_wait", .backoff = true});
  rest::declare_timeouts(sync, &settings::http);

  s.block("rate_limit", "")
      .number("per_minute", "calls per minute for the app, counted in 10-second periods (a sixth each)")
      .range(1, 1e7)
      .fallback(10000)
      .into(&settings::per_minute);
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
  while (!s.base_url.empty() && s.base_url.back() == '/') s.base_url.pop_back();
  if (s.access_token.empty())
    fail("auth.access_token", "Intercom needs auth.access_token (the app's access token), e.g. auth: { "
                              "access_token_file: /etc/omnisync/intercom.token }");
  if (!cfg.objects.empty()) s.objects = cfg.objects;
  for (const auto& o : s.objects)
    if (o != "contacts" && o != "conversations")
      fail("objects", "Intercom object \"" + o + "\" is not supported (contacts, conversations)");
  rest::apply_connection(s.http, cfg);
  return s;
}

}  // namespace omnisync::adapters::intercom
