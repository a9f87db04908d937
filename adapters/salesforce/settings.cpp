#include "adapters/salesforce/settings.hpp"

#include "adapters/rest/rest_util.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace omnisync::adapters::salesforce {

namespace {

/// The shared typed reader (adapters/rest), plus secrets.
class reader : public rest::settings_reader {
 public:
  explicit reader(const config::connector_common& cfg) : rest::settings_reader(cfg), cfg_(cfg) {}
  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw std::runtime_error("connector " + cfg_.name + ": " + key + ": " + why);
  }
  std::string secret(const std::string& key) const {
    const auto* s = cfg_.find_secret(key);
    return s ? s->reveal() : std::string();
  }

 private:
  const config::connector_common& cfg_;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + ",") {
    if (c == ',') {
      auto b = cur.find_first_not_of(" \t");
      auto e = cur.find_last_not_of(" \t");
      if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

bool valid_field_name(const std::string& f) {
  // API names and relationship paths: letters, digits, underscores, dots. Anything else could change the SOQL.
  if (f.empty() || !std::isalpha(static_cast<unsigned char>(f[0]))) return false;
  return std::all_of(f.begin(), f.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; });
}

}  // namespace

const object_settings& settings::object(const std::string& name) const {
  static const object_settings none;
  auto it = per_object.find(name);
  return it == per_object.end() ? none : it->second;
}

settings read_settings(const config::connector_common& cfg) {
  reader r(cfg);
  settings s;
  s.connector = cfg.name;
  s.objects = cfg.objects.empty() ? std::vector<std::string>{"Contact", "Lead", "Account", "Opportunity", "Case"}
                                  : cfg.objects;
  for (const auto& o : s.objects)
    if (!valid_field_name(o) || o.find('.') != std::string::npos) r.fail("objects", "\"" + o + "\" is not an sObject API name");
  if (!cfg.api_version.empty()) s.api_version = cfg.api_version;
  if (cfg.base_url.empty()) r.fail("login_url", "required: the login URL (https://login.salesforce.com, a My Domain URL or the simulator)");

  // ---- auth
  auto& a = s.auth;
  a.login_url = cfg.base_url;
  while (!a.login_url.empty() && a.login_url.back() == '/') a.login_url.pop_back();
  a.token_url = r.text("auth.token_url", a.login_url + "/services/oauth2/token");
  a.client_id = r.text("auth.client_id");
  a.client_secret = r.secret("auth.client_secret");
  a.refresh_token = r.secret("auth.refresh_token");
  a.private_key_pem = r.secret("auth.private_key");
  a.username = r.text("auth.username");
  a.audience = r.text("auth.audience", a.login_url);
  std::string flow = r.text("auth.flow");
  if (flow.empty()) flow = !a.private_key_pem.empty() ? "jwt_bearer" : !a.refresh_token.empty() ? "refresh_token" : "client_credentials";
  if (flow == "refresh_token") a.flow = auth_flow::refresh_token;
  else if (flow == "client_credentials") a.flow = auth_flow::client_credentials;
  else if (flow == "jwt_bearer" || flow == "jwt") a.flow = auth_flow::jwt_bearer;
  else r.fail("auth.flow", "expected refresh_token, client_credentials or jwt_bearer, got \"" + flow + "\"");
  if (a.client_id.empty()) r.fail("auth.client_id", "required: the connected app's consumer key");
  switch (a.flow) {
    case auth_flow::refresh_token:
      if (a.refresh_token.empty()) r.fail("auth.refresh_token", "required for the refresh_token flow (refresh_token_file)");
      break;
    case auth_flow::client_credentials:
      if (a.client_secret.empty()) r.fail("auth.client_secret", "required for the client_credentials flow (client_secret_file)");
      break;
    case auth_flow::jwt_bearer:
      if (a.private_key_pem.empty()) r.fail("auth.private_key", "required for the jwt_bearer flow (private_key_file)");
      if (a.username.empty()) r.fail("auth.username", "required for the jwt_bearer flow (the integration user)");
      break;
  }

  // ---- HTTP and pacing
  s.http = rest::client_options(cfg);  // tls.*, sync.connect_timeout/read_timeout/request_timeout, proxy
  s.policy.max_attempts = static_cast<unsigned>(r.integer("sync.max_attempts", s.policy.max_attempts, 1, 20));
  s.policy.backoff_base = r.duration("sync.backoff_base", s.policy.backoff_base);
  s.policy.backoff_cap = r.duration("sync.backoff_cap", s.policy.backoff_cap);
  s.policy.max_wait = r.duration("sync.max_wait", s.policy.max_wait);
  s.budget_share = r.number("sync.budget_share", s.budget_share, 0.01, 1.0);

  // ---- polling
  s.page_size = static_cast<std::size_t>(r.integer("sync.page_size", 2000, 200, 2000));
  s.batch_size = cfg.batch_size == 0 ? 200 : std::min<std::size_t>(200, cfg.batch_size);
  s.settle_lag = cfg.settle_lag;
  s.overlap = r.duration("sync.overlap", s.overlap);
  s.max_seen = static_cast<std::size_t>(r.integer("sync.max_seen", 5000, 100, 1000000));
  s.formula_refresh = r.duration("sync.formula_refresh", s.formula_refresh);
  s.get_deleted_interval = r.duration("sync.get_deleted_interval", s.get_deleted_interval);
  s.describe_refresh = r.duration("sync.describe_refresh", s.describe_refresh);
  s.fetch_chunk = static_cast<std::size_t>(r.integer("sync.fetch_chunk", 100, 1, 500));

  for (const auto& o : s.objects) {
    object_settings os;
    if (auto f = r.text("sync." + o + ".fields"); !f.empty()) os.fields = split_list(f);
    os.extra_fields = split_list(r.text("sync." + o + ".extra_fields", o == "Contact" ? "Account.Name" : ""));
    os.upsert_key = r.text("write." + o + ".upsert_key", r.text("sync." + o + ".upsert_key"));
    for (const auto* list : {&os.fields, &os.extra_fields})
      for (const auto& f : *list)
        if (!valid_field_name(f)) r.fail("sync." + o + ".fields", "\"" + f + "\" is not a field API name");
    if (!os.upsert_key.empty() && (!valid_field_name(os.upsert_key) || os.upsert_key.find('.') != std::string::npos))
      r.fail("sync." + o + ".upsert_key", "\"" + os.upsert_key + "\" is not a field API name");
    s.per_object.emplace(o, std::move(os));
  }

  // ---- Outbound Messages
  s.organization_id = r.text("webhook.organization_id");
  if (!s.organization_id.empty() && s.organization_id.size() != 15 && s.organization_id.size() != 18)
    r.fail("webhook.organization_id", "expected the 15- or 18-character organization id (00D...)");
  s.webhook_enabled = r.boolean("webhook.enabled", !s.organization_id.empty());
  s.webhook_refetch = r.boolean("webhook.refetch", false);
  return s;
}

}  // namespace omnisync::adapters::salesforce
