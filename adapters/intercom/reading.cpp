// The Intercom connector's reads: poll (contacts and conversations search by updated_at, day-granular, with an
// overlap; intercom_cursor.hpp), fetch, list_ids for reconciliation, find_by_email and the contact search.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "adapters/intercom/connector_impl.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::intercom {
namespace {

adapters::source_record deleted_record(const std::string& object, const std::string& id, std::int64_t when_ms) {
  json::object o;
  o["type"] = object == "conversations" ? "conversation" : "contact";
  o["id"] = id;
  o["deleted"] = true;
  return adapters::source_record(id, json::serialize(o), from_epoch_ms(when_ms), true);
}

}  // namespace

task<page> connector_impl::poll(page_request req) {
  if (req.object != "contacts" && req.object != "conversations") co_return make_error_code(errc::not_found);
  std::optional<poll_cursor> c;
  if (req.cursor) {
    c = poll_cursor::decode(*req.cursor);
    if (!c) spdlog::warn("{}: {}: unreadable cursor, reading from the beginning", cfg_.name, req.object);
  }
  if (!c) {
    c = poll_cursor{};
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
  // How many records match this search: the initial sync's total.
  if (const auto* t = res->as_object().if_contains("total_count"); t && t->is_int64()) out.total = t->as_int64();
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
    poll_cursor::prune(c->fresh, std::max(c->lo, c->scan_max - overlap_s_));
  } else {
    // The scan is complete: the next one starts an overlap before its newest record.
    c->w = std::max(c->w, c->scan_max);
    if (c->w >= 0) c->lo = std::max(c->lo, c->w - overlap_s_);
    for (const auto& [id, u] : c->fresh) c->seen[id] = std::max(c->seen[id], u);
    c->fresh.clear();
    poll_cursor::prune(c->seen, c->lo);
    c->after.clear();
    c->scan_max = -1;
    out.more = false;
  }
  out.cursor = c->encode();
  co_return out;
}

task<std::vector<adapters::source_record>> connector_impl::fetch(std::string object, std::vector<std::string> ids) {
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

task<id_page> connector_impl::list_ids(std::string object, std::optional<std::string> next) {
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

task<std::vector<adapters::source_record>> connector_impl::find_by_email(std::string object, std::string email) {
  std::vector<adapters::source_record> out;
  if (object != "contacts" || email.empty()) co_return out;  // only contacts carry an email
  json::object by_email = filter("email", "=", json::value(email));
  auto found = co_await search_contacts(std::move(by_email));
  if (!found) co_return found.error();
  for (const auto& r : *found) out.push_back(to_record(r));
  co_return out;
}

asio::awaitable<omnisync::result<std::vector<json::value>>> connector_impl::search_contacts(json::object query) {
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

}  // namespace omnisync::adapters::intercom
