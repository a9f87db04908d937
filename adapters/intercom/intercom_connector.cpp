// The Intercom API 2.11 connector: construction, usage and describe. Facts: /work/shared/api-notes.md §5
// (notifications, X-Hub-Signature, the contacts API, search with day-granular timestamps, error.list bodies) and
// Intercom's pagination guide (`starting_after` cursors for list and search). The other files of the class: see
// connector_impl.hpp.
#include "adapters/intercom/intercom_connector.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "adapters/intercom/connector_impl.hpp"
#include "adapters/pacing/usage.hpp"
#include "adapters/intercom/errors.hpp"
#include "adapters/intercom/settings.hpp"
#include "adapters/intercom/webhook.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::intercom {
namespace {

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

/// Intercom timestamps are Unix seconds (numbers).
std::int64_t seconds_of(const json::value& rec, std::string_view key) {
  const auto* o = rec.if_object();
  const auto* v = o ? o->if_contains(key) : nullptr;
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  if (v->is_string()) return to_int(v->get_string()).value_or(0);
  return 0;
}

std::int64_t updated_s(const json::value& rec) {
  const auto u = seconds_of(rec, "updated_at");
  return u ? u : seconds_of(rec, "created_at");
}

adapters::source_record to_record(const json::value& rec, bool deleted) {
  return adapters::source_record(rest::member_text(rec, "id"), json::serialize(rec), from_epoch_ms(updated_s(rec) * 1000),
                              deleted);
}

json::object filter(const char* field, const char* op, json::value value) {
  json::object f;
  f["field"] = field;
  f["operator"] = op;
  f["value"] = std::move(value);
  return f;
}

connector_impl::connector_impl(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
  const intercom::settings s = intercom::read_settings(cfg);
  base_ = s.base_url;
  bearer_ = std::make_shared<const std::string>("Bearer " + s.access_token.reveal());
  auth_ = [bearer = bearer_](bool) -> asio::awaitable<omnisync::result<std::string>> { co_return *bearer; };
  version_ = s.api_version;
  objects_ = s.objects;
  page_size_ = s.page_size;
  overlap_s_ = std::chrono::duration_cast<std::chrono::seconds>(s.overlap).count();
  upsert_key_ = s.upsert_key;
  role_ = s.role;
  api_ = std::make_unique<pacing::api_caller>(ctx.executor, cfg.name, s.http, s.policy, ctx.metrics);
  // Intercom allows an app 10,000 calls a minute, counted in 10-second periods (a sixth of the minute each).
  // (A named bucket that every call takes from: the api_caller takes twice from its unnamed default bucket
  // when a call names none.)
  api_->set_bucket(std::string(bucket), std::max(1.0, s.per_minute / 6), milliseconds(10000));
  rest::vendor_api v;
  v.connector = cfg.name;
  v.base_url = base_;
  v.headers.push_back(http::header{"Intercom-Version", version_});
  v.bucket = bucket;
  v.auth = [a = auth_] { return a; };
  v.request_id = intercom::request_id;
  v.classify = intercom::classify;
  json_ = std::make_unique<rest::json_api>(*api_, std::move(v));
  if (!s.webhook_secret.empty()) {
    intercom_webhook_options o;
    o.connector = cfg.name;
    o.client_secret = s.webhook_secret.reveal();
    webhook_ = make_intercom_webhook(std::move(o));
  }
}

connector_usage connector_impl::usage() const {
  return pacing::usage_of(*api_);  // Intercom reports per-minute limits only, no daily budget
}

task<object_schema> connector_impl::describe(std::string object) {
  if (object != "contacts" && object != "conversations") co_return make_error_code(errc::not_found);
  std::string model = "conversation";
  if (object == "contacts") model = "contact";
  auto res = co_await json_->call_json("GET", "/data_attributes?model=" + model, {});
  if (!res) co_return res.error();
  object_schema out;
  out.object = object;
  field_info id;
  id.name = "id";
  id.type = "string";
  id.updateable = false;
  id.unique = true;
  out.fields.push_back(std::move(id));
  if (const auto* a = res->as_object().if_contains("data"); a && a->is_array()) {
    for (const auto& d : a->get_array()) {
      if (!d.is_object()) continue;
      const auto* archived = d.get_object().if_contains("archived");
      if (archived && archived->is_bool() && archived->get_bool()) continue;
      field_info f;
      f.name = rest::member_text(d, "full_name");
      if (f.name.empty()) f.name = rest::member_text(d, "name");
      if (f.name.empty() || f.name == "id") continue;
      f.type = rest::member_text(d, "data_type");
      const auto* writable = d.get_object().if_contains("api_writable");
      f.updateable = writable && writable->is_bool() && writable->get_bool();
      f.external_id = object == "contacts" && (f.name == "external_id" || f.name == "email");
      f.unique = f.external_id;
      out.fields.push_back(std::move(f));
    }
  }
  co_return out;
}

}  // namespace omnisync::adapters::intercom

namespace omnisync::adapters {

std::unique_ptr<connector> make_intercom_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<intercom::connector_impl>(cfg, ctx);
}

}  // namespace omnisync::adapters
