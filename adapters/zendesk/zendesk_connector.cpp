// The Zendesk Support connector. Facts: ../shared/api-notes.md §3 (exports, create_or_update_many, job
// statuses, limits, webhooks).
#include "adapters/zendesk/zendesk_connector.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <stdexcept>

#include "adapters/common/crypto.hpp"
#include "adapters/rest/json_api.hpp"
#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/errors.hpp"
#include "adapters/zendesk/settings.hpp"
#include "core/time.hpp"
#include "adapters/zendesk/webhook.hpp"
#include "adapters/pacing/api_call.hpp"

namespace omnisync::adapters {
namespace {

namespace json = boost::json;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr std::size_t bulk_limit = 100;        // create_or_update_many and show_many take at most 100
constexpr std::int64_t export_max_page = 1000;  // incremental exports' per_page cap
constexpr std::size_t ratings_max_page = 100;   // satisfaction_ratings' page[size] cap

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

omnisync::timestamp as_timestamp(std::int64_t ms) { return omnisync::timestamp(milliseconds(ms)); }

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
  return adapters::source_record(rest::member_text(rec, "id"), json::serialize(rec), as_timestamp(updated_ms(rec)), gone);
}

adapters::source_record deleted_record(const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["id"] = to_int(id) ? json::value(*to_int(id)) : json::value(id);
  o["deleted"] = true;
  return adapters::source_record(id, json::serialize(o), as_timestamp(when_ms), true);
}

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

/// A cursor of the users/tickets exports ({"after": Zendesk's after_cursor}) or of the ratings scan.
struct zd_cursor {
  std::string after;            ///< exports: after_cursor; ratings: page[after] within a scan
  std::int64_t since_s = 0;     ///< ratings: start_time of the current scan
  std::vector<std::string> seen;  ///< ratings: ids already returned at exactly since_s
  std::int64_t scan_max_s = -1;   ///< ratings: newest updated_at seen in this scan
  std::vector<std::string> at_max;

  std::string encode() const {
    json::object o;
    o["v"] = 1;
    if (!after.empty()) o["after"] = after;
    o["since"] = since_s;
    auto arr = [](const std::vector<std::string>& v) {
      json::array a;
      for (const auto& s : v) a.emplace_back(s);
      return a;
    };
    if (!seen.empty()) o["seen"] = arr(seen);
    if (scan_max_s >= 0) o["scan_max"] = scan_max_s;
    if (!at_max.empty()) o["at_max"] = arr(at_max);
    return json::serialize(o);
  }
  static std::optional<zd_cursor> decode(std::string_view text) {
    auto v = rest::parse_json(text);
    if (!v || !v->is_object()) return std::nullopt;
    const auto& o = v->get_object();
    const auto* ver = o.if_contains("v");
    if (!ver || !ver->is_int64() || ver->get_int64() != 1) return std::nullopt;
    zd_cursor c;
    c.after = rest::member_text(*v, "after");
    c.since_s = to_int(rest::member_text(*v, "since")).value_or(0);
    c.scan_max_s = to_int(rest::member_text(*v, "scan_max")).value_or(-1);
    auto list = [&](const char* k, std::vector<std::string>& out) {
      if (const auto* a = o.if_contains(k); a && a->is_array())
        for (const auto& x : a->get_array())
          if (x.is_string()) out.emplace_back(x.get_string());
    };
    list("seen", c.seen);
    list("at_max", c.at_max);
    return c;
  }
};

class zendesk_connector final : public connector {
 public:
  zendesk_connector(const config::connector_common& cfg, const connector_context& ctx) : cfg_(cfg) {
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

  const std::string& name() const noexcept override { return cfg_.name; }
  std::string_view kind() const noexcept override { return "zendesk"; }
  std::vector<std::string> objects() const override { return objects_; }
  std::size_t max_batch(std::string_view) const override {
    return cfg_.batch_size > 0 ? std::min(cfg_.batch_size, bulk_limit) : bulk_limit;
  }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }
  /// create_or_update_many matches a user by external_id, then by email.
  std::vector<std::string> upsert_matches(std::string_view object) const override {
    if (object == "users") return {"email"};
    return {};
  }

  connector_usage usage() const override {
    connector_usage u;
    u.api_calls = api_->calls();
    u.api_errors = api_->errors();
    return u;  // Zendesk reports no daily budget
  }

  // ---- reading ---------------------------------------------------------------------------------------------

  task<page> poll(page_request req) override {
    std::optional<zd_cursor> c;
    if (req.cursor) {
      c = zd_cursor::decode(*req.cursor);
      if (!c) spdlog::warn("{}: {}: unreadable cursor, reading from the beginning", cfg_.name, req.object);
    }
    std::int64_t start_s = 0;
    if (!c && req.since && req.mode == poll_mode::incremental)
      start_s = std::chrono::duration_cast<std::chrono::seconds>(req.since->time_since_epoch()).count();
    omnisync::result<page> out = make_error_code(errc::fail);
    if (req.object == "satisfaction_ratings") {
      zd_cursor rc;
      if (c) rc = *c;
      else rc.since_s = start_s;
      out = co_await ratings_page(rc);
    } else if (req.object == "users" || req.object == "tickets") {
      // (named locals: GCC 12 destroys a ?: temporary in a co_await operand twice)
      std::string after;
      if (c) after = c->after;
      out = co_await export_page(req.object, std::move(after), start_s);
    } else {
      out = make_error_code(errc::not_found);
    }
    co_return out;
  }

  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override {
    std::vector<adapters::source_record> out;
    const auto now = to_epoch_ms(utc_now());
    if (object == "satisfaction_ratings") {
      for (const auto& id : ids) {
        if (!to_int(id)) {
          out.push_back(deleted_record(id, now));
          continue;
        }
        auto res = co_await json_->send("GET", "/api/v2/satisfaction_ratings/" + id + ".json", {}, {});
        if (!res) co_return res.error();
        if (res->status == 404) {
          out.push_back(deleted_record(id, now));
          continue;
        }
        if (res->status != 200) co_return json_->failure("GET", "/api/v2/satisfaction_ratings/" + id, *res);
        auto v = rest::parse_json(res->body);
        const auto* one = v && v->is_object() ? v->get_object().if_contains("satisfaction_rating") : nullptr;
        if (!one || !one->is_object()) co_return make_error_code(errc::invalid_input);
        out.push_back(to_record(object, *one));
      }
      co_return out;
    }
    if (object != "users" && object != "tickets") co_return make_error_code(errc::not_found);
    std::vector<std::string> numeric;
    for (const auto& id : ids) {
      if (to_int(id)) numeric.push_back(id);
      else out.push_back(deleted_record(id, now));  // Zendesk ids are numbers: this one cannot exist
    }
    for (std::size_t i = 0; i < numeric.size(); i += bulk_limit) {
      std::string list;
      std::vector<std::string> part;
      for (std::size_t j = i; j < std::min(numeric.size(), i + bulk_limit); ++j) {
        if (!list.empty()) list += ',';
        list += numeric[j];
        part.push_back(numeric[j]);
      }
      auto res = co_await json_->call_json("GET", "/api/v2/" + object + "/show_many.json?ids=" + list, {}, {});
      if (!res) co_return res.error();
      std::set<std::string> present;
      if (const auto* a = res->as_object().if_contains(object); a && a->is_array())
        for (const auto& r : a->get_array())
          if (r.is_object()) {
            auto rec = to_record(object, r);
            present.insert(rec.id);
            out.push_back(std::move(rec));
          }
      for (const auto& id : part)
        if (!present.count(id)) out.push_back(deleted_record(id, now));
    }
    co_return out;
  }

  /// Every live id, for hard-delete reconciliation. Users and satisfaction ratings: their list endpoints with
  /// cursor pagination (`page[size]=100`, the most Zendesk allows; `meta.has_more`, `meta.after_cursor`), which
  /// leave deleted records out. Tickets: "List Tickets" leaves archived tickets out (closed for 120 days), which
  /// would mark them deleted here, so the ticket cursor export (`exclude_deleted=true`, 1,000 a page) is the
  /// listing that holds every ticket. `next` is Zendesk's cursor.
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override {
    id_page out;
    if (object == "tickets") {
      std::string path = "/api/v2/incremental/tickets/cursor.json?exclude_deleted=true&per_page=" +
                         std::to_string(export_max_page);
      if (next) path += "&cursor=" + rest::url_encode(*next);
      else path += "&start_time=0";
      auto res = co_await json_->call_json("GET", path, {}, "export");
      if (!res) co_return res.error();
      std::set<std::string> seen;
      if (const auto* a = res->as_object().if_contains("tickets"); a && a->is_array())
        for (const auto& r : a->get_array())
          if (r.is_object() && rest::member_text(r, "status") != "deleted") {
            std::string id = rest::member_text(r, "id");
            if (seen.insert(id).second) out.ids.push_back(std::move(id));
          }
      const auto* eos = res->as_object().if_contains("end_of_stream");
      const std::string after = rest::member_text(*res, "after_cursor");
      if (!(eos && eos->is_bool() && eos->get_bool()) && !after.empty()) out.next = after;
      co_return out;
    }
    if (object != "users" && object != "satisfaction_ratings") co_return make_error_code(errc::not_found);
    std::string path = "/api/v2/" + object + ".json?page%5Bsize%5D=" + std::to_string(ratings_max_page);
    if (next) path += "&page%5Bafter%5D=" + rest::url_encode(*next);
    auto res = co_await json_->call_json("GET", path, {}, {});
    if (!res) co_return res.error();
    if (const auto* a = res->as_object().if_contains(object); a && a->is_array())
      for (const auto& r : a->get_array())
        if (r.is_object()) out.ids.push_back(rest::member_text(r, "id"));
    const auto* meta = res->as_object().if_contains("meta");
    if (meta && meta->is_object()) {
      const auto* more = meta->get_object().if_contains("has_more");
      const std::string after = rest::member_text(*meta, "after_cursor");
      if (more && more->is_bool() && more->get_bool() && !after.empty()) out.next = after;
    }
    co_return out;
  }

  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override {
    std::vector<adapters::source_record> out;
    if (object != "users" || email.empty()) co_return out;  // only users carry an email
    auto res = co_await json_->call_json("GET", "/api/v2/users/search.json?query=" + rest::url_encode("email:" + email), {}, {});
    if (!res) co_return res.error();
    if (const auto* a = res->as_object().if_contains("users"); a && a->is_array())
      for (const auto& r : a->get_array())
        if (r.is_object()) out.push_back(to_record(object, r));
    co_return out;
  }

  // ---- writing ---------------------------------------------------------------------------------------------

  /// Deletes users by id (DELETE /api/v2/users/{id}: Zendesk's soft delete), one call each — deletions are rare,
  /// and destroy_many would need the job-status follow-up. A user already deleted (404) counts as done.
  task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) override {
    if (object != "users") co_return all_results(items, write_result::outcome::rejected,
                                                 "the Zendesk connector deletes users only");
    std::vector<write_result> out;
    for (const auto& it : items) {
      write_result w;
      w.outbox_id = it.outbox_id;
      auto res = co_await json_->call_json("DELETE", "/api/v2/users/" + rest::url_encode(it.target_id) + ".json", {}, {});
      if (!res && res.error() != errc::not_found) {
        const auto e = res.error();
        w.status = e == errc::invalid_input || e == errc::fail ? write_result::outcome::rejected
                                                               : write_result::outcome::retry;
        w.error = e.message();
      }
      out.push_back(std::move(w));
    }
    co_return out;
  }

  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override {
    if (object != "users") {
      std::vector<write_result> out = all_results(items, write_result::outcome::rejected,
                                                  "the Zendesk connector writes users only");
      co_return out;
    }
    // Items naming a user (target_id) are updated by id (update_many): the profile already links that user, who
    // may have been created outside omnisync. The others go through create_or_update_many. A bulk request may
    // not name one user twice: such items go to a later chunk of their kind.
    const std::size_t limit = max_batch(object);
    std::vector<std::vector<write_item>> chunks;
    std::vector<bool> chunk_by_id;
    std::vector<std::set<std::string>> keys;
    std::map<std::int64_t, std::size_t> position;  // outbox id → item index, to answer in the items' order
    for (std::size_t n = 0; n < items.size(); ++n) {
      auto& it = items[n];
      position.emplace(it.outbox_id, n);
      const bool by_id = !it.target_id.empty();
      const std::string& key = by_id ? it.target_id : it.record_key;
      std::size_t i = 0;
      while (i < chunks.size() && (chunk_by_id[i] != by_id || chunks[i].size() >= limit || keys[i].count(key))) ++i;
      if (i == chunks.size()) {
        chunks.emplace_back();
        chunk_by_id.push_back(by_id);
        keys.emplace_back();
      }
      keys[i].insert(key);
      chunks[i].push_back(std::move(it));
    }
    std::vector<write_result> out;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      auto part = co_await bulk_users(std::move(chunks[i]), chunk_by_id[i]);
      out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    std::stable_sort(out.begin(), out.end(), [&](const write_result& a, const write_result& b) {
      return position[a.outbox_id] < position[b.outbox_id];
    });
    co_return out;
  }

  // ---- webhooks --------------------------------------------------------------------------------------------

  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override {
    auto v = rest::parse_json(event.body);
    if (!v || !v->is_object()) return errc::invalid_input;
    const auto& o = v->get_object();
    event_records out;
    const std::string type = rest::member_text(*v, "type");
    auto wanted = [&](const std::string& object) {
      return std::find(objects_.begin(), objects_.end(), object) != objects_.end();
    };
    if (type.starts_with("zen:event-type:")) {
      // Event-subscribed webhooks: "zen:event-type:user.created", subject "zen:user:123".
      const std::string what = type.substr(15);
      const auto dot = what.find('.');
      if (dot == std::string::npos) return errc::invalid_input;
      const std::string kind = what.substr(0, dot);
      const std::string action = what.substr(dot + 1);
      std::string id;
      const std::string subject = rest::member_text(*v, "subject");
      if (auto colon = subject.rfind(':'); colon != std::string::npos) id = subject.substr(colon + 1);
      if (id.empty())
        if (const auto* d = o.if_contains("detail"); d && d->is_object()) id = rest::member_text(*d, "id");
      if (id.empty() || !to_int(id)) return errc::invalid_input;
      const std::string object = kind == "user" ? "users" : kind == "ticket" ? "tickets" : std::string();
      if (object.empty() || !wanted(object)) return out;  // an event about something not synced here
      if (action == "deleted" || action == "soft_deleted" || action == "permanently_deleted") {
        const auto when = to_epoch_ms(parse_vendor_time(rest::member_text(*v, "time")).value_or(utc_now()));
        out.records.emplace_back(object, deleted_record(id, when));
      } else {
        out.refetch.emplace_back(object, id);
      }
      return out;
    }
    // Trigger/automation webhooks carry an admin-defined body: accept the ids it names.
    auto add = [&](const std::string& object, const std::string& id) {
      if (!id.empty() && to_int(id) && wanted(object)) out.refetch.emplace_back(object, id);
    };
    bool named = false;
    for (const auto& [key, object] : {std::pair<std::string_view, std::string>{"user_id", "users"},
                                      std::pair<std::string_view, std::string>{"requester_id", "users"},
                                      std::pair<std::string_view, std::string>{"ticket_id", "tickets"}}) {
      if (!o.contains(key)) continue;
      named = true;
      add(object, rest::member_text(*v, key));
    }
    for (const auto& [key, object] : {std::pair<std::string_view, std::string>{"user", "users"},
                                      std::pair<std::string_view, std::string>{"ticket", "tickets"},
                                      std::pair<std::string_view, std::string>{"satisfaction_rating",
                                                                               "satisfaction_ratings"}}) {
      const auto* x = o.if_contains(key);
      if (!x || !x->is_object()) continue;
      named = true;
      add(object, rest::member_text(*x, "id"));
    }
    if (!named) return errc::invalid_input;
    return out;
  }

  // ---- metadata --------------------------------------------------------------------------------------------

  task<object_schema> describe(std::string object) override {
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

 private:
  // ---- poll ------------------------------------------------------------------------------------------------

  /// Cursor-based incremental export: `start_time` once, then `cursor=after_cursor` until end_of_stream;
  /// the after_cursor of the last page is where the next poll continues.
  asio::awaitable<omnisync::result<page>> export_page(std::string object, std::string after, std::int64_t start_s) {
    std::string path = "/api/v2/incremental/" + object + "/cursor.json?per_page=" + std::to_string(page_size_);
    if (!after.empty()) {
      path += "&cursor=" + rest::url_encode(after);
    } else {
      // Zendesk refuses a start_time less than a minute old.
      const std::int64_t latest = to_epoch_ms(utc_now()) / 1000 - 61;
      path += "&start_time=" + std::to_string(std::max<std::int64_t>(0, std::min(start_s, latest)));
    }
    const std::string bucket = object == "users" ? "export_users" : "export";
    auto res = co_await json_->call_json("GET", path, {}, bucket);
    if (!res) co_return res.error();
    page out;
    if (const auto* a = res->as_object().if_contains(object); a && a->is_array()) {
      std::set<std::string> ids;
      for (const auto& r : a->get_array()) {
        if (!r.is_object()) continue;
        auto rec = to_record(object, r);
        // A record changed twice while the export runs can show up twice; a page holds each id once.
        if (!ids.insert(rec.id).second) {
          auto it = std::find_if(out.records.begin(), out.records.end(), [&](const auto& x) { return x.id == rec.id; });
          *it = std::move(rec);
          continue;
        }
        out.records.push_back(std::move(rec));
      }
    }
    const auto* eos = res->as_object().if_contains("end_of_stream");
    out.more = !(eos && eos->is_bool() && eos->get_bool());
    std::string next = rest::member_text(*res, "after_cursor");
    if (next.empty()) next = after;  // an empty page may carry no cursor: stay where we are
    if (next.empty()) {
      out.more = false;  // nothing exported and no position yet: start over at the next poll
    } else {
      zd_cursor c;
      c.after = next;
      out.cursor = c.encode();
    }
    co_return out;
  }

  /// Satisfaction ratings have no cursor export: list by `start_time` with cursor pagination, remember the
  /// newest updated_at of the scan, and start the next scan there (de-duplicating the ids at that second).
  asio::awaitable<omnisync::result<page>> ratings_page(zd_cursor c) {
    const std::size_t size = std::min<std::size_t>(static_cast<std::size_t>(page_size_), ratings_max_page);
    std::string path = "/api/v2/satisfaction_ratings.json?start_time=" + std::to_string(c.since_s) +
                       "&page%5Bsize%5D=" + std::to_string(size);
    if (!c.after.empty()) path += "&page%5Bafter%5D=" + rest::url_encode(c.after);
    auto res = co_await json_->call_json("GET", path, {}, {});
    if (!res) co_return res.error();
    page out;
    if (const auto* a = res->as_object().if_contains("satisfaction_ratings"); a && a->is_array()) {
      for (const auto& r : a->get_array()) {
        if (!r.is_object()) continue;
        auto rec = to_record("satisfaction_ratings", r);
        const std::int64_t s = updated_ms(r) / 1000;
        if (s == c.since_s && std::find(c.seen.begin(), c.seen.end(), rec.id) != c.seen.end()) continue;
        if (s > c.scan_max_s) {
          c.scan_max_s = s;
          c.at_max.clear();
        }
        if (s == c.scan_max_s) c.at_max.push_back(rec.id);
        out.records.push_back(std::move(rec));
      }
    }
    bool has_more = false;
    if (const auto* m = res->as_object().if_contains("meta"); m && m->is_object()) {
      const auto* h = m->get_object().if_contains("has_more");
      has_more = h && h->is_bool() && h->get_bool();
      if (has_more) c.after = rest::member_text(*m, "after_cursor");
    }
    if (has_more && !c.after.empty()) {
      out.more = true;
    } else {
      // The scan is complete: the next one starts at its newest second.
      if (c.scan_max_s > c.since_s) {
        c.since_s = c.scan_max_s;
        c.seen = c.at_max;
      } else if (c.scan_max_s == c.since_s) {
        for (auto& id : c.at_max)
          if (std::find(c.seen.begin(), c.seen.end(), id) == c.seen.end()) c.seen.push_back(id);
      }
      c.after.clear();
      c.scan_max_s = -1;
      c.at_max.clear();
      out.more = false;
    }
    out.cursor = c.encode();
    co_return out;
  }

  // ---- writes ----------------------------------------------------------------------------------------------

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

  asio::awaitable<bool> wait(milliseconds d) {
    if (d.count() <= 0) co_return true;
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  }

  /// `create_or_update_many` (≤ 100 users, matched on external_id or email), or with `by_id` `update_many` of
  /// the users the items' target_id name; then the job status polled until it completes; its per-user results
  /// (input order, or `index`) become the write results.
  asio::awaitable<std::vector<write_result>> bulk_users(std::vector<write_item> items, bool by_id) {
    std::vector<write_result> out;
    std::vector<write_item> sent;
    json::array users;
    for (auto& it : items) {
      auto v = rest::parse_json(it.payload);
      const auto target = by_id ? to_int(it.target_id) : std::nullopt;
      std::string why;
      if (!v || !v->is_object()) why = "payload is not a JSON object";
      else if (by_id && (!target || *target <= 0)) why = "target id " + it.target_id + " is not a Zendesk user id";
      else if (!by_id && it.record_key.empty()) why = "no upsert key value";
      if (!why.empty()) {
        write_result r;
        r.outbox_id = it.outbox_id;
        r.status = write_result::outcome::rejected;
        r.error = std::move(why);
        out.push_back(std::move(r));
        continue;
      }
      json::object user = std::move(v->get_object());
      if (by_id) {
        // An update sends exactly the fields the payload names: the engine sends only what differs (the
        // external_id, omnisync's profile id there, included when the user does not hold it yet).
        user.erase("id");
        user["id"] = *target;
      } else {
        user["external_id"] = it.record_key;
      }
      users.push_back(std::move(user));
      sent.push_back(std::move(it));
    }
    if (sent.empty()) co_return out;
    json::object body;
    body["users"] = std::move(users);
    const std::string method = by_id ? "PUT" : "POST";
    const std::string path = by_id ? "/api/v2/users/update_many.json" : "/api/v2/users/create_or_update_many.json";
    auto res = co_await json_->send(method, path, json::serialize(body), {});
    if (!res) {
      auto r = all_results(sent, write_result::outcome::retry, res.error().message());
      out.insert(out.end(), r.begin(), r.end());
      co_return out;
    }
    if (res->status == 400 || res->status == 422) {
      // The request as a whole was refused: halve it until the refused user is alone.
      if (sent.size() == 1) {
        json_->failure(method, path, *res);
        auto r = all_results(sent, write_result::outcome::rejected, res->body.substr(0, 300));
        out.insert(out.end(), r.begin(), r.end());
        co_return out;
      }
      std::vector<write_item> second(std::make_move_iterator(sent.begin() + static_cast<std::ptrdiff_t>(sent.size() / 2)),
                                     std::make_move_iterator(sent.end()));
      sent.resize(sent.size() / 2);
      auto a = co_await bulk_users(std::move(sent), by_id);
      auto b = co_await bulk_users(std::move(second), by_id);
      out.insert(out.end(), a.begin(), a.end());
      out.insert(out.end(), b.begin(), b.end());
      co_return out;
    }
    if (res->status != 200) {
      // 403: bulk import not enabled for the account; others: nothing was done, try again later.
      json_->failure(method, path, *res);
      auto r = all_results(sent, write_result::outcome::retry, "HTTP " + std::to_string(res->status));
      out.insert(out.end(), r.begin(), r.end());
      co_return out;
    }
    auto v = rest::parse_json(res->body);
    const json::value* job = v && v->is_object() ? v->get_object().if_contains("job_status") : nullptr;
    const std::string job_id = job ? rest::member_text(*job, "id") : std::string();
    if (job_id.empty()) {
      auto r = all_results(sent, write_result::outcome::retry, "no job_status in the answer");
      out.insert(out.end(), r.begin(), r.end());
      co_return out;
    }
    auto finished = co_await follow_job(job_id);
    if (!finished) {
      auto r = all_results(sent, write_result::outcome::retry,
                           "job " + job_id + ": " + finished.error().message());
      out.insert(out.end(), r.begin(), r.end());
      co_return out;
    }
    const std::string status = rest::member_text(*finished, "status");
    if (status != "completed") {
      auto r = all_results(sent, write_result::outcome::retry,
                           "job " + job_id + " " + status + ": " + rest::member_text(*finished, "message"));
      out.insert(out.end(), r.begin(), r.end());
      co_return out;
    }
    std::vector<std::optional<write_result>> done(sent.size());
    if (const auto* rs = finished->as_object().if_contains("results"); rs && rs->is_array()) {
      std::size_t position = 0;
      for (const auto& r : rs->get_array()) {
        const std::size_t at = static_cast<std::size_t>(to_int(rest::member_text(r, "index")).value_or(static_cast<std::int64_t>(position)));
        ++position;
        if (at >= sent.size() || !r.is_object()) continue;
        write_result w;
        w.outbox_id = sent[at].outbox_id;
        const auto* ok = r.get_object().if_contains("success");
        const bool failed = (ok && ok->is_bool() && !ok->get_bool()) || rest::member_text(r, "status") == "Failed" ||
                            r.get_object().contains("error");
        if (failed) {
          w.error = rest::member_text(r, "error");
          if (auto d = rest::member_text(r, "details"); !d.empty()) w.error += ": " + d;
          // "External has already been taken": another user still holds this external id — during an initial
          // sync, one whose profile was just merged or split and whose own update is queued behind this one.
          // Worth a few retries (the engine dead-letters it after sync.max_write_attempts); other refusals are final.
          w.status = w.error.find("already been taken") != std::string::npos ? write_result::outcome::retry
                                                                             : write_result::outcome::rejected;
        } else {
          w.destination_id = rest::member_text(r, "id");
        }
        done[at] = std::move(w);
      }
    }
    // An update refused only because another user holds the external_id it sets (omnisync's profile id, left on
    // a user that moved to another profile): the other fields still belong there — sent again once without it.
    if (by_id) {
      std::vector<write_item> again;
      for (std::size_t i = 0; i < sent.size(); ++i) {
        if (!done[i] || done[i]->status != write_result::outcome::retry ||
            done[i]->error.find("External: has already been taken") == std::string::npos)
          continue;
        auto v = rest::parse_json(sent[i].payload);
        if (!v || !v->is_object() || !v->get_object().erase("external_id")) continue;
        write_item item = sent[i];
        item.payload = json::serialize(*v);
        spdlog::warn("{}: user {}: external_id {} is held by another user; written without it", cfg_.name,
                     item.target_id, item.record_key);
        done[i].reset();
        if (!v->get_object().empty()) {  // the other fields
          again.push_back(std::move(item));
        } else {  // nothing else to write: done (the id stays where it is)
          done[i] = write_result{};
          done[i]->outbox_id = sent[i].outbox_id;
        }
      }
      if (!again.empty()) {
        auto retried = co_await bulk_users(std::move(again), by_id);
        for (auto& r : retried)
          for (std::size_t i = 0; i < sent.size(); ++i)
            if (!done[i] && sent[i].outbox_id == r.outbox_id) done[i] = std::move(r);
      }
    }
    for (std::size_t i = 0; i < sent.size(); ++i) {
      if (done[i]) {
        out.push_back(std::move(*done[i]));
      } else {
        write_result w;
        w.outbox_id = sent[i].outbox_id;
        w.status = write_result::outcome::retry;
        w.error = "job " + job_id + " reported no result for this user";
        out.push_back(std::move(w));
      }
    }
    co_return out;
  }

  /// Polls `/api/v2/job_statuses/{id}` until completed, failed or killed: first after a quarter of
  /// `sync.job_poll_interval` (small jobs finish within a second), then less often, up to the interval.
  asio::awaitable<omnisync::result<json::value>> follow_job(std::string id) {
    const auto deadline = std::chrono::steady_clock::now() + job_timeout_;
    milliseconds every = std::max(milliseconds(50), job_poll_interval_ / 4);
    for (;;) {
      if (!co_await wait(every)) co_return make_error_code(errc::cancelled);
      every = std::min(job_poll_interval_, every * 2);
      auto res = co_await json_->call_json("GET", "/api/v2/job_statuses/" + rest::url_encode(id) + ".json", {}, {});
      if (!res) co_return res.error();
      const auto* js = res->as_object().if_contains("job_status");
      if (!js || !js->is_object()) co_return make_error_code(errc::invalid_input);
      const std::string status = rest::member_text(*js, "status");
      if (status == "completed" || status == "failed" || status == "killed") {
        json::value done = *js;
        co_return done;
      }
      if (std::chrono::steady_clock::now() >= deadline) co_return make_error_code(errc::timeout);
    }
  }

  config::connector_common cfg_;
  std::string base_;
  std::shared_ptr<const std::string> authorization_;
  http::token_source auth_;
  std::unique_ptr<pacing::api_caller> api_;
  std::unique_ptr<rest::json_api> json_;
  std::int64_t page_size_ = export_max_page;
  milliseconds job_poll_interval_{1000};
  milliseconds job_timeout_{600000};
  std::vector<std::string> objects_;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
};

}  // namespace

std::unique_ptr<connector> make_zendesk_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<zendesk_connector>(cfg, ctx);
}

}  // namespace omnisync::adapters
