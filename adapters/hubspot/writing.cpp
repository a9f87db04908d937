// The HubSpot connector's writes: batch upsert on an id property, batch update by HubSpot's id, batch archive.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "adapters/hubspot/connector_impl.hpp"
#include "adapters/hubspot/errors.hpp"
#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::hubspot {
namespace {

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

}  // namespace

task<std::vector<write_result>> connector_impl::write(std::string object, std::vector<write_item> items) {
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

task<std::vector<write_result>> connector_impl::remove(std::string object, std::vector<write_item> items) {
  std::vector<write_result> out;
  const std::size_t limit = max_batch(object);
  for (std::size_t at = 0; at < items.size(); at += limit) {
    const std::size_t end = std::min(items.size(), at + limit);
    json::array inputs;
    for (std::size_t i = at; i < end; ++i) inputs.push_back(id_input(items[i].target_id));
    json::object body;
    body["inputs"] = std::move(inputs);
    const std::string path = "/crm/v3/objects/" + object + "/batch/archive";
    auto res = co_await json_->send("POST", path, json::serialize(body), {});
    write_result::outcome how = write_result::outcome::written;
    std::string why;
    if (!res) {
      how = write_result::outcome::retry;
      why = res.error().message();
    } else if (res->status != 204 && res->status != 200) {
      const auto ec = json_->failure("POST", path, *res);
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

std::vector<write_result> connector_impl::all_results(const std::vector<write_item>& items, write_result::outcome o,
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

std::string connector_impl::id_property_of(const std::string& object, const write_item& it) const {
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

asio::awaitable<std::vector<write_result>> connector_impl::batch_write(std::string object, std::string id_prop,
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
  auto res = co_await json_->send("POST", path, json::serialize(body), {});
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
      json_->failure("POST", path, *res);
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
    json_->failure("POST", path, *res);
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

}  // namespace omnisync::adapters::hubspot
