// The Salesforce connector: construction, usage, the REST and query plumbing, the describe cache. Polling by
// SystemModstamp (poll_cursor.hpp explains the watermark, overlap and de-duplication), formula refreshes,
// getDeleted, fetch and email lookups are reading.cpp; sObject Collections writes writing.cpp; Outbound Messages
// events.cpp. Every call goes through the connector's api_caller (retries, backoff, Retry-After, the daily budget
// from Sforce-Limit-Info).
#include "adapters/salesforce/salesforce_connector.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "adapters/rest/rest_util.hpp"
#include "adapters/salesforce/connector_impl.hpp"
#include "adapters/pacing/usage.hpp"
#include "adapters/salesforce/errors.hpp"
#include "adapters/salesforce/webhook.hpp"

namespace omnisync::adapters::salesforce {

// Like object_schema::find, without linking omnisync_adapters (which links this library).
const field_info* find_field(const object_schema& s, std::string_view name) {
  for (const auto& f : s.fields)
    if (f.name == name) return &f;
  for (const auto& f : s.fields)
    if (f.name.size() == name.size() &&
        std::equal(f.name.begin(), f.name.end(), name.begin(),
                   [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); }))
      return &f;
  return nullptr;
}

connector_impl::connector_impl(const config::connector_common& cfg, const connector_context& ctx)
    : s_(read_settings(cfg)),
      caller_(std::make_unique<pacing::api_caller>(ctx.executor, cfg.name, s_.http, s_.policy, ctx.metrics)) {
  caller_->set_daily_budget(s_.budget_share);
  // Keep the org's clock: every answer carries its Date. Whole seconds, so each answer only bounds the
  // offset from below (Date - local receive time); the largest bound seen is the estimate, which errs to the
  // past (the settled watermark stays on the safe side) and tightens as answers arrive at various points of
  // a second. A bound far below the estimate means the org's clock went back: start over from it.
  caller_->on_response([this](const http::response& r) {
    auto d = parse_http_date(r.get("Date"));
    if (!d) return;
    const std::int64_t lower = to_epoch_ms(*d) - local_now_ms();
    const std::int64_t est = clock_offset_ms_.load();
    if (!clock_known_ || lower > est || lower < est - 2000) clock_offset_ms_ = lower;
    clock_known_ = true;
  });
  auth_ = std::make_unique<oauth_session>(*caller_, s_.auth, [this] { return now_ms(); });
  if (s_.webhook_enabled) {
    salesforce_outbound_options o;
    o.connector = cfg.name;
    o.organization_id = s_.organization_id;
    webhook_ = make_salesforce_outbound_endpoint(std::move(o));
  }
}

connector_usage connector_impl::usage() const { return pacing::usage_of(*caller_); }

boost::system::error_code connector_impl::failed(const http::response& r, std::string_view what) const {
  auto e = read_error(r);
  auto ec = classify(r, e);
  if (ec != errc::not_found)  // a lost query locator or a missing record is routine, handled by the caller
    spdlog::warn("{}: {} failed: HTTP {} {}", s_.connector, what, r.status, e.text());
  return ec;
}

// ---- plumbing ------------------------------------------------------------------------------------------------

asio::awaitable<omnisync::result<http::response>> connector_impl::call_rest(std::string method, std::string path,
                                                                      std::string body, bool is_write) {
  if (!auth_->has_token()) {
    // The first token tells us the instance URL the request must go to.
    auto t = co_await auth_->authorization(false);
    if (!t) co_return t.error();
  }
  http::request req;
  req.method = std::move(method);
  req.url = path.rfind("http", 0) == 0 ? path : auth_->instance_url() + path;
  req.body = std::move(body);
  req.headers.push_back({"Accept", "application/json"});
  if (!req.body.empty()) req.headers.push_back({"Content-Type", "application/json"});
  // Our own writes are tagged so that change events (CDC changeOrigin) can tell them from users' changes.
  if (is_write) req.headers.push_back({"Sforce-Call-Options", "client=omnisync"});
  pacing::call_options opts;
  opts.auth = &auth_->source();
  auto r = co_await caller_->call(std::move(req), opts);
  co_return r;
}

asio::awaitable<omnisync::result<query_page>> connector_impl::soql(std::string query, bool all, std::size_t batch) {
  std::string path = data_path(all ? "/queryAll?q=" : "/query?q=") + rest::url_encode(query);
  auto r = co_await query_more(std::move(path), batch);
  co_return r;
}

asio::awaitable<omnisync::result<http::response>> connector_impl::query_call(std::string url, std::size_t batch) {
  if (!auth_->has_token()) {
    auto t = co_await auth_->authorization(false);
    if (!t) co_return t.error();
  }
  http::request req;
  req.method = "GET";
  req.url = url.rfind("http", 0) == 0 ? url : auth_->instance_url() + url;
  req.headers.push_back({"Accept", "application/json"});
  req.headers.push_back({"Sforce-Query-Options", "batchSize=" + std::to_string(batch)});
  pacing::call_options opts;
  opts.auth = &auth_->source();
  auto r = co_await caller_->call(std::move(req), opts);
  if (!r) co_return r.error();
  if (r->status != 200) co_return failed(*r, "query");
  co_return std::move(*r);
}

asio::awaitable<omnisync::result<query_page>> connector_impl::query_more(std::string url, std::size_t batch) {
  auto r = co_await query_call(std::move(url), batch);
  if (!r) co_return r.error();
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("records") || !v.at("records").is_array()) {
    spdlog::warn("{}: query answered 200 with a body that is not a query result", s_.connector);
    co_return make_error_code(errc::retry);  // e.g. a truncated answer: the same request may work next time
  }
  query_page p;
  p.records = std::move(v.as_object()["records"].as_array());
  if (auto* n = v.as_object().if_contains("nextRecordsUrl"); n && n->is_string() && !n->as_string().empty())
    p.next = std::string(n->as_string());
  co_return p;
}

asio::awaitable<omnisync::result<record_page>> connector_impl::soql_records(std::string query, bool all,
                                                                           std::size_t batch) {
  std::string path = data_path(all ? "/queryAll?q=" : "/query?q=") + rest::url_encode(query);
  auto r = co_await query_more_records(std::move(path), batch);
  co_return r;
}

asio::awaitable<omnisync::result<record_page>> connector_impl::query_more_records(std::string url, std::size_t batch) {
  auto r = co_await query_call(std::move(url), batch);
  if (!r) co_return r.error();
  auto p = parse_record_page(r->body);
  if (!p) spdlog::warn("{}: query answered 200 with a body that is not a query result", s_.connector);
  co_return p;
}

asio::awaitable<omnisync::result<std::shared_ptr<const described>>> connector_impl::fields_of(std::string object,
                                                                                               bool fresh) {
  {
    std::lock_guard lk(schemas_mu_);
    auto it = schemas_.find(object);
    if (!fresh && it != schemas_.end() && std::chrono::steady_clock::now() - it->second->fetched < s_.describe_refresh)
      co_return it->second;
  }
  auto r = co_await call_rest("GET", data_path("/sobjects/" + object + "/describe"), "", false);
  if (!r) co_return r.error();
  if (r->status != 200) co_return failed(*r, "describe " + object);
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("fields") || !v.at("fields").is_array())
    co_return make_error_code(errc::invalid_input);
  auto d = std::make_shared<described>();
  d->schema.object = object;
  d->fetched = std::chrono::steady_clock::now();
  std::set<std::string> relationships;
  auto str = [](const json::object& f, const char* k) {
    auto* x = f.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  auto flag = [](const json::object& f, const char* k, bool dflt) {
    auto* x = f.if_contains(k);
    return x && x->is_bool() ? x->as_bool() : dflt;
  };
  for (const auto& fv : v.at("fields").as_array()) {
    if (!fv.is_object()) continue;
    const auto& f = fv.as_object();
    field_info fi;
    fi.name = str(f, "name");
    if (fi.name.empty()) continue;
    fi.type = str(f, "type");
    if (auto* l = f.if_contains("length"); l && l->is_int64()) fi.length = static_cast<std::size_t>(std::max<std::int64_t>(0, l->as_int64()));
    fi.updateable = flag(f, "updateable", false);
    fi.calculated = flag(f, "calculated", false);
    fi.external_id = flag(f, "externalId", false);
    fi.unique = flag(f, "unique", false);
    if (auto rel = str(f, "relationshipName"); !rel.empty()) relationships.insert(rel);
    d->types[fi.name] = fi.type;
    if (fi.name == "Email") d->has_email = true;
    // base64 columns (attachment bodies) cannot be read in bulk queries.
    if (fi.type != "base64") {
      d->select.push_back(fi.name);
      if (fi.calculated) d->formulas.push_back(fi.name);
    }
    d->schema.fields.push_back(std::move(fi));
  }
  const auto& os = s_.object(object);
  if (!os.fields.empty()) {
    // An explicit column list: the columns polling depends on are always read.
    d->select = os.fields;
    for (const char* must : {"Id", "SystemModstamp", "IsDeleted"})
      if (std::find(d->select.begin(), d->select.end(), must) == d->select.end()) d->select.emplace_back(must);
    std::vector<std::string> kept;
    for (const auto& f : d->formulas)
      if (std::find(d->select.begin(), d->select.end(), f) != d->select.end()) kept.push_back(f);
    d->formulas = std::move(kept);
  }
  for (const auto& extra : os.extra_fields) {
    auto dot = extra.find('.');
    if (dot != std::string::npos && !relationships.count(extra.substr(0, dot))) {
      spdlog::warn("{}: {} has no relationship {}; not reading {}", s_.connector, object, extra.substr(0, dot), extra);
      continue;
    }
    if (std::find(d->select.begin(), d->select.end(), extra) == d->select.end()) d->select.push_back(extra);
  }
  {
    std::lock_guard lk(schemas_mu_);
    schemas_[object] = d;
  }
  co_return std::shared_ptr<const described>(d);
}

// ---- metadata ------------------------------------------------------------------------------------------------

task<object_schema> connector_impl::describe(std::string object) {
  auto d = co_await fields_of(object, true);
  if (!d) co_return d.error();
  object_schema out = (*d)->schema;
  co_return out;
}

}  // namespace omnisync::adapters::salesforce

namespace omnisync::adapters {

std::unique_ptr<connector> make_salesforce_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<salesforce::connector_impl>(cfg, ctx);
}

}  // namespace omnisync::adapters
