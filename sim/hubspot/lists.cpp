#include "sim/hubspot/lists.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iterator>
#include <optional>

#include <boost/json.hpp>

#include "sim/hubspot/search.hpp"

namespace omnisync::sim::hubspot {
namespace json = boost::json;

namespace {

std::string correlation_text(std::int64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "0b7e3a6c-1f2d-4c5e-9a8b-%012llx", static_cast<unsigned long long>(n));
  return buf;
}

list_store::reply error(int status, std::string_view category, std::string message, std::int64_t& correlation) {
  return {status, json::object{{"status", "error"},
                               {"message", std::move(message)},
                               {"correlationId", correlation_text(++correlation)},
                               {"category", category}}};
}

std::optional<std::int64_t> as_id(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v <= 0) return std::nullopt;
  return v;
}

/// Record ids arrive as strings (the client's `Array<string>`) or numbers.
std::optional<std::vector<std::string>> id_list(const json::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_array()) return std::nullopt;
  for (const auto& e : v->as_array()) {
    if (e.is_string()) out.emplace_back(e.as_string());
    else if (e.is_int64()) out.push_back(std::to_string(e.as_int64()));
    else if (e.is_uint64()) out.push_back(std::to_string(e.as_uint64()));
    else return std::nullopt;
  }
  return out;
}

}  // namespace

json::object list_store::to_json(const list& l) const {
  json::object o{{"listId", std::to_string(l.id)},
                 {"listVersion", l.version},
                 {"name", l.name},
                 {"objectTypeId", l.object_type_id},
                 {"processingType", l.processing_type},
                 {"processingStatus", "COMPLETE"},
                 {"size", static_cast<std::int64_t>(l.members.size())},
                 {"createdAt", iso_ms(l.created_ms)},
                 {"updatedAt", iso_ms(l.updated_ms)},
                 {"filtersUpdatedAt", iso_ms(l.created_ms)}};
  if (l.deleted_ms) o["deletedAt"] = iso_ms(l.deleted_ms);
  return o;
}

list_store::list* list_store::live(const std::string& id) {
  auto n = as_id(id);
  if (!n) return nullptr;
  auto it = lists_.find(*n);
  return it == lists_.end() || it->second.deleted_ms ? nullptr : &it->second;
}

list_store::reply list_store::handle(const std::string& m, const std::vector<std::string>& segs,
                                     const std::map<std::string, std::string>& query, const json::value& body,
                                     const record_exists& exists, std::int64_t now_ms, std::int64_t& correlation) {
  auto not_found = [&](const std::string& id) {
    return error(404, "OBJECT_NOT_FOUND", "List does not exist with listId " + id + ".", correlation);
  };
  if (segs.empty() && m == "POST") return create(body, now_ms, correlation);
  // GET /crm/v3/lists/object-type-id/{objectTypeId}/name/{listName}
  if (segs.size() == 4 && segs[0] == "object-type-id" && segs[2] == "name" && m == "GET") {
    for (auto& [id, l] : lists_)
      if (!l.deleted_ms && l.object_type_id == segs[1] && l.name == segs[3])
        return {200, json::object{{"list", to_json(l)}}};
    return error(404, "OBJECT_NOT_FOUND", "List does not exist with name " + segs[3] + ".", correlation);
  }
  if (segs.empty()) return error(405, "VALIDATION_ERROR", "Method " + m + " is not allowed here", correlation);
  list* l = live(segs[0]);
  if (segs.size() == 1) {
    if (!l) return not_found(segs[0]);
    if (m == "GET") return {200, json::object{{"list", to_json(*l)}}};
    if (m == "DELETE") {
      l->deleted_ms = now_ms;
      return {204, nullptr};
    }
    return error(405, "VALIDATION_ERROR", "Method " + m + " is not allowed here", correlation);
  }
  if (segs[1] != "memberships") return error(404, "OBJECT_NOT_FOUND", "Resource not found", correlation);
  if (!l) return not_found(segs[0]);
  if (segs.size() == 2 && m == "GET") return members_page(*l, query, correlation);
  if (segs.size() == 3 && m == "PUT") {
    const bool manual = l->processing_type == "MANUAL" || l->processing_type == "SNAPSHOT";
    if (!manual)
      return error(400, "VALIDATION_ERROR",
                   "List " + segs[0] + " has processingType " + l->processing_type +
                       "; memberships can be changed only on MANUAL or SNAPSHOT lists.",
                   correlation);
    if (segs[2] == "add-and-remove") {
      if (!body.is_object()) return error(400, "VALIDATION_ERROR", "Invalid input JSON", correlation);
      return change(*l, body.as_object().contains("recordIdsToAdd") ? body.at("recordIdsToAdd") : json::value(),
                    body.as_object().contains("recordIdsToRemove") ? body.at("recordIdsToRemove") : json::value(),
                    exists, now_ms, correlation);
    }
    if (segs[2] == "add") return change(*l, body, json::value(), exists, now_ms, correlation);
    if (segs[2] == "remove") return change(*l, json::value(), body, exists, now_ms, correlation);
  }
  return error(404, "OBJECT_NOT_FOUND", "Resource not found", correlation);
}

list_store::reply list_store::create(const json::value& body, std::int64_t now_ms, std::int64_t& correlation) {
  const auto* o = body.if_object();
  auto text = [&](const char* k) -> std::string {
    const auto* v = o ? o->if_contains(k) : nullptr;
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  const std::string name = text("name"), type = text("objectTypeId"), processing = text("processingType");
  if (name.empty() || type.empty() || processing.empty())
    return error(400, "VALIDATION_ERROR", "name, objectTypeId and processingType are required", correlation);
  if (processing != "MANUAL" && processing != "SNAPSHOT" && processing != "DYNAMIC")
    return error(400, "VALIDATION_ERROR", "Unknown processingType " + processing, correlation);
  if (processing == "DYNAMIC" && !(o->contains("filterBranch")))
    return error(400, "VALIDATION_ERROR", "A DYNAMIC list needs a filterBranch", correlation);
  for (const auto& [id, l] : lists_)
    if (!l.deleted_ms && l.name == name)
      return error(400, "VALIDATION_ERROR", "A list named '" + name + "' already exists.", correlation);
  list l;
  l.id = next_id_++;
  l.name = name;
  l.object_type_id = type;
  l.processing_type = processing;
  l.created_ms = l.updated_ms = now_ms;
  auto& stored = lists_[l.id] = std::move(l);
  return {200, json::object{{"list", to_json(stored)}}};
}

list_store::reply list_store::change(list& l, const json::value& to_add, const json::value& to_remove,
                                     const record_exists& exists, std::int64_t now_ms, std::int64_t& correlation) {
  auto add = id_list(&to_add);
  auto remove = id_list(&to_remove);
  if (!add || !remove) return error(400, "VALIDATION_ERROR", "record ids must be an array of ids", correlation);
  if (add->size() + remove->size() > limits.membership_max)
    return error(400, "VALIDATION_ERROR",
                 "At most " + std::to_string(limits.membership_max) + " record ids may be sent in one request.",
                 correlation);
  json::array added, removed, missing;
  // Records that do not exist are reported missing; adding a member or removing a non-member is ignored.
  for (const auto& s : *add) {
    auto id = as_id(s);
    if (!id || !exists(l.object_type_id, *id)) { missing.push_back(json::string(s)); continue; }
    if (l.members.emplace(*id, now_ms).second) added.push_back(json::string(s));
  }
  for (const auto& s : *remove) {
    auto id = as_id(s);
    if (!id || !exists(l.object_type_id, *id)) { missing.push_back(json::string(s)); continue; }
    if (l.members.erase(*id)) removed.push_back(json::string(s));
  }
  if (!added.empty() || !removed.empty()) {
    l.updated_ms = now_ms;
    ++l.version;
  }
  return {200, json::object{{"recordIdsRemoved", std::move(removed)},
                            {"recordsIdsAdded", std::move(added)},
                            {"recordIdsMissing", std::move(missing)}}};
}

list_store::reply list_store::members_page(const list& l, const std::map<std::string, std::string>& query,
                                           std::int64_t& correlation) {
  std::size_t limit = 100;
  if (auto it = query.find("limit"); it != query.end()) {
    auto n = as_id(it->second);
    if (!n) return error(400, "VALIDATION_ERROR", "limit must be a positive number", correlation);
    limit = std::min<std::size_t>(static_cast<std::size_t>(*n), limits.page_max);
  }
  std::int64_t after = 0;
  if (auto it = query.find("after"); it != query.end() && !it->second.empty()) {
    auto n = as_id(it->second);
    if (!n) return error(400, "VALIDATION_ERROR", "after must be a paging cursor from a previous page", correlation);
    after = *n;
  }
  json::array results;
  auto it = l.members.upper_bound(after);
  for (; it != l.members.end() && results.size() < limit; ++it)
    results.push_back(json::object{{"recordId", std::to_string(it->first)}, {"membershipTimestamp", iso_ms(it->second)}});
  json::object out{{"results", std::move(results)}, {"total", static_cast<std::int64_t>(l.members.size())}};
  if (it != l.members.end()) {
    const auto next = std::to_string(std::prev(it)->first);
    out["paging"] = json::object{{"next", json::object{{"after", next}, {"link", ""}}}};
  }
  return {200, std::move(out)};
}

list_store::reply list_store::admin(const std::string& method, const std::string& id, std::int64_t now_ms) {
  auto with_members = [&](const list& l) {
    auto o = to_json(l);
    json::array ids;
    for (const auto& [rid, ts] : l.members) ids.push_back(json::string(std::to_string(rid)));
    o["members"] = std::move(ids);
    return o;
  };
  if (id.empty() && method == "GET") {
    json::array all;
    for (const auto& [n, l] : lists_)
      if (!l.deleted_ms) all.push_back(with_members(l));
    return {200, std::move(all)};
  }
  list* l = live(id);
  if (!l) return {404, json::object{{"error", "no such list"}}};
  if (method == "GET") return {200, with_members(*l)};
  if (method == "DELETE") {
    l->deleted_ms = now_ms;
    return {200, json::object{{"deleted", true}}};
  }
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value list_store::snapshot() const {
  json::array all;
  for (const auto& [n, l] : lists_) {
    if (l.deleted_ms) continue;
    auto o = to_json(l);
    json::array ids;
    for (const auto& [rid, ts] : l.members) ids.push_back(json::string(std::to_string(rid)));
    o["members"] = std::move(ids);
    all.push_back(std::move(o));
  }
  return all;
}

}  // namespace omnisync::sim::hubspot
