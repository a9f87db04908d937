// The Salesforce connector's reads: poll (SystemModstamp windows with overlap and de-duplication, formula
// refreshes, getDeleted; poll_cursor.hpp), fetch by id, find_by_email, list_ids for reconciliation.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "adapters/rest/rest_util.hpp"
#include "adapters/salesforce/connector_impl.hpp"

namespace omnisync::adapters::salesforce {
namespace {

std::int64_t floor_second(std::int64_t ms) { return ms - ((ms % 1000) + 1000) % 1000; }

adapters::source_record to_source_record(json::object rec) {
  std::string id;
  if (auto* i = rec.if_contains("Id"); i && i->is_string()) id = std::string(i->as_string());
  omnisync::timestamp updated{};
  if (auto* m = rec.if_contains("SystemModstamp"); m && m->is_string())
    if (auto t = parse_iso8601(m->as_string(), time_part::required)) updated = *t;
  bool deleted = false;
  if (auto* d = rec.if_contains("IsDeleted"); d && d->is_bool()) deleted = d->as_bool();
  return adapters::source_record(std::move(id), json::serialize(rec), updated, deleted);
}

std::string select_list(const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& c : cols) out += (out.empty() ? "" : ", ") + c;
  return out;
}

}  // namespace

// ---- polling -------------------------------------------------------------------------------------------------

task<page> connector_impl::poll(page_request req) {
  const std::string object = req.object;
  auto d = co_await fields_of(object, false);
  if (!d) co_return d.error();
  const auto desc = *d;
  if (!req.fields.empty()) {
    // resync --fields: Id + those columns only, keyset-paged by Id; the cursor is the last Id read.
    std::vector<std::string> cols;
    for (const auto& f : req.fields) {
      const auto* info = find_field(desc->schema, f);
      if (!info) {
        spdlog::warn("{}: resync --fields: {} has no field {}", s_.connector, object, f);
        co_return make_error_code(errc::invalid_input);
      }
      if (info->name != "Id") cols.push_back(info->name);
    }
    std::string q = "SELECT Id" + (cols.empty() ? std::string() : ", " + select_list(cols)) + " FROM " + object;
    if (req.cursor && !req.cursor->empty()) q += " WHERE Id > " + soql_quote(*req.cursor);
    q += " ORDER BY Id LIMIT " + std::to_string(s_.page_size);
    auto r = co_await soql(std::move(q), false, s_.page_size);
    if (!r) co_return r.error();
    page out;
    out.partial = true;
    std::string last;
    for (auto& v : r->records) {
      if (!v.is_object()) continue;
      auto& o = v.as_object();
      o.erase("attributes");
      auto* id = o.if_contains("Id");
      if (!id || !id->is_string()) continue;
      last = std::string(id->as_string());
      out.records.emplace_back(last, json::serialize(o));
    }
    out.more = (r->records.size() >= s_.page_size || r->next) && !last.empty();
    if (!last.empty()) out.cursor = last;
    co_return out;
  }

  poll_cursor cur;
  if (req.cursor) {
    auto decoded = poll_cursor::decode(*req.cursor);
    if (decoded) cur = std::move(*decoded);
    else spdlog::warn("{}: {}: unreadable cursor; reading from the beginning", s_.connector, object);
  }
  if (req.since && !req.cursor) {
    const auto since = std::chrono::duration_cast<milliseconds>(req.since->time_since_epoch()).count();
    cur.watermark = since;
    cur.lower = since;
  }
  const bool incremental = req.mode == poll_mode::incremental;

  if (cur.formula_after) {
    auto fp = co_await formula_page(object, std::move(cur), desc);
    co_return fp;
  }

  std::optional<record_page> qp;  // parsed without a JSON tree: each payload is the record's text as sent
  if (cur.next_url) {
    auto r = co_await query_more_records(*cur.next_url, s_.page_size);
    if (!r && r.error() == errc::not_found) {
      // The query locator expired (15 minutes idle, or the org closed it): the cursor knows where we were.
      spdlog::info("{}: {}: query locator gone; reading again from the watermark", s_.connector, object);
      cur.next_url.reset();
    } else if (!r) {
      co_return r.error();
    } else {
      qp = std::move(*r);
    }
  }
  if (!qp) {
    const auto now = now_ms();
    if (incremental && formula_due(*desc, cur)) {
      cur.formula_after = std::string();
      auto fp = co_await formula_page(object, std::move(cur), desc);
      co_return fp;
    }
    const std::int64_t upper = floor_second(now - s_.settle_lag.count());
    if (cur.lower && upper < *cur.lower) {
      page nothing;  // the settled window has not moved past what was read (clock skew): nothing to do yet
      nothing.cursor = cur.encode();
      co_return nothing;
    }
    std::string q = "SELECT " + select_list(desc->select) + " FROM " + object + " WHERE ";
    if (cur.lower) q += "SystemModstamp >= " + soql_datetime(*cur.lower) + " AND ";
    q += "SystemModstamp <= " + soql_datetime(upper) + " ORDER BY SystemModstamp, Id";
    cur.query_upper = upper;
    // queryAll: soft-deleted records (recycle bin) come back with IsDeleted = true.
    auto r = co_await soql_records(std::move(q), true, s_.page_size);
    if (!r && r.error() == errc::invalid_input) {
      // Most often a column that was deleted or renamed since the last describe: read it again next time.
      std::lock_guard lk(schemas_mu_);
      schemas_.erase(object);
    }
    if (!r) co_return r.error();
    qp = std::move(*r);
  }

  page out;
  std::optional<std::int64_t> last_stamp;
  for (auto& rec : qp->records) {
    const auto stamp = std::chrono::duration_cast<milliseconds>(rec.source_updated_at.time_since_epoch()).count();
    last_stamp = stamp;
    // Below the lower bound: the SOQL literal is whole seconds, the window is not; those were read before.
    if (cur.lower && stamp < *cur.lower) continue;
    if (cur.saw(rec.id, stamp)) continue;  // read in an earlier window with this very stamp
    cur.remember(rec.id, stamp);
    out.records.push_back(std::move(rec));
  }
  if (qp->next) {
    // Rows come sorted by SystemModstamp: everything below the last stamp of this page is complete.
    cur.next_url = qp->next;
    if (last_stamp) {
      cur.watermark = std::max(cur.watermark.value_or(*last_stamp), *last_stamp);
      cur.lower = std::max(cur.lower.value_or(*cur.watermark - s_.overlap.count()), *cur.watermark - s_.overlap.count());
    }
    cur.prune(s_.max_seen);
    out.more = true;
  } else {
    const auto upper = cur.query_upper;
    cur.next_url.reset();
    cur.watermark = std::max(cur.watermark.value_or(upper), upper);
    cur.lower = std::max(cur.lower.value_or(upper - s_.overlap.count()), upper - s_.overlap.count());
    cur.prune(s_.max_seen);
    // A full read has just read the formula columns too; an incremental start schedules the first refresh.
    if (!cur.formula_done) cur.formula_done = now_ms();
    out.more = false;
    if (incremental && formula_due(*desc, cur)) {
      // Checked again now that this answer told us the org's time: the refresh starts with the next call.
      cur.formula_after = std::string();
      out.more = true;
    }
    if (incremental) {
      auto both = co_await add_get_deleted(object, std::move(cur), upper, std::move(out));
      cur = std::move(both.first);
      out = std::move(both.second);
    } else if (!cur.deleted_checked) {
      cur.deleted_checked = upper;
    }
  }
  out.cursor = cur.encode();
  co_return out;
}

asio::awaitable<std::pair<poll_cursor, page>> connector_impl::add_get_deleted(std::string object, poll_cursor cur,
                                                                               std::int64_t upper, page out) {
  if (s_.get_deleted_interval.count() <= 0) co_return std::make_pair(std::move(cur), std::move(out));
  if (!cur.deleted_checked) {
    cur.deleted_checked = upper;
    co_return std::make_pair(std::move(cur), std::move(out));
  }
  if (upper - *cur.deleted_checked < s_.get_deleted_interval.count())
    co_return std::make_pair(std::move(cur), std::move(out));
  // getDeleted works in whole minutes over at most 15 days: start a minute early, never before 15 days ago.
  const std::int64_t earliest = upper - 15LL * 86'400'000 + 60'000;
  const std::int64_t start = std::max(*cur.deleted_checked - 60'000, earliest);
  auto r = co_await call_rest("GET", data_path("/sobjects/" + object + "/deleted/?start=" + rest::url_encode(iso_datetime(start)) +
                                          "&end=" + rest::url_encode(iso_datetime(upper))),
                         "", false);
  if (!r || r->status != 200) {
    // queryAll already reports soft deletes; this is a safety net, so a failure only waits for the next round.
    if (r) failed(*r, "getDeleted " + object);
    co_return std::make_pair(std::move(cur), std::move(out));
  }
  boost::system::error_code ec;
  auto v = json::parse(r->body, ec);
  if (ec || !v.is_object()) co_return std::make_pair(std::move(cur), std::move(out));
  std::set<std::string> in_page;
  for (const auto& rec : out.records) in_page.insert(rec.id);
  std::vector<std::string> reported;
  if (auto* list = v.as_object().if_contains("deletedRecords"); list && list->is_array()) {
    for (const auto& e : list->as_array()) {
      if (!e.is_object()) continue;
      auto* id = e.as_object().if_contains("id");
      if (!id || !id->is_string()) continue;
      std::string rid(id->as_string());
      reported.push_back(rid);
      if (in_page.count(rid)) continue;
      if (std::find(cur.deleted_reported.begin(), cur.deleted_reported.end(), rid) != cur.deleted_reported.end()) continue;
      bool seen = false;
      for (const auto& [stamp, ids] : cur.seen) seen = seen || ids.count(rid) > 0;
      if (seen) continue;  // queryAll reported it (IsDeleted = true) in this window
      std::int64_t when = upper;
      if (auto* dd = e.as_object().if_contains("deletedDate"); dd && dd->is_string())
        if (auto t = parse_iso8601(dd->as_string(), time_part::required)) when = to_epoch_ms(*t);
      json::object payload{{"attributes", json::object{{"type", object}}}, {"Id", rid}, {"IsDeleted", true}};
      out.records.emplace_back(rid, json::serialize(payload), from_epoch_ms(when), true);
      in_page.insert(rid);
    }
  }
  cur.deleted_checked = upper;
  cur.deleted_reported = std::move(reported);
  co_return std::make_pair(std::move(cur), std::move(out));
}

asio::awaitable<omnisync::result<page>> connector_impl::formula_page(std::string object, poll_cursor cur,
                                                                     std::shared_ptr<const described> d) {
  page out;
  out.partial = true;
  if (d->formulas.empty()) {
    cur.formula_after.reset();
    cur.formula_done = now_ms();
    out.cursor = cur.encode();
    co_return out;
  }
  // Keyset paging by Id (resumable from the cursor, no query locator to lose), formula columns only: they
  // change without touching SystemModstamp, so the incremental read never sees them change.
  std::string q = "SELECT Id, " + select_list(d->formulas) + " FROM " + object;
  if (cur.formula_after && !cur.formula_after->empty()) q += " WHERE Id > " + soql_quote(*cur.formula_after);
  q += " ORDER BY Id LIMIT " + std::to_string(s_.page_size);
  auto r = co_await soql(std::move(q), false, s_.page_size);
  if (!r) co_return r.error();
  std::string last;
  for (auto& v : r->records) {
    if (!v.is_object()) continue;
    auto& o = v.as_object();
    o.erase("attributes");
    auto* id = o.if_contains("Id");
    if (!id || !id->is_string()) continue;
    last = std::string(id->as_string());
    out.records.emplace_back(last, json::serialize(o));
  }
  // Salesforce may answer with fewer rows than asked and a nextRecordsUrl: the next keyset query continues.
  if ((r->records.size() >= s_.page_size || r->next) && !last.empty()) {
    cur.formula_after = last;
    out.more = true;
  } else {
    cur.formula_after.reset();
    cur.formula_done = now_ms();
    out.more = false;
  }
  out.cursor = cur.encode();
  co_return out;
}

// ---- reads by id and email -----------------------------------------------------------------------------------

asio::awaitable<omnisync::result<std::vector<adapters::source_record>>> connector_impl::read_all(std::string query,
                                                                                               bool all) {
  std::vector<adapters::source_record> out;
  auto r = co_await soql(std::move(query), all, 2000);
  for (;;) {
    if (!r) co_return r.error();
    for (auto& v : r->records)
      if (v.is_object()) out.push_back(to_source_record(std::move(v.as_object())));
    if (!r->next) break;
    std::string next = *r->next;
    r = co_await query_more(std::move(next), 2000);
  }
  co_return out;
}

task<std::vector<adapters::source_record>> connector_impl::fetch(std::string object, std::vector<std::string> ids) {
  for (const auto& id : ids)
    if (!is_record_id(id)) {
      spdlog::warn("{}: fetch {}: \"{}\" is not a Salesforce record id", s_.connector, object, id);
      co_return make_error_code(errc::invalid_input);
    }
  auto d = co_await fields_of(object, false);
  if (!d) co_return d.error();
  const auto desc = *d;
  std::vector<adapters::source_record> out;
  std::set<std::string> found;  // by the 15-character id, which 18-character ids extend
  for (std::size_t at = 0; at < ids.size(); at += s_.fetch_chunk) {
    std::string in;
    for (std::size_t i = at; i < std::min(ids.size(), at + s_.fetch_chunk); ++i) in += (in.empty() ? "" : ", ") + soql_quote(ids[i]);
    // queryAll: a record in the recycle bin comes back as deleted.
    auto got = co_await read_all("SELECT " + select_list(desc->select) + " FROM " + object + " WHERE Id IN (" + in + ")", true);
    if (!got) co_return got.error();
    for (auto& rec : *got) {
      found.insert(rec.id.substr(0, 15));
      out.push_back(std::move(rec));
    }
  }
  for (const auto& id : ids) {
    if (found.count(id.substr(0, 15))) continue;
    // Gone for good (hard-deleted or purged from the recycle bin): say so, with only the id.
    json::object payload{{"attributes", json::object{{"type", object}}}, {"Id", id}, {"IsDeleted", true}};
    out.emplace_back(id, json::serialize(payload), omnisync::timestamp{}, true);
    found.insert(id.substr(0, 15));
  }
  co_return out;
}

task<std::vector<adapters::source_record>> connector_impl::find_by_email(std::string object, std::string email) {
  auto d = co_await fields_of(object, false);
  if (!d) co_return d.error();
  const auto desc = *d;
  if (!desc->has_email) co_return std::vector<adapters::source_record>{};
  // SOQL's `=` on text ignores case, as emails should be compared.
  auto got = co_await read_all("SELECT " + select_list(desc->select) + " FROM " + object + " WHERE Email = " + soql_quote(email), false);
  co_return got;
}

task<id_page> connector_impl::list_ids(std::string object, std::optional<std::string> next) {
  if (next && !is_record_id(*next)) co_return make_error_code(errc::invalid_input);
  std::string q = "SELECT Id FROM " + object;
  if (next) q += " WHERE Id > " + soql_quote(*next);
  q += " ORDER BY Id LIMIT " + std::to_string(s_.page_size);
  auto r = co_await soql(std::move(q), false, s_.page_size);
  if (!r) co_return r.error();
  id_page out;
  for (const auto& v : r->records)
    if (v.is_object())
      if (auto* id = v.as_object().if_contains("Id"); id && id->is_string()) out.ids.emplace_back(id->as_string());
  if ((out.ids.size() >= s_.page_size || r->next) && !out.ids.empty()) out.next = out.ids.back();
  co_return out;
}

}  // namespace omnisync::adapters::salesforce
