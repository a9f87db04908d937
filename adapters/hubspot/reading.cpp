// The HubSpot connector's reads: poll in three phases (list, search, archived; hubspot_cursor.hpp says why),
// fetch by id, list_ids for reconciliation, find_by_email, and the v4 associations attached to what is read.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "adapters/hubspot/connector_impl.hpp"
#include "adapters/rest/rest_util.hpp"
#include "core/time.hpp"

namespace omnisync::adapters::hubspot {
namespace {

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

std::string join(const std::vector<std::string>& v, char sep = ',') {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
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

}  // namespace

task<page> connector_impl::poll(page_request req) {
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

task<std::vector<adapters::source_record>> connector_impl::fetch(std::string object, std::vector<std::string> ids) {
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
    auto res = co_await json_->call_json("POST", "/crm/v3/objects/" + object + "/batch/read", json::serialize(body), {});
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

task<id_page> connector_impl::list_ids(std::string object, std::optional<std::string> next) {
  std::string path = "/crm/v3/objects/" + object + "?limit=" + std::to_string(list_limit) +
                     "&archived=false&properties=hs_object_id";
  if (next) path += "&after=" + rest::url_encode(*next);
  auto res = co_await json_->call_json("GET", path, {}, {});
  if (!res) co_return res.error();
  id_page out;
  if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
    for (const auto& x : r->get_array()) out.ids.push_back(rest::member_text(x, "id"));
  if (auto after = next_after(*res); !after.empty()) out.next = after;
  co_return out;
}

task<std::vector<adapters::source_record>> connector_impl::find_by_email(std::string object, std::string email) {
  std::vector<adapters::source_record> out;
  if (object != "contacts" || email.empty()) co_return out;  // only contacts carry a unique email
  auto props = co_await properties_for(object);
  if (!props) co_return props.error();
  std::string path = "/crm/v3/objects/contacts/" + rest::url_encode(email) +
                     "?idProperty=email&properties=" + rest::url_encode(join(*props));
  auto res = co_await json_->send("GET", path, {}, {});
  if (!res) co_return res.error();
  if (res->status == 404) co_return out;
  if (res->status != 200) co_return json_->failure("GET", path, *res);
  auto v = rest::parse_json(res->body);
  if (!v || !v->is_object()) co_return make_error_code(errc::invalid_input);
  std::vector<json::object> one;
  one.push_back(v->get_object());
  auto attached = co_await attach_associations(object, std::move(one));
  if (!attached) co_return attached.error();
  for (auto& rec : *attached) out.push_back(to_record(rec, modified_property(object)));
  co_return out;
}

std::string connector_impl::next_after(const json::value& v) {
  const auto* p = v.as_object().if_contains("paging");
  if (!p || !p->is_object()) return {};
  const auto* n = p->get_object().if_contains("next");
  return n ? rest::member_text(*n, "after") : std::string();
}

adapters::source_record connector_impl::to_record(const json::object& rec, const std::string& modprop) const {
  const std::string id = rest::member_text(rec, "id");
  const auto stamp = stamp_of(rec, modprop);
  const auto* archived = rec.if_contains("archived");
  const bool gone = archived && archived->is_bool() && archived->get_bool();
  std::int64_t when = stamp;
  if (gone)
    if (const auto* at = rec.if_contains("archivedAt"); at && at->is_string())
      if (auto t = parse_vendor_time(at->get_string())) when = to_epoch_ms(*t);
  return adapters::source_record(id, json::serialize(rec), from_epoch_ms(when), gone);
}

asio::awaitable<omnisync::result<std::vector<json::object>>> connector_impl::attach_associations(std::string object,
                                                                                 std::vector<json::object> recs) {
  const auto& wanted = associations_[object];
  if (wanted.empty() || recs.empty()) co_return recs;
  for (const auto& to : wanted) {
    json::array inputs;
    for (const auto& r : recs) inputs.push_back(id_input(rest::member_text(r, "id")));
    json::object body;
    body["inputs"] = std::move(inputs);
    auto res = co_await json_->call_json("POST", "/crm/v4/associations/" + object + "/" + to + "/batch/read",
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

poll_cursor connector_impl::start_list() const {
  poll_cursor c;
  c.at = poll_cursor::phase::list;
  c.started_ms = to_epoch_ms(utc_now());
  return c;
}

std::string connector_impl::list_path(const std::string& object, const std::vector<std::string>& props, bool archived,
                      const std::string& after, bool with_associations) {
  std::string path = "/crm/v3/objects/" + object + "?limit=" + std::to_string(std::min(page_size_, list_limit)) +
                     "&archived=" + (archived ? "true" : "false");
  if (!props.empty()) path += "&properties=" + rest::url_encode(join(props));
  if (with_associations && !associations_[object].empty())
    path += "&associations=" + rest::url_encode(join(associations_[object]));
  if (!after.empty()) path += "&after=" + rest::url_encode(after);
  return path;
}

asio::awaitable<omnisync::result<page>> connector_impl::list_page(std::string object, poll_cursor c, std::vector<std::string> only) {
  const bool partial = !only.empty();
  omnisync::result<std::vector<std::string>> props = std::move(only);
  if (!partial) props = co_await properties_for(object);
  if (!props) co_return props.error();
  const std::string path = list_path(object, *props, c.list_archived, c.after, !partial);
  auto res = co_await json_->call_json("GET", path, {}, {});
  if (!res) co_return res.error();
  page out;
  const std::int64_t next_since = c.started_ms - cfg_.settle_lag.count();
  if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
    for (const auto& x : r->get_array()) {
      if (!x.is_object()) continue;
      auto rec = to_record(x.get_object(), modified_property(object));
      // An archive the first archived pass will see again (at or after its lower bound): reported once.
      if (c.list_archived && rec.deleted && to_epoch_ms(rec.source_updated_at) >= next_since)
        c.archived_fresh[rec.id] = to_epoch_ms(rec.source_updated_at);
      out.records.push_back(std::move(rec));
    }
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
    next.since_ms = next_since;
    next.archived_since_ms = next.since_ms;
    next.last_scan_ms = c.started_ms;
    next.archived_seen = std::move(c.archived_fresh);
    c = next;
    out.more = false;
  }
  out.cursor = c.encode();
  co_return out;
}

json::object connector_impl::filter(const std::string& property, const char* op, std::int64_t value) {
  json::object f;
  f["propertyName"] = property;
  f["operator"] = op;
  f["value"] = std::to_string(value);
  return f;
}

json::object connector_impl::search_body(const std::string& object, const poll_cursor& c, const std::vector<std::string>& props,
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

asio::awaitable<omnisync::result<page>> connector_impl::search_page(std::string object, poll_cursor c, std::vector<std::string> only) {
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
    auto res = co_await json_->call_json("POST", "/crm/v3/objects/" + object + "/search", json::serialize(body), "search");
    if (!res) co_return res.error();
    // How many records match this search (from the cursor's instant on): the initial sync's total.
    if (const auto* t = res->as_object().if_contains("total"); t && t->is_int64()) out.total = t->as_int64();
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

asio::awaitable<omnisync::result<page>> connector_impl::archived_page(std::string object, poll_cursor c) {
  const std::string modprop = modified_property(object);
  std::vector<std::string> props;
  props.push_back(modprop);
  auto res = co_await json_->call_json("GET", list_path(object, props, true, c.after), {}, {});
  if (!res) co_return res.error();
  page out;
  // The next pass reads from this pass's start on: what this pass reports from there on is remembered, so that
  // an archive stamped in the very millisecond the pass started (or by HubSpot's clock, ahead of ours) is not
  // reported twice. An id archived again later carries a newer stamp and is reported again.
  const std::int64_t next_since = c.scan_started_ms - cfg_.settle_lag.count();
  if (const auto* r = res->as_object().if_contains("results"); r && r->is_array())
    for (const auto& x : r->get_array()) {
      if (!x.is_object()) continue;
      auto rec = to_record(x.get_object(), modprop);
      const std::int64_t stamp = to_epoch_ms(rec.source_updated_at);
      if (stamp < c.archived_since_ms) continue;
      if (stamp >= next_since) c.archived_fresh[rec.id] = stamp;  // the next pass sees it too
      if (auto seen = c.archived_seen.find(rec.id); seen != c.archived_seen.end() && seen->second == stamp) continue;
      out.records.push_back(std::move(rec));
    }
  const std::string after = next_after(*res);
  if (!after.empty()) {
    c.after = after;
    out.more = true;
  } else {
    c.at = poll_cursor::phase::search;
    c.archived_since_ms = next_since;
    c.archived_seen = std::move(c.archived_fresh);
    c.archived_fresh.clear();
    c.last_scan_ms = c.scan_started_ms;
    c.scan_started_ms = 0;
    c.after.clear();
    out.more = false;
  }
  out.cursor = c.encode();
  co_return out;
}

json::array connector_impl::string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace omnisync::adapters::hubspot
