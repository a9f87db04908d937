#include "sim/activecampaign/audiences.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <boost/json.hpp>

#include "sim/core/validate.hpp"

#include "sim/activecampaign/api.hpp"

namespace omnisync::sim::activecampaign {
namespace json = boost::json;

namespace {

std::optional<std::int64_t> as_id(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64() && v->as_int64() > 0) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_string()) {
    std::int64_t n = 0;
    auto s = v->as_string();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc{} && p == s.data() + s.size() && n > 0) return n;
  }
  return std::nullopt;
}

std::optional<std::int64_t> as_id(const std::string& s) {
  json::value v(s);
  return as_id(&v);
}

audience_store::reply no_result(const std::string& what, const std::string& id) {
  return {404, json::object{{"message", "No Result found for " + what + " with id " + id}}};
}

/// ActiveCampaign's 422 body: {"errors":[{"title", "detail", "code", "source":{"pointer"}}]}.
audience_store::reply unprocessable(const std::string& title, const std::string& code, const std::string& pointer) {
  return {422, json::object{{"errors", json::array{json::object{{"title", title},
                                                                 {"detail", ""},
                                                                 {"code", code},
                                                                 {"source", json::object{{"pointer", pointer}}}}}}}};
}

}  // namespace

void audience_store::clear() {
  tags_.clear();
  contact_tags_.clear();
  contact_lists_.clear();
  lists_ = {{1, "Master Contact List"}};
  next_tag_ = next_contact_tag_ = next_contact_list_ = 1;
}

json::object audience_store::tag_json(const tag& t, const std::string& base_url) const {
  const auto id = std::to_string(t.id);
  return json::object{{"tagType", t.type}, {"tag", t.name}, {"description", t.description},
                      {"cdate", ac_time(t.cdate)}, {"id", id},
                      {"links", json::object{{"contactGoalTags", base_url + "/api/3/tags/" + id + "/contactGoalTags"}}}};
}

json::object audience_store::contact_tag_json(const contact_tag& ct, const std::string& base_url) const {
  const auto id = std::to_string(ct.id);
  return json::object{{"contact", std::to_string(ct.contact)}, {"tag", std::to_string(ct.tag)},
                      {"cdate", ac_time(ct.cdate)}, {"id", id},
                      {"links", json::object{{"contact", base_url + "/api/3/contactTags/" + id + "/contact"},
                                             {"tag", base_url + "/api/3/contactTags/" + id + "/tag"}}}};
}

json::object audience_store::contact_list_json(const contact_list& cl) const {
  // ActiveCampaign returns numbers as strings in contactLists listings.
  return json::object{{"contact", std::to_string(cl.contact)}, {"list", std::to_string(cl.list)},
                      {"status", std::to_string(cl.status)}, {"sdate", ac_time(cl.sdate)},
                      {"udate", ac_time(cl.udate)}, {"id", std::to_string(cl.id)}};
}

audience_store::reply audience_store::set_status(std::int64_t contact, std::int64_t list, std::int64_t status,
                                                 std::int64_t now_s) {
  for (auto& [id, cl] : contact_lists_)
    if (cl.contact == contact && cl.list == list) {
      cl.status = status;
      cl.udate = now_s;
      return {200, json::object{{"contactList", contact_list_json(cl)}}};
    }
  contact_list cl{next_contact_list_++, contact, list, status, now_s, now_s};
  contact_lists_[cl.id] = cl;
  return {201, json::object{{"contactList", contact_list_json(cl)}}};
}

audience_store::reply audience_store::handle(const std::string& m, const std::vector<std::string>& segs,
                                             const std::map<std::string, std::string>& query, const std::string& raw,
                                             const contact_exists& exists, const std::string& base_url,
                                             std::int64_t now_s) {
  json::value body;
  if (m == "POST" || m == "PUT") {
    boost::system::error_code ec;
    body = json::parse(raw, ec);
    if (ec) return {400, json::object{{"message", "Invalid JSON"}}};
  }
  auto inner = [&](const char* key) -> const json::object* {
    const auto* o = body.if_object();
    const auto* v = o ? o->if_contains(key) : nullptr;
    return v ? v->if_object() : nullptr;
  };
  const std::string root = segs.empty() ? std::string() : segs[0];
  if (root == "tags" && segs.size() == 1 && m == "GET") {
    // `search` matches tag names containing the text, without case.
    const auto it = query.find("search");
    const std::string needle = it == query.end() ? std::string() : ascii_lower(it->second);
    json::array out;
    for (const auto& [id, t] : tags_)
      if (needle.empty() || ascii_lower(t.name).find(needle) != std::string::npos) out.push_back(tag_json(t, base_url));
    const auto total = std::to_string(out.size());
    return {200, json::object{{"tags", std::move(out)}, {"meta", json::object{{"total", total}}}}};
  }
  if (root == "tags" && segs.size() == 1 && m == "POST") {
    const auto* t = inner("tag");
    const auto* name = t ? t->if_contains("tag") : nullptr;
    if (!name || !name->is_string() || name->as_string().empty())
      return unprocessable("Tag name is required", "field_missing", "/data/attributes/tag");
    for (const auto& [id, existing] : tags_)
      if (ascii_lower(existing.name) == ascii_lower(std::string(name->as_string())))
        return unprocessable("Duplicate tag", "duplicate", "/data/attributes/tag");
    tag nt{next_tag_++, std::string(name->as_string()), "contact", "", now_s};
    if (const auto* ty = t->if_contains("tagType"); ty && ty->is_string()) nt.type = std::string(ty->as_string());
    if (const auto* d = t->if_contains("description"); d && d->is_string()) nt.description = std::string(d->as_string());
    tags_[nt.id] = nt;
    return {201, json::object{{"tag", tag_json(nt, base_url)}}};
  }
  if (root == "tags" && segs.size() == 2) {
    auto id = as_id(segs[1]);
    if (!id || !tags_.count(*id)) return no_result("Tag", segs[1]);
    if (m == "GET") return {200, json::object{{"tag", tag_json(tags_[*id], base_url)}}};
    if (m == "DELETE") {
      tags_.erase(*id);
      std::erase_if(contact_tags_, [&](const auto& kv) { return kv.second.tag == *id; });
      return {200, json::object{}};
    }
  }
  if (root == "contactTags" && segs.size() == 1 && m == "POST") {
    const auto* ct = inner("contactTag");
    auto contact = as_id(ct ? ct->if_contains("contact") : nullptr);
    auto tag_id = as_id(ct ? ct->if_contains("tag") : nullptr);
    if (!contact || !exists(*contact))
      return unprocessable("The related contact does not exist.", "related_missing", "/data/attributes/contact");
    if (!tag_id || !tags_.count(*tag_id))
      return unprocessable("The related tag does not exist.", "related_missing", "/data/attributes/tag");
    for (const auto& [id, existing] : contact_tags_)
      if (existing.contact == *contact && existing.tag == *tag_id)
        return {201, json::object{{"contactTag", contact_tag_json(existing, base_url)}}};
    contact_tag n{next_contact_tag_++, *contact, *tag_id, now_s};
    contact_tags_[n.id] = n;
    return {201, json::object{{"contactTag", contact_tag_json(n, base_url)}}};
  }
  if (root == "contactTags" && segs.size() == 2 && m == "DELETE") {
    auto id = as_id(segs[1]);
    if (!id || !contact_tags_.erase(*id)) return no_result("ContactTag", segs[1]);
    return {200, json::object{}};
  }
  if (root == "contactLists" && segs.size() == 1 && m == "POST") {
    const auto* cl = inner("contactList");
    auto contact = as_id(cl ? cl->if_contains("contact") : nullptr);
    auto list = as_id(cl ? cl->if_contains("list") : nullptr);
    auto status = as_id(cl ? cl->if_contains("status") : nullptr);
    if (!contact || !exists(*contact)) return no_result("Subscriber", contact ? std::to_string(*contact) : "0");
    if (!list || !lists_.count(*list)) return no_result("List", list ? std::to_string(*list) : "0");
    if (!status || (*status != 1 && *status != 2))
      return unprocessable("Status must be 1 (subscribed) or 2 (unsubscribed)", "invalid", "/data/attributes/status");
    return set_status(*contact, *list, *status, now_s);
  }
  if (root == "lists" && segs.size() == 1 && m == "GET") {
    json::array out;
    for (const auto& [id, name] : lists_)
      out.push_back(json::object{{"id", std::to_string(id)}, {"name", name}, {"stringid", ascii_lower(name)}});
    const auto total = std::to_string(out.size());
    return {200, json::object{{"lists", std::move(out)}, {"meta", json::object{{"total", total}}}}};
  }
  if (root == "contacts" && segs.size() == 3 && m == "GET" && (segs[2] == "contactTags" || segs[2] == "contactLists")) {
    auto contact = as_id(segs[1]);
    if (!contact || !exists(*contact)) return no_result("Subscriber", segs[1]);
    json::array out;
    if (segs[2] == "contactTags") {
      for (const auto& [id, ct] : contact_tags_)
        if (ct.contact == *contact) out.push_back(contact_tag_json(ct, base_url));
    } else {
      for (const auto& [id, cl] : contact_lists_)
        if (cl.contact == *contact) out.push_back(contact_list_json(cl));
    }
    return {200, json::object{{segs[2], std::move(out)}}};
  }
  return {0, nullptr};
}

audience_store::reply audience_store::admin(const std::string& method, const std::string& object,
                                            const std::string& id, const std::string& raw, std::int64_t now_s) {
  if (method == "GET" && id.empty()) {
    json::array out;
    if (object == "tags")
      for (const auto& [n, t] : tags_) out.push_back(tag_json(t, ""));
    else if (object == "contactTags")
      for (const auto& [n, ct] : contact_tags_) out.push_back(contact_tag_json(ct, ""));
    else if (object == "contactLists")
      for (const auto& [n, cl] : contact_lists_) out.push_back(contact_list_json(cl));
    else if (object == "lists")
      for (const auto& [n, name] : lists_) out.push_back(json::object{{"id", std::to_string(n)}, {"name", name}});
    return {200, std::move(out)};
  }
  if (method == "DELETE" && object == "tags") {
    auto n = as_id(id);
    if (!n || !tags_.erase(*n)) return {404, json::object{{"error", "no such tag"}}};
    std::erase_if(contact_tags_, [&](const auto& kv) { return kv.second.tag == *n; });
    return {200, json::object{{"deleted", true}}};
  }
  if (method == "POST" && object == "contactLists") {
    boost::system::error_code ec;
    auto v = json::parse(raw, ec);
    const auto* o = ec ? nullptr : v.if_object();
    auto contact = as_id(o ? o->if_contains("contact") : nullptr);
    auto list = as_id(o ? o->if_contains("list") : nullptr);
    auto status = as_id(o ? o->if_contains("status") : nullptr);
    if (!contact || !list || !status || !lists_.count(*list))
      return {400, json::object{{"error", "need contact, list (existing) and status"}}};
    return set_status(*contact, *list, *status, now_s);
  }
  if (method == "POST" && object == "lists") {
    boost::system::error_code ec;
    auto v = json::parse(raw, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* name = o ? o->if_contains("name") : nullptr;
    if (!name || !name->is_string()) return {400, json::object{{"error", "need name"}}};
    const auto n = lists_.rbegin()->first + 1;
    lists_[n] = std::string(name->as_string());
    return {201, json::object{{"id", std::to_string(n)}, {"name", lists_[n]}}};
  }
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value audience_store::snapshot() const {
  json::array tags, contact_tags, contact_lists;
  for (const auto& [n, t] : tags_) tags.push_back(tag_json(t, ""));
  for (const auto& [n, ct] : contact_tags_) contact_tags.push_back(contact_tag_json(ct, ""));
  for (const auto& [n, cl] : contact_lists_) contact_lists.push_back(contact_list_json(cl));
  return json::object{{"tags", std::move(tags)}, {"contactTags", std::move(contact_tags)},
                      {"contactLists", std::move(contact_lists)}};
}

}  // namespace omnisync::sim::activecampaign
