#include "adapters/salesforce/settings.hpp"

#include <algorithm>

#include "adapters/rest/settings.hpp"

namespace omnisync::adapters::salesforce {

namespace {

// API names and relationship paths: letters, digits, underscores (and dots between relationship parts).
// Anything else could change the SOQL.
constexpr const char* field_path = R"([A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*)";
constexpr const char* api_name = R"([A-Za-z][A-Za-z0-9_]*)";

config::schema build_schema() {
  using namespace std::chrono_literals;
  config::schema s;
  s.url("login_url",
        "`https://login.salesforce.com`, `https://test.salesforce.com`, the org's My Domain URL (required for client "
        "credentials), or the simulator; only the token endpoint is called there, everything else goes to the token "
        "answer's `instance_url` (`base_url` is the same key)")
      .default_text("required when enabled");
  s.string("api_version", "REST API version")
      .pattern(R"(\d{2}\.\d)", "a Salesforce API version like \"62.0\"")
      .fallback("62.0")
      .into(&settings::api_version);
  s.list("objects", "sObjects to poll")
      .pattern(api_name, "an sObject API name")
      .fallback(std::vector<std::string>{"Contact", "Lead", "Account", "Opportunity", "Case"})
      .into(&settings::objects);
  s.duration("settle_lag", "reads stop this far behind the org's clock (learnt from its `Date` headers), so "
                           "transactions still committing are not passed")
      .fallback(15s);
  s.integer("batch_size", "records per sObject Collections upsert (at most 200)").range(1, 2000).fallback(200);

  auto& auth = s.block("auth", "");
  auth.enumeration("flow", {"jwt_bearer", "refresh_token", "client_credentials", "jwt"},
                   "the OAuth flow (`jwt` is `jwt_bearer`)")
      .default_text("from the secrets present")
      .into([](settings& x) -> auto& { return x.written.flow; },
            std::vector<std::pair<std::string, auth_flow>>{{"jwt_bearer", auth_flow::jwt_bearer},
                                                           {"jwt", auth_flow::jwt_bearer},
                                                           {"refresh_token", auth_flow::refresh_token},
                                                           {"client_credentials", auth_flow::client_credentials}});
  auth.string("client_id", "the connected app's consumer key").default_text("required when enabled")
      .into([](settings& x) -> auto& { return x.auth.client_id; });
  auth.secret("client_secret", "client credentials (and optionally refresh token) flow")
      .into([](settings& x) -> auto& { return x.written.client_secret; });
  auth.secret("refresh_token", "refresh token flow").into([](settings& x) -> auto& { return x.written.refresh_token; });
  auth.secret("private_key", "JWT bearer: the unencrypted RSA private key (PEM) whose certificate is uploaded to the "
                             "connected app")
      .into([](settings& x) -> auto& { return x.written.private_key; });
  auth.string("username", "JWT bearer: the integration user (`sub`)").into([](settings& x) -> auto& { return x.auth.username; });
  auth.string("audience", "JWT bearer `aud` (`https://login.salesforce.com` / `https://test.salesforce.com`)")
      .default_text("the login URL")
      .into([](settings& x) -> auto& { return x.written.audience; });
  auth.url("token_url", "the token endpoint").default_text("login URL + `/services/oauth2/token`")
      .into([](settings& x) -> auto& { return x.written.token_url; });

  auto& sync = s.block("sync", "");
  sync.integer("page_size", "query batch size (`Sforce-Query-Options: batchSize`)")
      .range(200, 2000)
      .fallback(2000)
      .into(&settings::page_size);
  sync.duration("overlap", "each read starts this far below the last watermark; `(Id, SystemModstamp)` pairs already "
                           "read are skipped")
      .fallback(1min)
      .into(&settings::overlap);
  sync.integer("max_seen", "most pairs a cursor remembers; beyond it the overlap shrinks (never below the watermark)")
      .range(100, 1000000)
      .fallback(5000)
      .into(&settings::max_seen);
  sync.duration("formula_refresh", "how often formula (calculated) columns are read again: they change without "
                                   "touching SystemModstamp (`0`: never)")
      .fallback(1h)
      .into(&settings::formula_refresh);
  sync.duration("get_deleted_interval", "how often `getDeleted` checks for deletions `queryAll` did not show (`0`: never)")
      .fallback(15min)
      .into(&settings::get_deleted_interval);
  sync.duration("describe_refresh", "how long a describe (the column list) is used before it is read again")
      .fallback(1h)
      .into(&settings::describe_refresh);
  sync.string("campaign_member_status", "segment sync: the `Status` of CampaignMember rows omnisync inserts (one of "
                                        "the campaign's member statuses)")
      .fallback("Sent")
      .into(&settings::campaign_member_status);
  sync.integer("fetch_chunk", "ids per `WHERE Id IN (...)` query").range(1, 500).fallback(100).into(&settings::fetch_chunk);
  sync.number("budget_share", "share of the org's daily API limit (`Sforce-Limit-Info`) omnisync may use; past it "
                              "calls wait (`rate_limited`)")
      .range(0.01, 1.0)
      .fallback(0.5)
      .into(&settings::budget_share);
  rest::declare_retries(sync, &settings::policy, {.max_wait = "max_wait", .backoff = true});
  rest::declare_timeouts(sync, &settings::http);
  auto& each = sync.each("<Object>", "settings of one sObject").names_from("objects").into(&settings::per_object);
  auto& object = config::schema::keys_of(each);
  object.list("fields", "columns to read instead of every describe field (Id, SystemModstamp, IsDeleted are always read)")
      .comma_list()
      .pattern(field_path, "a field API name")
      .default_text("describe")
      .into(&object_settings::fields);
  object.list("extra_fields", "relationship columns the inbound mapping reads")
      .comma_list()
      .pattern(field_path, "a field API name or relationship path")
      .default_text("Contact: `Account.Name`")
      .into(&object_settings::extra_fields);
  object.string("upsert_key", "the external id field writes upsert on")
      .pattern(api_name, "a field API name")
      .default_text("from the outbound mapping (below)")
      .into(&object_settings::upsert_key);

  auto& webhook = s.block("webhook", "");
  webhook.string("organization_id", "enables the Outbound Message endpoint `/webhooks/<name>` and rejects other orgs")
      .pattern(R"([A-Za-z0-9]{15}([A-Za-z0-9]{3})?)", "the 15- or 18-character organization id (00D...)")
      .into(&settings::organization_id);
  webhook.boolean("enabled", "`true` accepts Outbound Messages from any org (not recommended)")
      .default_text("with `organization_id`")
      .into([](settings& x) -> auto& { return x.written.webhook_enabled; });
  webhook.boolean("refetch", "`true`: an Outbound Message only names records, which are then read whole (use it when "
                             "the message does not carry every field the inbound mapping reads)")
      .fallback(false)
      .into(&settings::webhook_refetch);
  return s;
}

}  // namespace

const config::schema& settings_schema() {
  static const config::schema s = build_schema();
  return s;
}

const object_settings& settings::object(const std::string& name) const {
  static const object_settings none;
  auto it = per_object.find(name);
  return it == per_object.end() ? none : it->second;
}

settings read_settings(const config::connector_common& cfg) {
  auto fail = [&](std::string key, std::string why) { throw config::setting_error(cfg.name, std::move(key), std::move(why)); };
  settings s;
  s.connector = cfg.name;
  // Defaults that depend on the object: set first, so only what the file says replaces them.
  s.per_object["Contact"].extra_fields = {"Account.Name"};
  config::bind_into(settings_schema(), cfg.settings, s);
  if (!cfg.objects.empty()) s.objects = cfg.objects;  // a connector_common built without a block (tests)
  if (cfg.base_url.empty())
    fail("login_url", "required: the login URL (https://login.salesforce.com, a My Domain URL or the simulator)");

  // ---- auth
  auto& a = s.auth;
  a.login_url = cfg.base_url;
  while (!a.login_url.empty() && a.login_url.back() == '/') a.login_url.pop_back();
  a.token_url = s.written.token_url.value_or(a.login_url + "/services/oauth2/token");
  a.audience = s.written.audience.value_or(a.login_url);
  a.client_secret = s.written.client_secret.reveal();
  a.refresh_token = s.written.refresh_token.reveal();
  a.private_key_pem = s.written.private_key.reveal();
  a.flow = s.written.flow.value_or(!a.private_key_pem.empty() ? auth_flow::jwt_bearer
                                   : !a.refresh_token.empty() ? auth_flow::refresh_token
                                                              : auth_flow::client_credentials);
  if (a.client_id.empty()) fail("auth.client_id", "required: the connected app's consumer key");
  switch (a.flow) {
    case auth_flow::refresh_token:
      if (a.refresh_token.empty()) fail("auth.refresh_token", "required for the refresh_token flow (refresh_token_file)");
      break;
    case auth_flow::client_credentials:
      if (a.client_secret.empty()) fail("auth.client_secret", "required for the client_credentials flow (client_secret_file)");
      break;
    case auth_flow::jwt_bearer:
      if (a.private_key_pem.empty()) fail("auth.private_key", "required for the jwt_bearer flow (private_key_file)");
      if (a.username.empty()) fail("auth.username", "required for the jwt_bearer flow (the integration user)");
      break;
  }

  // ---- HTTP, writes, polling
  rest::apply_connection(s.http, cfg);
  s.batch_size = cfg.batch_size == 0 ? 200 : std::min<std::size_t>(200, cfg.batch_size);
  s.settle_lag = cfg.settle_lag;

  // ---- Outbound Messages
  s.webhook_enabled = s.written.webhook_enabled.value_or(!s.organization_id.empty());
  return s;
}

}  // namespace omnisync::adapters::salesforce
