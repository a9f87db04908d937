// The HubSpot CRM v3 connector. Facts: ../shared/api-notes.md §2 (search, list, batch, limits, webhooks).
#include "adapters/hubspot/hubspot_connector.hpp"

#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <map>
#include <set>
#include <stdexcept>

#include "adapters/hubspot/hubspot_cursor.hpp"
#include "adapters/oauth/token_cache.hpp"
#include "adapters/hubspot/settings.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"
#include "adapters/hubspot/webhook.hpp"
#include "adapters/pacing/api_call.hpp"

namespace omnisync::adapters {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using hubspot::poll_cursor;
using std::chrono::milliseconds;

constexpr std::size_t batch_limit = 100;   // HubSpot batch endpoints take at most 100 inputs
constexpr std::size_t list_limit = 100;    // the list endpoint's page size cap
constexpr std::size_t search_limit = 200;  // the search endpoint's page size cap

/// The property HubSpot bumps on every change: `lastmodifieddate` for contacts, `hs_lastmodifieddate` else.
std::string modified_property(std::string_view object) {
  return object == "contacts" ? "lastmodifieddate" : "hs_lastmodifieddate";
}

/// contacts → contact (subscription types and association labels use the singular).
std::string singular_of(std::string_view object) {
  if (object == "companies") return "company";
  if (object.ends_with("s")) return std::string(object.substr(0, object.size() - 1));
  return std::string(object);
}

/// The object a webhook event names: "contact.propertyChange" → contacts; new-platform events carry
/// objectTypeId ("0-1") instead.
std::string object_of_event(std::string_view subscription_type, std::string_view type_id) {
  if (!type_id.empty()) {
    if (type_id == "0-1") return "contacts";
    if (type_id == "0-2") return "companies";
    if (type_id == "0-3") return "deals";
    if (type_id == "0-5") return "tickets";
    if (type_id == "0-19") return "feedback_submissions";
    return std::string(type_id);  // a custom object's type id is also its API name
  }
  auto dot = subscription_type.find('.');
  std::string_view s = subscription_type.substr(0, dot);
  if (s == "company") return "companies";
  return std::string(s) + "s";
}

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

std::string join(const std::vector<std::string>& v, char sep = ',') {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

http::request make_request(std::string method, std::string url, std::string body) {
  http::request r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers.push_back(http::header{"Accept", "application/json"});
  if (!body.empty()) r.headers.push_back(http::header{"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

/// A record's modification stamp: the last-modified property, else `updatedAt`.
std::int64_t stamp_of(const json::object& rec, const std::string& modprop) {
  if (const auto* p = rec.if_contains("properties"); p && p->is_object())
    if (const auto* v = p->get_object().if_contains(modprop); v && v->is_string())
      if (auto t = parse_vendor_time(v->get_string())) return to_epoch_ms(*t);
  if (const auto* v = rec.if_contains("updatedAt"); v && v->is_string())
    if (auto t = parse_vendor_time(v->get_string())) return to_epoch_ms(*t);
  return 0;
}

omnisync::timestamp as_timestamp(std::int64_t ms) { return omnisync::timestamp(milliseconds(ms)); }

adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["id"] = id;
  o["archived"] = true;
  if (when_ms) o["archivedAt"] = format_iso8601_ms(from_epoch_ms(when_ms));
  return adapters::source_record(id, json::serialize(o), as_timestamp(when_ms), true);
}

/// HubSpot properties are text: numbers and booleans are sent as JSON scalars (HubSpot accepts them), null
/// clears a property (""), lists become HubSpot's ";"-separated multi-select text.
json::value property_value(const json::value& v) {
  if (v.is_null()) return json::value("");
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v.get_array()) {
      if (!out.empty()) out += ';';
      out += e.is_string() ? std::string(e.get_string()) : json::serialize(e);
    }
    return json::value(out);
  }
  if (v.is_object()) return json::value(json::serialize(v));
  return v;
}

/// The ids an error names in its `context` (`id`, `ids`, as strings or lists).
std::vector<std::string> error_ids(const json::value& err) {
  std::vector<std::string> out;
  const auto* o = err.if_object();
  const auto* ctx = o ? o->if_contains("context") : nullptr;
  if (!ctx || !ctx->is_object()) return out;
  for (const auto& [k, v] : ctx->get_object()) {
    if (k != "id" && k != "ids") continue;
    if (v.is_string()) out.emplace_back(v.get_string());
    if (v.is_array())
      for (const auto& e : v.get_array())
        if (e.is_string()) out.emplace_back(e.get_string());
  }
  return out;
}

/// `{"id", "properties": {the wanted ones present}}` of a record's JSON.
std::string only_fields(const std::string& payload, const std::vector<std::string>& wanted) {
  auto v = rest::parse_json(payload);
  if (!v || !v->is_object()) return payload;
  json::object out;
  out["id"] = rest::member_text(*v, "id");
  json::object props;
  if (const auto* p = v->get_object().if_contains("properties"); p && p->is_object())
    for (const auto& name : wanted)
      if (const auto* x = p->get_object().if_contains(name)) props[name] = *x;
  out["properties"] = std::move(props);
  return json::serialize(out);
}

std::string error_message(const json::value& err) {
  std::string category = rest::member_text(err, "category");
  std::string message = rest::member_text(err, "message");
  return category.empty() ? message : category + ": " + message;
}

class hubspot_connector final : public connector {
 public:
  hubspot_connector(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
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

  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "hubspot"; }
  std::vector<std::string> objects() const override { return objects_; }
  std::size_t max_batch(std::string_view) const override {
    return cfg_.batch_size > 0 ? std::min(cfg_.batch_size, batch_limit) : batch_limit;
  }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }

  connector_usage usage() const override {
    connector_usage u;
    u.api_calls = api_->calls();
    u.api_errors = api_->errors();
    u.budget_used = budget_used_.load();
    u.budget_limit = budget_limit_.load();
    return u;
  }

  // ---- reading ---------------------------------------------------------------------------------------------

  task<page> poll(page_request req) override {
    std::optional<poll_cursor> c;
    if (req.cursor) {
      c = poll_cursor::decode(*req.cursor);
      if (!c) spdlog::warn("{}: {}: unreadable cursor, starting a full read", cfg_.name, req.object);
    }
    if (req.mode == poll_mode::full) {
      if (!c || c->at != poll_cursor::phase::list) c = start_list();
    } else if (req.since && !req.cursor) {
      // resync --since: search from that instant; the archived list is checked from it too.
      const auto since = std::chrono::duration_cast<milliseconds>(req.since->time_since_epoch()).count();
      c = poll_cursor{};
      c->at = poll_cursor::phase::search;
      c->since_ms = since;
      c->archived_since_ms = since;
    } else if (!c) {
      // Nothing read yet: the list endpoint reads everything cheaper than search (and without its lag).
      c = start_list();
    }
    // resync --fields: read only those properties (plus the id and the modification stamp, which search pages
    // by) and answer partial pages, which the engine merges into the stored records; archived records are not
    // read then.
    std::vector<std::string> only;
    if (!req.fields.empty()) {
      only = req.fields;
      for (const std::string& p : {modified_property(req.object), std::string("hs_object_id")})
        if (std::find(only.begin(), only.end(), p) == only.end()) only.push_back(p);
      if (c->at == poll_cursor::phase::archived) {
        page done;
        done.partial = true;
        co_return done;
      }
    }
    omnisync::result<page> out = make_error_code(errc::fail);
    if (c->at == poll_cursor::phase::list) out = co_await list_page(req.object, *c, only);
    else if (c->at == poll_cursor::phase::archived) out = co_await archived_page(req.object, *c);
    else out = co_await search_page(req.object, *c, only);
    if (out && !only.empty()) {
      out->partial = true;
      // A partial record carries the id and the fields asked for, nothing else: HubSpot always adds
      // lastmodifieddate/createdate (and updatedAt), and a merged record stamped with the newest change but
      // holding only some of its values would make the full copy the next poll brings look old.
      for (auto& r : out->records) r.payload = only_fields(r.payload, req.fields);
    }
    co_return out;
  }

  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override {
    std::vector<adapters::source_record> out;
    auto props = co_await properties_for(object);
    if (!props) co_return props.error();
    for (std::size_t i = 0; i < ids.size(); i += batch_limit) {
      std::vector<std::string> part(ids.begin() + static_cast<std::ptrdiff_t>(i),
                                    ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + batch_limit)));
      json::object body;
      body["properties"] = string_array(*props);
      json::array inputs;
      for (const auto& id : part) inputs.push_back(id_input(id));
      body["inputs"] = std::move(inputs);
      auto res = co_await call_json("POST", "/crm/v3/objects/" + object + "/batch/read", json::serialize(body), {});
      if (!res) co_return res.error();
      std::vector<json::object> found;
      std::set<std::string> present;
      if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
        for (const auto& x : r->get_array())
          if (x.is_object()) {
            present.insert(rest::member_text(x, "id"));
            found.push_back(x.get_object());
          }
      auto attached = co_await attach_associations(object, std::move(found));
      if (!attached) co_return attached.error();
      for (auto& rec : *attached) out.push_back(to_record(rec, modified_property(object)));
      // Ids HubSpot could not read (archived or never existed) come back as deletions, as connector.hpp asks.
      const auto now = to_epoch_ms(utc_now());
      for (const auto& id : part)
        if (!present.count(id)) out.push_back(deleted_record(id, now));
    }
    co_return out;
  }

  task<id_page> list_ids(std::string object, std::optional<std::string> next) override {
    std::string path = "/crm/v3/objects/" + object + "?limit=" + std::to_string(list_limit) +
                       "&archived=false&properties=hs_object_id";
    if (next) path += "&after=" + rest::url_encode(*next);
    auto res = co_await call_json("GET", path, {}, {});
    if (!res) co_return res.error();
    id_page out;
    if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
      for (const auto& x : r->get_array()) out.ids.push_back(rest::member_text(x, "id"));
    if (auto after = next_after(*res); !after.empty()) out.next = after;
    co_return out;
  }

  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override {
    std::vector<adapters::source_record> out;
    if (object != "contacts" || email.empty()) co_return out;  // only contacts carry a unique email
    auto props = co_await properties_for(object);
    if (!props) co_return props.error();
    std::string path = "/crm/v3/objects/contacts/" + rest::url_encode(email) +
                       "?idProperty=email&properties=" + rest::url_encode(join(*props));
    auto res = co_await send("GET", path, {}, {});
    if (!res) co_return res.error();
    if (res->status == 404) co_return out;
    if (res->status != 200) co_return failure(res->status, "GET", path, *res);
    auto v = rest::parse_json(res->body);
    if (!v || !v->is_object()) co_return make_error_code(errc::invalid_input);
    std::vector<json::object> one;
    one.push_back(v->get_object());
    auto attached = co_await attach_associations(object, std::move(one));
    if (!attached) co_return attached.error();
    for (auto& rec : *attached) out.push_back(to_record(rec, modified_property(object)));
    co_return out;
  }

  // ---- writing ---------------------------------------------------------------------------------------------

  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override {
    std::vector<write_result> out;
    // Items naming a record (target_id) are updated by HubSpot's id (batch/update): the profile already links
    // that record, which may have been created outside omnisync, so an upsert on a key could duplicate it. The
    // others are upserted. One call upserts on one idProperty, and HubSpot refuses a batch that names one id
    // twice: items go to the first chunk of their kind that is not full and does not hold their id yet.
    // (The chunk property "" marks updates by id.)
    const std::size_t limit = max_batch(object);
    std::vector<std::vector<write_item>> chunks;
    std::vector<std::string> chunk_property;
    std::vector<std::set<std::string>> keys;
    std::map<std::int64_t, std::size_t> position;  // outbox id → item index, to answer in the items' order
    for (std::size_t n = 0; n < items.size(); ++n) {
      auto& it = items[n];
      position.emplace(it.outbox_id, n);
      const bool by_id = !it.target_id.empty();
      const std::string prop = by_id ? std::string() : id_property_of(object, it);
      const std::string& key = by_id ? it.target_id : it.record_key;
      std::size_t i = 0;
      while (i < chunks.size() && (chunk_property[i] != prop || chunks[i].size() >= limit || keys[i].count(key))) ++i;
      if (i == chunks.size()) {
        chunks.emplace_back();
        chunk_property.push_back(prop);
        keys.emplace_back();
      }
      keys[i].insert(key);
      chunks[i].push_back(std::move(it));
    }
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      auto part = co_await batch_write(object, chunk_property[i], std::move(chunks[i]));
      out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    std::stable_sort(out.begin(), out.end(), [&](const write_result& a, const write_result& b) {
      return position[a.outbox_id] < position[b.outbox_id];
    });
    co_return out;
  }

  /// Archives (HubSpot's delete) records by id: POST batch/archive, up to the batch limit a call. HubSpot answers
  /// 204 whether or not each object existed, so a record already gone counts as done.
  task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) override {
    std::vector<write_result> out;
    const std::size_t limit = max_batch(object);
    for (std::size_t at = 0; at < items.size(); at += limit) {
      const std::size_t end = std::min(items.size(), at + limit);
      json::array inputs;
      for (std::size_t i = at; i < end; ++i) inputs.push_back(id_input(items[i].target_id));
      json::object body;
      body["inputs"] = std::move(inputs);
      const std::string path = "/crm/v3/objects/" + object + "/batch/archive";
      auto res = co_await send("POST", path, json::serialize(body), {});
      write_result::outcome how = write_result::outcome::written;
      std::string why;
      if (!res) {
        how = write_result::outcome::retry;
        why = res.error().message();
      } else if (res->status != 204 && res->status != 200) {
        failure(res->status, "POST", path, *res);
        const auto ec = rest::classify_status(res->status);
        how = ec == errc::invalid_input || ec == errc::not_found ? write_result::outcome::rejected
                                                                  : write_result::outcome::retry;
        auto v = rest::parse_json(res->body);
        why = v ? error_message(*v) : "HTTP " + std::to_string(res->status);
      }
      for (std::size_t i = at; i < end; ++i) {
        write_result w;
        w.outbox_id = items[i].outbox_id;
        w.status = how;
        w.error = why;
        out.push_back(std::move(w));
      }
    }
    co_return out;
  }

  // ---- webhooks --------------------------------------------------------------------------------------------

  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override {
    auto v = rest::parse_json(event.body);
    if (!v || !v->is_array() || v->get_array().empty()) return errc::invalid_input;
    event_records out;
    std::set<std::pair<std::string, std::string>> refetch;
    std::set<std::pair<std::string, std::string>> deleted;
    for (const auto& e : v->get_array()) {
      if (!e.is_object()) return errc::invalid_input;
      const std::string type = rest::member_text(e, "subscriptionType");
      const std::string id = rest::member_text(e, "objectId");
      if (type.empty() || id.empty() || type.find('.') == std::string::npos) return errc::invalid_input;
      const std::string object = object_of_event(type, rest::member_text(e, "objectTypeId"));
      if (std::find(objects_.begin(), objects_.end(), object) == objects_.end()) continue;  // not synced here
      const std::string action = type.substr(type.find('.') + 1);
      const auto when = to_int(rest::member_text(e, "occurredAt")).value_or(to_epoch_ms(utc_now()));
      if (action == "deletion" || action == "privacyDeletion") {
        if (deleted.insert({object, id}).second) out.records.emplace_back(object, deleted_record(id, when));
        continue;
      }
      if (action == "merge") {
        // The merged-away records are gone; the surviving one changed.
        if (const auto* m = e.as_object().if_contains("mergedObjectIds"); m && m->is_array())
          for (const auto& x : m->get_array()) {
            std::string gone = x.is_string() ? std::string(x.get_string()) : json::serialize(x);
            if (deleted.insert({object, gone}).second) out.records.emplace_back(object, deleted_record(gone, when));
          }
        const std::string primary = rest::member_text(e, "primaryObjectId");
        refetch.insert({object, primary.empty() ? id : primary});
        continue;
      }
      // Omnisync's own write coming back (the origin tag HubSpot offers): a change made through the API by the
      // same app these webhooks belong to (changeSource INTEGRATION, sourceId = appId) needs no read. Changes by
      // anyone else — a user, an import, another integration — are read as usual.
      if (rest::member_text(e, "changeSource") == "INTEGRATION") {
        const std::string source = rest::member_text(e, "sourceId"), app = rest::member_text(e, "appId");
        if (!source.empty() && source == app) continue;
      }
      refetch.insert({object, id});
    }
    for (const auto& r : refetch)
      if (!deleted.count(r)) out.refetch.push_back(r);
    return out;
  }

  // ---- metadata --------------------------------------------------------------------------------------------

  task<object_schema> describe(std::string object) override {
    auto res = co_await call_json("GET", "/crm/v3/properties/" + object, {}, {});
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

 private:
  // ---- OAuth -----------------------------------------------------------------------------------------------

  /// The refresh-token grant (POST /oauth/v1/token, form-encoded). HubSpot answers access_token, expires_in
  /// (1800) and a refresh_token, normally the same one; a different one replaces ours (kept in memory only).
  /// A refused grant (400 BAD_REFRESH_TOKEN, BAD_CLIENT_ID, ...) is auth_expired: the connector fails until the
  /// credentials are fixed.
  asio::awaitable<omnisync::result<oauth::grant_result>> grant() {
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
    co_return make_error_code(errc::auth_expired);
  }

  // ---- HTTP ------------------------------------------------------------------------------------------------

  /// One call through the api_caller (pacing, retries); the response whatever its status.
  asio::awaitable<omnisync::result<http::response>> send(std::string method, std::string path, std::string body,
                                                         std::string_view bucket) {
    pacing::call_options opts;
    // OAuth: a source per request, so the 401s of requests in flight when the token expires share one renewal.
    http::token_source per_request;
    if (oauth_) per_request = oauth_->request_source();
    opts.auth = oauth_ ? &per_request : &auth_;
    opts.bucket = bucket;
    http::request req = make_request(std::move(method), base_ + path, std::move(body));
    auto r = co_await api_->call(std::move(req), opts);
    co_return r;
  }

  /// Logs a refused call once, with HubSpot's correlation id, and classifies it.
  boost::system::error_code failure(int status, const std::string& method, const std::string& path,
                                    const http::response& res) const {
    auto v = rest::parse_json(res.body);
    std::string corr = v ? rest::member_text(*v, "correlationId") : std::string();
    http::request shown = make_request(method, base_ + path, {});
    spdlog::warn("{}: {}", cfg_.name, rest::describe_failure(shown, res, corr));
    return make_error_code(rest::classify_status(status));
  }

  /// A call whose 2xx answer is a JSON object; anything else is a classified error.
  asio::awaitable<omnisync::result<json::value>> call_json(std::string method, std::string path, std::string body,
                                                           std::string_view bucket) {
    auto res = co_await send(method, path, std::move(body), bucket);
    if (!res) {
      spdlog::warn("{}: {} {} failed: {}", cfg_.name, method, path.substr(0, path.find('?')), res.error().message());
      co_return res.error();
    }
    if (res->status < 200 || res->status >= 300) co_return failure(res->status, method, path, *res);
    auto v = rest::parse_json(res->body);
    if (!v || !v->is_object()) {
      spdlog::warn("{}: {} {}: the answer is not a JSON object", cfg_.name, method, path.substr(0, path.find('?')));
      co_return make_error_code(errc::invalid_input);
    }
    co_return std::move(*v);
  }

  static json::object id_input(const std::string& id) {
    json::object o;
    o["id"] = id;
    return o;
  }
  static json::array string_array(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
  }
  static std::string next_after(const json::value& v) {
    const auto* p = v.as_object().if_contains("paging");
    if (!p || !p->is_object()) return {};
    const auto* n = p->get_object().if_contains("next");
    return n ? rest::member_text(*n, "after") : std::string();
  }

  /// The properties to read for `object`: the configured or default list, else every property (describe).
  asio::awaitable<omnisync::result<std::vector<std::string>>> properties_for(std::string object) {
    if (auto it = properties_.find(object); it != properties_.end()) co_return it->second;
    if (auto it = all_properties_.find(object); it != all_properties_.end()) co_return it->second;
    auto schema = co_await describe(object);
    if (!schema) co_return schema.error();
    co_return all_properties_[object];
  }

  adapters::source_record to_record(const json::object& rec, const std::string& modprop) const {
    const std::string id = rest::member_text(rec, "id");
    const auto stamp = stamp_of(rec, modprop);
    const auto* archived = rec.if_contains("archived");
    const bool gone = archived && archived->is_bool() && archived->get_bool();
    std::int64_t when = stamp;
    if (gone)
      if (const auto* at = rec.if_contains("archivedAt"); at && at->is_string())
        if (auto t = parse_vendor_time(at->get_string())) when = to_epoch_ms(*t);
    return adapters::source_record(id, json::serialize(rec), as_timestamp(when), gone);
  }

  /// Search results carry no associations: read them for the whole page with one v4 batch call and attach
  /// them in the list endpoint's shape (`associations.contacts.results[].id`), which the mappings use.
  asio::awaitable<omnisync::result<std::vector<json::object>>> attach_associations(std::string object,
                                                                                   std::vector<json::object> recs) {
    const auto& wanted = associations_[object];
    if (wanted.empty() || recs.empty()) co_return recs;
    for (const auto& to : wanted) {
      json::array inputs;
      for (const auto& r : recs) inputs.push_back(id_input(rest::member_text(r, "id")));
      json::object body;
      body["inputs"] = std::move(inputs);
      auto res = co_await call_json("POST", "/crm/v4/associations/" + object + "/" + to + "/batch/read",
                                    json::serialize(body), {});
      if (!res) co_return res.error();
      std::map<std::string, json::array> by_id;
      const std::string label = singular_of(object) + "_to_" + singular_of(to);
      if (const auto* rs = res->as_object().if_contains("results"); rs && rs->is_array()) {
        for (const auto& r : rs->get_array()) {
          const auto* from = r.is_object() ? r.get_object().if_contains("from") : nullptr;
          const auto* targets = r.is_object() ? r.get_object().if_contains("to") : nullptr;
          if (!from || !targets || !targets->is_array()) continue;
          auto& list = by_id[rest::member_text(*from, "id")];
          for (const auto& t : targets->get_array()) {
            std::string tid = rest::member_text(t, "toObjectId");
            if (tid.empty()) tid = rest::member_text(t, "id");
            json::object link;
            link["id"] = tid;
            link["type"] = label;
            list.push_back(std::move(link));
          }
        }
      }
      for (auto& r : recs) {
        auto it = by_id.find(rest::member_text(r, "id"));
        if (it == by_id.end()) continue;
        json::object& assoc = r["associations"].is_object() ? r["associations"].get_object()
                                                            : r["associations"].emplace_object();
        json::object holder;
        holder["results"] = std::move(it->second);
        assoc[to] = std::move(holder);
      }
    }
    co_return recs;
  }

  // ---- poll phases -----------------------------------------------------------------------------------------

  poll_cursor start_list() const {
    poll_cursor c;
    c.at = poll_cursor::phase::list;
    c.started_ms = to_epoch_ms(utc_now());
    return c;
  }

  std::string list_path(const std::string& object, const std::vector<std::string>& props, bool archived,
                        const std::string& after, bool with_associations = true) {
    std::string path = "/crm/v3/objects/" + object + "?limit=" + std::to_string(std::min(page_size_, list_limit)) +
                       "&archived=" + (archived ? "true" : "false");
    if (!props.empty()) path += "&properties=" + rest::url_encode(join(props));
    if (with_associations && !associations_[object].empty())
      path += "&associations=" + rest::url_encode(join(associations_[object]));
    if (!after.empty()) path += "&after=" + rest::url_encode(after);
    return path;
  }

  /// Full read: live records by id, then the archived ones as deletions; then search from when it began.
  /// `only` (resync --fields): just these properties, no associations, no archived pass.
  asio::awaitable<omnisync::result<page>> list_page(std::string object, poll_cursor c, std::vector<std::string> only) {
    const bool partial = !only.empty();
    omnisync::result<std::vector<std::string>> props = std::move(only);
    if (!partial) props = co_await properties_for(object);
    if (!props) co_return props.error();
    const std::string path = list_path(object, *props, c.list_archived, c.after, !partial);
    auto res = co_await call_json("GET", path, {}, {});
    if (!res) co_return res.error();
    page out;
    if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
      for (const auto& x : r->get_array())
        if (x.is_object()) out.records.push_back(to_record(x.get_object(), modified_property(object)));
    const std::string after = next_after(*res);
    if (!after.empty()) {
      c.after = after;
      out.more = true;
    } else if (!c.list_archived && !partial) {
      c.list_archived = true;
      c.after.clear();
      out.more = true;
    } else {
      // Changes made while the list was read have stamps after `started_ms`: search picks them up from there
      // (less the settle lag, since search may show a change a few seconds late).
      poll_cursor next;
      next.at = poll_cursor::phase::search;
      next.since_ms = c.started_ms - cfg_.settle_lag.count();
      next.archived_since_ms = next.since_ms;
      next.last_scan_ms = c.started_ms;
      c = next;
      out.more = false;
    }
    out.cursor = c.encode();
    co_return out;
  }

  /// One filter as HubSpot's search wants it.
  static json::object filter(const std::string& property, const char* op, std::int64_t value) {
    json::object f;
    f["propertyName"] = property;
    f["operator"] = op;
    f["value"] = std::to_string(value);
    return f;
  }

  json::object search_body(const std::string& object, const poll_cursor& c, const std::vector<std::string>& props,
                           std::int64_t upper) const {
    const std::string modprop = modified_property(object);
    json::array filters;
    json::object sort;
    if (c.tie_after) {
      // Every record of one instant, in id order (keyset), however many there are.
      filters.push_back(filter(modprop, "EQ", c.since_ms));
      filters.push_back(filter("hs_object_id", "GT", *c.tie_after));
      sort["propertyName"] = "hs_object_id";
    } else {
      filters.push_back(filter(modprop, c.exclusive ? "GT" : "GTE", c.since_ms));
      filters.push_back(filter(modprop, "LTE", upper));
      sort["propertyName"] = modprop;
    }
    sort["direction"] = "ASCENDING";
    json::object group;
    group["filters"] = std::move(filters);
    json::object body;
    body["filterGroups"] = json::array{group};
    body["sorts"] = json::array{sort};
    body["properties"] = string_array(props);
    body["limit"] = page_size_;
    body["after"] = "0";
    return body;
  }

  /// Incremental read through search, ascending on the last-modified property. Every page restarts the
  /// search from the last instant read (de-duplicating the ids already returned at that instant) instead of
  /// paging with `after`: offsets shift when records change while being paged, and they run into HubSpot's
  /// 10,000-result cap; a restarted window never gets near it.
  asio::awaitable<omnisync::result<page>> search_page(std::string object, poll_cursor c, std::vector<std::string> only) {
    const bool partial = !only.empty();
    const std::string modprop = modified_property(object);
    const std::int64_t now = to_epoch_ms(utc_now());
    const std::int64_t upper = now - cfg_.settle_lag.count();
    page out;
    bool caught_up = false;
    if (!c.tie_after && c.since_ms > upper) {
      caught_up = true;  // nothing can be read yet without running ahead of search's indexing
    } else {
      omnisync::result<std::vector<std::string>> props = std::move(only);
      if (!partial) props = co_await properties_for(object);
      if (!props) co_return props.error();
      auto body = search_body(object, c, *props, upper);
      auto res = co_await call_json("POST", "/crm/v3/objects/" + object + "/search", json::serialize(body), "search");
      if (!res) co_return res.error();
      std::vector<json::object> results;
      if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
        for (const auto& x : r->get_array())
          if (x.is_object()) results.push_back(x.get_object());
      const bool full = results.size() >= page_size_;
      std::vector<json::object> emit;
      if (c.tie_after) {
        for (auto& r : results)
          if (!c.was_seen(rest::member_text(r, "id"))) emit.push_back(r);
        if (!results.empty()) c.tie_after = to_int(rest::member_text(results.back(), "id")).value_or(*c.tie_after);
        if (!full) {
          // That instant is read completely: continue after it.
          c.tie_after.reset();
          c.exclusive = true;
          c.seen.clear();
        }
        out.more = true;
      } else if (full && !c.exclusive &&
                 std::all_of(results.begin(), results.end(),
                             [&](const json::object& r) { return stamp_of(r, modprop) == c.since_ms; })) {
        // A page's worth of records share the instant `since`: read that instant by id instead.
        c.tie_after = 0;
        out.more = true;
      } else {
        for (auto& r : results) {
          const auto t = stamp_of(r, modprop);
          if (!c.exclusive && t == c.since_ms && c.was_seen(rest::member_text(r, "id"))) continue;
          emit.push_back(r);
        }
        if (!results.empty()) {
          const auto last = stamp_of(results.back(), modprop);
          std::vector<std::string> at_last;
          if (last == c.since_ms && !c.exclusive) at_last = c.seen;
          for (auto& r : results)
            if (stamp_of(r, modprop) == last) {
              auto id = rest::member_text(r, "id");
              if (std::find(at_last.begin(), at_last.end(), id) == at_last.end()) at_last.push_back(std::move(id));
            }
          c.since_ms = last;
          c.seen = std::move(at_last);
          c.exclusive = false;
        }
        out.more = full;
        caught_up = !full;
      }
      if (partial) {
        for (auto& r : emit) out.records.push_back(to_record(r, modprop));  // no associations in a partial read
      } else {
        auto attached = co_await attach_associations(object, std::move(emit));
        if (!attached) co_return attached.error();
        for (auto& r : *attached) out.records.push_back(to_record(r, modprop));
      }
    }
    if (caught_up && !partial && now - c.last_scan_ms >= archived_interval_.count()) {
      // Search never shows archived records: look at the archived list for new ones now and then.
      c.at = poll_cursor::phase::archived;
      c.scan_started_ms = now;
      c.after.clear();
      out.more = true;
    }
    out.cursor = c.encode();
    co_return out;
  }

  /// A pass over the archived list, reporting what was archived since the previous pass as deleted.
  asio::awaitable<omnisync::result<page>> archived_page(std::string object, poll_cursor c) {
    const std::string modprop = modified_property(object);
    std::vector<std::string> props;
    props.push_back(modprop);
    auto res = co_await call_json("GET", list_path(object, props, true, c.after), {}, {});
    if (!res) co_return res.error();
    page out;
    if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
      for (const auto& x : r->get_array()) {
        if (!x.is_object()) continue;
        auto rec = to_record(x.get_object(), modprop);
        if (rec.source_updated_at >= as_timestamp(c.archived_since_ms)) out.records.push_back(std::move(rec));
      }
    const std::string after = next_after(*res);
    if (!after.empty()) {
      c.after = after;
      out.more = true;
    } else {
      c.at = poll_cursor::phase::search;
      c.archived_since_ms = c.scan_started_ms - cfg_.settle_lag.count();
      c.last_scan_ms = c.scan_started_ms;
      c.scan_started_ms = 0;
      c.after.clear();
      out.more = false;
    }
    out.cursor = c.encode();
    co_return out;
  }

  // ---- batch upsert and update ----------------------------------------------------------------------------------------

  static std::vector<write_result> all_results(const std::vector<write_item>& items, write_result::outcome o,
                                               const std::string& why) {
    std::vector<write_result> out;
    for (const auto& it : items) {
      write_result r;
      r.outbox_id = it.outbox_id;
      r.status = o;
      r.error = why;
      out.push_back(std::move(r));
    }
    return out;
  }

  /// The property an item upserts on: `sync.upsert_property[.<object>]` when configured; else the payload's
  /// field whose value is the record key (the outbound mapping's upsert_key: `email` for the shipped contacts
  /// mapping); else `email` for contacts (HubSpot's own unique key) and `omnisync_id` for other objects.
  std::string id_property_of(const std::string& object, const write_item& it) const {
    if (auto c = id_property_.find(object); c != id_property_.end()) return c->second;
    const std::string fallback = object == "contacts" ? "email" : "omnisync_id";
    auto v = rest::parse_json(it.payload);
    std::vector<std::string> candidates;
    if (v && v->is_object())
      for (const auto& [k, val] : v->get_object())
        if (val.is_string() && val.get_string() == it.record_key) candidates.emplace_back(k);
    if (candidates.empty() || std::find(candidates.begin(), candidates.end(), fallback) != candidates.end())
      return fallback;
    return candidates.front();
  }

  /// Writes ≤ 100 items: upserts on `id_prop`, or, when `id_prop` is empty, updates by the items' target_id
  /// (batch/update). A batch HubSpot refuses as a whole (400/409/422, and 404 for updates) is split in halves
  /// until the refused items are alone, so one bad record does not hold back the others; writing an item twice
  /// is harmless either way (same values on the same record).
  asio::awaitable<std::vector<write_result>> batch_write(std::string object, std::string id_prop,
                                                         std::vector<write_item> items) {
    const bool by_id = id_prop.empty();
    std::vector<write_result> out;
    std::vector<write_item> sendable;
    json::array inputs;
    for (auto& it : items) {
      auto v = rest::parse_json(it.payload);
      if (!v || !v->is_object() || (!by_id && it.record_key.empty())) {
        write_result r;
        r.outbox_id = it.outbox_id;
        r.status = write_result::outcome::rejected;
        r.error = v && v->is_object() ? "no upsert key value" : "payload is not a JSON object";
        out.push_back(std::move(r));
        continue;
      }
      json::object props;
      for (const auto& [k, val] : v->get_object()) props[k] = property_value(val);
      json::object input;
      if (by_id) {
        // The payload's key property (email, omnisync_id), when present, is written like any other: it links
        // the record for later upserts.
        input["id"] = it.target_id;
      } else {
        props[id_prop] = it.record_key;
        input["id"] = it.record_key;
        input["idProperty"] = id_prop;
      }
      input["properties"] = std::move(props);
      inputs.push_back(std::move(input));
      sendable.push_back(std::move(it));
    }
    if (sendable.empty()) co_return out;
    json::object body;
    body["inputs"] = std::move(inputs);
    const std::string path = "/crm/v3/objects/" + object + (by_id ? "/batch/update" : "/batch/upsert");
    auto res = co_await send("POST", path, json::serialize(body), {});
    if (!res) {
      auto rest_of = all_results(sendable, write_result::outcome::retry, res.error().message());
      out.insert(out.end(), rest_of.begin(), rest_of.end());
      co_return out;
    }
    const int status = res->status;
    if (status == 400 || status == 409 || status == 422 || (by_id && status == 404)) {
      auto v = rest::parse_json(res->body);
      const std::string why = v ? error_message(*v) : res->body.substr(0, 300);
      if (sendable.size() == 1) {
        failure(status, "POST", path, *res);
        auto one = all_results(sendable, write_result::outcome::rejected, why);
        out.insert(out.end(), one.begin(), one.end());
        co_return out;
      }
      std::vector<write_item> second(std::make_move_iterator(sendable.begin() + static_cast<std::ptrdiff_t>(sendable.size() / 2)),
                                     std::make_move_iterator(sendable.end()));
      sendable.resize(sendable.size() / 2);
      auto a = co_await batch_write(object, id_prop, std::move(sendable));
      auto b = co_await batch_write(object, id_prop, std::move(second));
      out.insert(out.end(), a.begin(), a.end());
      out.insert(out.end(), b.begin(), b.end());
      co_return out;
    }
    if (status != 200 && status != 201 && status != 207) {
      failure(status, "POST", path, *res);
      auto rest_of = all_results(sendable, write_result::outcome::retry, "HTTP " + std::to_string(status));
      out.insert(out.end(), rest_of.begin(), rest_of.end());
      co_return out;
    }
    auto v = rest::parse_json(res->body);
    if (!v || !v->is_object()) {
      auto rest_of = all_results(sendable, write_result::outcome::retry, "unreadable batch answer");
      out.insert(out.end(), rest_of.begin(), rest_of.end());
      co_return out;
    }
    // HubSpot compares emails without case (and may store them lower-cased): so does the matching here.
    auto norm = [&](std::string k) {
      if (id_prop == "email")
        std::transform(k.begin(), k.end(), k.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      return k;
    };
    // Results are matched to items by what identified them: HubSpot's id for updates, the key property's value
    // for upserts (an upsert's id is not known before).
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < sendable.size(); ++i) index[by_id ? sendable[i].target_id : norm(sendable[i].record_key)] = i;
    std::vector<std::optional<write_result>> done(sendable.size());
    if (const auto* rs = v->as_object().if_contains("results"); rs && rs->is_array()) {
      for (const auto& r : rs->get_array()) {
        std::string key;
        if (by_id) {
          key = rest::member_text(r, "id");
        } else {
          const auto* p = r.is_object() ? r.get_object().if_contains("properties") : nullptr;
          key = p ? norm(rest::member_text(*p, id_prop)) : std::string();
        }
        auto it = index.find(key);
        if (it == index.end()) continue;
        write_result w;
        w.outbox_id = sendable[it->second].outbox_id;
        w.destination_id = rest::member_text(r, "id");
        done[it->second] = std::move(w);
      }
    }
    bool unmatched_error = false;
    std::string unmatched_message;
    if (const auto* es = v->as_object().if_contains("errors"); es && es->is_array()) {
      for (const auto& e : es->get_array()) {
        bool matched = false;
        for (const auto& id : error_ids(e)) {
          auto it = index.find(by_id ? id : norm(id));
          if (it == index.end()) continue;
          write_result w;
          w.outbox_id = sendable[it->second].outbox_id;
          w.status = write_result::outcome::rejected;
          w.error = error_message(e);
          done[it->second] = std::move(w);
          matched = true;
        }
        if (!matched) {
          unmatched_error = true;
          unmatched_message = error_message(e);
        }
      }
      if (!es->get_array().empty())
        spdlog::info("{}: batch {} of {} {}: {} refused", cfg_.name, by_id ? "update" : "upsert", sendable.size(), object,
                     es->get_array().size());
    }
    std::vector<write_item> unknown;
    for (std::size_t i = 0; i < sendable.size(); ++i) {
      if (done[i]) {
        out.push_back(std::move(*done[i]));
      } else if (!unmatched_error) {
        // HubSpot lists every failure in `errors`; an item no error names was written.
        write_result w;
        w.outbox_id = sendable[i].outbox_id;
        if (by_id) w.destination_id = sendable[i].target_id;
        out.push_back(std::move(w));
      } else {
        unknown.push_back(std::move(sendable[i]));
      }
    }
    if (!unknown.empty()) {
      // An error we could not tie to an item: write those again in smaller batches (writes repeat harmlessly)
      // until the error names one item alone.
      if (unknown.size() == 1) {
        auto one = all_results(unknown, write_result::outcome::rejected, unmatched_message);
        out.insert(out.end(), one.begin(), one.end());
      } else {
        std::vector<write_item> second(std::make_move_iterator(unknown.begin() + static_cast<std::ptrdiff_t>(unknown.size() / 2)),
                                       std::make_move_iterator(unknown.end()));
        unknown.resize(unknown.size() / 2);
        auto a = co_await batch_write(object, id_prop, std::move(unknown));
        auto b = co_await batch_write(object, id_prop, std::move(second));
        out.insert(out.end(), a.begin(), a.end());
        out.insert(out.end(), b.begin(), b.end());
      }
    }
    co_return out;
  }

  config::connector_common cfg_;
  std::string base_;
  std::shared_ptr<const std::string> bearer_;  // private app token; null with auth.flow oauth
  std::string client_id_, client_secret_, refresh_token_, token_url_;  // auth.flow oauth
  std::unique_ptr<oauth::token_cache> oauth_;
  http::token_source auth_;
  std::unique_ptr<pacing::api_caller> api_;
  std::size_t page_size_ = 100;
  milliseconds archived_interval_{600000};
  std::map<std::string, std::string> id_property_;  // configured per object
  std::vector<std::string> objects_;
  std::map<std::string, std::vector<std::string>> properties_;       // configured/default per object
  std::map<std::string, std::vector<std::string>> all_properties_;   // from describe, for "all"
  std::map<std::string, std::vector<std::string>> associations_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
  std::atomic<std::int64_t> budget_used_{-1}, budget_limit_{-1};
};

}  // namespace

std::unique_ptr<connector> make_hubspot_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<hubspot_connector>(cfg, ctx);
}

}  // namespace omnisync::adapters
