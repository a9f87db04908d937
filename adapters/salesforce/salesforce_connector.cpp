// The Salesforce connector: polling by SystemModstamp (poll_cursor.hpp explains the watermark, overlap and
// de-duplication), formula refreshes, getDeleted, id listing, fetch and email lookups through SOQL, writes
// through sObject Collections (upserts on the external id, updates by Id), describe, and Outbound Messages.
// Every call goes through the connector's api_caller (retries, backoff, Retry-After, the daily budget from
// Sforce-Limit-Info).
#include "adapters/salesforce/salesforce_connector.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "adapters/salesforce/oauth.hpp"
#include "adapters/salesforce/outbound_message.hpp"
#include "adapters/rest/rest_util.hpp"
#include "adapters/salesforce/poll_cursor.hpp"
#include "adapters/salesforce/settings.hpp"
#include "adapters/salesforce/webhook.hpp"
#include "adapters/pacing/api_call.hpp"
#include "core/time.hpp"

namespace omnisync::adapters {
namespace salesforce {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

std::int64_t local_now_ms() { return to_epoch_ms(utc_now()); }

std::int64_t floor_second(std::int64_t ms) { return ms - ((ms % 1000) + 1000) % 1000; }

/// What the API said, for logs and write results: "INVALID_FIELD: No such column 'x'".
struct vendor_error {
  std::string code;
  std::string message;
  std::string text() const { return code.empty() ? message : code + ": " + message; }
};

vendor_error read_error(const http::response& r) {
  vendor_error e;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  const json::object* o = nullptr;
  if (!ec && v.is_array() && !v.as_array().empty() && v.as_array()[0].is_object()) o = &v.as_array()[0].as_object();
  else if (!ec && v.is_object()) o = &v.as_object();
  if (o) {
    for (const char* k : {"errorCode", "error", "statusCode"})
      if (auto* c = o->if_contains(k); c && c->is_string()) { e.code = std::string(c->as_string()); break; }
    for (const char* k : {"message", "error_description"})
      if (auto* m = o->if_contains(k); m && m->is_string()) { e.message = std::string(m->as_string()); break; }
  }
  if (e.code.empty() && e.message.empty()) e.message = "HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200);
  return e;
}

/// The one place where Salesforce's answers become error classes (the api_caller has already retried 5xx,
/// 408 and 429, and turned a 401 that survived a token refresh into auth_expired).
boost::system::error_code classify(const http::response& r, const vendor_error& e) {
  if (r.status == 403 && e.code == "REQUEST_LIMIT_EXCEEDED") return errc::rate_limited;
  if (r.status == 400 && e.code == "INVALID_QUERY_LOCATOR") return errc::not_found;
  if (r.status == 400 || r.status == 414 || r.status == 415) return errc::invalid_input;
  if (r.status == 401) return errc::auth_expired;
  if (r.status == 404) return errc::not_found;
  if (r.status == 300 || r.status == 409) return errc::conflict;
  if (r.status >= 500) return errc::retry;
  return errc::fail;
}

/// Per-record error codes worth another try later; everything else is rejected for good.
bool retryable_record_error(const std::string& code) {
  return code == "UNABLE_TO_LOCK_ROW" || code == "ALL_OR_NONE_OPERATION_ROLLED_BACK" || code == "REQUEST_LIMIT_EXCEEDED" ||
         code == "SERVER_UNAVAILABLE" || code == "UNKNOWN_EXCEPTION" || code == "TXN_SECURITY_METERING_ERROR";
}

/// An object's describe, and what polling derives from it.
struct described {
  object_schema schema;
  std::vector<std::string> select;     // columns every poll reads
  std::vector<std::string> formulas;   // calculated columns (refreshed on a schedule)
  std::map<std::string, std::string> types;  // field → describe type (Outbound Message values)
  bool has_email = false;
  std::chrono::steady_clock::time_point fetched;
};

/// object_schema::find without linking omnisync_adapters (which links this library): exact name, then any case.
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

struct query_page {
  json::array records;
  std::optional<std::string> next;
};

/// What one sObject Collections call answered, before it is turned into write results.
struct collection_answer {
  std::optional<json::array> answers;  // one per record, in request order; nullopt: the call failed as a whole
  std::string whole_error;
  write_result::outcome outcome = write_result::outcome::retry;  // for every record when the call failed
  std::optional<boost::system::error_code> call_error;           // nothing reached Salesforce
  bool attempted = false;                                        // Salesforce looked at the records
};

/// One record's result of a collections call ({"id","success","errors":[{"statusCode","message"}]}).
write_result record_result(std::int64_t outbox_id, const json::value& a) {
  write_result w;
  w.outbox_id = outbox_id;
  const json::object* ao = a.is_object() ? &a.as_object() : nullptr;
  auto* ok = ao ? ao->if_contains("success") : nullptr;
  if (ok && ok->is_bool() && ok->as_bool()) {
    w.status = write_result::outcome::written;
    if (auto* id = ao->if_contains("id"); id && id->is_string()) w.destination_id = std::string(id->as_string());
    return w;
  }
  std::string code, message;
  if (auto* errs = ao ? ao->if_contains("errors") : nullptr;
      errs && errs->is_array() && !errs->as_array().empty() && errs->as_array()[0].is_object()) {
    const auto& e = errs->as_array()[0].as_object();
    if (auto* c = e.if_contains("statusCode"); c && c->is_string()) code = std::string(c->as_string());
    if (auto* m = e.if_contains("message"); m && m->is_string()) message = std::string(m->as_string());
  }
  // An unknown or deleted target id (INVALID_CROSS_REFERENCE_KEY, ENTITY_IS_DELETED, MALFORMED_ID) is rejected:
  // it will not exist next time either.
  w.status = retryable_record_error(code) ? write_result::outcome::retry : write_result::outcome::rejected;
  w.error = code.empty() ? message : code + ": " + message;
  return w;
}

class connector_impl final : public connector {
 public:
  connector_impl(const config::connector_common& cfg, const connector_context& ctx)
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

  const std::string& name() const noexcept override { return s_.connector; }
  std::string_view kind() const noexcept override { return "salesforce"; }
  std::vector<std::string> objects() const override { return s_.objects; }
  std::size_t max_batch(std::string_view) const override { return s_.batch_size; }
  std::shared_ptr<const adapters::webhook_endpoint> webhook() const override { return webhook_; }

  connector_usage usage() const override {
    connector_usage u;
    u.api_calls = caller_->calls();
    u.api_errors = caller_->errors();
    auto [used, limit] = caller_->budget();
    u.budget_used = used;
    u.budget_limit = limit;
    return u;
  }

  task<page> poll(page_request req) override;
  task<std::vector<adapters::source_record>> fetch(std::string object, std::vector<std::string> ids) override;
  task<id_page> list_ids(std::string object, std::optional<std::string> next) override;
  task<std::vector<write_result>> remove(std::string object, std::vector<write_item> items) override;
  task<std::vector<adapters::source_record>> find_by_email(std::string object, std::string email) override;
  task<std::vector<write_result>> write(std::string object, std::vector<write_item> items) override;
  task<object_schema> describe(std::string object) override;
  omnisync::result<event_records> parse_event(const adapters::inbox_event& event) const override;

 private:
  std::int64_t now_ms() const { return local_now_ms() + clock_offset_ms_.load(); }
  bool formula_due(const described& d, const poll_cursor& cur) const {
    return !d.formulas.empty() && s_.formula_refresh.count() > 0 && cur.formula_done &&
           now_ms() - *cur.formula_done >= s_.formula_refresh.count();
  }
  std::string data_path(const std::string& rest) const { return "/services/data/v" + s_.api_version + rest; }

  asio::awaitable<omnisync::result<http::response>> call_rest(std::string method, std::string path, std::string body,
                                                         bool is_write);
  asio::awaitable<omnisync::result<query_page>> soql(std::string query, bool all, std::size_t batch);
  asio::awaitable<omnisync::result<query_page>> query_more(std::string next_url, std::size_t batch);
  asio::awaitable<omnisync::result<std::shared_ptr<const described>>> fields_of(std::string object, bool fresh);
  asio::awaitable<omnisync::result<page>> formula_page(std::string object, poll_cursor cur,
                                                       std::shared_ptr<const described> d);
  /// Adds to `out` the deletions getDeleted knows and queryAll did not show, when a check is due.
  asio::awaitable<std::pair<poll_cursor, page>> add_get_deleted(std::string object, poll_cursor cur, std::int64_t upper,
                                                                page out);
  /// One sObject Collections call of `n` records: PATCH (update by Id, or upsert on an external id field) with
  /// a body, or DELETE with the ids in the path.
  asio::awaitable<collection_answer> collection_call(std::string what, std::string path, std::string body,
                                                     std::size_t n, std::string method = "PATCH");
  /// Every record of a query, page after page (fetch, find_by_email).
  asio::awaitable<omnisync::result<std::vector<adapters::source_record>>> read_all(std::string query, bool all);

  boost::system::error_code failed(const http::response& r, std::string_view what) const {
    auto e = read_error(r);
    auto ec = classify(r, e);
    if (ec != errc::not_found)  // a lost query locator or a missing record is routine, handled by the caller
      spdlog::warn("{}: {} failed: HTTP {} {}", s_.connector, what, r.status, e.text());
    return ec;
  }

  settings s_;
  std::unique_ptr<pacing::api_caller> caller_;
  std::unique_ptr<oauth_session> auth_;
  std::atomic<std::int64_t> clock_offset_ms_{0};  // org clock - local clock (estimate, see the constructor)
  bool clock_known_ = false;
  std::shared_ptr<const adapters::webhook_endpoint> webhook_;
  mutable std::mutex schemas_mu_;  // parse_event may run on another thread than the polls
  std::map<std::string, std::shared_ptr<const described>> schemas_;
};

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

asio::awaitable<omnisync::result<query_page>> connector_impl::query_more(std::string url, std::size_t batch) {
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

  std::optional<query_page> qp;
  if (cur.next_url) {
    auto r = co_await query_more(*cur.next_url, s_.page_size);
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
    auto r = co_await soql(std::move(q), true, s_.page_size);
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
  for (auto& v : qp->records) {
    if (!v.is_object()) continue;
    auto rec = to_source_record(std::move(v.as_object()));
    if (rec.id.empty()) continue;
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

// ---- metadata ------------------------------------------------------------------------------------------------

task<object_schema> connector_impl::describe(std::string object) {
  auto d = co_await fields_of(object, true);
  if (!d) co_return d.error();
  object_schema out = (*d)->schema;
  co_return out;
}

// ---- writes --------------------------------------------------------------------------------------------------

asio::awaitable<collection_answer> connector_impl::collection_call(std::string what, std::string path,
                                                                   std::string body, std::size_t n,
                                                                   std::string method) {
  collection_answer out;
  auto r = co_await call_rest(method, std::move(path), std::move(body), true);
  if (!r) {
    out.call_error = r.error();
    out.whole_error = r.error().message();
  } else if (r->status != 200) {
    auto ec = failed(*r, what);
    out.whole_error = read_error(*r).text();
    // A request refused as a whole for its content will be refused again: reject its items. Limits and
    // outages are worth a retry.
    if (ec == errc::invalid_input || ec == errc::not_found || ec == errc::fail) {
      out.outcome = write_result::outcome::rejected;
      out.attempted = true;
    } else {
      out.call_error = ec;
    }
  } else {
    boost::system::error_code ec;
    auto v = json::parse(r->body, ec);
    if (!ec && v.is_array() && v.as_array().size() == n) out.answers = std::move(v.as_array());
    else out.whole_error = what + " answer does not list one result per record";
    out.attempted = true;
  }
  co_return out;
}

task<std::vector<write_result>> connector_impl::remove(std::string object, std::vector<write_item> items) {
  // DELETE /composite/sobjects?ids=...&allOrNone=false, at most 200 ids a call; a record already deleted or
  // unknown is gone, which is what was asked.
  std::vector<write_result> results;
  std::optional<boost::system::error_code> call_error;
  bool any_attempted = false;
  for (std::size_t at = 0; at < items.size(); at += s_.batch_size) {
    const std::size_t end = std::min(items.size(), at + s_.batch_size);
    std::string ids;
    for (std::size_t i = at; i < end; ++i) {
      if (!ids.empty()) ids += ',';
      ids += rest::url_encode(items[i].target_id);
    }
    std::string path = data_path("/composite/sobjects?ids=" + ids + "&allOrNone=false");
    auto a = co_await collection_call("delete " + object, std::move(path), std::string(), end - at, "DELETE");
    if (a.call_error) call_error = a.call_error;
    any_attempted = any_attempted || a.attempted;
    for (std::size_t i = at; i < end; ++i) {
      write_result w;
      if (a.answers) {
        w = record_result(items[i].outbox_id, (*a.answers)[i - at]);
        if (w.status != write_result::outcome::written &&
            (w.error.starts_with("ENTITY_IS_DELETED") || w.error.starts_with("INVALID_CROSS_REFERENCE_KEY")))
          w.status = write_result::outcome::written;
      } else {
        w.outbox_id = items[i].outbox_id;
        w.status = a.outcome;
        w.error = a.whole_error;
      }
      results.push_back(std::move(w));
    }
  }
  if (call_error && !any_attempted) co_return *call_error;
  co_return results;
}

task<std::vector<write_result>> connector_impl::write(std::string object, std::vector<write_item> items) {
  // One slot per item, so the results come back in the items' order whichever call wrote them.
  std::vector<std::optional<write_result>> slots(items.size());
  auto reject = [&](std::size_t i, std::string why) {
    write_result w;
    w.outbox_id = items[i].outbox_id;
    w.status = write_result::outcome::rejected;
    w.error = std::move(why);
    slots[i] = std::move(w);
  };
  std::shared_ptr<const described> desc;
  auto d = co_await fields_of(object, false);
  if (d) desc = *d;
  else if (d.error() != errc::invalid_input && d.error() != errc::not_found) co_return d.error();

  // Items naming a record (target_id) are updates by Id: the record may have been created outside omnisync and
  // carry no external id yet (the payload's external id field, when present, is written too and links it).
  // The others are upserts on the external id field: configured, or the one payload field holding the record key
  // (an external id field per describe wins when several do).
  using group = std::vector<std::pair<std::size_t, json::object>>;  // (item index, record)
  group updates;
  std::map<std::string, group> by_field;
  const std::string configured = s_.object(object).upsert_key;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    boost::system::error_code ec;
    auto v = json::parse(it.payload, ec);
    if (ec || !v.is_object()) {
      reject(i, "payload is not a JSON object");
      continue;
    }
    auto rec = std::move(v.as_object());
    rec.erase("Id");
    rec.erase("id");
    rec.erase("attributes");
    if (!it.target_id.empty()) {
      rec["attributes"] = json::object{{"type", object}};
      rec["Id"] = it.target_id;
      updates.emplace_back(i, std::move(rec));
      continue;
    }
    std::string field = configured;
    if (field.empty()) {
      std::vector<std::string> candidates;
      for (const auto& [k, val] : rec)
        if (val.is_string() && val.as_string() == it.record_key) candidates.emplace_back(k);
      if (desc && candidates.size() > 1) {
        std::vector<std::string> ext;
        for (const auto& c : candidates)
          if (auto* f = find_field(desc->schema, c); f && f->external_id) ext.push_back(c);
        if (!ext.empty()) candidates = ext;
      }
      if (candidates.size() != 1) {
        reject(i, "cannot tell which field is the upsert key (set sync." + object + ".upsert_key)");
        continue;
      }
      field = candidates.front();
    }
    if (desc) {
      const auto* f = find_field(desc->schema, field);
      if (!f || !f->external_id) {
        reject(i, field + " is not an external id field of " + object);
        continue;
      }
      field = f->name;
    }
    // Upserts name the record by the external id only: no Id in the body.
    if (!rec.contains(field)) rec[field] = it.record_key;
    rec["attributes"] = json::object{{"type", object}};
    by_field[field].emplace_back(i, std::move(rec));
  }

  // (what, path, records): collections update first, then one upsert call family per external id field.
  std::vector<std::tuple<std::string, std::string, group*>> calls;
  if (!updates.empty()) calls.emplace_back("update " + object, data_path("/composite/sobjects"), &updates);
  for (auto& [field, g] : by_field)
    calls.emplace_back("upsert " + object, data_path("/composite/sobjects/" + object + "/" + field), &g);

  std::optional<boost::system::error_code> call_error;
  bool any_attempted = false;
  for (auto& [what, path, g] : calls) {
    for (std::size_t at = 0; at < g->size(); at += s_.batch_size) {
      const std::size_t end = std::min(g->size(), at + s_.batch_size);
      json::array records;
      for (std::size_t i = at; i < end; ++i) records.push_back((*g)[i].second);
      json::object body{{"allOrNone", false}, {"records", std::move(records)}};
      std::string text = json::serialize(body);
      auto a = co_await collection_call(what, path, std::move(text), end - at);
      if (a.call_error) call_error = a.call_error;
      any_attempted = any_attempted || a.attempted;
      for (std::size_t i = at; i < end; ++i) {
        const std::size_t item = (*g)[i].first;
        if (a.answers) {
          slots[item] = record_result(items[item].outbox_id, (*a.answers)[i - at]);
          continue;
        }
        write_result w;
        w.outbox_id = items[item].outbox_id;
        w.status = a.outcome;
        w.error = a.whole_error;
        slots[item] = std::move(w);
      }
    }
  }
  std::vector<write_result> results;
  results.reserve(slots.size());
  for (auto& s : slots) results.push_back(std::move(*s));
  // Nothing reached Salesforce (an outage, the daily budget): the call fails as a whole, every item retried.
  if (call_error && !any_attempted &&
      std::none_of(results.begin(), results.end(), [](const write_result& w) { return w.status == write_result::outcome::rejected; }))
    co_return *call_error;
  co_return results;
}

// ---- webhooks ------------------------------------------------------------------------------------------------

omnisync::result<event_records> connector_impl::parse_event(const adapters::inbox_event& event) const {
  auto types = [this](const std::string& object, const std::string& field) -> std::optional<std::string> {
    std::lock_guard lk(schemas_mu_);
    auto it = schemas_.find(object);
    if (it == schemas_.end()) return std::nullopt;
    auto t = it->second->types.find(field);
    if (t == it->second->types.end()) return std::nullopt;
    return t->second;
  };
  auto parsed = parse_outbound_message(event.body, types);
  if (!parsed) {
    spdlog::warn("{}: Outbound Message {} is malformed", s_.connector, event.dedupe_key);
    return parsed.error();
  }
  if (s_.webhook_refetch) {
    // The message carries only the fields its definition selects: read whole records instead.
    event_records ids;
    for (auto& r : parsed->records) ids.refetch.emplace_back(r.object, r.record.id);
    return ids;
  }
  return parsed;
}

}  // namespace
}  // namespace salesforce

std::unique_ptr<connector> make_salesforce_connector(const config::connector_common& cfg, const connector_context& ctx) {
  return std::make_unique<salesforce::connector_impl>(cfg, ctx);
}

}  // namespace omnisync::adapters
