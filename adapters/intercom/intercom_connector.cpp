// The Intercom API 2.11 connector. Facts: /work/shared/api-notes.md §5 (notifications, X-Hub-Signature, the
// contacts API, search with day-granular timestamps, error.list bodies) and Intercom's pagination guide
// (`starting_after` cursors for list and search).
#include "adapters/intercom/intercom_connector.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <stdexcept>

#include "adapters/intercom/errors.hpp"
#include "adapters/intercom/settings.hpp"
#include "adapters/rest/json_api.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"
#include "adapters/intercom/webhook.hpp"
#include "adapters/pacing/api_call.hpp"

namespace omnisync::adapters {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::int64_t per_page_max = 150;  // list and search pages hold at most 150
constexpr std::int64_t day_s = 86400;
constexpr std::string_view bucket = "app";  // Intercom counts calls per app

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

omnisync::timestamp as_timestamp(std::int64_t ms) { return omnisync::timestamp(milliseconds(ms)); }

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

adapters::source_record to_record(const json::value& rec, bool deleted = false) {
  return adapters::source_record(rest::member_text(rec, "id"), json::serialize(rec), as_timestamp(updated_s(rec) * 1000),
                              deleted);
}

adapters::source_record deleted_record(const std::string& object, const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["type"] = object == "conversations" ? "conversation" : "contact";
  o["id"] = id;
  o["deleted"] = true;
  return adapters::source_record(id, json::serialize(o), as_timestamp(when_ms), true);
}

json::object filter(const char* field, const char* op, json::value value) {
  json::object f;
  f["field"] = field;
  f["operator"] = op;
  f["value"] = std::move(value);
  return f;
}

/// Where a scan of one object stands. Intercom's search compares timestamps by whole days (`updated_at > X`
/// means a later day than X's), so a scan asks for every record of the day of `lo` and later, and drops, on
/// the client, what it already returned: records older than `lo`, and (id, updated_at) pairs in `seen`.
/// A scan pages by `starting_after`, sorted by `created_at` (which never changes, so a record updated during
/// the scan cannot shift the pages under it; it is picked up by the next scan). When a scan ends, the
/// watermark `w` becomes its newest `updated_at` and `lo` = w − overlap: the overlap catches records that
/// Intercom's search index shows late, and changes made while a scan ran.
struct ic_cursor {
  using pairs = std::map<std::string, std::int64_t>;  ///< id → updated_at returned
  std::int64_t lo = -1;   ///< drop records updated before this second; -1: nothing read yet (read all)
  std::int64_t w = -1;    ///< newest updated_at of completed scans
  pairs seen;             ///< returned by completed scans, updated_at ≥ lo: kept until this scan ends
  pairs fresh;            ///< returned by this scan; only the overlap below its newest record is kept
  std::string after;      ///< starting_after within the current scan
  std::int64_t scan_max = -1;

  /// This version of the record was returned already.
  bool returned(const std::string& id, std::int64_t u) const {
    auto a = seen.find(id);
    auto b = fresh.find(id);
    return (a != seen.end() && a->second >= u) || (b != fresh.end() && b->second >= u);
  }

  /// Keeps only pairs at or after `line`.
  static void prune(pairs& p, std::int64_t line) {
    for (auto it = p.begin(); it != p.end();) it = it->second < line ? p.erase(it) : std::next(it);
  }

  std::string encode() const {
    json::object o;
    o["v"] = 1;
    o["lo"] = lo;
    o["w"] = w;
    auto obj = [](const pairs& p) {
      json::object out;
      for (const auto& [id, u] : p) out[id] = u;
      return out;
    };
    o["seen"] = obj(seen);
    if (!fresh.empty()) o["fresh"] = obj(fresh);
    if (!after.empty()) o["after"] = after;
    if (scan_max >= 0) o["max"] = scan_max;
    return json::serialize(o);
  }
  static std::optional<ic_cursor> decode(std::string_view text) {
    auto v = rest::parse_json(text);
    if (!v || !v->is_object() || rest::member_text(*v, "v") != "1") return std::nullopt;
    ic_cursor c;
    auto lo = to_int(rest::member_text(*v, "lo"));
    auto w = to_int(rest::member_text(*v, "w"));
    if (!lo || !w) return std::nullopt;
    c.lo = *lo;
    c.w = *w;
    c.after = rest::member_text(*v, "after");
    c.scan_max = to_int(rest::member_text(*v, "max")).value_or(-1);
    auto read = [&](const char* key, pairs& into) {
      if (const auto* s = v->get_object().if_contains(key); s && s->is_object())
        for (const auto& [id, u] : s->get_object())
          if (u.is_int64()) into[std::string(id)] = u.get_int64();
    };
    read("seen", c.seen);
    read("fresh", c.fresh);
    return c;
  }
};

class intercom_connector final : public connector {
 public:
  intercom_connector(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
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

  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "intercom"; }
  std::vector<std::string> objects() const override { return objects_; }
  /// A contact is created or updated by its own call.
  std::size_t max_batch(std::string_view) const override { return 1; }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }

  connector_usage usage() const override {
    connector_usage u;
    u.api_calls = api_->calls();
    u.api_errors = api_->errors();
    return u;  // Intercom reports per-minute limits only, no daily budget
  }

  // ---- reading ---------------------------------------------------------------------------------------------

  task<page> poll(page_request req) override {
    if (req.object != "contacts" && req.object != "conversations") co_return make_error_code(errc::not_found);
    std::optional<ic_cursor> c;
    if (req.cursor) {
      c = ic_cursor::decode(*req.cursor);
      if (!c) spdlog::warn("{}: {}: unreadable cursor, reading from the beginning", cfg_.name, req.object);
    }
    if (!c) {
      c = ic_cursor{};
      if (req.since) c->lo = std::chrono::duration_cast<std::chrono::seconds>(req.since->time_since_epoch()).count();
    }
    // Every record of lo's day and later ("> the day before"); everything on a first read.
    const std::int64_t value = c->lo >= 0 ? c->lo - day_s : 0;
    json::object body;
    body["query"] = filter("updated_at", ">", json::value(value));
    json::object sort;
    sort["field"] = "created_at";
    sort["order"] = "ascending";
    body["sort"] = std::move(sort);
    json::object pagination;
    pagination["per_page"] = page_size_;
    if (!c->after.empty()) pagination["starting_after"] = c->after;
    body["pagination"] = std::move(pagination);
    const bool contacts = req.object == "contacts";
    std::string path = "/conversations/search";
    std::string list_key = "conversations";
    if (contacts) {
      path = "/contacts/search";
      list_key = "data";
    }
    auto res = co_await json_->call_json("POST", path, json::serialize(body));
    if (!res) co_return res.error();
    page out;
    std::size_t returned = 0;
    if (const auto* a = res->as_object().if_contains(list_key); a && a->is_array()) {
      for (const auto& r : a->get_array()) {
        const std::string id = rest::member_text(r, "id");
        if (!r.is_object() || id.empty()) continue;
        ++returned;
        const std::int64_t u = updated_s(r);
        c->scan_max = std::max(c->scan_max, u);
        if (c->lo >= 0 && u < c->lo) continue;                    // older than the overlap: read before
        if (c->returned(id, u)) continue;                           // this version was returned
        c->fresh[id] = u;
        out.records.push_back(to_record(r));
      }
    }
    std::string next;
    if (const auto* p = res->as_object().if_contains("pages"); p && p->is_object())
      if (const auto* n = p->get_object().if_contains("next"); n && n->is_object())
        next = rest::member_text(*n, "starting_after");
    if (!next.empty() && returned > 0) {
      c->after = next;
      out.more = true;
      // This scan's pairs below the line the next scan will start at are never needed again (the earlier
      // scans' pairs are, until this scan has passed their records): keep the cursor small on a full read.
      ic_cursor::prune(c->fresh, std::max(c->lo, c->scan_max - overlap_s_));
    } else {
      // The scan is complete: the next one starts an overlap before its newest record.
      c->w = std::max(c->w, c->scan_max);
      if (c->w >= 0) c->lo = std::max(c->lo, c->w - overlap_s_);
      for (const auto& [id, u] : c->fresh) c->seen[id] = std::max(c->seen[id], u);
      c->fresh.clear();
      ic_cursor::prune(c->seen, c->lo);
      c->after.clear();
      c->scan_max = -1;
      out.more = false;
    }
    out.cursor = c->encode();
    co_return out;
  }

  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override {
    std::vector<adapters::source_record> out;
    if (object != "contacts" && object != "conversations") co_return make_error_code(errc::not_found);
    const auto now = to_epoch_ms(utc_now());
    for (const auto& id : ids) {
      const std::string path = "/" + object + "/" + rest::url_encode(id);
      auto res = co_await json_->send("GET", path, {});
      if (!res) co_return res.error();
      if (res->status == 404) {
        out.push_back(deleted_record(object, id, now));
        continue;
      }
      if (res->status != 200) co_return json_->failure("GET", path, *res);
      auto v = rest::parse_json(res->body);
      if (!v || !v->is_object() || rest::member_text(*v, "id").empty()) co_return make_error_code(errc::invalid_input);
      out.push_back(to_record(*v));
    }
    co_return out;
  }

  /// Every id through the list endpoints (`GET /contacts`, `GET /conversations`, `starting_after` paging).
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override {
    if (object != "contacts" && object != "conversations") co_return make_error_code(errc::not_found);
    std::string path = "/" + object + "?per_page=" + std::to_string(per_page_max);
    if (next) path += "&starting_after=" + rest::url_encode(*next);
    auto res = co_await json_->call_json("GET", path, {});
    if (!res) co_return res.error();
    id_page out;
    std::string key = "conversations";
    if (object == "contacts") key = "data";
    if (const auto* a = res->as_object().if_contains(key); a && a->is_array())
      for (const auto& r : a->get_array())
        if (auto id = rest::member_text(r, "id"); !id.empty()) out.ids.push_back(std::move(id));
    if (const auto* p = res->as_object().if_contains("pages"); p && p->is_object())
      if (const auto* n = p->get_object().if_contains("next"); n && n->is_object())
        if (auto after = rest::member_text(*n, "starting_after"); !after.empty() && !out.ids.empty()) out.next = after;
    co_return out;
  }

  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override {
    std::vector<adapters::source_record> out;
    if (object != "contacts" || email.empty()) co_return out;  // only contacts carry an email
    json::object by_email = filter("email", "=", json::value(email));
    auto found = co_await search_contacts(std::move(by_email));
    if (!found) co_return found.error();
    for (const auto& r : *found) out.push_back(to_record(r));
    co_return out;
  }

  // ---- writing ---------------------------------------------------------------------------------------------

  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override {
    std::vector<write_result> out;
    for (auto& it : items) {
      if (object != "contacts") {
        write_result r;
        r.outbox_id = it.outbox_id;
        r.status = write_result::outcome::rejected;
        r.error = "the Intercom connector writes contacts only";
        out.push_back(std::move(r));
        continue;
      }
      auto r = co_await upsert_contact(std::move(it));
      out.push_back(std::move(r));
    }
    co_return out;
  }

  // ---- webhooks --------------------------------------------------------------------------------------------

  /// A notification (`{"type":"notification_event","topic":...,"data":{"item":{...}}}`): a contact or
  /// conversation item is the record itself (Intercom sends the whole model); `contact.deleted` and
  /// `contact.archived` are deletions; an item that only names a contact (tag events) is refetched; `ping`
  /// and items of objects this connector does not sync give nothing.
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override {
    auto v = rest::parse_json(event.body);
    if (!v || !v->is_object()) return errc::invalid_input;
    const std::string topic = rest::member_text(*v, "topic");
    if (topic.empty()) return errc::invalid_input;
    event_records out;
    if (topic == "ping") return out;
    const auto* data = v->get_object().if_contains("data");
    const auto* item = data && data->is_object() ? data->get_object().if_contains("item") : nullptr;
    if (!item || !item->is_object()) return errc::invalid_input;
    const std::string type = rest::member_text(*item, "type");
    const std::string id = rest::member_text(*item, "id");
    auto wanted = [&](const char* object) {
      return std::find(objects_.begin(), objects_.end(), object) != objects_.end();
    };
    if (type == "contact" || type == "conversation") {
      if (id.empty()) return errc::invalid_input;
      const char* object = type == "contact" ? "contacts" : "conversations";
      if (!wanted(object)) return out;
      if (topic.ends_with(".deleted") || topic.ends_with(".archived")) {
        // A deleted contact's last state; stamped with the notification's time, which is after its last change.
        auto rec = to_record(*item, true);
        const std::int64_t when = std::max(seconds_of(*v, "created_at"), updated_s(*item));
        rec.source_updated_at = as_timestamp(when * 1000);
        out.records.emplace_back(object, std::move(rec));
      } else {
        out.records.emplace_back(object, to_record(*item));
      }
      return out;
    }
    // Legacy user/lead items, and items that carry a contact (contact.tag.created: {"type":"contact_tag",...}).
    std::string contact_id;
    if (type == "user" || type == "lead") contact_id = id;
    else if (const auto* c = item->get_object().if_contains("contact"); c && c->is_object())
      contact_id = rest::member_text(*c, "id");
    if (!contact_id.empty() && wanted("contacts")) out.refetch.emplace_back("contacts", contact_id);
    return out;
  }

  // ---- metadata --------------------------------------------------------------------------------------------

  /// `GET /data_attributes?model=contact|conversation`: `full_name` (custom attributes as
  /// `custom_attributes.<name>`, the shape `write` sends), `data_type`, `api_writable`. external_id and email
  /// are what `write` finds contacts by.
  task<object_schema> describe(std::string object) override {
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

 private:
  /// The contacts a search query matches (first page: lookups expect a handful).
  asio::awaitable<omnisync::result<std::vector<json::value>>> search_contacts(json::object query) {
    json::object body;
    body["query"] = std::move(query);
    json::object pagination;
    pagination["per_page"] = 50;
    body["pagination"] = std::move(pagination);
    auto res = co_await json_->call_json("POST", "/contacts/search", json::serialize(body));
    if (!res) co_return res.error();
    std::vector<json::value> out;
    if (const auto* a = res->as_object().if_contains("data"); a && a->is_array())
      for (const auto& r : a->get_array())
        if (r.is_object() && !rest::member_text(r, "id").empty()) out.push_back(r);
    co_return out;
  }

  /// Finds the contact by external_id or email (one search, OR), then `PUT /contacts/{id}`; creates it with
  /// `POST /contacts` when none matches (a 409 conflict — created meanwhile, or a lead holding the email —
  /// names the existing contact, which is then updated).
  asio::awaitable<write_result> upsert_contact(write_item it) {
    write_result r;
    r.outbox_id = it.outbox_id;
    auto v = rest::parse_json(it.payload);
    if (!v || !v->is_object()) {
      r.status = write_result::outcome::rejected;
      r.error = "payload is not a JSON object";
      co_return r;
    }
    json::object contact = std::move(v->get_object());
    if (!it.record_key.empty() && rest::member_text(contact, upsert_key_).empty()) contact[upsert_key_] = it.record_key;
    const std::string external_id = rest::member_text(contact, "external_id");
    const std::string email = rest::member_text(contact, "email");
    if (external_id.empty() && email.empty()) {
      r.status = write_result::outcome::rejected;
      r.error = "no external_id or email to find the contact by";
      co_return r;
    }
    json::array either;
    if (!external_id.empty()) either.push_back(filter("external_id", "=", json::value(external_id)));
    if (!email.empty()) either.push_back(filter("email", "=", json::value(email)));
    json::object query;
    if (either.size() == 1) {
      query = std::move(either[0].as_object());
    } else {
      query["operator"] = "OR";
      query["value"] = std::move(either);
    }
    auto found = co_await search_contacts(std::move(query));
    if (!found) {
      r.status = write_result::outcome::retry;
      r.error = "search: " + found.error().message();
      co_return r;
    }
    // The contact with this external_id wins; else one with this email, a user before a lead.
    std::string target;
    auto lower = [](std::string s) {
      std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      return s;
    };
    for (const auto& c : *found)
      if (!external_id.empty() && rest::member_text(c, "external_id") == external_id) target = rest::member_text(c, "id");
    if (target.empty())
      for (const auto& c : *found)
        if (!email.empty() && lower(rest::member_text(c, "email")) == lower(email)) {
          if (target.empty() || rest::member_text(c, "role") == "user") target = rest::member_text(c, "id");
        }
    std::string path = "/contacts";
    std::string method = "POST";
    if (!target.empty()) {
      path = "/contacts/" + rest::url_encode(target);
      method = "PUT";
    } else if (rest::member_text(contact, "role").empty()) {
      contact["role"] = role_;
    }
    const std::string body_text = json::serialize(contact);
    auto res = co_await json_->send(method, path, body_text);
    if (res && res->status == 409 && method == "POST") {
      // Created by someone else since the search: update that one instead.
      const std::string existing = intercom::conflict_id(*res);
      if (!existing.empty()) {
        path = "/contacts/" + rest::url_encode(existing);
        method = "PUT";
        contact.erase("role");
        const std::string again = json::serialize(contact);
        res = co_await json_->send(method, path, again);
      }
    }
    if (!res) {
      r.status = write_result::outcome::retry;
      r.error = res.error().message();
      co_return r;
    }
    if (res->status == 200 || res->status == 201) {
      auto answer = rest::parse_json(res->body);
      if (answer) r.destination_id = rest::member_text(*answer, "id");
      co_return r;
    }
    const auto kind = json_->failure(method, path, *res);
    // 400/422: the contact as sent is refused; 409 on an update: the external_id or email belongs to another
    // contact. A 404 on an update (deleted since the search) and everything else is tried again later.
    const bool refused = kind == errc::invalid_input || kind == errc::conflict;
    r.status = refused ? write_result::outcome::rejected : write_result::outcome::retry;
    r.error = intercom::error_text(*res);
    co_return r;
  }

  config::connector_common cfg_;
  std::string base_;
  std::shared_ptr<const std::string> bearer_;
  http::token_source auth_;
  std::string version_;
  std::unique_ptr<pacing::api_caller> api_;
  std::unique_ptr<rest::json_api> json_;
  std::int64_t page_size_ = per_page_max;
  std::int64_t overlap_s_ = 600;
  std::string upsert_key_;
  std::string role_;
  std::vector<std::string> objects_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
};

}  // namespace

std::unique_ptr<connector> make_intercom_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<intercom_connector>(cfg, ctx);
}

}  // namespace omnisync::adapters
