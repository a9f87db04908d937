#include "sim/intercom/api.hpp"

#include "sim/intercom/signature.hpp"
#include "sim/core/people.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace omnisync::sim::intercom {
namespace json = boost::json;
namespace {

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

std::string text(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

bool is_timestamp_field(std::string_view f) {
  return f == "created_at" || f == "updated_at" || f == "signed_up_at" || f == "last_seen_at" ||
         f == "last_replied_at" || f == "last_contacted_at";
}

const std::vector<std::string>& operators() {
  static const std::vector<std::string> ops = {"=", "!=", "IN", "NIN", "<", ">", "~", "!~", "^", "$"};
  return ops;
}

// Search cursors are base64 of the offset, like the opaque strings Intercom returns.
std::string encode_offset(std::size_t offset) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string plain = "[" + std::to_string(offset) + "]";
  std::string out;
  for (std::size_t i = 0; i < plain.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(plain[i]) << 16;
    if (i + 1 < plain.size()) n |= static_cast<unsigned char>(plain[i + 1]) << 8;
    if (i + 2 < plain.size()) n |= static_cast<unsigned char>(plain[i + 2]);
    out.push_back(table[(n >> 18) & 63]);
    out.push_back(table[(n >> 12) & 63]);
    out.push_back(i + 1 < plain.size() ? table[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < plain.size() ? table[n & 63] : '=');
  }
  return out;
}

std::optional<std::size_t> decode_offset(const std::string& cursor) {
  std::string plain;
  std::uint32_t buf = 0;
  int bits = 0;
  for (const char c : cursor) {
    if (c == '=') break;
    const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char* p = std::char_traits<char>::find(table, 64, c);
    if (p == nullptr) return std::nullopt;
    buf = (buf << 6) | static_cast<std::uint32_t>(p - table);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      plain.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  if (plain.size() < 3 || plain.front() != '[' || plain.back() != ']') return std::nullopt;
  const auto n = parse_int(std::string_view(plain).substr(1, plain.size() - 2));
  if (!n || *n < 0) return std::nullopt;
  return static_cast<std::size_t>(*n);
}

api_reply json_reply(int status, const json::value& body) {
  api_reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.body = json::serialize(body);
  return r;
}

}  // namespace

std::string contact_id(std::int64_t index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "65a1%020llx", static_cast<unsigned long long>(index));
  return buf;
}

std::optional<std::int64_t> contact_index(std::string_view id) {
  if (id.size() != 24 || !id.starts_with("65a1")) return std::nullopt;
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(id.data() + 4, id.data() + id.size(), v, 16);
  if (ec != std::errc{} || p != id.data() + id.size() || v <= 0) return std::nullopt;
  return v;
}

bool timestamp_matches(std::int64_t field_s, std::string_view op, std::int64_t value_s) {
  const auto day = [](std::int64_t s) { return s >= 0 ? s / 86400 : -((-s + 86399) / 86400); };
  const auto a = day(field_s);
  const auto b = day(value_s);
  if (op == ">") return a > b;
  if (op == "<") return a < b;
  if (op == "=") return a == b;
  return false;
}

api::api(seed_source seed, std::function<std::int64_t()> now_ms, std::string app_id)
    : seed_(std::move(seed)), now_ms_(std::move(now_ms)), app_id_(std::move(app_id)) {
  reset();
}

void api::reset() {
  std::lock_guard lock(mutex_);
  touched_.clear();
  seeded_ = seed_.count ? seed_.count("contacts") : 0;
  next_index_ = static_cast<std::int64_t>(seeded_) + 1;
  events_.clear();
  window_start_ms_ = now_ms_();
  window_count_ = 0;
}

bool api::exists(std::int64_t index) const {
  return (index >= 1 && index <= static_cast<std::int64_t>(seeded_)) || touched_.count(index) != 0;
}

contact api::load(std::int64_t index) const {
  if (const auto it = touched_.find(index); it != touched_.end()) return it->second;
  contact c = seed_.make_contact(index);
  c.index = index;
  return c;
}

template <class F>
void api::for_each(F&& f) const {
  const auto seeded = static_cast<std::int64_t>(seeded_);
  for (std::int64_t i = 1; i <= seeded; ++i) {
    const contact c = load(i);
    if (!c.deleted && !f(c)) return;
  }
  for (auto it = touched_.upper_bound(seeded); it != touched_.end(); ++it) {
    if (!it->second.deleted && !f(it->second)) return;
  }
}

json::object api::to_json(const contact& c) const {
  json::object o{{"type", "contact"}, {"id", contact_id(c.index)}, {"workspace_id", app_id_},
                 {"external_id", nullptr}, {"role", "user"}, {"email", nullptr}, {"phone", nullptr},
                 {"name", nullptr}, {"custom_attributes", json::object{}}};
  for (const auto& [k, v] : c.fields) o[k] = v;
  o["created_at"] = c.created_s;
  o["updated_at"] = c.updated_s;
  return o;
}

std::optional<std::int64_t> api::find(std::string_view key, const std::string& value) const {
  std::optional<std::int64_t> found;
  for_each([&](const contact& c) {
    const auto* v = c.fields.if_contains(key);
    if (v != nullptr && !value.empty() && lower(text(v)) == lower(value)) {
      found = c.index;
      return false;
    }
    return true;
  });
  return found;
}

void api::emit(const contact& c, std::string topic) {
  webhook_event e;
  char id[64];
  const auto h = mix(static_cast<std::uint64_t>(next_event_));
  std::snprintf(id, sizeof id, "notif_%08llx-%04llx-11e4-9464-%012llx", static_cast<unsigned long long>(h >> 32),
                static_cast<unsigned long long>(h & 0xffff), static_cast<unsigned long long>(next_event_));
  ++next_event_;
  e.id = id;
  e.topic = std::move(topic);
  e.time_s = c.updated_s;
  e.item = to_json(c);
  events_.push_back(std::move(e));
}

api_reply api::handle(const api_request& request) {
  try {
    return handle_checked(request);
  } catch (const std::exception& e) {  // a bug must not take the listener down
    return json_reply(500, json::object{{"type", "error.list"}, {"errors", json::array{json::object{{"code", "server_error"}, {"message", e.what()}}}}});
  }
}

api_reply api::handle_checked(const api_request& request) {
  std::lock_guard lock(mutex_);
  const std::string request_id = "sim-" + std::to_string(++request_seq_);
  auto error = [&](int status, std::string code, std::string message) {
    return json_reply(status, json::object{{"type", "error.list"},
                                           {"request_id", request_id},
                                           {"errors", json::array{json::object{{"code", std::move(code)},
                                                                              {"message", std::move(message)}}}}});
  };
  if (!request.authorization.starts_with("Bearer ") || request.authorization.size() <= 7) {
    return error(401, "unauthorized", "Access Token Invalid");
  }
  const auto now = now_ms_();
  if (now - window_start_ms_ >= 60'000 || now < window_start_ms_) {
    window_start_ms_ = now;
    window_count_ = 0;
  }
  if (window_count_ >= limits_.per_minute) {
    auto r = error(429, "rate_limit_exceeded", "Exceeded rate limit");
    r.headers.emplace_back("X-RateLimit-Limit", std::to_string(limits_.per_minute));
    r.headers.emplace_back("X-RateLimit-Remaining", "0");
    r.headers.emplace_back("X-RateLimit-Reset", std::to_string((window_start_ms_ + 60'000) / 1000));
    return r;
  }
  ++window_count_;
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) return error(400, "parameter_invalid", "Invalid request target");
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.emplace_back(s);
  std::map<std::string, std::string> query;
  for (auto p : parsed->params()) query[std::string(p.key)] = std::string(p.value);
  json::value body;
  const std::string& m = request.method;
  if (m == "POST" || m == "PUT") {
    boost::system::error_code ec;
    body = json::parse(request.body, ec);
    if (ec) return error(400, "parameter_invalid", "Invalid JSON body");
  }
  api_reply reply;
  if (segs.size() == 1 && segs[0] == "contacts" && m == "GET") {
    reply = list(query);
  } else if (segs.size() == 1 && segs[0] == "contacts" && m == "POST") {
    reply = create(body);
  } else if (segs.size() == 2 && segs[0] == "contacts" && segs[1] == "search" && m == "POST") {
    reply = search(body);
  } else if (segs.size() == 2 && segs[0] == "contacts" && m == "PUT") {
    reply = update(segs[1], body);
  } else if (segs.size() == 2 && segs[0] == "contacts" && m == "GET") {
    const auto index = contact_index(segs[1]);
    if (!index || !exists(*index) || load(*index).deleted) {
      reply = error(404, "not_found", "User Not Found");
    } else {
      reply = json_reply(200, to_json(load(*index)));
    }
  } else if (segs.size() == 1 && segs[0] == "conversations" && m == "GET") {
    reply = conversations(query);
  } else if (segs.size() == 2 && segs[0] == "conversations" && segs[1] == "search" && m == "POST") {
    reply = conversation_search(body);
  } else if (segs.size() == 2 && segs[0] == "conversations" && m == "GET") {
    // Conversation ids are 100000 + index (see default_seed).
    const auto n = parse_int(segs[1]);
    const std::size_t count = seed_.count ? seed_.count("conversations") : 0;
    if (!n || *n <= 100000 || *n > 100000 + static_cast<std::int64_t>(count)) {
      reply = error(404, "not_found", "Resource Not Found");
    } else {
      reply = json_reply(200, seed_.make_conversation(*n - 100000));
    }
  } else if (segs.size() == 1 && segs[0] == "data_attributes" && m == "GET") {
    reply = data_attributes(query);
  } else {
    reply = error(404, "not_found", "Resource Not Found");
  }
  if (reply.status >= 400 && reply.body.find("error.list") == std::string::npos) {
    reply = error(reply.status, reply.status == 404 ? "not_found" : "parameter_invalid", reply.body);
  }
  reply.headers.emplace_back("X-RateLimit-Limit", std::to_string(limits_.per_minute));
  reply.headers.emplace_back("X-RateLimit-Remaining", std::to_string(limits_.per_minute - window_count_));
  reply.headers.emplace_back("X-RateLimit-Reset", std::to_string((window_start_ms_ + 60'000) / 1000));
  reply.headers.emplace_back("X-Request-Id", request_id);
  return reply;
}

api_reply api::list(const std::map<std::string, std::string>& query) {
  std::size_t per_page = 50;
  if (const auto it = query.find("per_page"); it != query.end()) {
    const auto n = parse_int(it->second);
    if (!n || *n < 1 || static_cast<std::size_t>(*n) > limits_.per_page_max) {
      api_reply r;
      r.status = 400;
      r.body = "per_page must be between 1 and " + std::to_string(limits_.per_page_max);
      return r;
    }
    per_page = static_cast<std::size_t>(*n);
  }
  std::int64_t after = 0;
  if (const auto it = query.find("starting_after"); it != query.end() && !it->second.empty()) {
    const auto off = decode_offset(it->second);
    if (!off) {
      api_reply r;
      r.status = 400;
      r.body = "Invalid starting_after";
      return r;
    }
    after = static_cast<std::int64_t>(*off);
  }
  std::size_t total = 0;
  json::array data;
  std::int64_t last = after;
  bool more = false;
  for_each([&](const contact& c) {
    ++total;
    if (c.index <= after) return true;
    if (data.size() == per_page) {
      more = true;
      return true;  // keep counting total_count
    }
    data.push_back(to_json(c));
    last = c.index;
    return true;
  });
  json::object pages{{"type", "pages"}, {"page", 1}, {"per_page", per_page},
                     {"total_pages", (total + per_page - 1) / per_page}};
  if (more) pages["next"] = json::object{{"starting_after", encode_offset(static_cast<std::size_t>(last))}};
  return json_reply(200, json::object{{"type", "list"}, {"data", std::move(data)}, {"total_count", total},
                                      {"pages", std::move(pages)}});
}

std::optional<std::string> api::validate_query(const json::value& q, int depth) const {
  if (!q.is_object()) return std::string("query must be an object");
  const auto& o = q.get_object();
  const std::string op = text(o.if_contains("operator"));
  if (op == "AND" || op == "OR") {
    if (depth >= 2) return std::string("A maximum of 2 nested filters is supported");
    const auto* value = o.if_contains("value");
    if (value == nullptr || !value->is_array()) return std::string("AND/OR need a value array");
    if (value->get_array().size() > 15) return std::string("A maximum of 15 filters per group is supported");
    for (const auto& child : value->get_array()) {
      if (auto err = validate_query(child, depth + 1)) return err;
    }
    return std::nullopt;
  }
  if (std::find(operators().begin(), operators().end(), op) == operators().end()) {
    return "Unsupported operator: " + op;
  }
  const std::string field = text(o.if_contains("field"));
  if (field.empty()) return std::string("field is required");
  if (is_timestamp_field(field) && op != ">" && op != "<" && op != "=") {
    return "Operator " + op + " is not supported for timestamp field " + field;
  }
  return std::nullopt;
}

bool api::matches(const json::value& q, const json::object& c) const {
  const auto& o = q.get_object();
  const std::string op = text(o.if_contains("operator"));
  if (op == "AND" || op == "OR") {
    const auto& children = o.at("value").get_array();
    if (op == "AND") {
      return std::all_of(children.begin(), children.end(), [&](const json::value& v) { return matches(v, c); });
    }
    return std::any_of(children.begin(), children.end(), [&](const json::value& v) { return matches(v, c); });
  }
  const std::string field = text(o.if_contains("field"));
  const json::value* actual_v = nullptr;
  if (field.starts_with("custom_attributes.")) {
    if (const auto* ca = c.if_contains("custom_attributes"); ca != nullptr && ca->is_object()) {
      actual_v = ca->get_object().if_contains(field.substr(18));
    }
  } else {
    actual_v = c.if_contains(field);
  }
  const json::value* value_v = o.if_contains("value");
  if (is_timestamp_field(field)) {
    if (actual_v == nullptr || !actual_v->is_number() || value_v == nullptr) return false;
    std::int64_t value = 0;
    if (value_v->is_number()) {
      value = static_cast<std::int64_t>(value_v->to_number<double>());
    } else if (const auto n = parse_int(text(value_v))) {
      value = *n;
    } else {
      return false;
    }
    return timestamp_matches(static_cast<std::int64_t>(actual_v->to_number<double>()), op, value);
  }
  const std::string actual = lower(text(actual_v));
  if (op == "IN" || op == "NIN") {
    bool in = false;
    if (value_v != nullptr && value_v->is_array()) {
      for (const auto& v : value_v->get_array()) in = in || lower(text(&v)) == actual;
    }
    return op == "IN" ? in : !in;
  }
  const std::string want = lower(text(value_v));
  if (op == "=") return actual == want || (value_v != nullptr && value_v->is_null() && actual_v == nullptr);
  if (op == "!=") return actual != want;
  if (op == "~") return actual.find(want) != std::string::npos;
  if (op == "!~") return actual.find(want) == std::string::npos;
  if (op == "^") return actual.starts_with(want);
  if (op == "$") return actual.ends_with(want);
  const auto a = parse_int(actual);
  const auto b = parse_int(want);
  if (a && b) return op == "<" ? *a < *b : *a > *b;
  return op == "<" ? actual < want : actual > want;
}

api_reply api::search(const json::value& body) {
  std::vector<json::object> candidates;
  for_each([&](const contact& c) {
    candidates.push_back(to_json(c));
    return true;
  });
  return search_in(body, std::move(candidates), "list", "data", 50);
}

api_reply api::search_in(const json::value& body, std::vector<json::object> candidates, std::string_view list_type,
                         std::string_view data_key, std::size_t default_per_page) const {
  const auto* q = body.is_object() ? body.get_object().if_contains("query") : nullptr;
  api_reply bad;
  bad.status = 400;
  if (q == nullptr) {
    bad.body = "query is required";
    return bad;
  }
  if (auto err = validate_query(*q, 0)) {
    bad.body = *err;
    return bad;
  }
  std::size_t per_page = default_per_page;
  std::size_t offset = 0;
  if (const auto* p = body.get_object().if_contains("pagination"); p != nullptr && p->is_object()) {
    if (const auto* n = p->get_object().if_contains("per_page"); n != nullptr && n->is_number()) {
      per_page = static_cast<std::size_t>(std::clamp<double>(n->to_number<double>(), 1, limits_.per_page_max));
    }
    if (const auto* sa = p->get_object().if_contains("starting_after"); sa != nullptr && sa->is_string()) {
      const auto off = decode_offset(std::string(sa->get_string()));
      if (!off) {
        bad.body = "Invalid starting_after";
        return bad;
      }
      offset = *off;
    }
  }
  std::vector<json::object> hits;
  for (auto& j : candidates) {
    if (matches(*q, j)) hits.push_back(std::move(j));
  }
  if (const auto* s = body.get_object().if_contains("sort"); s != nullptr && s->is_object()) {
    const std::string field = text(s->get_object().if_contains("field"));
    const bool desc = text(s->get_object().if_contains("order")) == "descending";
    std::stable_sort(hits.begin(), hits.end(), [&](const json::object& a, const json::object& b) {
      const auto* va = a.if_contains(field);
      const auto* vb = b.if_contains(field);
      if (va != nullptr && vb != nullptr && va->is_number() && vb->is_number()) {
        const double x = va->to_number<double>(), y = vb->to_number<double>();
        return desc ? x > y : x < y;
      }
      return desc ? text(va) > text(vb) : text(va) < text(vb);
    });
  }
  json::array data;
  for (std::size_t i = offset; i < hits.size() && data.size() < per_page; ++i) data.push_back(hits[i]);
  const std::size_t end = offset + data.size();
  json::object pages{{"type", "pages"}, {"page", offset / per_page + 1}, {"per_page", per_page},
                     {"total_pages", (hits.size() + per_page - 1) / per_page}};
  if (end < hits.size()) {
    pages["next"] = json::object{{"page", offset / per_page + 2}, {"starting_after", encode_offset(end)}};
  }
  json::object out{{"type", list_type}};
  out[data_key] = std::move(data);
  out["total_count"] = hits.size();
  out["pages"] = std::move(pages);
  return json_reply(200, out);
}

// Conversations are generated and read-only; search them like contacts (the same filters, day-granular
// timestamps; 20 per page by default, as Intercom documents for conversations).
api_reply api::conversation_search(const json::value& body) {
  const std::size_t count = seed_.count ? seed_.count("conversations") : 0;
  std::vector<json::object> candidates;
  candidates.reserve(count);
  for (std::size_t i = 1; i <= count; ++i) candidates.push_back(seed_.make_conversation(static_cast<std::int64_t>(i)));
  return search_in(body, std::move(candidates), "conversation.list", "conversations", 20);
}

// `GET /data_attributes?model=contact|company|conversation`: the built-in attributes the simulator serves plus
// the custom attribute its seeded contacts carry, in Intercom's data_attribute shape.
api_reply api::data_attributes(const std::map<std::string, std::string>& query) const {
  std::string model;
  if (const auto it = query.find("model"); it != query.end()) model = it->second;
  if (!model.empty() && model != "contact" && model != "company" && model != "conversation") {
    api_reply r;
    r.status = 400;
    r.body = "model must be contact, company or conversation";
    return r;
  }
  struct spec {
    const char* model;
    const char* full_name;
    const char* label;
    const char* type;
    bool api_writable;
    bool custom;
  };
  static const spec specs[] = {
      {"contact", "role", "Role", "string", true, false},
      {"contact", "external_id", "User ID", "string", true, false},
      {"contact", "email", "Email", "string", true, false},
      {"contact", "phone", "Phone", "string", true, false},
      {"contact", "name", "Name", "string", true, false},
      {"contact", "avatar", "Avatar", "string", true, false},
      {"contact", "owner_id", "Owner", "integer", true, false},
      {"contact", "unsubscribed_from_emails", "Unsubscribed from emails", "boolean", true, false},
      {"contact", "created_at", "Created at", "date", false, false},
      {"contact", "updated_at", "Updated at", "date", false, false},
      {"contact", "signed_up_at", "Signed up", "date", true, false},
      {"contact", "last_seen_at", "Last seen", "date", true, false},
      {"contact", "location_data.city_name", "City", "string", false, false},
      {"contact", "location_data.country_name", "Country", "string", false, false},
      {"contact", "custom_attributes.plan", "plan", "string", true, true},
      {"company", "name", "Company name", "string", true, false},
      {"company", "company_id", "Company ID", "string", true, false},
      {"company", "plan", "Plan", "string", true, false},
      {"conversation", "state", "State", "string", false, false},
      {"conversation", "open", "Open", "boolean", false, false},
      {"conversation", "created_at", "Created at", "date", false, false},
      {"conversation", "updated_at", "Updated at", "date", false, false},
      {"conversation", "conversation_rating.rating", "Rating", "integer", false, false},
      {"conversation", "conversation_rating.remark", "Rating remark", "string", false, false},
  };
  json::array data;
  for (const auto& s : specs) {
    if (!model.empty() && model != s.model) continue;
    const std::string full(s.full_name);
    const auto dot = full.rfind('.');
    json::object a{{"type", "data_attribute"},
                   {"model", s.model},
                   {"name", dot == std::string::npos ? full : full.substr(dot + 1)},
                   {"full_name", full},
                   {"label", s.label},
                   {"description", ""},
                   {"data_type", s.type},
                   {"api_writable", s.api_writable},
                   {"ui_writable", s.api_writable},
                   {"messenger_writable", false},
                   {"custom", s.custom},
                   {"archived", false}};
    if (s.custom) a["options"] = json::array{"free", "pro"};
    data.push_back(std::move(a));
  }
  return json_reply(200, json::object{{"type", "list"}, {"data", std::move(data)}});
}

api_reply api::create(const json::value& body) {
  api_reply bad;
  bad.status = 400;
  if (!body.is_object()) {
    bad.body = "body must be an object";
    return bad;
  }
  const auto& o = body.get_object();
  const std::string role = o.if_contains("role") ? text(o.if_contains("role")) : "user";
  if (role != "user" && role != "lead") {
    bad.body = "role must be user or lead";
    return bad;
  }
  const std::string email = text(o.if_contains("email"));
  const std::string external_id = text(o.if_contains("external_id"));
  if (email.empty() && external_id.empty() && role == "user") {
    bad.body = "email or external_id is required for a user";
    return bad;
  }
  std::optional<std::int64_t> dup;
  if (!external_id.empty()) dup = find("external_id", external_id);
  if (!dup && !email.empty() && role == "user") dup = find("email", email);
  if (dup) {
    return json_reply(409, json::object{{"type", "error.list"},
                                        {"request_id", "sim-" + std::to_string(request_seq_)},
                                        {"errors", json::array{json::object{
                                                       {"code", "conflict"},
                                                       {"message", "A contact matching those details already exists with id=" +
                                                                       contact_id(*dup)}}}}});
  }
  contact c;
  c.index = next_index_++;
  c.created_s = c.updated_s = now_ms_() / 1000;
  for (const auto& [k, v] : o) {
    if (k == "id" || k == "type" || k == "created_at" || k == "updated_at") continue;
    c.fields[k] = v;
  }
  c.fields["role"] = role;
  touched_[c.index] = c;
  emit(c, "contact." + role + ".created");
  return json_reply(200, to_json(c));
}

api_reply api::update(const std::string& id, const json::value& body) {
  const auto index = contact_index(id);
  if (!index || !exists(*index) || load(*index).deleted) {
    api_reply r;
    r.status = 404;
    r.body = "User Not Found";
    return r;
  }
  if (!body.is_object()) {
    api_reply r;
    r.status = 400;
    r.body = "body must be an object";
    return r;
  }
  contact c = load(*index);
  const auto& o = body.get_object();
  const std::string external_id = text(o.if_contains("external_id"));
  if (!external_id.empty()) {
    if (const auto other = find("external_id", external_id); other && *other != *index) {
      return json_reply(409, json::object{{"type", "error.list"},
                                          {"request_id", "sim-" + std::to_string(request_seq_)},
                                          {"errors", json::array{json::object{
                                                         {"code", "conflict"},
                                                         {"message", "A contact matching those details already exists with id=" +
                                                                         contact_id(*other)}}}}});
    }
  }
  bool changed = false;
  for (const auto& [k, v] : o) {
    if (k == "id" || k == "type" || k == "created_at" || k == "updated_at") continue;
    if (k == "custom_attributes" && v.is_object()) {
      json::object merged;
      if (const auto* old = c.fields.if_contains("custom_attributes"); old != nullptr && old->is_object()) {
        merged = old->get_object();
      }
      for (const auto& [ck, cv] : v.get_object()) {
        if (const auto* prev = merged.if_contains(ck); prev == nullptr || *prev != cv) changed = true;
        merged[ck] = cv;
      }
      c.fields["custom_attributes"] = std::move(merged);
      continue;
    }
    if (const auto* prev = c.fields.if_contains(k); prev == nullptr || *prev != v) changed = true;
    c.fields[k] = v;
  }
  if (changed) {
    c.updated_s = std::max(now_ms_() / 1000, c.updated_s);
    touched_[c.index] = c;
    emit(c, "contact." + text(c.fields.if_contains("role")) + ".updated");
  }
  return json_reply(200, to_json(c));
}

api_reply api::conversations(const std::map<std::string, std::string>& query) {
  const std::size_t count = seed_.count ? seed_.count("conversations") : 0;
  std::size_t per_page = 20;
  if (const auto it = query.find("per_page"); it != query.end()) {
    per_page = std::clamp<std::size_t>(static_cast<std::size_t>(parse_int(it->second).value_or(20)), 1, 150);
  }
  std::size_t offset = 0;
  if (const auto it = query.find("starting_after"); it != query.end() && !it->second.empty()) {
    const auto off = decode_offset(it->second);
    if (!off) {
      api_reply r;
      r.status = 400;
      r.body = "Invalid starting_after";
      return r;
    }
    offset = *off;
  }
  json::array out;
  for (std::size_t i = offset; i < count && out.size() < per_page; ++i) {
    json::object conv = seed_.make_conversation(static_cast<std::int64_t>(i + 1));
    out.push_back(std::move(conv));
  }
  const std::size_t end = offset + out.size();
  json::object pages{{"type", "pages"}, {"page", offset / per_page + 1}, {"per_page", per_page},
                     {"total_pages", (count + per_page - 1) / per_page}};
  if (end < count) pages["next"] = json::object{{"starting_after", encode_offset(end)}};
  return json_reply(200, json::object{{"type", "conversation.list"}, {"conversations", std::move(out)},
                                      {"total_count", count}, {"pages", std::move(pages)}});
}

// ---- admin --------------------------------------------------------------------------------------------------

std::optional<json::value> api::admin_list(std::string_view kind) {
  std::lock_guard lock(mutex_);
  json::array out;
  if (kind == "contacts") {
    for_each([&](const contact& c) {
      out.push_back(to_json(c));
      return true;
    });
  } else if (kind == "conversations") {
    const std::size_t count = seed_.count ? seed_.count("conversations") : 0;
    for (std::size_t i = 1; i <= count; ++i) out.push_back(seed_.make_conversation(static_cast<std::int64_t>(i)));
  } else {
    return std::nullopt;
  }
  return json::value(std::move(out));
}

std::optional<json::value> api::admin_get(std::string_view kind, std::string_view id) {
  std::lock_guard lock(mutex_);
  if (kind != "contacts") return std::nullopt;
  auto index = contact_index(id);
  if (!index) index = parse_int(id);
  if (!index || !exists(*index)) return std::nullopt;
  return json::value(to_json(load(*index)));
}

std::optional<json::value> api::admin_create(std::string_view kind, const json::object& body) {
  std::lock_guard lock(mutex_);
  if (kind != "contacts") return std::nullopt;
  contact c;
  c.index = next_index_++;
  c.created_s = c.updated_s = now_ms_() / 1000;
  for (const auto& [k, v] : body) {
    if (k != "id" && k != "type" && k != "created_at" && k != "updated_at") c.fields[k] = v;
  }
  if (!c.fields.contains("role")) c.fields["role"] = "user";
  touched_[c.index] = c;
  emit(c, "contact." + text(c.fields.if_contains("role")) + ".created");
  return json::value(to_json(c));
}

std::optional<json::value> api::admin_update(std::string_view kind, std::string_view id, const json::object& body) {
  std::lock_guard lock(mutex_);
  if (kind != "contacts") return std::nullopt;
  auto index = contact_index(id);
  if (!index) index = parse_int(id);
  if (!index || !exists(*index)) return std::nullopt;
  contact c = load(*index);
  if (c.deleted) return std::nullopt;
  for (const auto& [k, v] : body) {
    if (k != "id" && k != "type" && k != "created_at" && k != "updated_at") c.fields[k] = v;
  }
  c.updated_s = std::max(now_ms_() / 1000, c.updated_s);
  touched_[c.index] = c;
  emit(c, "contact." + text(c.fields.if_contains("role")) + ".updated");
  return json::value(to_json(c));
}

bool api::admin_delete(std::string_view kind, std::string_view id) {
  std::lock_guard lock(mutex_);
  if (kind != "contacts") return false;
  auto index = contact_index(id);
  if (!index) index = parse_int(id);
  if (!index || !exists(*index)) return false;
  contact c = load(*index);
  if (c.deleted) return false;
  c.deleted = true;
  c.updated_s = std::max(now_ms_() / 1000, c.updated_s);
  touched_[c.index] = c;
  emit(c, "contact.deleted");
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
  if (object != "contacts" && object != "conversations") {
    return {404, json::object{{"error", "unknown object " + std::string(object)}}};
  }
  const admin_reply missing{404, json::object{{"error", "not found"}}};
  if (method == "GET" && id.empty()) return {200, *admin_list(object)};
  if (object == "conversations") return {405, json::object{{"error", "conversations are read-only"}}};
  if (method == "GET") {
    auto v = admin_get(object, id);
    return v ? admin_reply{200, *v} : missing;
  }
  if (method == "POST" && id.empty()) return {201, *admin_create(object, in)};
  if ((method == "PATCH" || method == "PUT") && !id.empty()) {
    auto v = admin_update(object, id, in);
    return v ? admin_reply{200, *v} : missing;
  }
  if (method == "DELETE" && !id.empty()) {
    return admin_delete(object, id) ? admin_reply{200, json::object{{"deleted", true}}} : missing;
  }
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value api::snapshot() {
  return json::object{{"contacts", *admin_list("contacts")}, {"conversations", *admin_list("conversations")}};
}

void api::set_limits(const json::object& limits) {
  std::lock_guard lock(mutex_);
  if (const auto* v = limits.if_contains("per_minute"); v != nullptr && v->is_number()) {
    limits_.per_minute = static_cast<std::int64_t>(v->to_number<double>());
  }
  window_count_ = 0;
}

webhook_event api::ping_event() {
  std::lock_guard lock(mutex_);
  webhook_event e;
  e.id = "notif_ping_" + std::to_string(next_event_++);
  e.topic = "ping";
  e.time_s = now_ms_() / 1000;
  e.item = json::object{{"type", "ping"}, {"message", "something is fishy this way comes"}};
  return e;
}

std::vector<webhook_event> api::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

std::string api::webhook_body(const webhook_event& e, int attempt, std::int64_t first_sent_s) const {
  json::object body{{"type", "notification_event"},
                    {"app_id", app_id_},
                    {"id", e.id},
                    {"topic", e.topic},
                    {"delivery_status", "pending"},
                    {"delivery_attempts", attempt},
                    {"delivered_at", 0},
                    {"first_sent_at", first_sent_s < 0 ? e.time_s : first_sent_s},
                    {"created_at", e.time_s},
                    {"links", json::object{}},
                    {"self", nullptr},
                    {"data", json::object{{"type", "notification_event_data"}, {"item", e.item}}}};
  return json::serialize(body);
}

std::vector<signed_webhook> api::sign_webhooks(const std::vector<webhook_event>& events, std::string_view client_secret,
                                               int attempt, std::int64_t first_sent_s) const {
  std::vector<signed_webhook> out;
  for (const auto& e : events) {
    signed_webhook w;
    w.body = webhook_body(e, attempt, first_sent_s);
    w.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "intercom-parrot-service-client/1.0"},
                 {"X-Hub-Signature", hub_signature(client_secret, w.body)}};
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<std::int64_t> webhook_retry_delay(const delivery_outcome& o) {
  if (o.attempts > 1) return std::nullopt;
  return 60'000;
}

seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms) {
  seed_source s;
  const std::size_t contacts = size / 3;
  const std::size_t conversations = size / 3;
  s.count = [contacts, conversations](std::string_view kind) -> std::size_t {
    return kind == "contacts" ? contacts : (kind == "conversations" ? conversations : 0);
  };
  s.make_contact = [seed, contacts, base_ms](std::int64_t index) {
    const std::uint64_t h = mix(seed ^ (0x1C00000000ULL + static_cast<std::uint64_t>(index)));
    contact c;
    c.index = index;
    // Names come from the person's own hash, shared by every vendor simulator, so person p has the same name
    // (and email local part) in HubSpot, Zendesk, ActiveCampaign and Intercom.
    const auto who = person(seed, 3 * index - 2);
    const std::string fn = who.first;
    const std::string ln = who.last;
    const bool lead = (h >> 12) % 4 == 0;
    // Contact i is person 3i-2 of the shared population.
    c.fields["role"] = lead ? "lead" : "user";
    c.fields["email"] = lower(fn + "." + ln + std::to_string(3 * index - 2) + "@example.com");
    c.fields["name"] = (h >> 16) % 5 == 0 ? json::value(nullptr) : json::value(fn + " " + ln);
    c.fields["external_id"] = lead ? json::value(nullptr) : json::value("crm-" + std::to_string(3 * index - 2));
    c.fields["phone"] = (h >> 20) % 3 == 0 ? json::value(nullptr) : json::value("+1 415-555-" + std::to_string(1000 + index % 9000));
    c.fields["custom_attributes"] = json::object{{"plan", (h >> 24) % 2 ? "pro" : "free"}};
    c.created_s = base_ms / 1000 - (static_cast<std::int64_t>(contacts) - index + 2) * 60;
    c.updated_s = c.created_s + static_cast<std::int64_t>(h % 50);
    return c;
  };
  s.make_conversation = [seed, contacts, conversations, base_ms](std::int64_t index) {
    const std::uint64_t h = mix(seed ^ (0x1C0C000000ULL + static_cast<std::uint64_t>(index)));
    const std::int64_t created = base_ms / 1000 - (static_cast<std::int64_t>(conversations) - index + 2) * 90;
    const std::int64_t contact = contacts == 0 ? 1 : 1 + static_cast<std::int64_t>(h % contacts);
    json::object conv{{"type", "conversation"},
                      {"id", std::to_string(100000 + index)},
                      {"created_at", created},
                      {"updated_at", created + static_cast<std::int64_t>(h % 3600)},
                      {"state", (h >> 8) % 3 == 0 ? "open" : "closed"},
                      {"open", (h >> 8) % 3 == 0},
                      {"contacts", json::object{{"type", "contact.list"},
                                                {"contacts", json::array{json::object{{"type", "contact"},
                                                                                      {"id", contact_id(contact)}}}}}}};
    if ((h >> 12) % 2 == 0) {
      conv["conversation_rating"] = json::object{{"rating", 1 + static_cast<int>((h >> 16) % 5)},
                                                 {"remark", nullptr},
                                                 {"created_at", created + 4000}};
    } else {
      conv["conversation_rating"] = nullptr;
    }
    return conv;
  };
  return s;
}

}  // namespace omnisync::sim::intercom
