#include "sim/activecampaign/api.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "sim/activecampaign/form.hpp"
#include "sim/core/people.hpp"
#include "sim/core/validate.hpp"

namespace omnisync::sim::activecampaign {
namespace json = boost::json;
namespace {

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_null()) return {};
  return json::serialize(v);
}

api_reply json_reply(int status, const json::value& body) {
  api_reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = json::serialize(body);
  return r;
}

// Parses `2024-05-01T05:00:00-05:00`, `2024-05-01 05:00:00` (account zone) or `2024-05-01` to epoch seconds.
std::optional<std::int64_t> parse_time(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3) return std::nullopt;
  std::int64_t offset_s = -5 * 3600;
  if (static_cast<std::size_t>(consumed) < s.size()) {
    int more = 0;
    if (std::sscanf(s.c_str() + consumed + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &more) != 3) return std::nullopt;
    const std::string zone = s.substr(static_cast<std::size_t>(consumed + 1 + more));
    if (zone == "Z") {
      offset_s = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
               std::all_of(zone.begin() + 1, zone.end(), [](char c) { return c == ':' || std::isdigit(static_cast<unsigned char>(c)); })) {
      offset_s = ((zone[1] - '0') * 36000 + (zone[2] - '0') * 3600 + (zone[4] - '0') * 600 + (zone[5] - '0') * 60) *
                 (zone[0] == '-' ? -1 : 1);
    } else if (!zone.empty()) {
      return std::nullopt;
    }
  }
  // days_from_civil
  const std::int64_t yy = y - (mo <= 2);
  const std::int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  const auto yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = era * 146097 + static_cast<std::int64_t>(doe) - 719468;
  return days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
}

}  // namespace

std::string ac_time(std::int64_t epoch_s) {
  std::int64_t local = epoch_s - 5 * 3600;
  std::int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
  const std::int64_t rem = local - days * 86400;
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld-05:00", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

api::api(seed_source seed, std::function<std::int64_t()> now_ms) : seed_(std::move(seed)), now_ms_(std::move(now_ms)) {
  reset();
}

void api::reset() {
  std::lock_guard lock(mutex_);
  touched_.clear();
  audiences_.clear();
  seeded_ = seed_.count ? seed_.count() : 0;
  next_id_ = static_cast<std::int64_t>(seeded_) + 1;
  events_.clear();
  window_start_ms_ = now_ms_();
  window_count_ = 0;
}

bool api::exists(std::int64_t id) const {
  return (id >= 1 && id <= static_cast<std::int64_t>(seeded_)) || touched_.count(id) != 0;
}

contact api::load(std::int64_t id) const {
  if (const auto it = touched_.find(id); it != touched_.end()) return it->second;
  contact c = seed_.make(id);
  c.id = id;
  return c;
}

template <class F>
void api::for_each(F&& f) const {
  const auto seeded = static_cast<std::int64_t>(seeded_);
  for (std::int64_t id = 1; id <= seeded; ++id) {
    const contact c = load(id);
    if (!c.deleted && !f(c)) return;
  }
  for (auto it = touched_.upper_bound(seeded); it != touched_.end(); ++it) {
    if (!it->second.deleted && !f(it->second)) return;
  }
}

json::object api::to_json(const contact& c, const std::string& base_url) const {
  const std::string id = std::to_string(c.id);
  return json::object{{"cdate", ac_time(c.created_s)},
                      {"email", c.email},
                      {"phone", c.phone},
                      {"firstName", c.first_name},
                      {"lastName", c.last_name},
                      {"orgid", "0"},
                      {"deleted", c.deleted ? "1" : "0"},
                      {"udate", ac_time(c.updated_s)},
                      {"updated_utc_timestamp", ac_time(c.updated_s)},
                      {"links", json::object{{"fieldValues", base_url + "/api/3/contacts/" + id + "/fieldValues"}}},
                      {"id", id}};
}

void api::emit(const contact& c, std::string type, bool admin) {
  events_.push_back(webhook_event{std::move(type), admin ? "admin" : "api", c, c.updated_s});
}

bool api::apply(contact& c, const json::object& fields, bool admin) {
  bool changed = false;
  auto set = [&](std::string& slot, const char* key) {
    if (const auto* v = fields.if_contains(key)) {
      std::string value = text(*v);
      if (value != slot) {
        slot = std::move(value);
        changed = true;
      }
    }
  };
  set(c.email, "email");
  set(c.first_name, "firstName");
  set(c.last_name, "lastName");
  set(c.phone, "phone");
  if (const auto* fv = fields.if_contains("fieldValues"); fv != nullptr && fv->is_array()) {
    for (const auto& entry : fv->get_array()) {
      if (!entry.is_object()) continue;
      const auto* field = entry.get_object().if_contains("field");
      const auto* value = entry.get_object().if_contains("value");
      if (field == nullptr || value == nullptr) continue;
      auto& slot = c.field_values[text(*field)];
      if (slot != text(*value)) {
        slot = text(*value);
        changed = true;
      }
    }
  }
  if (changed || admin) {
    c.updated_s = std::max(now_ms_() / 1000, c.updated_s);
    touched_[c.id] = c;
  }
  return changed || admin;
}

api_reply api::handle(const api_request& request) {
  try {
    return handle_checked(request);
  } catch (const std::exception& e) {  // a bug must not take the listener down
    return json_reply(500, json::object{{"message", std::string("Internal error: ") + e.what()}});
  }
}

api_reply api::handle_checked(const api_request& request) {
  std::lock_guard lock(mutex_);
  if (request.api_token.empty()) {
    return json_reply(401, json::object{{"message", "No Result found for Subscriber with id 0"}});
  }
  const auto now = now_ms_();
  if (now - window_start_ms_ >= 1000 || now < window_start_ms_) {
    window_start_ms_ = now;
    window_count_ = 0;
  }
  // ActiveCampaign documents RateLimit-Limit and RateLimit-Remaining (per second, per account) on its answers.
  if (window_count_ >= limits_.per_second) {
    auto r = json_reply(429, json::object{{"message", "Too Many Requests"}});
    r.headers.emplace_back("Retry-After", "1");
    r.headers.emplace_back("RateLimit-Limit", std::to_string(limits_.per_second));
    r.headers.emplace_back("RateLimit-Remaining", "0");
    return r;
  }
  ++window_count_;
  auto reply = handle_routed(request);
  reply.headers.emplace_back("RateLimit-Limit", std::to_string(limits_.per_second));
  reply.headers.emplace_back("RateLimit-Remaining", std::to_string(std::max<std::int64_t>(0, limits_.per_second - window_count_)));
  return reply;
}

api_reply api::handle_routed(const api_request& request) {
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) return json_reply(400, json::object{{"message", "Bad request"}});
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.emplace_back(s);
  std::map<std::string, std::string> query;
  for (auto p : parsed->params()) query[std::string(p.key)] = std::string(p.value);
  if (segs.size() < 3 || segs[0] != "api" || segs[1] != "3") {
    return json_reply(404, json::object{{"message", "No Result found"}});
  }
  const std::string& m = request.method;
  if (segs.size() == 4 && segs[2] == "contact" && segs[3] == "sync" && m == "POST") {
    boost::system::error_code ec;
    const auto body = json::parse(request.body, ec);
    if (ec) return json_reply(400, json::object{{"message", "Invalid JSON"}});
    return sync(body, request.base_url);
  }
  if (segs.size() == 3 && segs[2] == "contacts" && m == "GET") return list(query, request.base_url);
  if (segs.size() == 4 && segs[2] == "contacts" && m == "GET") {
    const auto id = parse_int(segs[3]);
    if (!id || !exists(*id) || load(*id).deleted) {
      return json_reply(404, json::object{{"message", "No Result found for Subscriber with id " + segs[3]}});
    }
    return json_reply(200, json::object{{"contact", to_json(load(*id), request.base_url)}});
  }
  if (segs.size() == 5 && segs[2] == "contacts" && segs[4] == "fieldValues" && m == "GET") {
    const auto id = parse_int(segs[3]);
    if (!id || !exists(*id)) return json_reply(404, json::object{{"message", "No Result found"}});
    json::array values;
    for (const auto& [field, value] : load(*id).field_values) {
      values.push_back(json::object{{"contact", segs[3]}, {"field", field}, {"value", value}});
    }
    return json_reply(200, json::object{{"fieldValues", std::move(values)}});
  }
  {
    auto exists_now = [this](std::int64_t id) { return exists(id) && !load(id).deleted; };
    auto r = audiences_.handle(m, std::vector<std::string>(segs.begin() + 2, segs.end()), query, request.body,
                               exists_now, request.base_url, now_ms_() / 1000);
    if (r.status != 0) return json_reply(r.status, r.body);
  }
  if (segs.size() == 3 && segs[2] == "fields" && m == "GET") {
    json::array fields{json::object{{"id", "1"}, {"title", "CRM ID"}, {"type", "text"}, {"perstag", "CRM_ID"}},
                       json::object{{"id", "2"}, {"title", "Plan"}, {"type", "dropdown"}, {"perstag", "PLAN"}},
                       json::object{{"id", "3"}, {"title", "NPS"}, {"type", "text"}, {"perstag", "NPS"}}};
    return json_reply(200, json::object{{"fields", std::move(fields)}, {"meta", json::object{{"total", "3"}}}});
  }
  return json_reply(404, json::object{{"message", "No Result found"}});
}

api_reply api::sync(const json::value& body, const std::string& base_url) {
  const auto* c = body.is_object() ? body.get_object().if_contains("contact") : nullptr;
  if (c == nullptr || !c->is_object()) {
    return json_reply(422, json::object{{"errors", json::array{json::object{{"title", "Contact is required"},
                                                                            {"detail", ""},
                                                                            {"code", "field_missing"}}}}});
  }
  const auto& fields = c->get_object();
  const std::string email = fields.if_contains("email") ? text(fields.at("email")) : std::string();
  if (email.empty() || email.find('@') == std::string::npos) {
    return json_reply(422, json::object{{"errors", json::array{json::object{
                                                       {"title", "Contact Email Address is not valid."},
                                                       {"detail", ""},
                                                       {"code", "email_invalid"},
                                                       {"source", json::object{{"pointer", "/data/attributes/email"}}}}}}});
  }
  std::optional<std::int64_t> found;
  const std::string want = ascii_lower(email);
  for_each([&](const contact& x) {
    if (ascii_lower(x.email) == want) {
      found = x.id;
      return false;
    }
    return true;
  });
  contact result;
  int status = 200;
  if (found) {
    result = load(*found);
    if (apply(result, fields, false)) emit(result, "update", false);
  } else {
    result.id = next_id_++;
    result.created_s = result.updated_s = now_ms_() / 1000;
    json::object copy = fields;
    result.email = email;
    copy.erase("email");
    apply(result, copy, false);
    touched_[result.id] = result;
    emit(result, "subscribe", false);
    status = 201;
  }
  json::array values;
  for (const auto& [field, value] : result.field_values) {
    values.push_back(json::object{{"contact", std::to_string(result.id)}, {"field", field}, {"value", value}});
  }
  return json_reply(status, json::object{{"fieldValues", std::move(values)}, {"contact", to_json(result, base_url)}});
}

api_reply api::list(const std::map<std::string, std::string>& query, const std::string& base_url) {
  std::size_t limit = 20;
  std::size_t offset = 0;
  if (const auto it = query.find("limit"); it != query.end()) {
    limit = std::clamp<std::size_t>(static_cast<std::size_t>(parse_int(it->second).value_or(20)), 1, limits_.list_max);
  }
  if (const auto it = query.find("offset"); it != query.end()) {
    offset = static_cast<std::size_t>(std::max<std::int64_t>(0, parse_int(it->second).value_or(0)));
  }
  std::optional<std::int64_t> updated_after;
  if (const auto it = query.find("filters[updated_after]"); it != query.end()) {
    updated_after = parse_time(it->second);
    if (!updated_after) {
      return json_reply(400, json::object{{"message", "Invalid filters[updated_after]: " + it->second}});
    }
  }
  std::string email;
  if (const auto it = query.find("email"); it != query.end()) email = ascii_lower(it->second);
  // id_greater with orders[id]=ASC is the paging ActiveCampaign recommends for many contacts (no offsets).
  std::optional<std::int64_t> id_greater;
  if (const auto it = query.find("id_greater"); it != query.end()) {
    id_greater = parse_int(it->second);
    if (!id_greater) return json_reply(400, json::object{{"message", "Invalid id_greater: " + it->second}});
  }
  std::vector<contact> hits;
  for_each([&](const contact& c) {
    if (updated_after && c.updated_s <= *updated_after) return true;
    if (id_greater && c.id <= *id_greater) return true;
    if (!email.empty() && ascii_lower(c.email) != email) return true;
    hits.push_back(c);
    return true;
  });
  if (const auto it = query.find("orders[udate]"); it != query.end()) {
    const bool desc = ascii_lower(it->second) == "desc";
    std::stable_sort(hits.begin(), hits.end(), [desc](const contact& a, const contact& b) {
      if (a.updated_s != b.updated_s) return desc ? a.updated_s > b.updated_s : a.updated_s < b.updated_s;
      return a.id < b.id;
    });
  } else if (const auto by_id = query.find("orders[id]"); by_id != query.end()) {
    const bool desc = ascii_lower(by_id->second) == "desc";
    std::stable_sort(hits.begin(), hits.end(),
                     [desc](const contact& a, const contact& b) { return desc ? a.id > b.id : a.id < b.id; });
  }
  json::array out;
  for (std::size_t i = offset; i < hits.size() && out.size() < limit; ++i) out.push_back(to_json(hits[i], base_url));
  json::object page_input{{"segmentid", nullptr}, {"formid", 0}, {"listid", 0}, {"tagid", 0},
                          {"limit", limit},      {"offset", offset}};
  return json_reply(200, json::object{{"scoreValues", json::array{}},
                                      {"contacts", std::move(out)},
                                      {"meta", json::object{{"total", std::to_string(hits.size())},
                                                            {"page_input", std::move(page_input)}}}});
}

std::optional<json::value> api::admin_list() {
  std::lock_guard lock(mutex_);
  json::array out;
  for_each([&](const contact& c) {
    auto o = to_json(c, "");
    json::object fv;
    for (const auto& [k, v] : c.field_values) fv[k] = v;
    o["fieldValues"] = std::move(fv);
    out.push_back(std::move(o));
    return true;
  });
  return json::value(std::move(out));
}

std::optional<json::value> api::admin_get(std::int64_t id) {
  std::lock_guard lock(mutex_);
  if (!exists(id)) return std::nullopt;
  const contact c = load(id);
  auto o = to_json(c, "");
  json::object fv;
  for (const auto& [k, v] : c.field_values) fv[k] = v;
  o["fieldValues"] = std::move(fv);
  return json::value(std::move(o));
}

json::value api::admin_create(const json::object& body) {
  std::lock_guard lock(mutex_);
  const json::object* src = &body;
  if (const auto* inner = body.if_contains("contact"); inner != nullptr && inner->is_object()) src = &inner->get_object();
  contact c;
  c.id = next_id_++;
  c.created_s = c.updated_s = now_ms_() / 1000;
  apply(c, *src, true);
  emit(c, "subscribe", true);
  return json::value(to_json(c, ""));
}

std::optional<json::value> api::admin_update(std::int64_t id, const json::object& body) {
  std::lock_guard lock(mutex_);
  if (!exists(id)) return std::nullopt;
  contact c = load(id);
  if (c.deleted) return std::nullopt;
  const json::object* src = &body;
  if (const auto* inner = body.if_contains("contact"); inner != nullptr && inner->is_object()) src = &inner->get_object();
  apply(c, *src, true);
  emit(c, "update", true);
  return json::value(to_json(c, ""));
}

bool api::admin_delete(std::int64_t id) {
  std::lock_guard lock(mutex_);
  if (!exists(id)) return false;
  contact c = load(id);
  if (c.deleted) return false;
  c.deleted = true;
  c.updated_s = std::max(now_ms_() / 1000, c.updated_s);
  touched_[id] = c;
  emit(c, "unsubscribe", true);
  return true;
}

admin_reply api::admin(std::string_view method, std::string_view object, std::string_view id, std::string_view body) {
  json::object in;
  if (!body.empty()) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return {400, json::object{{"error", "body must be a JSON object"}}};
    in = std::move(v.get_object());
  }
  if (object == "tags" || object == "contactTags" || object == "contactLists" || object == "lists") {
    std::lock_guard lock(mutex_);
    auto r = audiences_.admin(std::string(method), std::string(object), std::string(id), std::string(body),
                              now_ms_() / 1000);
    return {r.status, r.body};
  }
  if (object != "contacts") return {404, json::object{{"error", "unknown object " + std::string(object)}}};
  std::optional<std::int64_t> n;
  if (!id.empty()) {
    n = parse_int(id);
    if (!n) return {404, json::object{{"error", "no such id"}}};
  }
  const admin_reply missing{404, json::object{{"error", "not found"}}};
  if (method == "GET" && !n) return {200, *admin_list()};
  if (method == "GET") {
    auto v = admin_get(*n);
    return v ? admin_reply{200, *v} : missing;
  }
  if (method == "POST" && !n) return {201, admin_create(in)};
  if ((method == "PATCH" || method == "PUT") && n) {
    auto v = admin_update(*n, in);
    return v ? admin_reply{200, *v} : missing;
  }
  if (method == "DELETE" && n) return admin_delete(*n) ? admin_reply{200, json::object{{"deleted", true}}} : missing;
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value api::snapshot() {
  json::object out{{"contacts", *admin_list()}};
  std::lock_guard lock(mutex_);
  out["audiences"] = audiences_.snapshot();
  return out;
}

void api::set_limits(const json::object& limits) {
  std::lock_guard lock(mutex_);
  if (const auto* v = limits.if_contains("per_second"); v != nullptr && v->is_number()) {
    limits_.per_second = static_cast<std::int64_t>(v->to_number<double>());
  }
  if (const auto* v = limits.if_contains("list_max"); v != nullptr && v->is_number()) {
    limits_.list_max = static_cast<std::size_t>(v->to_number<double>());
  }
  window_count_ = 0;
}

std::vector<webhook_event> api::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

std::string api::webhook_body(const webhook_event& e) const {
  const contact& c = e.subject;
  json::object fields;
  for (const auto& [k, v] : c.field_values) fields[k] = v;
  json::object payload{{"type", e.type},
                       {"date_time", ac_time(e.time_s)},
                       {"initiated_by", e.initiated_by},
                       {"initiated_from", e.initiated_by},
                       {"list", "0"},
                       {"contact", json::object{{"id", std::to_string(c.id)},
                                                {"email", c.email},
                                                {"first_name", c.first_name},
                                                {"last_name", c.last_name},
                                                {"phone", c.phone},
                                                {"ip", "0.0.0.0"},
                                                {"tags", ""},
                                                {"fields", std::move(fields)}}}};
  return form_encode(flatten(payload));
}

std::vector<signed_webhook> api::sign_webhooks(const std::vector<webhook_event>& events) const {
  std::vector<signed_webhook> out;
  for (const auto& e : events) {
    out.push_back(signed_webhook{webhook_body(e),
                                 {{"Content-Type", "application/x-www-form-urlencoded"},
                                  {"User-Agent", "ActiveCampaign-Webhook/1.0"}}});
  }
  return out;
}

seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms) {
  seed_source s;
  const std::size_t count = size / 2;
  s.count = [count] { return count; };
  s.make = [seed, count, base_ms](std::int64_t index) {
    const std::uint64_t h = mix(seed ^ (0xAC00000000ULL + static_cast<std::uint64_t>(index)));
    contact c;
    c.id = index;
    // Names come from the person's own hash, shared by every vendor simulator, so person p has the same name
    // (and email local part) in HubSpot, Zendesk, ActiveCampaign and Intercom.
    const auto who = person(seed, 2 * index - 1);
    c.first_name = who.first;
    c.last_name = (h >> 20) % 5 == 0 ? std::string() : who.last;
    // List member i is person 2i-1 of the shared population, with an upper-case email half of the time.
    c.email = c.first_name + "." + who.last + std::to_string(2 * index - 1) +
              "@example.com";
    if ((h >> 16) % 2 == 0) c.email = ascii_lower(c.email);
    if ((h >> 24) % 3 != 0) c.phone = "415-555-" + std::to_string(1000 + index % 9000);
    c.created_s = base_ms / 1000 - (static_cast<std::int64_t>(count) - index + 2) * 60;
    c.updated_s = c.created_s + static_cast<std::int64_t>(h % 50);
    c.field_values["2"] = (h >> 28) % 2 ? "pro" : "free";
    return c;
  };
  return s;
}

}  // namespace omnisync::sim::activecampaign
