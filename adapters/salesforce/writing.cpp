// The Salesforce connector's writes: sObject Collections upserts on an external id field, updates by Id, deletes;
// per-record results in the items' order.
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <tuple>

#include "adapters/rest/rest_util.hpp"
#include "adapters/salesforce/connector_impl.hpp"
#include "adapters/salesforce/errors.hpp"

namespace omnisync::adapters::salesforce {
namespace {

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

}  // namespace

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

}  // namespace omnisync::adapters::salesforce
