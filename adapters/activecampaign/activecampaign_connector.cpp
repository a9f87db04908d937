// The ActiveCampaign API v3 connector. Facts: /work/shared/api-notes.md §4.1–4.2 (contact sync, listing, the
// 5 requests/s limit, form-encoded webhooks without a signature) and ActiveCampaign's pagination guide
// (`limit` ≤ 100, `offset`, `orders[...]`, `id_greater` for large contact sets).
#include "adapters/activecampaign/activecampaign_connector.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <stdexcept>

#include "adapters/activecampaign/errors.hpp"
#include "adapters/activecampaign/form.hpp"
#include "adapters/activecampaign/membership.hpp"
#include "adapters/activecampaign/settings.hpp"
#include "adapters/activecampaign/webhook.hpp"
#include "adapters/pacing/api_call.hpp"
#include "adapters/pacing/usage.hpp"
#include "adapters/rest/json_api.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::int64_t list_max = 100;  // every ActiveCampaign collection returns at most 100 per page
constexpr std::string_view bucket = "account";  // the 5 requests/s are counted per account

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

omnisync::timestamp as_timestamp(std::int64_t ms) { return omnisync::timestamp(milliseconds(ms)); }

/// Epoch seconds of an ActiveCampaign time (`2024-05-01T05:00:00-05:00`, in the account's zone); nullopt when
/// absent or unreadable.
std::optional<std::int64_t> ac_seconds(std::string_view text) {
  auto t = parse_vendor_time(text);
  if (!t) return std::nullopt;
  return std::chrono::floor<std::chrono::seconds>(*t).time_since_epoch().count();
}

/// A contact's modification second: `udate`, else `cdate`, else 0.
std::int64_t updated_s(const json::value& contact) {
  if (auto s = ac_seconds(rest::member_text(contact, "udate"))) return *s;
  return ac_seconds(rest::member_text(contact, "cdate")).value_or(0);
}

/// `filters[updated_after]` is exclusive: "after s - 1" is "at or after s". Sent in UTC with an explicit offset
/// so the account's time zone does not matter.
std::string updated_after_value(std::int64_t s) {
  std::string iso = format_iso8601(from_epoch_ms((s - 1) * 1000));  // 2024-05-01T10:00:00Z
  return iso.substr(0, 19) + "+00:00";
}

/// A contact as stored: the object as the listing returns it; `deleted: "1"` marks a deleted contact.
adapters::source_record to_record(const json::value& contact) {
  const bool gone = rest::member_text(contact, "deleted") == "1";
  return adapters::source_record(rest::member_text(contact, "id"), json::serialize(contact),
                              as_timestamp(updated_s(contact) * 1000), gone);
}

adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["id"] = id;
  o["deleted"] = "1";
  return adapters::source_record(id, json::serialize(o), as_timestamp(when_ms), true);
}

field_info field(const char* name, const char* type, bool updateable, bool key = false) {
  field_info f;
  f.name = name;
  f.type = type;
  f.updateable = updateable;
  f.external_id = key;
  f.unique = key || std::string_view(name) == "id";
  return f;
}

/// The listing's position: the newest `udate` second read so far and the ids already returned at it. A
/// page re-reads from that second (ActiveCampaign stamps whole seconds, and a contact changed later within
/// the same second must not be missed) and drops what it already returned. `offset` only grows while a whole
/// page shares that one second (a bulk import), so the scan can step past it.
struct ac_cursor {
  std::int64_t t = -1;  ///< -1: nothing read yet (no filter)
  std::vector<std::string> ids;
  std::int64_t offset = 0;

  bool seen(const std::string& id) const { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

  std::string encode() const {
    json::object o;
    o["v"] = 1;
    o["t"] = t;
    json::array a;
    for (const auto& id : ids) a.emplace_back(id);
    o["ids"] = std::move(a);
    if (offset) o["offset"] = offset;
    return json::serialize(o);
  }
  static std::optional<ac_cursor> decode(std::string_view text) {
    auto v = rest::parse_json(text);
    if (!v || !v->is_object()) return std::nullopt;
    const auto& o = v->get_object();
    if (rest::member_text(*v, "v") != "1") return std::nullopt;
    ac_cursor c;
    auto t = to_int(rest::member_text(*v, "t"));
    if (!t) return std::nullopt;
    c.t = *t;
    c.offset = to_int(rest::member_text(*v, "offset")).value_or(0);
    if (const auto* a = o.if_contains("ids"); a && a->is_array())
      for (const auto& x : a->get_array())
        if (x.is_string()) c.ids.emplace_back(x.get_string());
    return c;
  }
};

/// The `contact` object `contact/sync` takes: the outbound mapping's fields as they are, the email from the
/// record key when the payload has none, and `fieldValues` also accepted as an object keyed by field id
/// (what a dotted mapping target `fieldValues.<id>` produces), turned into ActiveCampaign's list form.
std::optional<json::object> sync_body(const write_item& it, std::string& why) {
  auto v = rest::parse_json(it.payload);
  if (!v || !v->is_object()) {
    why = "payload is not a JSON object";
    return std::nullopt;
  }
  json::object contact = std::move(v->get_object());
  if (rest::member_text(contact, "email").empty()) contact["email"] = it.record_key;
  if (rest::member_text(contact, "email").empty()) {
    why = "no email: ActiveCampaign matches contacts by email";
    return std::nullopt;
  }
  if (auto* fv = contact.if_contains("fieldValues"); fv && fv->is_object()) {
    json::array list;
    for (const auto& [k, val] : fv->get_object()) {
      json::object one;
      one["field"] = std::string(k);
      one["value"] = val.is_string() || val.is_null() ? val : json::value(json::serialize(val));
      list.push_back(std::move(one));
    }
    *fv = std::move(list);
  }
  json::object body;
  body["contact"] = std::move(contact);
  return body;
}

class activecampaign_connector final : public connector {
 public:
  activecampaign_connector(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
    const activecampaign::settings s = activecampaign::read_settings(cfg);
    base_ = s.base_url;
    api_token_ = s.api_token.reveal();
    objects_ = s.objects;
    page_size_ = s.page_size;
    api_ = std::make_unique<pacing::api_caller>(ctx.executor, cfg.name, s.http, s.policy, ctx.metrics);
    // ActiveCampaign allows 5 requests per second per account. The bucket holds one token, refilled every
    // 1/rate seconds (plus 2 %): calls are spaced evenly, so no second-long window — however the account
    // counts it — ever sees more than the limit, even with jitter on the way.
    // (A named bucket that every call takes from: the api_caller takes twice from its unnamed default bucket
    // when a call names none.)
    api_->set_bucket(std::string(bucket), 1, milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(1020.0 / s.per_second))));
    rest::vendor_api v;
    v.connector = cfg.name;
    v.base_url = base_;
    v.headers.push_back(http::header{"Api-Token", api_token_});
    v.bucket = bucket;
    v.classify = activecampaign::classify;  // ActiveCampaign sends no request id
    json_ = std::make_unique<rest::json_api>(*api_, std::move(v));
    membership_ = std::make_unique<activecampaign::membership_client>(*json_, cfg.name, s.segment_list);
    if (!s.url_token.empty()) {
      activecampaign_webhook_options o;
      o.connector = cfg.name;
      o.url_token = s.url_token.reveal();
      webhook_ = make_activecampaign_webhook(std::move(o));
    }
  }

  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "activecampaign"; }
  std::vector<std::string> objects() const override { return objects_; }
  /// `contact/sync` takes one contact per call.
  std::size_t max_batch(std::string_view) const override { return 1; }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }

  // Segment membership (membership.hpp): a tag per destination, one change per call.
  task<std::string> ensure_audience(audience_spec spec) override {
    co_return co_await membership_->ensure_audience(std::move(spec));
  }
  task<std::vector<write_result>> change_membership(audience_spec spec, std::string audience_id,
                                                    std::vector<membership_item> items) override {
    co_return co_await membership_->change_membership(std::move(spec), std::move(audience_id), std::move(items));
  }
  std::size_t max_membership_batch() const override { return 1; }

  connector_usage usage() const override {
    return pacing::usage_of(*api_);  // ActiveCampaign reports no daily budget
  }

  // ---- reading ---------------------------------------------------------------------------------------------

  /// One page of the listing ordered by `udate` (ties by id), from the cursor's second on:
  /// `GET /api/3/contacts?filters[updated_after]=<t − 1 s>&orders[udate]=ASC&orders[id]=ASC&limit=&offset=`.
  task<page> poll(page_request req) override {
    if (req.object != "contacts") co_return make_error_code(errc::not_found);
    std::optional<ac_cursor> c;
    if (req.cursor) {
      c = ac_cursor::decode(*req.cursor);
      if (!c) spdlog::warn("{}: {}: unreadable cursor, reading from the beginning", cfg_.name, req.object);
    }
    if (!c) {
      c = ac_cursor{};
      if (req.since) c->t = std::chrono::duration_cast<std::chrono::seconds>(req.since->time_since_epoch()).count();
    }
    std::string path = "/api/3/contacts?orders%5Budate%5D=ASC&orders%5Bid%5D=ASC&limit=" + std::to_string(page_size_);
    if (c->offset > 0) path += "&offset=" + std::to_string(c->offset);
    if (c->t >= 0) path += "&filters%5Bupdated_after%5D=" + rest::url_encode(updated_after_value(c->t));
    auto res = co_await json_->call_json("GET", path, {});
    if (!res) co_return res.error();
    std::vector<const json::value*> contacts;
    if (const auto* a = res->as_object().if_contains("contacts"); a && a->is_array())
      for (const auto& x : a->get_array())
        if (x.is_object() && !rest::member_text(x, "id").empty()) contacts.push_back(&x);
    page out;
    // meta.total: how many contacts match this listing (from the cursor on): the initial sync's total.
    if (const auto* m = res->as_object().if_contains("meta"); m && m->is_object())
      if (auto t = to_int(rest::member_text(*m, "total")); t && *t > 0) out.total = *t;
    std::set<std::string> in_page;
    for (const auto* x : contacts) {
      const std::string id = rest::member_text(*x, "id");
      const std::int64_t u = updated_s(*x);
      if (c->t >= 0 && (u < c->t || (u == c->t && c->seen(id)))) continue;  // read by an earlier page
      if (!in_page.insert(id).second) continue;
      out.records.push_back(to_record(*x));
    }
    const bool full = static_cast<std::int64_t>(contacts.size()) >= page_size_;
    if (!contacts.empty()) {
      const std::int64_t last = updated_s(*contacts.back());
      if (last > c->t) {
        // Continue from the newest second of this page, remembering every id seen at it.
        c->t = last;
        c->ids.clear();
        for (const auto* x : contacts)
          if (updated_s(*x) == last) c->ids.push_back(rest::member_text(*x, "id"));
        c->offset = 0;
      } else {
        // The whole page shares the cursor's second: step over it with the offset while pages are full.
        for (const auto& r : out.records)
          if (!c->seen(r.id)) c->ids.push_back(r.id);
        c->offset = full ? c->offset + static_cast<std::int64_t>(contacts.size()) : 0;
      }
    } else {
      c->offset = 0;
    }
    out.more = full;
    out.cursor = c->encode();
    co_return out;
  }

  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override {
    std::vector<adapters::source_record> out;
    if (object != "contacts") co_return make_error_code(errc::not_found);
    const auto now = to_epoch_ms(utc_now());
    for (const auto& id : ids) {
      if (!to_int(id)) {
        out.push_back(deleted_record(id, now));  // ActiveCampaign ids are numbers: this one cannot exist
        continue;
      }
      const std::string path = "/api/3/contacts/" + id;
      auto res = co_await json_->send("GET", path, {});
      if (!res) co_return res.error();
      if (res->status == 404) {
        out.push_back(deleted_record(id, now));
        continue;
      }
      if (res->status != 200) co_return json_->failure("GET", path, *res);
      auto v = rest::parse_json(res->body);
      const json::value* one = v && v->is_object() ? v->get_object().if_contains("contact") : nullptr;
      if (!one || !one->is_object()) co_return make_error_code(errc::invalid_input);
      out.push_back(to_record(*one));
    }
    co_return out;
  }

  /// Every contact id, by `id_greater` with `orders[id]=ASC` (ActiveCampaign's recommended paging for many
  /// contacts: unlike offsets, a contact deleted meanwhile cannot make the listing skip another).
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override {
    if (object != "contacts") co_return make_error_code(errc::not_found);
    std::string after = "0";
    if (next) after = *next;
    if (!to_int(after)) co_return make_error_code(errc::invalid_input);
    auto res = co_await json_->call_json("GET", "/api/3/contacts?orders%5Bid%5D=ASC&limit=" + std::to_string(list_max) +
                                             "&id_greater=" + after, {});
    if (!res) co_return res.error();
    id_page out;
    if (const auto* a = res->as_object().if_contains("contacts"); a && a->is_array())
      for (const auto& x : a->get_array())
        if (auto id = rest::member_text(x, "id"); !id.empty()) out.ids.push_back(std::move(id));
    if (static_cast<std::int64_t>(out.ids.size()) >= list_max) out.next = out.ids.back();
    co_return out;
  }

  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override {
    std::vector<adapters::source_record> out;
    if (object != "contacts" || email.empty()) co_return out;
    auto res = co_await json_->call_json("GET", "/api/3/contacts?email=" + rest::url_encode(email), {});
    if (!res) co_return res.error();
    if (const auto* a = res->as_object().if_contains("contacts"); a && a->is_array())
      for (const auto& x : a->get_array())
        if (x.is_object()) out.push_back(to_record(x));
    co_return out;
  }

  // ---- writing ---------------------------------------------------------------------------------------------

  /// `POST /api/3/contact/sync`, one contact per call (it creates or updates by email): 201/200 written,
  /// 400/422 rejected with ActiveCampaign's error titles, anything else retried later.
  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override {
    std::vector<write_result> out;
    for (auto& it : items) {
      write_result r;
      r.outbox_id = it.outbox_id;
      if (object != "contacts") {
        r.status = write_result::outcome::rejected;
        r.error = "the ActiveCampaign connector writes contacts only";
        out.push_back(std::move(r));
        continue;
      }
      std::string why;
      auto body = sync_body(it, why);
      if (!body) {
        r.status = write_result::outcome::rejected;
        r.error = why;
        out.push_back(std::move(r));
        continue;
      }
      const std::string path = "/api/3/contact/sync";
      auto res = co_await json_->send("POST", path, json::serialize(*body));
      if (!res) {
        r.status = write_result::outcome::retry;
        r.error = res.error().message();
      } else if (res->status == 200 || res->status == 201) {
        auto v = rest::parse_json(res->body);
        const json::value* c = v && v->is_object() ? v->get_object().if_contains("contact") : nullptr;
        if (c) r.destination_id = rest::member_text(*c, "id");
      } else {
        const auto kind = json_->failure("POST", path, *res);
        r.status = kind == errc::invalid_input ? write_result::outcome::rejected : write_result::outcome::retry;
        r.error = activecampaign::error_text(*res);
      }
      out.push_back(std::move(r));
    }
    co_return out;
  }

  // ---- webhooks --------------------------------------------------------------------------------------------

  /// The form-encoded body (`type`, `date_time`, `contact[id]`, `contact[email]`, `contact[first_name]`, ...).
  /// `subscribe` and `update` carry the contact: it becomes a record in the listing's shape (the fields the
  /// listing has, `udate` from `date_time`). `unsubscribe` (which is also what a deletion sends) and tag
  /// changes are refetched: only a read tells whether the contact still exists. Campaign events (sent, open,
  /// click, ...) change no contact field and give nothing.
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override {
    auto fields = activecampaign::form_decode(event.body);
    if (!fields) return errc::invalid_input;
    const auto type = activecampaign::form_value(*fields, "type");
    const auto id = activecampaign::form_value(*fields, "contact[id]");
    if (!type || type->empty() || !id || !to_int(*id)) return errc::invalid_input;
    event_records out;
    if (std::find(objects_.begin(), objects_.end(), "contacts") == objects_.end()) return out;
    if (*type == "subscribe" || *type == "update") {
      auto text = [&](const char* key) { return activecampaign::form_value(*fields, key).value_or(std::string()); };
      const std::string email = text("contact[email]");
      if (email.empty()) return errc::invalid_input;
      const std::string when = text("date_time");
      const auto when_s = ac_seconds(when);
      if (!when_s) return errc::invalid_input;
      json::object c;
      c["id"] = *id;
      c["email"] = email;
      c["firstName"] = text("contact[first_name]");
      c["lastName"] = text("contact[last_name]");
      c["phone"] = text("contact[phone]");
      c["udate"] = when;
      c["deleted"] = "0";
      out.records.emplace_back("contacts", adapters::source_record(*id, json::serialize(c), as_timestamp(*when_s * 1000)));
    } else if (*type == "unsubscribe" || type->starts_with("contact_tag") || *type == "bounce") {
      out.refetch.emplace_back("contacts", *id);
    }
    return out;
  }

  // ---- metadata --------------------------------------------------------------------------------------------

  /// The contact's built-in fields (email is the key `contact/sync` matches on) and the custom fields from
  /// `GET /api/3/fields` as `fieldValues.<id>` (the shape `write` accepts).
  task<object_schema> describe(std::string object) override {
    if (object != "contacts") co_return make_error_code(errc::not_found);
    object_schema out;
    out.object = object;
    out.fields.push_back(field("id", "integer", false));
    out.fields.push_back(field("email", "email", true, true));
    out.fields.push_back(field("firstName", "text", true));
    out.fields.push_back(field("lastName", "text", true));
    out.fields.push_back(field("phone", "text", true));
    out.fields.push_back(field("orgid", "integer", true));
    out.fields.push_back(field("orgname", "text", false));  // the organization's name, read-only on a contact
    out.fields.push_back(field("cdate", "datetime", false));
    out.fields.push_back(field("udate", "datetime", false));
    out.fields.push_back(field("deleted", "boolean", false));
    for (std::int64_t offset = 0, pages = 0; pages < 100; ++pages) {
      auto res = co_await json_->call_json("GET", "/api/3/fields?limit=" + std::to_string(list_max) +
                                               "&offset=" + std::to_string(offset), {});
      if (!res) co_return res.error();
      std::int64_t n = 0;
      if (const auto* a = res->as_object().if_contains("fields"); a && a->is_array()) {
        for (const auto& f : a->get_array()) {
          ++n;
          field_info fi;
          fi.name = "fieldValues." + rest::member_text(f, "id");
          fi.type = rest::member_text(f, "type");
          out.fields.push_back(std::move(fi));
        }
      }
      offset += n;
      std::int64_t total = 0;
      if (const auto* m = res->as_object().if_contains("meta"); m && m->is_object())
        total = to_int(rest::member_text(*m, "total")).value_or(0);
      if (n == 0 || offset >= total) break;
    }
    co_return out;
  }

 private:
  config::connector_common cfg_;
  std::string base_;
  std::string api_token_;
  std::unique_ptr<pacing::api_caller> api_;
  std::unique_ptr<rest::json_api> json_;
  std::unique_ptr<activecampaign::membership_client> membership_;
  std::int64_t page_size_ = list_max;
  std::vector<std::string> objects_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
};

}  // namespace

std::unique_ptr<connector> make_activecampaign_connector(const config::connector_common& cfg,
                                                         const connector_context& ctx) {
  return std::make_unique<activecampaign_connector>(cfg, ctx);
}

}  // namespace omnisync::adapters
