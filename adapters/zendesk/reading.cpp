// The Zendesk connector's reads: poll (the users and tickets cursor exports, the satisfaction ratings scan),
// fetch (show_many, ratings one by one), list_ids for reconciliation, find_by_email.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "adapters/rest/rest_util.hpp"
#include "adapters/zendesk/connector_impl.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::zendesk {

task<page> connector_impl::poll(page_request req) {
  std::optional<poll_cursor> c;
  if (req.cursor) {
    c = poll_cursor::decode(*req.cursor);
    if (!c) spdlog::warn("{}: {}: unreadable cursor, reading from the beginning", cfg_.name, req.object);
  }
  std::int64_t start_s = 0;
  if (!c && req.since && req.mode == poll_mode::incremental)
    start_s = std::chrono::duration_cast<std::chrono::seconds>(req.since->time_since_epoch()).count();
  omnisync::result<page> out = make_error_code(errc::fail);
  if (req.object == "satisfaction_ratings") {
    poll_cursor rc;
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

task<std::vector<adapters::source_record>> connector_impl::fetch(std::string object, std::vector<std::string> ids) {
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

task<id_page> connector_impl::list_ids(std::string object, std::optional<std::string> next) {
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

task<std::vector<adapters::source_record>> connector_impl::find_by_email(std::string object, std::string email) {
  std::vector<adapters::source_record> out;
  if (object != "users" || email.empty()) co_return out;  // only users carry an email
  auto res = co_await json_->call_json("GET", "/api/v2/users/search.json?query=" + rest::url_encode("email:" + email), {}, {});
  if (!res) co_return res.error();
  if (const auto* a = res->as_object().if_contains("users"); a && a->is_array())
    for (const auto& r : a->get_array())
      if (r.is_object()) out.push_back(to_record(object, r));
  co_return out;
}

asio::awaitable<omnisync::result<page>> connector_impl::export_page(std::string object, std::string after, std::int64_t start_s) {
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
    poll_cursor c;
    c.after = next;
    out.cursor = c.encode();
  }
  co_return out;
}

asio::awaitable<omnisync::result<page>> connector_impl::ratings_page(poll_cursor c) {
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

}  // namespace omnisync::adapters::zendesk
