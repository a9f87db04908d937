// The Zendesk Support connector: construction, usage and describe. Facts: ../shared/api-notes.md §3 (exports,
// create_or_update_many, job statuses, limits, webhooks). The other files of the class: see connector_impl.hpp.
#include "adapters/zendesk/zendesk_connector.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <stdexcept>

#include "adapters/common/crypto.hpp"
#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/connector_impl.hpp"
#include "adapters/pacing/usage.hpp"
#include "adapters/zendesk/errors.hpp"
#include "adapters/zendesk/settings.hpp"
#include "adapters/zendesk/webhook.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::zendesk {
namespace {

/// Built-in fields (Zendesk's user, ticket and rating objects); custom user fields come from /user_fields.
std::vector<field_info> builtin_fields(std::string_view object) {
  struct spec {
    const char* name;
    const char* type;
    bool updateable;
    bool external;
  };
  std::vector<spec> specs;
  if (object == "users") {
    specs = {{"id", "integer", false, false},         {"url", "string", false, false},
             {"name", "string", true, false},         {"email", "string", true, false},
             {"external_id", "string", true, true},   {"phone", "string", true, false},
             {"role", "string", true, false},         {"alias", "string", true, false},
             {"details", "text", true, false},        {"notes", "text", true, false},
             {"organization_id", "integer", true, false}, {"locale", "string", true, false},
             {"time_zone", "string", true, false},    {"tags", "array", true, false},
             {"verified", "boolean", true, false},    {"suspended", "boolean", true, false},
             {"active", "boolean", false, false},     {"created_at", "date", false, false},
             {"updated_at", "date", false, false}};
  } else if (object == "tickets") {
    specs = {{"id", "integer", false, false},       {"url", "string", false, false},
             {"external_id", "string", true, true}, {"subject", "string", true, false},
             {"description", "text", false, false}, {"status", "string", true, false},
             {"priority", "string", true, false},   {"type", "string", true, false},
             {"requester_id", "integer", true, false}, {"assignee_id", "integer", true, false},
             {"tags", "array", true, false},        {"created_at", "date", false, false},
             {"updated_at", "date", false, false}};
  } else if (object == "satisfaction_ratings") {
    specs = {{"id", "integer", false, false},        {"url", "string", false, false},
             {"ticket_id", "integer", false, false}, {"requester_id", "integer", false, false},
             {"score", "string", false, false},      {"comment", "text", false, false},
             {"created_at", "date", false, false},   {"updated_at", "date", false, false}};
  }
  std::vector<field_info> out;
  for (const auto& s : specs) {
    field_info f;
    f.name = s.name;
    f.type = s.type;
    f.updateable = s.updateable;
    f.external_id = s.external;
    f.unique = s.external || std::string_view(s.name) == "id";
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::int64_t updated_ms(const json::value& rec) {
  auto t = parse_vendor_time(rest::member_text(rec, "updated_at"));
  if (!t) t = parse_vendor_time(rest::member_text(rec, "created_at"));
  return t ? to_epoch_ms(*t) : 0;
}

/// A Zendesk record as stored: deleted users are exported with `active: false`, deleted tickets with
/// `status: "deleted"`.
adapters::source_record to_record(const std::string& object, const json::value& rec) {
  bool gone = false;
  if (object == "users") {
    const auto* a = rec.as_object().if_contains("active");
    gone = a && a->is_bool() && !a->get_bool();
  } else if (object == "tickets") {
    gone = rest::member_text(rec, "status") == "deleted";
  }
  return adapters::source_record(rest::member_text(rec, "id"), json::serialize(rec), from_epoch_ms(updated_ms(rec)), gone);
}

adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["id"] = to_int(id) ? json::value(*to_int(id)) : json::value(id);
  o["deleted"] = true;
  return adapters::source_record(id, json::serialize(o), from_epoch_ms(when_ms), true);
}

connector_impl::connector_impl(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
  const zendesk::settings s = zendesk::read_settings(cfg);
  base_ = s.base_url;
  authorization_ = std::make_shared<const std::string>(
      !s.api_token.empty() ? "Basic " + to_base64(s.email + "/token:" + s.api_token.reveal())
                           : "Bearer " + s.access_token.reveal());
  page_size_ = s.page_size;
  job_poll_interval_ = s.job_poll_interval;
  job_timeout_ = s.job_timeout;
  objects_ = s.objects;
  api_ = std::make_unique<pacing::api_caller>(ctx.executor, cfg.name, s.http, s.policy, ctx.metrics);
  // Zendesk's documented limits: 700 requests a minute per account (Enterprise; lower plans have less), the
  // time-based and ticket exports 10 a minute, the users cursor export its own 20 a minute.
  api_->set_bucket("", s.per_minute, milliseconds(60000));
  api_->set_bucket("export", s.exports_per_minute, milliseconds(60000));
  api_->set_bucket("export_users", s.user_exports_per_minute, milliseconds(60000));
  auth_ = [a = authorization_](bool) -> asio::awaitable<omnisync::result<std::string>> { co_return *a; };
  rest::vendor_api v;
  v.connector = cfg.name;
  v.base_url = base_;
  v.auth = [a = auth_] { return a; };
  v.request_id = zendesk::request_id;
  v.classify = zendesk::classify;
  json_ = std::make_unique<rest::json_api>(*api_, std::move(v));
  if (!s.signing_secret.empty()) {
    zendesk_webhook_options o;
    o.connector = cfg.name;
    o.signing_secret = s.signing_secret.reveal();
    o.max_skew = s.webhook_max_skew;
    webhook_ = make_zendesk_webhook(std::move(o));
  }
}

connector_usage connector_impl::usage() const {
  return pacing::usage_of(*api_);  // Zendesk reports no daily budget
}

task<object_schema> connector_impl::describe(std::string object) {
  object_schema out;
  out.object = object;
  out.fields = builtin_fields(object);
  if (out.fields.empty()) co_return make_error_code(errc::not_found);
  if (object != "users") co_return out;
  std::string path = "/api/v2/user_fields.json";
  for (int pages = 0; pages < 50 && !path.empty(); ++pages) {
    auto res = co_await json_->call_json("GET", path, {}, {});
    if (!res) co_return res.error();
    if (const auto* a = res->as_object().if_contains("user_fields"); a && a->is_array()) {
      for (const auto& f : a->get_array()) {
        if (!f.is_object()) continue;
        const auto* active = f.get_object().if_contains("active");
        if (active && active->is_bool() && !active->get_bool()) continue;
        field_info fi;
        fi.name = "user_fields." + rest::member_text(f, "key");
        fi.type = rest::member_text(f, "type");
        out.fields.push_back(std::move(fi));
      }
    }
    // next_page is absolute; keep only what follows the API base.
    const std::string next = rest::member_text(*res, "next_page");
    const auto at = next.find("/api/v2/");
    path = at == std::string::npos ? std::string() : next.substr(at);
  }
  co_return out;
}

}  // namespace omnisync::adapters::zendesk

namespace omnisync::adapters {

std::unique_ptr<connector> make_zendesk_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<zendesk::connector_impl>(cfg, ctx);
}

}  // namespace omnisync::adapters
