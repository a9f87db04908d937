// The HubSpot CRM v3 connector: construction, authentication, usage and describe. Facts: ../shared/api-notes.md §2
// (search, list, batch, limits, webhooks). The other files of the class: see connector_impl.hpp.
#include "adapters/hubspot/hubspot_connector.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <charconv>
#include <stdexcept>

#include "adapters/hubspot/connector_impl.hpp"
#include "adapters/hubspot/errors.hpp"
#include "adapters/hubspot/settings.hpp"
#include "adapters/hubspot/webhook.hpp"
#include "adapters/pacing/usage.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::hubspot {
namespace {

/// Properties read by default: what the shipped inbound mappings use, plus the stamps. Other objects (tickets,
/// custom objects) read every property the properties API lists.
std::vector<std::string> default_properties(std::string_view object) {
  if (object == "contacts")
    return {"email", "firstname", "lastname", "phone", "mobilephone", "company", "jobtitle", "city", "country",
            "lifecyclestage", "hubspotscore", "hs_tag_names", "omnisync_id", "createdate", "lastmodifieddate"};
  if (object == "companies") return {"name", "domain", "industry", "createdate", "hs_lastmodifieddate"};
  if (object == "deals")
    return {"dealname", "amount", "deal_currency_code", "dealstage", "pipeline", "closedate", "createdate",
            "hs_lastmodifieddate"};
  if (object == "feedback_submissions")
    return {"hs_survey_type", "hs_survey_name", "hs_value", "hs_response_group", "hs_content",
            "hs_submission_timestamp", "createdate", "hs_lastmodifieddate"};
  return {};
}

std::vector<std::string> default_associations(std::string_view object) {
  if (object == "deals" || object == "feedback_submissions") return {"contacts"};
  return {};
}

}  // namespace

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["id"] = id;
  o["archived"] = true;
  if (when_ms) o["archivedAt"] = format_iso8601_ms(from_epoch_ms(when_ms));
  return adapters::source_record(id, json::serialize(o), from_epoch_ms(when_ms), true);
}

connector_impl::connector_impl(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
  const hubspot::settings s = hubspot::read_settings(cfg);
  base_ = s.base_url;
  if (s.flow == hubspot::auth_flow::oauth) {
    client_id_ = s.client_id;
    client_secret_ = s.client_secret.reveal();
    refresh_token_ = s.refresh_token.reveal();
    token_url_ = s.token_url;
  } else {
    bearer_ = std::make_shared<const std::string>("Bearer " + s.token.reveal());
  }
  page_size_ = s.page_size;
  membership_chunk_ = s.membership_chunk;
  archived_interval_ = s.archived_scan_interval;
  objects_ = s.objects;
  // Per object: the properties to read (configured, else the shipped defaults; `all`: every property), the
  // associations to attach, and the property upserts match on (else found in each payload, see id_property_of).
  auto upsert_default = s.upsert_property.find("");
  for (const auto& o : objects_) {
    if (auto p = s.properties.find(o); p != s.properties.end() && !p->second.empty()) {
      if (p->second != std::vector<std::string>{"all"}) properties_[o] = p->second;
    } else if (!default_properties(o).empty()) {
      properties_[o] = default_properties(o);
    }
    auto a = s.associations.find(o);
    associations_[o] = a == s.associations.end() ? default_associations(o) : a->second;
    auto u = s.upsert_property.find(o);
    if (u == s.upsert_property.end()) u = upsert_default;
    if (u != s.upsert_property.end() && !u->second.empty()) id_property_[o] = u->second;
  }
  api_ = std::make_unique<pacing::api_caller>(ctx.executor, cfg.name, s.http, s.policy, ctx.metrics);
  // HubSpot's documented limits: a rolling ten-second window per app (190 on Professional and Enterprise)
  // and a separate limit for the search endpoints (5 per second).
  api_->set_bucket("", s.per_10s, milliseconds(10000));
  api_->set_bucket("search", s.search_per_second, milliseconds(1000));
  api_->on_response([this](const http::response& r) {
    auto daily = to_int(r.get("X-HubSpot-RateLimit-Daily"));
    auto left = to_int(r.get("X-HubSpot-RateLimit-Daily-Remaining"));
    if (daily && left) {
      budget_limit_ = *daily;
      budget_used_ = *daily - *left;
    }
  });
  if (bearer_) {
    auth_ = [bearer = bearer_](bool) -> asio::awaitable<omnisync::result<std::string>> { co_return *bearer; };
  } else {
    oauth_ = std::make_unique<oauth::token_cache>([this] { return grant(); });
    auth_ = oauth_->source();
  }
  rest::vendor_api v;
  v.connector = cfg.name;
  v.base_url = base_;
  // OAuth: a source per request, so the 401s of requests in flight when the token expires share one renewal.
  v.auth = [this] { return oauth_ ? oauth_->request_source() : auth_; };
  v.request_id = hubspot::request_id;
  v.classify = hubspot::classify;
  json_ = std::make_unique<rest::json_api>(*api_, std::move(v));

  if (!s.webhook_secret.empty()) {
    hubspot_webhook_options o;
    o.connector = cfg.name;
    o.client_secret = s.webhook_secret.reveal();
    o.public_url = ctx.public_url;
    const auto& v = s.signature_version;
    o.signature_version = v == "v1"   ? hubspot_webhook_options::version::v1
                          : v == "v2" ? hubspot_webhook_options::version::v2
                                      : hubspot_webhook_options::version::v3;
    o.max_age = s.webhook_max_age;
    if (v != "v1" && ctx.public_url.empty())
      throw config::setting_error(cfg.name, "webhook.signature_version",
                                  "HubSpot " + v + " webhook signatures cover the URL HubSpot calls: set http.public_url");
    webhook_ = make_hubspot_webhook(std::move(o));
  }
}

connector_usage connector_impl::usage() const {
  auto u = pacing::usage_of(*api_);
  u.budget_used = budget_used_.load();  // HubSpot's daily budget is read by the adapter (X-HubSpot-RateLimit-Daily*)
  u.budget_limit = budget_limit_.load();
  return u;
}

task<object_schema> connector_impl::describe(std::string object) {
  auto res = co_await json_->call_json("GET", "/crm/v3/properties/" + object, {}, {});
  if (!res) co_return res.error();
  object_schema out;
  out.object = object;
  std::vector<std::string> names;
  if (const auto* r = res->as_object().if_contains("results"); r && r->is_array()) {
    for (const auto& p : r->get_array()) {
      if (!p.is_object()) continue;
      field_info f;
      f.name = rest::member_text(p, "name");
      f.type = rest::member_text(p, "type");
      const auto& po = p.get_object();
      auto flag = [&](const json::object& o, std::string_view k) {
        const auto* x = o.if_contains(k);
        return x && x->is_bool() && x->get_bool();
      };
      bool read_only = false;
      if (const auto* m = po.if_contains("modificationMetadata"); m && m->is_object())
        read_only = flag(m->get_object(), "readOnlyValue");
      f.calculated = flag(po, "calculated");
      f.unique = flag(po, "hasUniqueValue");
      f.updateable = !read_only && !f.calculated;
      f.external_id = f.unique && f.updateable;  // a unique, writable property can be an upsert idProperty
      // HubSpot stores at most 65,536 characters in a text property.
      if (f.type == "string") f.length = 65536;
      names.push_back(f.name);
      out.fields.push_back(std::move(f));
    }
  }
  all_properties_[object] = std::move(names);
  co_return out;
}

asio::awaitable<omnisync::result<oauth::grant_result>> connector_impl::grant() {
  http::request req;
  req.method = "POST";
  req.url = token_url_;
  req.headers.push_back(http::header{"Content-Type", "application/x-www-form-urlencoded"});
  req.headers.push_back(http::header{"Accept", "application/json"});
  req.body = "grant_type=refresh_token&client_id=" + rest::url_encode(client_id_) +
             "&client_secret=" + rest::url_encode(client_secret_) +
             "&refresh_token=" + rest::url_encode(refresh_token_);
  pacing::call_options opts;
  opts.count_against_budget = false;
  auto r = co_await api_->call(std::move(req), opts);
  if (!r) {
    spdlog::warn("{}: token request failed: {}", cfg_.name, r.error().message());
    co_return r.error();
  }
  if (r->status == 200) {
    auto answer = oauth::parse_token_answer(r->body);
    if (!answer) {
      spdlog::error("{}: HubSpot's token endpoint answered 200 without an access_token", cfg_.name);
      co_return make_error_code(errc::invalid_input);
    }
    if (auto v = rest::parse_json(r->body)) {
      std::string rotated = rest::member_text(*v, "refresh_token");
      if (!rotated.empty() && rotated != refresh_token_) {
        refresh_token_ = std::move(rotated);
        spdlog::info("{}: HubSpot issued a new refresh token (kept in memory; update auth.refresh_token before "
                     "a restart if the old one is revoked)", cfg_.name);
      }
    }
    co_return std::move(*answer);
  }
  spdlog::error("{}: HubSpot refused the refresh-token grant ({}): check auth.client_id, auth.client_secret and "
                "auth.refresh_token (the app may have been uninstalled)",
                cfg_.name, oauth::refusal_reason(*r));
  if (r->status >= 500) co_return make_error_code(errc::retry);
  api_->note_unauthorized("the token endpoint refused the refresh-token grant: " + oauth::refusal_reason(*r));
  co_return make_error_code(errc::auth_expired);
}

json::object connector_impl::id_input(const std::string& id) {
  json::object o;
  o["id"] = id;
  return o;
}

asio::awaitable<omnisync::result<std::vector<std::string>>> connector_impl::properties_for(std::string object) {
  if (auto it = properties_.find(object); it != properties_.end()) co_return it->second;
  if (auto it = all_properties_.find(object); it != all_properties_.end()) co_return it->second;
  auto schema = co_await describe(object);
  if (!schema) co_return schema.error();
  co_return all_properties_[object];
}

}  // namespace omnisync::adapters::hubspot

namespace omnisync::adapters {

std::unique_ptr<connector> make_hubspot_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<hubspot::connector_impl>(cfg, ctx);
}

}  // namespace omnisync::adapters
