#include "sim/zendesk/api.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <limits>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "sim/zendesk/cursor.hpp"
#include "sim/zendesk/signature.hpp"
#include "sim/core/people.hpp"
#include "sim/core/validate.hpp"

namespace omnisync::sim::zendesk {
namespace json = boost::json;
namespace {

using query_map = std::map<std::string, std::string>;

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

api_reply json_reply(int status, const json::value& body) {
  api_reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = json::serialize(body);
  return r;
}

api_reply error_reply(int status, std::string_view error, std::string description) {
  return json_reply(status, json::object{{"error", error}, {"description", std::move(description)}});
}

}  // namespace

std::string iso_s(std::int64_t epoch_s) {
  std::int64_t days = epoch_s >= 0 ? epoch_s / 86400 : -((-epoch_s + 86399) / 86400);
  const std::int64_t rem = epoch_s - days * 86400;
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
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

api::api(seed_source seed, std::function<std::int64_t()> now_ms, std::int64_t account_id)
    : seed_(std::move(seed)), now_ms_(std::move(now_ms)), account_id_(account_id) {
  reset();
}

const std::vector<std::string>& api::kinds() {
  static const std::vector<std::string> k = {"users", "tickets", "satisfaction_ratings"};
  return k;
}

void api::reset() {
  std::lock_guard lock(mutex_);
  kinds_.clear();
  for (const auto& [name, singular] : std::array<std::pair<const char*, const char*>, 3>{
           {{"users", "user"}, {"tickets", "ticket"}, {"satisfaction_ratings", "satisfaction_rating"}}}) {
    kind_state k;
    k.name = name;
    k.singular = singular;
    k.seeded = seed_.count ? seed_.count(name) : 0;
    // Zendesk ids are large; created records continue after the seeded range.
    k.next_id = static_cast<std::int64_t>(k.seeded) + 1;
    kinds_.push_back(std::move(k));
  }
  jobs_.clear();
  events_.clear();
  const auto now = now_ms_();
  all_ = incremental_ = cursor_users_ = window{now, 0};
}

api::kind_state* api::find_kind(std::string_view kind) {
  for (auto& k : kinds_) {
    if (k.name == kind || k.singular == kind) return &k;
  }
  return nullptr;
}

bool api::exists(const kind_state& k, std::int64_t id) const {
  if (k.purged.count(id) != 0) return false;
  return (id >= 1 && id <= static_cast<std::int64_t>(k.seeded)) || k.touched.count(id) != 0;
}

record api::load(const kind_state& k, std::int64_t id) const {
  if (const auto it = k.touched.find(id); it != k.touched.end()) return it->second;
  record r = seed_.make(k.name, id);
  r.id = id;
  return r;
}

template <class F>
void api::for_each(const kind_state& k, F&& f, std::int64_t first_id) const {
  const auto seeded = static_cast<std::int64_t>(k.seeded);
  for (std::int64_t id = std::max<std::int64_t>(1, first_id); id <= seeded; ++id) {
    if (k.purged.count(id) != 0) continue;
    if (const auto it = k.touched.find(id); it != k.touched.end()) {
      if (!f(it->second)) return;
    } else if (!f(load(k, id))) {
      return;
    }
  }
  for (auto it = k.touched.lower_bound(std::max(seeded + 1, first_id)); it != k.touched.end(); ++it) {
    if (!f(it->second)) return;
  }
}

void api::store(kind_state& k, const record& r) {
  if (k.indexed) {
    if (exists(k, r.id)) {
      const record before = load(k, r.id);
      k.by_updated.erase({before.updated_s, before.id});
    }
    k.by_updated.insert({r.updated_s, r.id});
  }
  k.touched[r.id] = r;
}

void api::ensure_index(kind_state& k) {
  if (k.indexed) return;
  for_each(k, [&](const record& r) {
    k.by_updated.insert({r.updated_s, r.id});
    return true;
  });
  k.indexed = true;
}

std::int64_t api::settled_until_s() const { return now_ms_() / 1000 - limits_.export_settle_s; }

std::vector<record> api::export_page(kind_state& k, export_position from, std::size_t n, bool exclude_deleted) {
  ensure_index(k);
  std::vector<record> out;
  const std::int64_t until = limits_.export_settle_s > 0 ? settled_until_s() : std::numeric_limits<std::int64_t>::max();
  for (auto it = k.by_updated.upper_bound({from.updated_at_s, from.id});
       it != k.by_updated.end() && it->first <= until && out.size() < n; ++it) {
    record r = load(k, it->second);
    if (exclude_deleted && r.deleted) continue;
    out.push_back(std::move(r));
  }
  return out;
}

json::object api::to_json(const kind_state& k, const record& r, const std::string& base_url) const {
  json::object o;
  o["url"] = base_url + "/api/v2/" + k.name + "/" + std::to_string(r.id) + ".json";
  o["id"] = r.id;
  for (const auto& [key, value] : r.fields) o[key] = value;
  o["created_at"] = iso_s(r.created_s);
  o["updated_at"] = iso_s(r.updated_s);
  if (k.name == "users") o["active"] = !r.deleted;
  if (k.name == "tickets") {
    o["generated_timestamp"] = r.updated_s;
    if (r.deleted) o["status"] = "deleted";
  }
  return o;
}

void api::emit(const kind_state& k, const record& r, std::string_view what, json::object event) {
  if (k.name == "satisfaction_ratings") return;
  webhook_event e;
  const std::uint64_t h = mix(static_cast<std::uint64_t>(next_event_) * 7919 + static_cast<std::uint64_t>(account_id_));
  char uuid[48];
  std::snprintf(uuid, sizeof uuid, "%08llx-%04llx-4%03llx-a%03llx-%012llx",
                static_cast<unsigned long long>(h >> 32), static_cast<unsigned long long>((h >> 16) & 0xffff),
                static_cast<unsigned long long>(h & 0xfff), static_cast<unsigned long long>((h >> 12) & 0xfff),
                static_cast<unsigned long long>(next_event_));
  ++next_event_;
  e.id = uuid;
  e.type = "zen:event-type:" + k.singular + "." + std::string(what);
  e.subject_id = r.id;
  e.subject_kind = k.singular;
  e.time_s = r.updated_s;
  json::object detail;
  detail["id"] = std::to_string(r.id);
  for (const auto& [key, value] : r.fields) {
    if (value.is_string() || value.is_null()) detail[key] = value.is_null() ? json::value("") : value;
    else if (value.is_number() || value.is_bool()) detail[key] = json::serialize(value);
  }
  detail["created_at"] = iso_s(r.created_s);
  detail["updated_at"] = iso_s(r.updated_s);
  e.detail = std::move(detail);
  e.event = std::move(event);
  events_.push_back(std::move(e));
}

void api::apply_changes(kind_state& k, record& r, const json::object& changes) {
  std::vector<std::pair<std::string, std::pair<json::value, json::value>>> changed;
  for (const auto& [key, given] : changes) {
    if (key == "id" || key == "url" || key == "created_at" || key == "updated_at") continue;
    const auto* old = r.fields.if_contains(key);
    json::value value = given;
    // Zendesk updates only the custom user fields a request names; the others keep their values.
    if (key == "user_fields" && given.is_object() && old != nullptr && old->is_object()) {
      json::object merged = old->get_object();
      for (const auto& [field, v] : given.get_object()) merged[field] = v;
      value = std::move(merged);
    }
    if (old != nullptr && *old == value) continue;
    changed.push_back({std::string(key), {old == nullptr ? json::value(nullptr) : *old, value}});
    r.fields[key] = value;
  }
  if (changed.empty()) return;
  r.updated_s = std::max(now_ms_() / 1000, r.updated_s);
  store(k, r);
  for (const auto& [key, values] : changed) {
    std::string what = key + "_changed";
    if (k.name == "users") {
      if (key == "email" || key == "phone") what = "identity_changed";
      else if (key == "user_fields") what = "custom_field_changed";
      else if (key != "name" && key != "external_id" && key != "role" && key != "active") what = "details_changed";
    } else if (key != "status" && key != "subject" && key != "priority") {
      what = "custom_field_changed";
    }
    emit(k, r, what, json::object{{"field", key}, {"previous", values.first}, {"current", values.second}});
  }
}

std::optional<api_reply> api::limit(window& w, std::int64_t max, std::string_view what) {
  const auto now = now_ms_();
  if (now - w.start_ms >= 60'000 || now < w.start_ms) w = window{now, 0};
  if (w.count >= max) {
    api_reply r;
    r.status = 429;
    const auto retry = std::max<std::int64_t>(1, (w.start_ms + 60'000 - now + 999) / 1000);
    r.headers.emplace_back("Retry-After", std::to_string(retry));
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = "Rate limit for " + std::string(what) + " exceeded. Please wait and try your request again.";
    return r;
  }
  ++w.count;
  return std::nullopt;
}

api_reply api::handle(const api_request& request) {
  std::lock_guard lock(mutex_);
  if (!request.authorization.starts_with("Basic ") && !request.authorization.starts_with("Bearer ")) {
    return error_reply(401, "Couldn't authenticate you", "Missing or invalid credentials");
  }
  if (auto limited = limit(all_, limits_.per_minute, "account")) return *limited;
  api_reply reply;
  try {
    reply = route(request);
  } catch (const std::exception& e) {  // a bug must not take the listener down
    reply = error_reply(500, "InternalError", e.what());
  }
  reply.headers.emplace_back("X-Rate-Limit", std::to_string(limits_.per_minute));
  reply.headers.emplace_back("X-Rate-Limit-Remaining", std::to_string(limits_.per_minute - all_.count));
  return reply;
}

api_reply api::route(const api_request& request) {
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) return error_reply(400, "InvalidEndpoint", "Invalid request target");
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.emplace_back(s);
  if (!segs.empty() && segs.back().ends_with(".json")) segs.back().resize(segs.back().size() - 5);
  query_map query;
  for (auto p : parsed->params()) query[std::string(p.key)] = std::string(p.value);
  const std::string& m = request.method;
  if (segs.size() < 3 || segs[0] != "api" || segs[1] != "v2") return error_reply(404, "InvalidEndpoint", "Not found");
  json::value body;
  if (m == "POST" || m == "PUT") {
    boost::system::error_code ec;
    body = json::parse(request.body, ec);
    if (ec) return error_reply(400, "Unprocessable Entity", "Server could not parse JSON");
  }
  const std::string& base = request.base_url;
  // /api/v2/incremental/{users|tickets}[/cursor]
  if (segs[2] == "incremental" && m == "GET" && (segs.size() == 4 || (segs.size() == 5 && segs[4] == "cursor"))) {
    kind_state* k = find_kind(segs[3]);
    if (k == nullptr || k->name == "satisfaction_ratings") return error_reply(404, "InvalidEndpoint", "Not found");
    if (segs.size() == 5) {
      if (k->name == "users") {
        if (auto limited = limit(cursor_users_, limits_.cursor_users_per_minute, "incremental exports cursor")) {
          return *limited;
        }
      } else if (auto limited = limit(incremental_, limits_.incremental_per_minute, "incremental exports")) {
        return *limited;
      }
      auto r = cursor_export(*k, query, base);
      if (k->name == "users") {
        r.headers.emplace_back("Zendesk-RateLimit-incremental-exports-cursor",
                               "total=" + std::to_string(limits_.cursor_users_per_minute) +
                                   "; remaining=" + std::to_string(limits_.cursor_users_per_minute - cursor_users_.count) +
                                   "; resets=" + std::to_string((cursor_users_.start_ms + 60'000 - now_ms_()) / 1000));
      }
      return r;
    }
    if (auto limited = limit(incremental_, limits_.incremental_per_minute, "incremental exports")) return *limited;
    return time_export(*k, query, base);
  }
  if (segs[2] == "users" && segs.size() == 4 && m == "POST" && segs[3] == "create_or_update") {
    return create_or_update(body, base);
  }
  if (segs[2] == "users" && segs.size() == 4 && m == "POST" && segs[3] == "create_or_update_many") {
    return create_or_update_many(body, base);
  }
  if (segs[2] == "users" && segs.size() == 4 && m == "PUT" && segs[3] == "update_many") {
    return update_many(body, query, base);
  }
  if ((segs[2] == "users" || segs[2] == "tickets") && segs.size() == 4 && m == "GET" && segs[3] == "show_many") {
    return show_many(*find_kind(segs[2]), query, base);
  }
  if (segs[2] == "users" && segs.size() == 4 && m == "GET" && segs[3] == "search") return search_users(query, base);
  if (segs[2] == "job_statuses" && segs.size() == 4 && m == "GET") return job_status(segs[3], base);
  if (segs[2] == "satisfaction_ratings" && segs.size() == 3 && m == "GET") return ratings(query, base);
  if ((segs[2] == "users" || segs[2] == "tickets") && segs.size() == 3 && m == "GET") {
    return list(*find_kind(segs[2]), query, base);
  }
  if (segs[2] == "users" && segs.size() == 4 && m == "DELETE") return delete_user(segs[3], base);
  if (segs[2] == "user_fields" && segs.size() == 3 && m == "GET") return user_fields();
  if ((segs[2] == "users" || segs[2] == "tickets" || segs[2] == "satisfaction_ratings") && segs.size() == 4 &&
      m == "GET") {
    return show(*find_kind(segs[2]), segs[3], base);
  }
  return error_reply(404, "InvalidEndpoint", "Not found");
}

api_reply api::cursor_export(kind_state& k, const query_map& query, const std::string& base_url) {
  export_position from;
  const auto cursor_it = query.find("cursor");
  if (cursor_it != query.end()) {
    const auto decoded = decode_cursor(cursor_it->second);
    if (!decoded) return error_reply(400, "InvalidPaginationParameter", "Invalid cursor");
    from = *decoded;
  } else {
    const auto st = query.find("start_time");
    if (st == query.end()) return error_reply(400, "InvalidValue", "start_time or cursor is required");
    const auto start = parse_int(st->second);
    if (!start) return error_reply(400, "InvalidValue", "Invalid start_time");
    if (auto err = check_start_time(*start, now_ms_() / 1000)) return error_reply(400, "InvalidValue", *err);
    from = {*start, 0};
    // (start, 0) is exclusive, so records updated exactly at start_time (ids are >= 1) are included.
  }
  std::size_t per_page = limits_.export_per_page_max;
  if (const auto it = query.find("per_page"); it != query.end()) {
    const auto n = parse_int(it->second);
    if (!n || *n < 1) return error_reply(400, "InvalidValue", "Invalid per_page");
    per_page = std::min<std::size_t>(static_cast<std::size_t>(*n), limits_.export_per_page_max);
  }
  const bool exclude_deleted = query.count("exclude_deleted") != 0 && query.at("exclude_deleted") == "true";
  // One record more than the page tells whether the stream ends here.
  const std::vector<record> hits = export_page(k, from, per_page + 1, exclude_deleted);
  json::array items;
  export_position last = from;
  for (std::size_t i = 0; i < hits.size() && i < per_page; ++i) {
    items.push_back(to_json(k, hits[i], base_url));
    last = {hits[i].updated_s, hits[i].id};
  }
  const bool end = hits.size() <= per_page;
  const std::string after = encode_cursor(last);
  json::object body{{k.name, std::move(items)},
                    {"after_url", base_url + "/api/v2/incremental/" + k.name + "/cursor.json?cursor=" + after},
                    {"after_cursor", after},
                    {"before_url", nullptr},
                    {"before_cursor", nullptr},
                    {"end_of_stream", end}};
  return json_reply(200, body);
}

api_reply api::time_export(kind_state& k, const query_map& query, const std::string& base_url) {
  const auto st = query.find("start_time");
  const auto start = st == query.end() ? std::nullopt : parse_int(st->second);
  if (!start) return error_reply(400, "InvalidValue", "start_time is required");
  if (auto err = check_start_time(*start, now_ms_() / 1000)) return error_reply(400, "InvalidValue", *err);
  std::size_t per_page = limits_.export_per_page_max;
  if (const auto it = query.find("per_page"); it != query.end()) {
    if (const auto n = parse_int(it->second); n && *n >= 1) {
      per_page = std::min<std::size_t>(static_cast<std::size_t>(*n), limits_.export_per_page_max);
    }
  }
  const std::vector<record> hits = export_page(k, {*start, 0}, per_page, false);
  json::array items;
  std::int64_t end_time = *start;
  for (std::size_t i = 0; i < hits.size() && i < per_page; ++i) {
    items.push_back(to_json(k, hits[i], base_url));
    end_time = hits[i].updated_s;
  }
  const bool end = hits.size() < per_page;
  // Time-based pages restart at end_time, so records at the boundary repeat (as Zendesk documents).
  if (!end && end_time == *start) ++end_time;  // a page full of one second would never advance
  const std::size_t count = items.size();
  json::object body{{k.name, std::move(items)},
                    {"next_page", base_url + "/api/v2/incremental/" + k.name + ".json?start_time=" + std::to_string(end_time)},
                    {"count", count},
                    {"end_time", end_time},
                    {"end_of_stream", end}};
  return json_reply(200, body);
}

namespace {

/// Zendesk's validation of a user body: per field, the problems in the shape RecordInvalid answers carry
/// ({"email":[{"description":"Email: x is not properly formatted","error":"InvalidFormat"}]}). `creating`: a new
/// user needs a name. Custom fields are checked against their definitions (user_fields()): a dropdown takes one
/// of its options' values, an integer field integers, a decimal field numbers, a date field YYYY-MM-DD.
json::object user_problems(const json::object& user, bool creating) {
  json::object details;
  auto add = [&](const std::string& field, std::string description, const char* error) {
    auto& list = details[field];
    if (!list.is_array()) list = json::array{};
    list.as_array().push_back(json::object{{"description", std::move(description)}, {"error", error}});
  };
  const std::string email = text_of(user, "email");
  if (!email.empty() && !valid_email(email)) add("email", "Email: " + email + " is not properly formatted", "InvalidFormat");
  if (const auto* n = user.if_contains("name"); n != nullptr ? (!n->is_string() || n->get_string().empty()) : creating)
    add("name", "Name: is too short (minimum one character)", "BlankValue");
  if (const auto* n = user.if_contains("name"); n != nullptr && n->is_string() && n->get_string().size() > 255)
    add("name", "Name: is too long (maximum is 255 characters)", "TooLong");
  if (const auto* uf = user.if_contains("user_fields"); uf != nullptr && uf->is_object()) {
    for (const auto& [key, value] : uf->get_object()) {
      if (value.is_null() || (value.is_string() && value.get_string().empty())) continue;
      const std::string text = value.is_string() ? std::string(value.get_string()) : json::serialize(value);
      if (key == "plan" && text != "free" && text != "pro" && text != "enterprise")
        add("plan", "Plan: " + text + " is not a valid option", "InvalidValue");
      if (key == "nps_score" && !(value.is_int64() || value.is_uint64() ||
                                  (value.is_string() && parse_int(value.get_string()).has_value())))
        add("nps_score", "NPS score: " + text + " is not an integer", "InvalidValue");
      if (key == "lifetime_value" && !(value.is_number() || (value.is_string() && plain_number(value.get_string()))))
        add("lifetime_value", "Lifetime value: " + text + " is not a number", "InvalidValue");
    }
  }
  return details;
}

/// The first problem's description, as bulk job results carry it.
std::string first_problem(const json::object& details) {
  return std::string(details.begin()->value().as_array()[0].as_object().at("description").as_string());
}

}  // namespace

std::optional<std::int64_t> api::find_user(const std::string& email, const std::string& external_id) {
  kind_state& users = *find_kind("users");
  std::optional<std::int64_t> found;
  const std::string want = lower(email);
  // Zendesk matches on external_id or email (api-notes §3): the external_id first, then the email.
  std::optional<std::int64_t> by_email;
  for_each(users, [&](const record& r) {
    if (r.deleted) return true;
    if (!external_id.empty() && text_of(r.fields, "external_id") == external_id) {
      found = r.id;
      return false;
    }
    if (!by_email && !want.empty() && lower(text_of(r.fields, "email")) == want) by_email = r.id;
    return true;
  });
  return found ? found : by_email;
}

json::object api::upsert_user(const json::object& user, std::size_t index, bool& created, std::int64_t& id) {
  const std::string email = text_of(user, "email");
  const std::string external_id = text_of(user, "external_id");
  created = false;
  id = 0;
  if (email.empty() && external_id.empty()) {
    return json::object{{"index", index}, {"error", "EmailOrExternalIdRequired"},
                        {"details", "email or external_id is required"}, {"status", "Failed"}, {"success", false}};
  }
  kind_state& users = *find_kind("users");
  const auto existing_id = find_user(email, external_id);
  if (auto problems = user_problems(user, !existing_id); !problems.empty()) {
    return json::object{{"index", index}, {"error", "RecordInvalid"}, {"details", first_problem(problems)},
                        {"field_details", std::move(problems)}, {"status", "Failed"}, {"success", false}};
  }
  json::object changes;
  for (const auto& [key, value] : user) {
    if (key == "id" || key == "url" || key == "created_at" || key == "updated_at") continue;
    changes[key] = value;
  }
  if (const auto existing = existing_id) {
    record r = load(users, *existing);
    apply_changes(users, r, changes);
    id = r.id;
    return json::object{{"id", r.id}, {"status", "Updated"}, {"action", "update"}, {"success", true},
                        {"email", text_of(r.fields, "email")}};
  }
  record r;
  r.id = users.next_id++;
  r.created_s = r.updated_s = now_ms_() / 1000;
  r.fields = json::object{{"name", ""}, {"email", nullptr}, {"external_id", nullptr}, {"role", "end-user"},
                          {"phone", nullptr}, {"user_fields", json::object{}}};
  for (const auto& [key, value] : changes) r.fields[key] = value;
  store(users, r);
  emit(users, r, "created");
  created = true;
  id = r.id;
  return json::object{{"id", r.id}, {"status", "Created"}, {"action", "create"}, {"success", true}, {"email", email}};
}

api_reply api::create_or_update(const json::value& body, const std::string& base_url) {
  const auto* user = body.is_object() ? body.get_object().if_contains("user") : nullptr;
  if (user == nullptr || !user->is_object()) return error_reply(400, "InvalidValue", "user is required");
  bool created = false;
  std::int64_t id = 0;
  auto result = upsert_user(user->get_object(), 0, created, id);
  if (!result.at("success").as_bool()) {
    // "details" is keyed by field, each a list of {description, error}.
    json::value details = result.contains("field_details")
                              ? result.at("field_details")
                              : json::value(json::object{{"base", json::array{json::object{
                                                                     {"description", result.at("details")},
                                                                     {"error", result.at("error")}}}}});
    return json_reply(422, json::object{{"error", "RecordInvalid"}, {"description", "Record validation errors"},
                                        {"details", std::move(details)}});
  }
  kind_state& users = *find_kind("users");
  return json_reply(created ? 201 : 200, json::object{{"user", to_json(users, load(users, id), base_url)}});
}

api_reply api::create_or_update_many(const json::value& body, const std::string& base_url) {
  const auto* list = body.is_object() ? body.get_object().if_contains("users") : nullptr;
  if (list == nullptr || !list->is_array()) return error_reply(400, "InvalidValue", "users is required");
  if (list->get_array().size() > limits_.bulk_max) {
    return error_reply(400, "InvalidValue", "Too many users: at most " + std::to_string(limits_.bulk_max) +
                                                " may be created or updated at once");
  }
  json::array results;
  std::size_t index = 0;
  for (const auto& u : list->get_array()) {
    bool created = false;
    std::int64_t uid = 0;
    if (!u.is_object()) {
      results.push_back(json::object{{"index", index}, {"error", "InvalidValue"}, {"details", "user must be an object"},
                                     {"status", "Failed"}, {"success", false}});
    } else {
      auto result = upsert_user(u.get_object(), index, created, uid);
      result.erase("field_details");  // job results carry the description as text
      results.push_back(std::move(result));
    }
    ++index;
  }
  return start_job(std::move(results), base_url);
}

api_reply api::start_job(json::array results, const std::string& base_url) {
  job j;
  char id[40];
  std::snprintf(id, sizeof id, "%016llx%016llx", static_cast<unsigned long long>(mix(next_job_)),
                static_cast<unsigned long long>(next_job_));
  ++next_job_;
  j.id = id;
  j.created_ms = now_ms_();
  j.total = results.size();
  j.results = std::move(results);
  jobs_[j.id] = j;
  json::object status{{"id", j.id},
                      {"url", base_url + "/api/v2/job_statuses/" + j.id + ".json"},
                      {"total", j.total},
                      {"progress", 0},
                      {"status", "queued"},
                      {"message", nullptr},
                      {"results", nullptr}};
  return json_reply(200, json::object{{"job_status", std::move(status)}});
}

json::object api::update_user(std::int64_t id, const json::object& user, std::size_t index) {
  auto failed = [&](std::string error, std::string details) {
    return json::object{{"index", index}, {"id", id},          {"error", std::move(error)},
                        {"details", std::move(details)}, {"status", "Failed"}, {"success", false}};
  };
  kind_state& users = *find_kind("users");
  if (id <= 0 || !exists(users, id) || load(users, id).deleted) return failed("RecordNotFound", "User " + std::to_string(id) + " not found");
  // Email and external_id each name one user: taking another user's is refused, as Zendesk does.
  const std::string email = text_of(user, "email");
  const std::string external_id = text_of(user, "external_id");
  if (auto problems = user_problems(user, false); !problems.empty()) return failed("RecordInvalid", first_problem(problems));
  if (const auto other = email.empty() ? std::nullopt : find_user(email, ""); other && *other != id)
    return failed("RecordInvalid", "Email: " + email + " is already being used by another user");
  if (const auto other = external_id.empty() ? std::nullopt : find_user("", external_id); other && *other != id)
    return failed("RecordInvalid", "External: has already been taken");
  json::object changes;
  for (const auto& [key, value] : user) {
    if (key == "id" || key == "url" || key == "created_at" || key == "updated_at") continue;
    changes[key] = value;
  }
  record r = load(users, id);
  apply_changes(users, r, changes);
  return json::object{{"id", r.id}, {"status", "Updated"}, {"action", "update"}, {"success", true},
                      {"email", text_of(r.fields, "email")}};
}

api_reply api::update_many(const json::value& body, const query_map& query, const std::string& base_url) {
  // Two forms, as Zendesk documents: {"users":[{"id":1,...},...]} (each its own changes), or ?ids=1,2 with
  // {"user":{...}} (one change to several users). At most 100 users either way; the answer is a job status.
  json::array results;
  const auto* list = body.is_object() ? body.get_object().if_contains("users") : nullptr;
  const auto* one = body.is_object() ? body.get_object().if_contains("user") : nullptr;
  const auto ids_it = query.find("ids");
  if (list != nullptr && list->is_array()) {
    if (list->get_array().size() > limits_.bulk_max)
      return error_reply(400, "InvalidValue", "Too many users: at most " + std::to_string(limits_.bulk_max) + " may be updated at once");
    std::size_t index = 0;
    for (const auto& u : list->get_array()) {
      const auto* id = u.is_object() ? u.get_object().if_contains("id") : nullptr;
      std::optional<std::int64_t> n;
      if (id != nullptr && id->is_int64()) n = id->get_int64();
      else if (id != nullptr && id->is_uint64()) n = static_cast<std::int64_t>(id->get_uint64());
      else if (id != nullptr && id->is_string()) n = parse_int(std::string(id->get_string()));
      if (!n) {
        results.push_back(json::object{{"index", index}, {"error", "InvalidValue"}, {"details", "id is required"},
                                       {"status", "Failed"}, {"success", false}});
      } else {
        results.push_back(update_user(*n, u.get_object(), index));
      }
      ++index;
    }
  } else if (one != nullptr && one->is_object() && ids_it != query.end()) {
    std::vector<std::int64_t> ids;
    std::size_t from = 0;
    const std::string& text = ids_it->second;
    while (from <= text.size()) {
      const std::size_t comma = std::min(text.find(',', from), text.size());
      const auto n = parse_int(text.substr(from, comma - from));
      if (!n) return error_reply(400, "InvalidValue", "ids must be numbers separated by commas");
      ids.push_back(*n);
      from = comma + 1;
    }
    if (ids.size() > limits_.bulk_max)
      return error_reply(400, "InvalidValue", "Too many users: at most " + std::to_string(limits_.bulk_max) + " may be updated at once");
    for (std::size_t i = 0; i < ids.size(); ++i) results.push_back(update_user(ids[i], one->get_object(), i));
  } else {
    return error_reply(400, "InvalidValue", "users is required (or user with ?ids=)");
  }
  return start_job(std::move(results), base_url);
}

api_reply api::job_status(const std::string& id, const std::string& base_url) {
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return error_reply(404, "RecordNotFound", "Not found");
  const job& j = it->second;
  const bool done = now_ms_() - j.created_ms >= limits_.job_delay_ms;
  json::object status{{"id", j.id},
                      {"url", base_url + "/api/v2/job_statuses/" + j.id + ".json"},
                      {"total", j.total},
                      {"progress", done ? j.total : 0},
                      {"status", done ? "completed" : "queued"},
                      {"message", done ? json::value("Completed at " + iso_s(now_ms_() / 1000)) : json::value(nullptr)},
                      {"results", done ? json::value(j.results) : json::value(nullptr)}};
  return json_reply(200, json::object{{"job_status", std::move(status)}});
}

// DELETE /api/v2/users/{id}: a soft delete, as Zendesk documents it — the user stays readable with active: false
// and the incremental export reports it; deleting an already deleted user answers 404.
api_reply api::delete_user(const std::string& id_text, const std::string& base_url) {
  kind_state& users = *find_kind("users");
  const auto id = parse_int(id_text);
  if (!id || !exists(users, *id)) return error_reply(404, "RecordNotFound", "Not found");
  record r = load(users, *id);
  if (r.deleted) return error_reply(404, "RecordNotFound", "Not found");
  r.deleted = true;
  r.updated_s = std::max(now_ms_() / 1000, r.updated_s);
  store(users, r);
  emit(users, r, "deleted");
  return json_reply(200, json::object{{"user", to_json(users, r, base_url)}});
}

api_reply api::show(kind_state& k, const std::string& id_text, const std::string& base_url) {
  const auto id = parse_int(id_text);
  if (!id || !exists(k, *id)) return error_reply(404, "RecordNotFound", "Not found");
  const record r = load(k, *id);
  if (r.deleted && k.name != "users") return error_reply(404, "RecordNotFound", "Not found");
  return json_reply(200, json::object{{k.singular, to_json(k, r, base_url)}});
}

api_reply api::show_many(kind_state& k, const query_map& query, const std::string& base_url) {
  const auto it = query.find("ids");
  if (it == query.end() || it->second.empty()) return error_reply(400, "InvalidValue", "ids is required");
  std::vector<std::int64_t> ids;
  std::size_t start = 0;
  while (start <= it->second.size()) {
    const auto comma = it->second.find(',', start);
    const auto part = it->second.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto id = parse_int(part);
    if (!id) return error_reply(400, "InvalidValue", "Invalid id " + part);
    ids.push_back(*id);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (ids.size() > 100) return error_reply(400, "InvalidValue", "show_many accepts at most 100 ids");
  json::array items;
  for (const auto id : ids) {
    if (!exists(k, id)) continue;
    const record r = load(k, id);
    if (r.deleted && k.name != "users") continue;  // deleted users stay readable (active: false)
    items.push_back(to_json(k, r, base_url));
  }
  const std::size_t count = items.size();
  return json_reply(200, json::object{{k.name, std::move(items)}, {"next_page", nullptr}, {"previous_page", nullptr},
                                      {"count", count}});
}

api_reply api::search_users(const query_map& query, const std::string& base_url) {
  kind_state& users = *find_kind("users");
  std::string external_id;
  std::string email;
  std::string text;
  if (const auto it = query.find("external_id"); it != query.end()) external_id = it->second;
  if (const auto it = query.find("query"); it != query.end()) {
    text = it->second;
    if (text.starts_with("email:")) email = text.substr(6);
    else if (text.find('@') != std::string::npos) email = text;
    if (email.size() >= 2 && email.front() == '"' && email.back() == '"') email = email.substr(1, email.size() - 2);
  }
  if (external_id.empty() && text.empty()) return error_reply(400, "InvalidValue", "query or external_id is required");
  json::array items;
  const std::string want_email = lower(email);
  const std::string want_text = lower(text);
  for_each(users, [&](const record& r) {
    if (r.deleted) return true;
    bool hit = false;
    if (!external_id.empty()) hit = text_of(r.fields, "external_id") == external_id;
    else if (!want_email.empty()) hit = lower(text_of(r.fields, "email")) == want_email;
    else hit = lower(text_of(r.fields, "name")).find(want_text) != std::string::npos;
    if (hit) items.push_back(to_json(users, r, base_url));
    return items.size() < 100;
  });
  const std::size_t count = items.size();
  return json_reply(200, json::object{{"users", std::move(items)}, {"next_page", nullptr}, {"previous_page", nullptr},
                                      {"count", count}});
}

api_reply api::ratings(const query_map& query, const std::string& base_url) {
  kind_state& k = *find_kind("satisfaction_ratings");
  std::int64_t start = 0;
  std::int64_t end = INT64_MAX;
  if (const auto it = query.find("start_time"); it != query.end()) start = parse_int(it->second).value_or(0);
  if (const auto it = query.find("end_time"); it != query.end()) end = parse_int(it->second).value_or(INT64_MAX);
  // score: offered, unoffered, received, received_with_comment, received_without_comment, good,
  // good_with_comment, good_without_comment, bad, bad_with_comment, bad_without_comment; "If you specify an
  // unqualified score such as good, the results include all the records with and without comments."
  std::string score;
  if (const auto it = query.find("score"); it != query.end()) score = it->second;
  static const std::array<const char*, 11> scores = {"offered", "unoffered", "received", "received_with_comment",
                                                     "received_without_comment", "good", "good_with_comment",
                                                     "good_without_comment", "bad", "bad_with_comment",
                                                     "bad_without_comment"};
  if (!score.empty() && std::none_of(scores.begin(), scores.end(), [&](const char* x) { return score == x; }))
    return error_reply(400, "InvalidValue", "score must be one of offered, unoffered, received, good, bad (with "
                                            "_with_comment / _without_comment)");
  auto score_matches = [&](const record& r) {
    if (score.empty()) return true;
    const std::string value = text_of(r.fields, "score");
    const bool commented = !text_of(r.fields, "comment").empty();
    const auto base = score.substr(0, score.find('_'));
    const bool with = score.ends_with("_with_comment"), without = score.ends_with("_without_comment");
    if ((with && !commented) || (without && commented)) return false;
    if (base == "received") return value == "good" || value == "bad";
    if (score == "offered" || score == "unoffered") return value == score;
    return value == base;
  };
  std::vector<record> hits;
  for_each(k, [&](const record& r) {
    if (!r.deleted && r.updated_s >= start && r.updated_s <= end && score_matches(r)) hits.push_back(r);
    return true;
  });  // id order
  std::size_t size = 100;
  std::int64_t after_id = 0;
  const bool cursor_mode = query.count("page[size]") != 0 || query.count("page[after]") != 0;
  if (const auto it = query.find("page[size]"); it != query.end()) {
    size = std::clamp<std::size_t>(static_cast<std::size_t>(parse_int(it->second).value_or(100)), 1, 100);
  }
  if (const auto it = query.find("page[after]"); it != query.end()) {
    const auto pos = decode_cursor(it->second);
    if (!pos) return error_reply(400, "InvalidPaginationParameter", "Invalid page[after]");
    after_id = pos->id;
  }
  std::size_t page = 1;
  if (!cursor_mode) {
    if (const auto it = query.find("per_page"); it != query.end()) {
      size = std::clamp<std::size_t>(static_cast<std::size_t>(parse_int(it->second).value_or(100)), 1, 100);
    }
    if (const auto it = query.find("page"); it != query.end()) {
      page = static_cast<std::size_t>(std::max<std::int64_t>(1, parse_int(it->second).value_or(1)));
    }
  }
  json::array items;
  std::size_t skipped = cursor_mode ? 0 : (page - 1) * size;
  std::int64_t last_id = after_id;
  bool more = false;
  for (const auto& r : hits) {
    if (r.id <= after_id) continue;
    if (skipped > 0) {
      --skipped;
      continue;
    }
    if (items.size() == size) {
      more = true;
      break;
    }
    items.push_back(to_json(k, r, base_url));
    last_id = r.id;
  }
  json::object body{{"satisfaction_ratings", std::move(items)}};
  if (cursor_mode) {
    const std::string after = encode_cursor({0, last_id});
    body["meta"] = json::object{{"has_more", more}, {"after_cursor", after}, {"before_cursor", nullptr}};
    body["links"] = json::object{
        {"next", more ? json::value(base_url + "/api/v2/satisfaction_ratings.json?page%5Bafter%5D=" + after +
                                    "&page%5Bsize%5D=" + std::to_string(size))
                      : json::value(nullptr)},
        {"prev", nullptr}};
  } else {
    body["next_page"] = more ? json::value(base_url + "/api/v2/satisfaction_ratings.json?page=" +
                                           std::to_string(page + 1) + "&per_page=" + std::to_string(size))
                             : json::value(nullptr);
    body["previous_page"] = nullptr;
    body["count"] = hits.size();
  }
  return json_reply(200, body);
}

api_reply api::list(kind_state& k, const query_map& query, const std::string& base_url) {
  // Zendesk: "List Users" leaves deleted users out (they are under /deleted_users); "List Tickets" leaves
  // deleted tickets out (and archived ones, which this simulator does not have).
  const bool cursor_mode = query.count("page[size]") != 0 || query.count("page[after]") != 0;
  std::size_t size = 100;
  std::int64_t after_id = 0;
  std::size_t page = 1;
  const char* size_key = cursor_mode ? "page[size]" : "per_page";
  if (const auto it = query.find(size_key); it != query.end()) {
    const auto n = parse_int(it->second);
    if (!n || *n < 1) return error_reply(400, "InvalidPaginationParameter", std::string("Invalid ") + size_key);
    if (*n > 100) return error_reply(400, "InvalidPaginationParameter", std::string(size_key) + " must be at most 100");
    size = static_cast<std::size_t>(*n);
  }
  if (const auto it = query.find("page[after]"); it != query.end()) {
    const auto pos = decode_cursor(it->second);
    if (!pos) return error_reply(400, "InvalidPaginationParameter", "Invalid page[after]");
    after_id = pos->id;
  }
  if (!cursor_mode) {
    if (const auto it = query.find("page"); it != query.end()) {
      page = static_cast<std::size_t>(std::max<std::int64_t>(1, parse_int(it->second).value_or(1)));
    }
  }
  json::array items;
  std::size_t skip = cursor_mode ? 0 : (page - 1) * size;
  std::int64_t last_id = after_id;
  bool more = false;
  for_each(k, [&](const record& r) {
    if (r.deleted) return true;
    if (skip > 0) {
      --skip;
      return true;
    }
    if (items.size() == size) {
      more = true;
      return false;
    }
    items.push_back(to_json(k, r, base_url));
    last_id = r.id;
    return true;
  }, after_id + 1);
  json::object body{{k.name, std::move(items)}};
  const std::string path = base_url + "/api/v2/" + k.name + ".json";
  if (cursor_mode) {
    const std::string after = encode_cursor({0, last_id});
    body["meta"] = json::object{{"has_more", more}, {"after_cursor", after}, {"before_cursor", nullptr}};
    body["links"] = json::object{
        {"next", more ? json::value(path + "?page%5Bafter%5D=" + after + "&page%5Bsize%5D=" + std::to_string(size))
                      : json::value(nullptr)},
        {"prev", nullptr}};
  } else {
    body["next_page"] = more ? json::value(path + "?page=" + std::to_string(page + 1) + "&per_page=" + std::to_string(size))
                             : json::value(nullptr);
    body["previous_page"] = nullptr;
  }
  return json_reply(200, body);
}

api_reply api::user_fields() {
  json::array fields;
  fields.push_back(json::object{{"id", 7001}, {"key", "plan"}, {"type", "dropdown"}, {"title", "Plan"},
                                {"active", true}, {"position", 0},
                                {"custom_field_options",
                                 json::array{json::object{{"id", 1}, {"name", "Free"}, {"value", "free"}},
                                             json::object{{"id", 2}, {"name", "Pro"}, {"value", "pro"}},
                                             json::object{{"id", 3}, {"name", "Enterprise"}, {"value", "enterprise"}}}}});
  fields.push_back(json::object{{"id", 7002}, {"key", "crm_id"}, {"type", "text"}, {"title", "CRM ID"},
                                {"active", true}, {"position", 1}});
  fields.push_back(json::object{{"id", 7003}, {"key", "nps_score"}, {"type", "integer"}, {"title", "NPS score"},
                                {"active", true}, {"position", 2}});
  // Fields an account configured for omnisync has (config/mappings/zendesk/users.out.yaml).
  fields.push_back(json::object{{"id", 7004}, {"key", "lifetime_value"}, {"type", "decimal"},
                                {"title", "Lifetime value"}, {"active", true}, {"position", 3}});
  fields.push_back(json::object{{"id", 7005}, {"key", "lifecycle_stage"}, {"type", "text"},
                                {"title", "Lifecycle stage"}, {"active", true}, {"position", 4}});
  return json_reply(200, json::object{{"user_fields", std::move(fields)}, {"next_page", nullptr},
                                      {"previous_page", nullptr}, {"count", 5}});
}

// ---- admin --------------------------------------------------------------------------------------------------

std::optional<json::value> api::admin_list(std::string_view kind) {
  std::lock_guard lock(mutex_);
  kind_state* k = find_kind(kind);
  if (k == nullptr) return std::nullopt;
  json::array out;
  for_each(*k, [&](const record& r) {
    out.push_back(to_json(*k, r, ""));
    return true;
  });
  return json::value(std::move(out));
}

std::optional<json::value> api::admin_get(std::string_view kind, std::int64_t id) {
  std::lock_guard lock(mutex_);
  kind_state* k = find_kind(kind);
  if (k == nullptr || !exists(*k, id)) return std::nullopt;
  return json::value(to_json(*k, load(*k, id), ""));
}

std::optional<json::value> api::admin_create(std::string_view kind, const json::object& body) {
  std::lock_guard lock(mutex_);
  kind_state* k = find_kind(kind);
  if (k == nullptr) return std::nullopt;
  const json::object* src = &body;
  if (const auto* inner = body.if_contains(k->singular); inner != nullptr && inner->is_object()) {
    src = &inner->get_object();
  }
  record r;
  r.id = k->next_id++;
  r.created_s = r.updated_s = now_ms_() / 1000;
  if (k->name == "users") {
    r.fields = json::object{{"name", ""}, {"email", nullptr}, {"external_id", nullptr}, {"role", "end-user"},
                            {"phone", nullptr}, {"user_fields", json::object{}}};
  }
  for (const auto& [key, value] : *src) {
    if (key != "id" && key != "url" && key != "created_at" && key != "updated_at") r.fields[key] = value;
  }
  store(*k, r);
  emit(*k, r, "created");
  return json::value(to_json(*k, r, ""));
}

std::optional<json::value> api::admin_update(std::string_view kind, std::int64_t id, const json::object& body) {
  std::lock_guard lock(mutex_);
  kind_state* k = find_kind(kind);
  if (k == nullptr || !exists(*k, id)) return std::nullopt;
  record r = load(*k, id);
  if (r.deleted) return std::nullopt;
  const json::object* src = &body;
  if (const auto* inner = body.if_contains(k->singular); inner != nullptr && inner->is_object()) {
    src = &inner->get_object();
  }
  // An admin edit always counts as a change: the stamp moves even when values are equal.
  const auto before = r.updated_s;
  apply_changes(*k, r, *src);
  if (r.updated_s == before) {
    r.updated_s = std::max(now_ms_() / 1000, r.updated_s);
    store(*k, r);
  }
  return json::value(to_json(*k, r, ""));
}

bool api::admin_delete(std::string_view kind, std::int64_t id, bool purge) {
  std::lock_guard lock(mutex_);
  kind_state* k = find_kind(kind);
  if (k == nullptr || !exists(*k, id)) return false;
  record r = load(*k, id);
  if (purge) {
    // No event, no export entry: the record just stops existing (what reconciliation by id sets finds).
    if (k->indexed) k->by_updated.erase({r.updated_s, r.id});
    k->touched.erase(id);
    k->purged.insert(id);
    return true;
  }
  if (r.deleted) return false;
  r.deleted = true;
  r.updated_s = std::max(now_ms_() / 1000, r.updated_s);
  store(*k, r);
  emit(*k, r, "deleted");
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
  if (std::find(kinds().begin(), kinds().end(), object) == kinds().end()) {
    return {404, json::object{{"error", "unknown object " + std::string(object)}}};
  }
  std::optional<std::int64_t> n;
  bool purge = false;
  if (const auto qm = id.find('?'); qm != std::string_view::npos) {
    purge = id.substr(qm + 1).find("purge=true") != std::string_view::npos;
    id = id.substr(0, qm);
  }
  if (!id.empty()) {
    n = parse_int(id);
    if (!n) return {404, json::object{{"error", "no such id"}}};
  }
  const admin_reply missing{404, json::object{{"error", "not found"}}};
  if (method == "GET" && !n) return {200, *admin_list(object)};
  if (method == "GET") {
    auto v = admin_get(object, *n);
    return v ? admin_reply{200, *v} : missing;
  }
  if (method == "POST" && !n) return {201, *admin_create(object, in)};
  if ((method == "PATCH" || method == "PUT") && n) {
    auto v = admin_update(object, *n, in);
    return v ? admin_reply{200, *v} : missing;
  }
  if (method == "DELETE" && n) return admin_delete(object, *n, purge) ? admin_reply{200, json::object{{"deleted", true}}} : missing;
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value api::snapshot() {
  json::object out;
  for (const auto& kind : kinds()) out[kind] = *admin_list(kind);
  return out;
}

void api::set_limits(const json::object& limits) {
  std::lock_guard lock(mutex_);
  auto get = [&](const char* key, auto& slot) {
    if (const auto* v = limits.if_contains(key); v != nullptr && v->is_number()) {
      slot = static_cast<std::remove_reference_t<decltype(slot)>>(v->to_number<double>());
    }
  };
  get("per_minute", limits_.per_minute);
  get("incremental_per_minute", limits_.incremental_per_minute);
  get("cursor_users_per_minute", limits_.cursor_users_per_minute);
  get("export_per_page_max", limits_.export_per_page_max);
  get("bulk_max", limits_.bulk_max);
  get("job_delay_ms", limits_.job_delay_ms);
  get("export_settle_s", limits_.export_settle_s);
  const auto now = now_ms_();
  all_ = incremental_ = cursor_users_ = window{now, 0};
}

std::vector<webhook_event> api::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

std::string api::webhook_body(const webhook_event& e) const {
  json::object body{{"type", e.type},
                    {"account_id", account_id_},
                    {"id", e.id},
                    {"subject", "zen:" + e.subject_kind + ":" + std::to_string(e.subject_id)},
                    {"time", iso_s(e.time_s)},
                    {"zendesk_event_version", "2022-06-20"},
                    {"detail", e.detail},
                    {"event", e.event}};
  return json::serialize(body);
}

std::vector<signed_webhook> api::sign_webhooks(const std::vector<webhook_event>& events, std::string_view secret,
                                               std::int64_t wall_ms) const {
  std::vector<signed_webhook> out;
  const std::string timestamp = iso_s(wall_ms / 1000);
  for (const auto& e : events) {
    signed_webhook w;
    w.body = webhook_body(e);
    w.headers = {{"Content-Type", "application/json; charset=utf-8"},
                 {"User-Agent", "Zendesk Webhook"},
                 {"X-Zendesk-Account-Id", std::to_string(account_id_)},
                 {"X-Zendesk-Webhook-Id", "01HSIMWEBH00K0MN1SYNC00001"},
                 {"X-Zendesk-Webhook-Invocation-Id", e.id},
                 {"X-Zendesk-Webhook-Signature", webhook_signature(secret, timestamp, w.body)},
                 {"X-Zendesk-Webhook-Signature-Timestamp", timestamp}};
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<std::int64_t> webhook_retry_delay(const delivery_outcome& o) {
  if (o.attempts > 3) return std::nullopt;
  if (o.status == 409 || o.status == 0) return 10'000;
  if ((o.status == 429 || o.status == 503) && !o.retry_after.empty()) {
    const auto seconds = parse_int(o.retry_after);
    if (seconds && *seconds >= 0 && *seconds <= 60) return *seconds * 1000;
  }
  return std::nullopt;
}

// ---- seeded data ---------------------------------------------------------------------------------------------

seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms) {
  seed_source s;
  s.count = [size](std::string_view kind) -> std::size_t {
    if (kind == "users") return size;
    if (kind == "tickets") return size / 2;
    if (kind == "satisfaction_ratings") return size / 4;
    return 0;
  };
  s.make = [seed, size, base_ms](std::string_view kind, std::int64_t index) {
    const std::uint64_t h = mix(seed ^ (std::hash<std::string_view>{}(kind) + static_cast<std::uint64_t>(index)));
    record r;
    r.id = index;
    const auto n = static_cast<std::int64_t>(size);
    // One record a minute, oldest first, the newest two minutes before start: all exportable at once.
    r.created_s = base_ms / 1000 - (n - index + 2) * 60;
    r.updated_s = r.created_s + static_cast<std::int64_t>(h % 50);
    // Names come from the person's own hash, shared by every vendor simulator, so person p has the same name
    // (and email local part) in HubSpot, Zendesk, ActiveCampaign and Intercom.
    const auto who = person(seed, index);
    const std::string fn = who.first;
    const std::string ln = who.last;
    if (kind == "users") {
      std::string email = lower(fn + "." + ln + std::to_string(index) + "@Example.com");
      if ((h >> 16) % 4 == 0) email[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(email[0])));
      char phone[32];
      std::snprintf(phone, sizeof phone, "+1415555%04llu", static_cast<unsigned long long>(index % 10000));
      r.fields = json::object{{"name", fn + " " + ln},
                              {"email", email},
                              {"external_id", (h >> 20) % 3 == 0 ? json::value(nullptr)
                                                                  : json::value("crm-" + std::to_string(index))},
                              {"role", "end-user"},
                              {"phone", (h >> 24) % 4 == 0 ? json::value(nullptr) : json::value(phone)},
                              {"user_fields", json::object{{"plan", (h >> 28) % 2 ? "pro" : "free"},
                                                           {"crm_id", nullptr},
                                                           {"nps_score", nullptr}}}};
    } else if (kind == "tickets") {
      static constexpr std::array<const char*, 4> statuses = {"new", "open", "pending", "solved"};
      r.fields = json::object{{"subject", "Question about invoice " + std::to_string(1000 + index)},
                              {"status", statuses[(h >> 12) % statuses.size()]},
                              {"priority", (h >> 14) % 2 ? "normal" : "high"},
                              {"requester_id", 2 * index - 1 <= n ? 2 * index - 1 : 1},
                              {"type", "question"}};
    } else {
      const bool good = (h >> 12) % 4 != 0;
      r.fields = json::object{{"ticket_id", index},
                              {"requester_id", 2 * index - 1 <= n ? 2 * index - 1 : 1},
                              {"score", good ? "good" : "bad"},
                              {"comment", good ? "Thanks!" : "Too slow"}};
    }
    return r;
  };
  return s;
}

}  // namespace omnisync::sim::zendesk
