#include "sim/hubspot/api.hpp"

#include "sim/hubspot/signature.hpp"
#include "sim/core/form.hpp"
#include "sim/core/people.hpp"
#include "sim/core/validate.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url_view.hpp>

namespace omnisync::sim::hubspot {
namespace json = boost::json;
namespace {

using query_map = std::map<std::string, std::string>;

struct property_spec {
  const char* name;
  const char* label;
  const char* type;        // string, number, datetime, enumeration
  const char* field_type;  // text, number, date, select, radio
  const char* group;
  bool read_only;
  bool unique;
  std::vector<const char*> options;
};

const std::vector<property_spec>& specs_for(std::string_view type) {
  static const std::vector<property_spec> contacts = {
      {"email", "Email", "string", "text", "contactinformation", false, true, {}},
      {"firstname", "First Name", "string", "text", "contactinformation", false, false, {}},
      {"lastname", "Last Name", "string", "text", "contactinformation", false, false, {}},
      {"phone", "Phone Number", "string", "phonenumber", "contactinformation", false, false, {}},
      {"mobilephone", "Mobile Phone Number", "string", "phonenumber", "contactinformation", false, false, {}},
      {"company", "Company Name", "string", "text", "contactinformation", false, false, {}},
      {"jobtitle", "Job Title", "string", "text", "contactinformation", false, false, {}},
      {"city", "City", "string", "text", "contactinformation", false, false, {}},
      {"country", "Country/Region", "string", "text", "contactinformation", false, false, {}},
      {"lifecyclestage",
       "Lifecycle Stage",
       "enumeration",
       "radio",
       "contactinformation",
       false,
       false,
       {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist",
        "other"}},
      // HubSpot's own score (calculated, read-only) and the tags a portal's tagging app keeps, both read by the
      // shipped inbound mapping.
      {"hubspotscore", "HubSpot Score", "number", "number", "contactinformation", true, false, {}},
      {"hs_tag_names", "Tags", "string", "text", "contactinformation", true, false, {}},
      {"omnisync_id", "omnisync ID", "string", "text", "contactinformation", false, true, {}},
      // Custom properties a portal configured for omnisync has (config/mappings/hubspot/contacts.out.yaml).
      {"omnisync_lifetime_value", "omnisync lifetime value", "number", "number", "contactinformation", false, false, {}},
      {"omnisync_open_tickets", "omnisync open tickets", "number", "number", "contactinformation", false, false, {}},
      {"omnisync_csat_average", "omnisync CSAT average", "number", "number", "contactinformation", false, false, {}},
      {"hs_object_id", "Record ID", "number", "number", "contactinformation", true, true, {}},
      {"createdate", "Create Date", "datetime", "date", "contactinformation", true, false, {}},
      {"lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation", true, false, {}},
  };
  static const std::vector<property_spec> companies = {
      {"name", "Company name", "string", "text", "companyinformation", false, false, {}},
      {"domain", "Company Domain Name", "string", "text", "companyinformation", false, true, {}},
      {"industry", "Industry", "string", "text", "companyinformation", false, false, {}},
      {"hs_object_id", "Record ID", "number", "number", "companyinformation", true, true, {}},
      {"createdate", "Create Date", "datetime", "date", "companyinformation", true, false, {}},
      {"hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "companyinformation", true, false, {}},
  };
  static const std::vector<property_spec> deals = {
      {"dealname", "Deal Name", "string", "text", "dealinformation", false, false, {}},
      {"amount", "Amount", "number", "number", "dealinformation", false, false, {}},
      {"deal_currency_code", "Currency", "string", "text", "dealinformation", false, false, {}},
      {"dealstage",
       "Deal Stage",
       "enumeration",
       "radio",
       "dealinformation",
       false,
       false,
       {"appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
        "contractsent", "closedwon", "closedlost"}},
      {"pipeline", "Pipeline", "enumeration", "select", "dealinformation", false, false, {"default"}},
      {"closedate", "Close Date", "datetime", "date", "dealinformation", false, false, {}},
      {"hs_object_id", "Record ID", "number", "number", "dealinformation", true, true, {}},
      {"createdate", "Create Date", "datetime", "date", "dealinformation", true, false, {}},
      {"hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation", true, false, {}},
  };
  static const std::vector<property_spec> feedback = {
      {"hs_survey_type", "Survey type", "enumeration", "select", "feedbacksubmissioninformation", true, false,
       {"NPS", "CSAT", "CES", "CUSTOM"}},
      {"hs_survey_name", "Survey name", "string", "text", "feedbacksubmissioninformation", true, false, {}},
      {"hs_value", "Response value", "number", "number", "feedbacksubmissioninformation", true, false, {}},
      {"hs_response_group", "Response group", "enumeration", "select", "feedbacksubmissioninformation", true, false,
       {"PROMOTER", "PASSIVE", "DETRACTOR"}},
      {"hs_content", "Response", "string", "textarea", "feedbacksubmissioninformation", true, false, {}},
      {"hs_submission_timestamp", "Submitted at", "datetime", "date", "feedbacksubmissioninformation", true, false,
       {}},
      {"hs_object_id", "Record ID", "number", "number", "feedbacksubmissioninformation", true, true, {}},
      {"createdate", "Create Date", "datetime", "date", "feedbacksubmissioninformation", true, false, {}},
      {"hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "feedbacksubmissioninformation", true, false,
       {}},
  };
  static const std::vector<property_spec> none;
  if (type == "contacts") return contacts;
  if (type == "companies") return companies;
  if (type == "deals") return deals;
  if (type == "feedback_submissions") return feedback;
  return none;
}

const property_spec* find_spec(std::string_view type, std::string_view name) {
  for (const auto& s : specs_for(type)) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::vector<std::string> default_properties(std::string_view type) {
  if (type == "contacts") return {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"};
  if (type == "companies") return {"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"};
  if (type == "deals") {
    return {"amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
            "pipeline"};
  }
  return {"createdate", "hs_lastmodifieddate", "hs_object_id", "hs_survey_type", "hs_value"};
}

std::optional<std::int64_t> parse_id(std::string_view text) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || p != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string correlation_id(std::int64_t n) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%08llx-0000-4000-8000-%012llx", static_cast<unsigned long long>(mix(n) >> 32),
                static_cast<unsigned long long>(n));
  return buf;
}

api_reply json_reply(int status, const json::value& body) {
  api_reply r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json;charset=utf-8");
  r.body = json::serialize(body);
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

api::api(seed_source seed, std::function<std::int64_t()> now_ms, std::int64_t app_id, std::int64_t portal_id)
    : seed_(std::move(seed)), now_ms_(std::move(now_ms)), app_id_(app_id), portal_id_(portal_id) {
  reset();
}

const std::vector<std::string>& api::object_types() {
  static const std::vector<std::string> types = {"contacts", "companies", "deals", "feedback_submissions"};
  return types;
}

void api::reset() {
  std::lock_guard lock(mutex_);
  types_.clear();
  lists_.clear();
  const std::array<std::array<const char*, 4>, 4> meta = {{{"contacts", "0-1", "contact", "lastmodifieddate"},
                                                           {"companies", "0-2", "company", "hs_lastmodifieddate"},
                                                           {"deals", "0-3", "deal", "hs_lastmodifieddate"},
                                                           {"feedback_submissions", "0-19", "feedback_submission",
                                                            "hs_lastmodifieddate"}}};
  for (const auto& m : meta) {
    type_state t;
    t.name = m[0];
    t.type_id = m[1];
    t.singular = m[2];
    t.modified_property = m[3];
    t.seeded = seed_.count ? seed_.count(t.name) : 0;
    t.next_id = static_cast<std::int64_t>(t.seeded) + 1;
    types_.push_back(std::move(t));
  }
  events_.clear();
  oauth_ = {};
  access_tokens_.clear();
  limits_.token_lifetime_ms = api_limits{}.token_lifetime_ms;
  window_count_ = day_count_ = 0;
  window_start_ms_ = day_start_ms_ = now_ms_();
}

api::type_state* api::find_type(std::string_view type) {
  for (auto& t : types_) {
    if (t.name == type || t.type_id == type || t.singular == type) return &t;
  }
  return nullptr;
}

bool api::exists(const type_state& t, std::int64_t id) const {
  return (id >= 1 && id <= static_cast<std::int64_t>(t.seeded)) || t.touched.count(id) != 0;
}

crm_object api::load(type_state& t, std::int64_t id) const {
  if (const auto it = t.touched.find(id); it != t.touched.end()) return it->second;
  crm_object obj = seed_.make(t.name, id);
  obj.id = id;
  obj.props["hs_object_id"] = std::to_string(id);
  obj.props["createdate"] = iso_ms(obj.created_ms);
  obj.props[t.modified_property] = iso_ms(obj.updated_ms);
  return obj;
}

template <class F>
void api::for_each(type_state& t, bool archived, F&& f, std::int64_t first_id) const {
  const auto seeded = static_cast<std::int64_t>(t.seeded);
  for (std::int64_t id = std::max<std::int64_t>(1, first_id); id <= seeded; ++id) {
    if (const auto it = t.touched.find(id); it != t.touched.end()) {
      if (it->second.archived == archived && !f(it->second)) return;
      continue;
    }
    if (archived) continue;  // untouched seeded records are never archived
    if (!f(load(t, id))) return;
  }
  for (auto it = t.touched.upper_bound(std::max(seeded, first_id - 1)); it != t.touched.end(); ++it) {
    if (it->second.archived == archived && !f(it->second)) return;
  }
}

std::optional<std::int64_t> api::find_by_property(type_state& t, const std::string& property,
                                                  const std::string& value) {
  if (property.empty() || property == "hs_object_id") {
    const auto id = parse_id(value);
    if (id && exists(t, *id)) {
      if (const auto it = t.touched.find(*id); it == t.touched.end() || !it->second.archived) return id;
    }
    return std::nullopt;
  }
  std::optional<std::int64_t> found;
  search_filter eq{property, "EQ", value, {}, {}};
  for_each(t, false, [&](const crm_object& obj) {
    if (matches(eq, obj.props)) {
      found = obj.id;
      return false;
    }
    return true;
  });
  return found;
}

void api::emit(type_state& t, const crm_object& obj, std::string_view action, change_origin origin,
               const std::string& property, const std::string& value) {
  if (t.name == "feedback_submissions") return;  // not a webhook subscription type
  webhook_event e;
  e.event_id = next_event_id_++;
  e.subscription_type = t.singular + "." + std::string(action);
  e.object_id = obj.id;
  e.occurred_ms = obj.updated_ms;
  e.origin = origin;
  e.property_name = property;
  e.property_value = value;
  e.is_new = action == "creation";
  events_.push_back(std::move(e));
}

void api::store(type_state& t, const crm_object& obj) {
  if (t.indexed) {
    if (exists(t, obj.id)) {
      const crm_object before = load(t, obj.id);
      if (!before.archived) t.by_modified.erase({before.updated_ms, before.id});
    }
    if (!obj.archived) t.by_modified.insert({obj.updated_ms, obj.id});
  }
  t.touched[obj.id] = obj;
}

void api::ensure_index(type_state& t) {
  if (t.indexed) return;
  for_each(t, false, [&](const crm_object& obj) {
    t.by_modified.insert({obj.updated_ms, obj.id});
    return true;
  });
  t.indexed = true;
}

std::optional<api_reply> api::indexed_search(type_state& t, const search_request& req) {
  if (!req.query.empty() || req.filter_groups.size() > 1 || req.sorts.size() != 1 ||
      req.sorts[0].property != t.modified_property) {
    return std::nullopt;
  }
  std::int64_t lo = INT64_MIN;
  std::int64_t hi = INT64_MAX;
  std::vector<const search_filter*> others;
  if (!req.filter_groups.empty()) {
    for (const auto& f : req.filter_groups[0]) {
      const auto v = f.property == t.modified_property ? numeric_value(f.value) : std::nullopt;
      if (!v || (f.op != "GT" && f.op != "GTE" && f.op != "LT" && f.op != "LTE" && f.op != "EQ")) {
        others.push_back(&f);
        continue;
      }
      // Stamps are whole milliseconds.
      const auto ms = static_cast<std::int64_t>(*v);
      const bool whole = static_cast<double>(ms) == *v;
      if (f.op == "GT") lo = std::max(lo, ms + 1);
      if (f.op == "GTE") lo = std::max(lo, whole ? ms : ms + 1);
      if (f.op == "LT") hi = std::min(hi, whole ? ms - 1 : ms);
      if (f.op == "LTE") hi = std::min(hi, ms);
      if (f.op == "EQ") {
        if (!whole) return std::nullopt;
        lo = std::max(lo, ms);
        hi = std::min(hi, ms);
      }
    }
  }
  ensure_index(t);
  const auto first = t.by_modified.lower_bound({lo, INT64_MIN});
  const auto last = hi == INT64_MAX ? t.by_modified.end() : t.by_modified.upper_bound({hi, INT64_MAX});
  std::vector<std::pair<std::int64_t, std::int64_t>> keys(first, last);
  if (!req.sorts[0].ascending) {
    // Newest first; equal stamps still by ascending id, as `sorts_before` orders them.
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
  }
  std::vector<std::int64_t> ids;
  ids.reserve(keys.size());
  for (const auto& k : keys) ids.push_back(k.second);
  std::size_t total = 0;
  json::array results;
  const std::size_t end_index = std::min(req.after + req.limit, limits_.search.result_cap);
  for (const auto id : ids) {
    if (!others.empty()) {
      const crm_object obj = load(t, id);
      if (!std::all_of(others.begin(), others.end(), [&](const search_filter* f) { return matches(*f, obj.props); })) {
        continue;
      }
    }
    if (total >= req.after && total < end_index) {
      const crm_object obj = load(t, id);
      auto o = to_json(t, obj, &req.properties, false, nullptr);
      if (req.properties.empty()) {
        json::object slim;
        for (const char* k : {"hs_object_id", "createdate"}) {
          if (const auto* v = o["properties"].get_object().if_contains(k)) slim[k] = *v;
        }
        if (const auto* v = o["properties"].get_object().if_contains(t.modified_property)) slim[t.modified_property] = *v;
        o["properties"] = std::move(slim);
      }
      results.push_back(std::move(o));
    }
    ++total;
  }
  json::object out{{"total", total}, {"results", std::move(results)}};
  if (end_index < total) out["paging"] = json::object{{"next", json::object{{"after", std::to_string(end_index)}}}};
  return json_reply(200, out);
}

crm_object api::create(type_state& t, properties props, change_origin origin) {
  crm_object obj;
  obj.id = t.next_id++;
  obj.created_ms = obj.updated_ms = now_ms_();
  obj.props = std::move(props);
  for (auto it = obj.props.begin(); it != obj.props.end();) {
    it = it->second.empty() ? obj.props.erase(it) : std::next(it);
  }
  obj.props["hs_object_id"] = std::to_string(obj.id);
  obj.props["createdate"] = iso_ms(obj.created_ms);
  obj.props[t.modified_property] = iso_ms(obj.updated_ms);
  store(t, obj);
  emit(t, obj, "creation", origin);
  return obj;
}

std::vector<std::string> api::update(type_state& t, crm_object& obj, const properties& changes, change_origin origin) {
  std::vector<std::string> changed;
  for (const auto& [name, value] : changes) {
    const auto it = obj.props.find(name);
    const std::string old = it == obj.props.end() ? std::string() : it->second;
    if (old == value) continue;
    if (value.empty()) {
      obj.props.erase(name);
    } else {
      obj.props[name] = value;
    }
    changed.push_back(name);
  }
  if (!changed.empty()) {
    // Stamps strictly increase per record so a `GT last seen` poll never misses a second change in one ms.
    obj.updated_ms = std::max(now_ms_(), obj.updated_ms + 1);
    obj.props[t.modified_property] = iso_ms(obj.updated_ms);
    store(t, obj);
    for (const auto& name : changed) {
      const auto it = obj.props.find(name);
      emit(t, obj, "propertyChange", origin, name, it == obj.props.end() ? std::string() : it->second);
    }
  }
  return changed;
}

void api::archive(type_state& t, crm_object& obj, change_origin origin) {
  obj.archived = true;
  obj.archived_ms = obj.updated_ms = std::max(now_ms_(), obj.updated_ms + 1);
  obj.props[t.modified_property] = iso_ms(obj.updated_ms);
  store(t, obj);
  emit(t, obj, "deletion", origin);
}

json::object api::to_json(const type_state& t, const crm_object& obj, const std::vector<std::string>* wanted,
                          bool with_associations, const std::vector<std::string>* association_types) const {
  json::object props;
  const auto defaults = default_properties(t.name);
  const auto& names = wanted != nullptr && !wanted->empty() ? *wanted : defaults;
  for (const auto& name : names) {
    const auto it = obj.props.find(name);
    props[name] = it == obj.props.end() ? json::value(nullptr) : json::value(it->second);
  }
  // HubSpot always returns these three, whatever was asked.
  for (const char* always : {"hs_object_id", "createdate"}) {
    if (const auto it = obj.props.find(always); it != obj.props.end()) props[always] = it->second;
  }
  if (const auto it = obj.props.find(t.modified_property); it != obj.props.end()) {
    props[t.modified_property] = it->second;
  }
  json::object out;
  out["id"] = std::to_string(obj.id);
  out["properties"] = std::move(props);
  out["createdAt"] = iso_ms(obj.created_ms);
  out["updatedAt"] = iso_ms(obj.updated_ms);
  out["archived"] = obj.archived;
  if (obj.archived) out["archivedAt"] = iso_ms(obj.archived_ms);
  if (with_associations && association_types != nullptr) {
    json::object assoc;
    for (const auto& type : *association_types) {
      const auto it = obj.associations.find(type);
      if (it == obj.associations.end() || it->second.empty()) continue;
      json::array results;
      for (const auto id : it->second) {
        results.push_back(json::object{{"id", std::to_string(id)},
                                       {"type", t.singular + "_to_" + (type == "contacts" ? "contact" : type)}});
      }
      assoc[type] = json::object{{"results", std::move(results)}};
    }
    if (!assoc.empty()) out["associations"] = std::move(assoc);
  }
  return out;
}

// ---- HTTP layer ---------------------------------------------------------------------------------------------

namespace {

api_reply error_reply(int status, std::string_view category, std::string message, std::int64_t correlation,
                      json::array errors = {}) {
  json::object body{{"status", "error"},
                    {"message", message},
                    {"correlationId", correlation_id(correlation)},
                    {"category", category}};
  if (!errors.empty()) body["errors"] = std::move(errors);
  return json_reply(status, body);
}

}  // namespace

std::optional<api_reply> api::rate_limit(bool search_endpoint,
                                         std::vector<std::pair<std::string, std::string>>& headers) {
  const std::int64_t now = now_ms_();
  if (now - window_start_ms_ >= 10000 || now < window_start_ms_) {
    window_start_ms_ = now;
    window_count_ = 0;
  }
  if (now - day_start_ms_ >= 86'400'000 || now < day_start_ms_) {
    day_start_ms_ = now;
    day_count_ = 0;
  }
  const bool daily = day_count_ >= limits_.daily_max;
  const bool secondly = window_count_ >= limits_.ten_secondly_max;
  if (daily || secondly) {
    json::object body{{"status", "error"},
                      {"message", daily ? "You have reached your daily limit."
                                        : "You have reached your ten_secondly_rolling limit."},
                      {"errorType", "RATE_LIMIT"},
                      {"correlationId", correlation_id(++correlation_)},
                      {"policyName", daily ? "DAILY" : "TEN_SECONDLY_ROLLING"},
                      {"requestId", correlation_id(correlation_ + 7)}};
    api_reply r = json_reply(429, body);
    if (!search_endpoint) {
      r.headers.emplace_back("X-HubSpot-RateLimit-Daily", std::to_string(limits_.daily_max));
      r.headers.emplace_back("X-HubSpot-RateLimit-Daily-Remaining",
                             std::to_string(std::max<std::int64_t>(0, limits_.daily_max - day_count_)));
      r.headers.emplace_back("X-HubSpot-RateLimit-Interval-Milliseconds", "10000");
      r.headers.emplace_back("X-HubSpot-RateLimit-Max", std::to_string(limits_.ten_secondly_max));
      r.headers.emplace_back("X-HubSpot-RateLimit-Remaining", "0");
    }
    return r;
  }
  ++window_count_;
  ++day_count_;
  if (!search_endpoint) {  // the search endpoint does not report these headers
    headers.emplace_back("X-HubSpot-RateLimit-Daily", std::to_string(limits_.daily_max));
    headers.emplace_back("X-HubSpot-RateLimit-Daily-Remaining", std::to_string(limits_.daily_max - day_count_));
    headers.emplace_back("X-HubSpot-RateLimit-Interval-Milliseconds", "10000");
    headers.emplace_back("X-HubSpot-RateLimit-Max", std::to_string(limits_.ten_secondly_max));
    headers.emplace_back("X-HubSpot-RateLimit-Remaining", std::to_string(limits_.ten_secondly_max - window_count_));
    headers.emplace_back("X-HubSpot-RateLimit-Secondly", std::to_string((limits_.ten_secondly_max + 9) / 10));
    headers.emplace_back("X-HubSpot-RateLimit-Secondly-Remaining",
                         std::to_string(std::max<std::int64_t>(0, (limits_.ten_secondly_max - window_count_) / 10)));
  }
  return std::nullopt;
}

namespace {
/// Access tokens this simulator issues through /oauth/v1/token start with this; anything else after "Bearer "
/// is taken for a private app's token (never expires, as in HubSpot).
constexpr std::string_view oauth_token_prefix = "CNSIM";

}  // namespace

api_reply api::oauth_token(const api_request& request) {
  // HubSpot's token errors are 400 {"status":"<CODE>","message":"...","correlationId":"...","requestId":"..."}.
  auto refuse = [&](std::string_view code, std::string_view message) {
    const auto n = ++correlation_;
    return json_reply(400, json::object{{"status", code},
                                        {"message", message},
                                        {"correlationId", correlation_id(n)},
                                        {"requestId", correlation_id(n + 7)}});
  };
  if (request.method != "POST") {
    return error_reply(405, "VALIDATION_ERROR", "Method " + request.method + " is not allowed here", ++correlation_);
  }
  auto form = parse_form(request.body);
  const std::string grant = form["grant_type"];
  if (grant != "refresh_token" && grant != "authorization_code") {
    return refuse("BAD_GRANT_TYPE", "missing or unknown grant type");
  }
  const std::string& client_id = form["client_id"];
  if (client_id.empty() || (!oauth_.client_id.empty() && client_id != oauth_.client_id)) {
    return refuse("BAD_CLIENT_ID", "missing or unknown client id");
  }
  const std::string& client_secret = form["client_secret"];
  if (client_secret.empty() || (!oauth_.client_secret.empty() && client_secret != oauth_.client_secret)) {
    return refuse("BAD_CLIENT_SECRET", "missing or invalid client secret");
  }
  std::string refresh = form["refresh_token"];
  if (grant == "authorization_code") {
    // The install flow: any code is accepted once here; it yields a fresh refresh token.
    if (form["code"].empty()) return refuse("BAD_AUTH_CODE", "missing or unknown auth code");
    refresh = "sim-refresh-" + std::to_string(++token_serial_);
    if (!oauth_.refresh_tokens.empty()) oauth_.refresh_tokens.insert(refresh);
  } else if (refresh.empty() || (!oauth_.refresh_tokens.empty() && !oauth_.refresh_tokens.count(refresh))) {
    return refuse("BAD_REFRESH_TOKEN", "missing or unknown refresh token");
  }
  if (grant == "refresh_token" && oauth_.rotate) {
    oauth_.refresh_tokens.erase(refresh);
    refresh = "sim-refresh-" + std::to_string(++token_serial_);
    oauth_.refresh_tokens.insert(refresh);
  }
  const auto now = now_ms_();
  const auto serial = ++token_serial_;
  std::string access = std::string(oauth_token_prefix) + std::to_string(serial) + "-" +
                       correlation_id(static_cast<std::int64_t>(serial) * 7919 + now % 100000);
  access_tokens_[access] = now + limits_.token_lifetime_ms;
  const std::int64_t expires_in = std::max<std::int64_t>(1, limits_.token_lifetime_ms / 1000);
  return json_reply(200, json::object{{"token_type", "bearer"},
                                      {"refresh_token", refresh},
                                      {"access_token", access},
                                      {"expires_in", expires_in}});
}

api_reply api::handle(const api_request& request) {
  std::lock_guard lock(mutex_);
  if (request.target == "/oauth/v1/token" || request.target.starts_with("/oauth/v1/token?")) {
    return oauth_token(request);
  }
  const std::string_view auth = request.authorization;
  if (!auth.starts_with("Bearer ") || auth.size() <= 7) {
    return error_reply(401, "INVALID_AUTHENTICATION",
                       "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                       "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                       ++correlation_);
  }
  if (const auto bearer = auth.substr(7); bearer.starts_with(oauth_token_prefix)) {
    const auto it = access_tokens_.find(std::string(bearer));
    if (it == access_tokens_.end()) {
      return error_reply(401, "INVALID_AUTHENTICATION",
                         "Authentication credentials not found. This API supports OAuth 2.0 authentication and you "
                         "can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                         ++correlation_);
    }
    if (const auto now = now_ms_(); it->second <= now) {
      const auto minutes = (now - it->second) / 60000;
      return error_reply(401, "EXPIRED_AUTHENTICATION",
                         "The OAuth token used to make this call expired " + std::to_string(minutes) + " minute(s) ago.",
                         ++correlation_);
    }
  }
  const bool is_search = request.target.find("/search") != std::string::npos;
  std::vector<std::pair<std::string, std::string>> limit_headers;
  if (auto limited = rate_limit(is_search, limit_headers)) return *limited;
  api_reply reply;
  try {
    reply = route(request);
  } catch (const std::exception& e) {  // a bug must not take the listener down; answer like HubSpot's 500
    reply = error_reply(500, "INTERNAL_ERROR", std::string("internal error: ") + e.what(), ++correlation_);
  }
  reply.headers.insert(reply.headers.end(), limit_headers.begin(), limit_headers.end());
  return reply;
}

api_reply api::route(const api_request& request) {
  auto parsed = boost::urls::parse_origin_form(request.target);
  if (!parsed) return error_reply(400, "VALIDATION_ERROR", "Invalid request target", ++correlation_);
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.emplace_back(s);
  query_map query;
  for (auto p : parsed->params()) {
    auto& slot = query[std::string(p.key)];
    // Repeated parameters (properties=a&properties=b) accumulate like a comma list.
    slot = slot.empty() ? std::string(p.value) : slot + "," + std::string(p.value);
  }
  const std::string& m = request.method;
  json::value body;
  if (m == "POST" || m == "PATCH" || m == "PUT") {
    boost::system::error_code ec;
    body = json::parse(request.body, ec);
    if (ec) {
      return error_reply(400, "VALIDATION_ERROR", "Invalid input JSON on line 1: " + ec.message(), ++correlation_);
    }
  }
  if (segs.size() >= 3 && segs[0] == "crm" && segs[1] == "v3" && segs[2] == "properties" && segs.size() == 4 &&
      m == "GET") {
    return properties_of(segs[3]);
  }
  if (segs.size() == 5 && segs[0] == "crm" && segs[1] == "v3" && segs[2] == "properties" && m == "GET") {
    return property_one(segs[3], segs[4]);
  }
  // POST /crm/v3/associations/{from}/{to}/batch/read and /crm/v4/associations/{from}/{to}/batch/read
  if (segs.size() == 7 && segs[0] == "crm" && (segs[1] == "v3" || segs[1] == "v4") && segs[2] == "associations" &&
      segs[5] == "batch" && segs[6] == "read" && m == "POST") {
    return associations_read(segs[3], segs[4], body, segs[1] == "v4");
  }
  if (segs.size() >= 3 && segs[0] == "crm" && segs[1] == "v3" && segs[2] == "lists") {
    auto exists_now = [this](const std::string& type_id, std::int64_t id) {
      for (auto& t : types_)
        if (t.type_id == type_id) return exists(t, id) && !load(t, id).archived;
      return false;
    };
    auto r = lists_.handle(m, std::vector<std::string>(segs.begin() + 3, segs.end()), query, body, exists_now, now_ms_(),
                           correlation_);
    if (r.status == 204) {
      api_reply empty;
      empty.status = 204;
      return empty;
    }
    return json_reply(r.status, r.body);
  }
  if (segs.size() < 4 || segs[0] != "crm" || segs[1] != "v3" || segs[2] != "objects") {
    return error_reply(404, "OBJECT_NOT_FOUND", "Resource not found", ++correlation_);
  }
  type_state* t = find_type(segs[3]);
  if (t == nullptr) {
    return error_reply(400, "VALIDATION_ERROR", "Unable to infer object type from: " + segs[3], ++correlation_);
  }
  const bool read_only_type = t->name == "feedback_submissions";
  if (segs.size() == 4) {
    if (m == "GET") return list(*t, query);
    if (m == "POST" && !read_only_type) return create_one(*t, body);
  } else if (segs.size() == 5 && segs[4] == "search" && m == "POST") {
    return search(*t, body);
  } else if (segs.size() == 6 && segs[4] == "batch" && m == "POST") {
    if (read_only_type && segs[5] != "read") {
      return error_reply(405, "VALIDATION_ERROR", "feedback submissions are read-only", ++correlation_);
    }
    return batch(*t, segs[5], body);
  } else if (segs.size() == 5) {
    if (m == "GET") return read_one(*t, segs[4], query);
    if (m == "PATCH" && !read_only_type) return update_one(*t, segs[4], query, body);
    if (m == "DELETE" && !read_only_type) return archive_one(*t, segs[4]);
  }
  return error_reply(405, "VALIDATION_ERROR", "Method " + m + " is not allowed here", ++correlation_);
}

api_reply api::list(type_state& t, const query_map& query) {
  std::size_t limit = 10;
  if (const auto it = query.find("limit"); it != query.end()) {
    const auto n = parse_id(it->second);
    if (!n) return error_reply(400, "VALIDATION_ERROR", "limit must be a positive integer", ++correlation_);
    if (static_cast<std::size_t>(*n) > limits_.list_max) {
      return error_reply(400, "VALIDATION_ERROR", "limit must be at most " + std::to_string(limits_.list_max),
                         ++correlation_);
    }
    limit = static_cast<std::size_t>(*n);
  }
  std::int64_t after = 0;
  if (const auto it = query.find("after"); it != query.end() && !it->second.empty()) {
    const auto n = parse_id(it->second);
    if (!n) return error_reply(400, "VALIDATION_ERROR", "Invalid after: " + it->second, ++correlation_);
    after = *n;
  }
  const bool archived = query.count("archived") != 0 && query.at("archived") == "true";
  std::vector<std::string> wanted;
  if (const auto it = query.find("properties"); it != query.end()) wanted = split_csv(it->second);
  std::vector<std::string> assoc;
  if (const auto it = query.find("associations"); it != query.end()) assoc = split_csv(it->second);
  json::array results;
  std::optional<std::int64_t> next;
  for_each(t, archived, [&](const crm_object& obj) {
    if (obj.id <= after) return true;
    if (results.size() == limit) {
      next = results.empty() ? obj.id : std::stoll(std::string(results.back().at("id").get_string()));
      return false;
    }
    results.push_back(to_json(t, obj, &wanted, true, &assoc));
    return true;
  }, after + 1);
  json::object body{{"results", std::move(results)}};
  if (next) {
    const std::string cursor = std::to_string(*next);
    body["paging"] = json::object{{"next", json::object{{"after", cursor}, {"link", "?after=" + cursor}}}};
  }
  return json_reply(200, body);
}

api_reply api::read_one(type_state& t, const std::string& id_text, const query_map& query) {
  std::string id_property;
  if (const auto it = query.find("idProperty"); it != query.end()) id_property = it->second;
  const auto id = find_by_property(t, id_property, id_text);
  const bool archived = query.count("archived") != 0 && query.at("archived") == "true";
  std::optional<crm_object> obj;
  if (id) {
    obj = load(t, *id);
  } else if (archived && id_property.empty()) {
    if (const auto n = parse_id(id_text); n && exists(t, *n)) {
      if (auto loaded = load(t, *n); loaded.archived) obj = loaded;
    }
  }
  if (!obj) return error_reply(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", ++correlation_);
  std::vector<std::string> wanted;
  if (const auto it = query.find("properties"); it != query.end()) wanted = split_csv(it->second);
  std::vector<std::string> assoc;
  if (const auto it = query.find("associations"); it != query.end()) assoc = split_csv(it->second);
  return json_reply(200, to_json(t, *obj, &wanted, true, &assoc));
}

namespace {

// Validates written properties against the type's schema, as HubSpot does on every write path (single and
// batch): returns the whole error message HubSpot answers with, "Property values were not valid: [...]" holding one
// {"isValid":false,"message":...,"error":CODE,"name":property} per problem, or "" when every value is valid.
std::string check_properties(std::string_view type, const json::object& props, properties& out) {
  json::array problems;
  auto problem = [&](std::string_view name, std::string message, const char* code) {
    problems.push_back(json::object{{"isValid", false}, {"message", message}, {"error", code}, {"name", name},
                                    {"localizedErrorMessage", message}});
  };
  for (const auto& [key, value] : props) {
    const property_spec* spec = find_spec(type, key);
    if (spec == nullptr) {
      problem(key, "Property \"" + std::string(key) + "\" does not exist", "PROPERTY_DOESNT_EXIST");
      continue;
    }
    if (spec->read_only) {
      problem(key, "\"" + std::string(key) + "\" is a read only property; its value cannot be set.", "READ_ONLY_VALUE");
      continue;
    }
    std::string text = scalar_text(value);
    const std::string_view ptype = spec->type;
    if (!text.empty()) {
      const bool padded = std::isspace(static_cast<unsigned char>(text.front())) ||
                          std::isspace(static_cast<unsigned char>(text.back()));
      if (ptype != "string" && padded) {
        // Changelog "Enhanced Validations for Non-String Properties": no leading or trailing whitespace.
        problem(key, "\"" + text + "\" includes leading or trailing whitespace.", "LEADING_TRAILING_WHITESPACE");
        continue;
      }
      if (!spec->options.empty() &&
          std::none_of(spec->options.begin(), spec->options.end(), [&](const char* o) { return text == o; })) {
        std::string allowed;
        for (const char* o : spec->options) allowed += std::string(allowed.empty() ? "" : ", ") + o;
        problem(key, text + " was not one of the allowed options: [" + allowed + "]", "INVALID_OPTION");
        continue;
      }
      if (ptype == "number" && !plain_number(text)) {
        problem(key, text + " is not a valid decimal number", "INVALID_DECIMAL");
        continue;
      }
      if (ptype == "datetime" && !numeric_value(text)) {
        problem(key, text + " is not a valid datetime: use epoch milliseconds or ISO 8601", "INVALID_DATETIME");
        continue;
      }
      if (std::string_view(key) == "email" && !valid_email(text)) {
        problem(key, "Email address " + text + " is invalid", "INVALID_EMAIL");
        continue;
      }
      if (text.size() > 65536) {
        problem(key, "Value for " + std::string(key) + " is longer than 65536 characters", "INVALID_LENGTH");
        continue;
      }
    }
    out[std::string(key)] = std::move(text);
  }
  if (problems.empty()) return {};
  return "Property values were not valid: " + json::serialize(problems);
}

}  // namespace

api_reply api::create_one(type_state& t, const json::value& body) {
  const auto* props = body.is_object() ? body.get_object().if_contains("properties") : nullptr;
  if (props == nullptr || !props->is_object()) {
    return error_reply(400, "VALIDATION_ERROR", "properties is required", ++correlation_);
  }
  properties values;
  if (auto err = check_properties(t.name, props->get_object(), values); !err.empty()) {
    return error_reply(400, "VALIDATION_ERROR", err, ++correlation_);
  }
  for (const auto& spec : specs_for(t.name)) {
    if (!spec.unique || spec.read_only) continue;
    const auto it = values.find(spec.name);
    if (it == values.end() || it->second.empty()) continue;
    if (const auto existing = find_by_property(t, spec.name, it->second)) {
      return error_reply(409, "CONFLICT", "Contact already exists. Existing ID: " + std::to_string(*existing),
                         ++correlation_);
    }
  }
  std::vector<std::pair<type_state*, std::int64_t>> links;
  if (auto err = check_associations(t, body.get_object().if_contains("associations"), links); !err.empty()) {
    return error_reply(400, "VALIDATION_ERROR", err, ++correlation_);
  }
  crm_object obj = create(t, std::move(values), change_origin::integration);
  link(t, obj, links);
  return json_reply(201, to_json(t, obj, nullptr, false, nullptr));
}

std::string api::check_associations(type_state& t, const json::value* given,
                                    std::vector<std::pair<type_state*, std::int64_t>>& out) {
  // "associations": [{"to":{"id":"101"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":4}]}]
  // with HubSpot's default association type ids for the pairs this simulator stores (both directions).
  if (given == nullptr || given->is_null()) return {};
  if (!given->is_array()) return "associations must be an array";
  struct pair_type {
    const char* from;
    const char* to;
    std::vector<int> ids;
  };
  static const std::vector<pair_type> defined = {
      {"contacts", "companies", {1, 279}}, {"companies", "contacts", {2, 280}}, {"deals", "contacts", {3}},
      {"contacts", "deals", {4}},          {"deals", "companies", {5, 341}},  {"companies", "deals", {6, 342}}};
  for (const auto& a : given->get_array()) {
    const auto* to = a.is_object() ? a.get_object().if_contains("to") : nullptr;
    const auto* to_id = to != nullptr && to->is_object() ? to->get_object().if_contains("id") : nullptr;
    const auto* types = a.is_object() ? a.get_object().if_contains("types") : nullptr;
    if (to_id == nullptr || types == nullptr || !types->is_array() || types->get_array().empty())
      return "Each association needs to.id and at least one type";
    const auto target_id = parse_id(scalar_text(*to_id));
    type_state* target = nullptr;
    for (const auto& ty : types->get_array()) {
      const auto* category = ty.is_object() ? ty.get_object().if_contains("associationCategory") : nullptr;
      const auto* type_id = ty.is_object() ? ty.get_object().if_contains("associationTypeId") : nullptr;
      if (category == nullptr || scalar_text(*category) != "HUBSPOT_DEFINED" || type_id == nullptr || !type_id->is_number())
        return "associationCategory must be HUBSPOT_DEFINED with a numeric associationTypeId";
      const int id = type_id->to_number<int>();
      const pair_type* match = nullptr;
      for (const auto& d : defined)
        if (t.name == d.from && std::find(d.ids.begin(), d.ids.end(), id) != d.ids.end()) match = &d;
      if (match == nullptr)
        return "associationTypeId " + std::to_string(id) + " does not associate " + t.name + " with another object";
      type_state* this_target = find_type(match->to);
      if (target != nullptr && target != this_target) return "the types of one association name different objects";
      target = this_target;
    }
    if (!target_id || !exists(*target, *target_id) || load(*target, *target_id).archived)
      return "Association target " + target->singular + " " + scalar_text(*to_id) + " does not exist";
    out.emplace_back(target, *target_id);
  }
  return {};
}

void api::link(type_state& t, crm_object& obj, const std::vector<std::pair<type_state*, std::int64_t>>& links) {
  if (links.empty()) return;
  for (const auto& [target, target_id] : links) {
    auto& mine = obj.associations[target->name];
    if (std::find(mine.begin(), mine.end(), target_id) == mine.end()) mine.push_back(target_id);
    // The other side sees the association too (its modification stamp stays: associating is not a property change).
    crm_object other = load(*target, target_id);
    auto& theirs = other.associations[t.name];
    if (std::find(theirs.begin(), theirs.end(), obj.id) == theirs.end()) theirs.push_back(obj.id);
    store(*target, other);
  }
  store(t, obj);
}

api_reply api::update_one(type_state& t, const std::string& id_text, const query_map& query, const json::value& body) {
  std::string id_property;
  if (const auto it = query.find("idProperty"); it != query.end()) id_property = it->second;
  const auto id = find_by_property(t, id_property, id_text);
  if (!id) return error_reply(404, "OBJECT_NOT_FOUND", "resource not found", ++correlation_);
  const auto* props = body.is_object() ? body.get_object().if_contains("properties") : nullptr;
  if (props == nullptr || !props->is_object()) {
    return error_reply(400, "VALIDATION_ERROR", "properties is required", ++correlation_);
  }
  properties values;
  if (auto err = check_properties(t.name, props->get_object(), values); !err.empty()) {
    return error_reply(400, "VALIDATION_ERROR", err, ++correlation_);
  }
  crm_object obj = load(t, *id);
  update(t, obj, values, change_origin::integration);
  return json_reply(200, to_json(t, obj, nullptr, false, nullptr));
}

api_reply api::archive_one(type_state& t, const std::string& id_text) {
  const auto id = find_by_property(t, {}, id_text);
  if (id) {
    crm_object obj = load(t, *id);
    archive(t, obj, change_origin::integration);
  }
  api_reply r;
  r.status = 204;  // HubSpot answers 204 whether or not the object existed
  return r;
}

api_reply api::search(type_state& t, const json::value& body) {
  auto parsed = parse_search_request(body, limits_.search);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    return error_reply(400, "VALIDATION_ERROR", *err, ++correlation_);
  }
  const auto& req = std::get<search_request>(parsed);
  if (req.after >= limits_.search.result_cap) {
    return error_reply(400, "VALIDATION_ERROR",
                       "Paging beyond " + std::to_string(limits_.search.result_cap) +
                           " results is not supported; narrow the search (after=" + std::to_string(req.after) + ")",
                       ++correlation_);
  }
  if (auto fast = indexed_search(t, req)) return *fast;
  std::vector<crm_object> hits;
  for_each(t, false, [&](const crm_object& obj) {
    if (matches(req, obj.props) && (req.query.empty() || [&] {
          search_filter token{"", "CONTAINS_TOKEN", req.query + "*", {}, {}};
          for (const auto& [name, value] : obj.props) {
            token.property = name;
            if (matches(token, obj.props)) return true;
          }
          return false;
        }())) {
      hits.push_back(obj);
    }
    return true;
  });
  std::stable_sort(hits.begin(), hits.end(), [&](const crm_object& a, const crm_object& b) {
    return sorts_before(req, a.props, a.id, b.props, b.id);
  });
  json::array results;
  const std::size_t end = std::min({hits.size(), req.after + req.limit, limits_.search.result_cap});
  std::vector<std::string> wanted = req.properties;
  for (std::size_t i = req.after; i < end; ++i) {
    auto o = to_json(t, hits[i], &wanted, false, nullptr);
    if (req.properties.empty()) {  // search returns only the three system properties unless asked
      json::object slim;
      for (const char* k : {"hs_object_id", "createdate"}) {
        if (const auto* v = o["properties"].get_object().if_contains(k)) slim[k] = *v;
      }
      if (const auto* v = o["properties"].get_object().if_contains(t.modified_property)) {
        slim[t.modified_property] = *v;
      }
      o["properties"] = std::move(slim);
    }
    results.push_back(std::move(o));
  }
  json::object out{{"total", hits.size()}, {"results", std::move(results)}};
  if (end < hits.size()) {
    out["paging"] = json::object{{"next", json::object{{"after", std::to_string(end)}}}};
  }
  return json_reply(200, out);
}

api_reply api::batch(type_state& t, const std::string& op, const json::value& body) {
  const auto* inputs = body.is_object() ? body.get_object().if_contains("inputs") : nullptr;
  if (inputs == nullptr || !inputs->is_array()) {
    return error_reply(400, "VALIDATION_ERROR", "inputs is required", ++correlation_);
  }
  const auto& in = inputs->get_array();
  if (in.size() > limits_.batch_max) {
    return error_reply(400, "VALIDATION_ERROR",
                       "Batch input is limited to " + std::to_string(limits_.batch_max) + " inputs, got " +
                           std::to_string(in.size()),
                       ++correlation_);
  }
  const std::string requested_at = iso_ms(now_ms_());
  json::array results;
  json::array errors;
  std::string id_property;
  if (const auto* p = body.get_object().if_contains("idProperty"); p != nullptr && p->is_string()) {
    id_property = std::string(p->get_string());
  }
  std::vector<std::string> wanted;
  if (const auto* p = body.get_object().if_contains("properties"); p != nullptr && p->is_array()) {
    for (const auto& v : p->get_array()) {
      if (v.is_string()) wanted.emplace_back(v.get_string());
    }
  }
  auto add_error = [&](std::string category, std::string message, json::object context) {
    errors.push_back(json::object{{"status", "error"},
                                  {"category", std::move(category)},
                                  {"message", std::move(message)},
                                  {"context", std::move(context)}});
  };
  const std::string upper_type = [&] {
    std::string s = t.singular;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
  }();

  if (op == "read") {
    json::array missing;
    for (const auto& input : in) {
      const auto* id = input.is_object() ? input.get_object().if_contains("id") : nullptr;
      const std::string key = id == nullptr ? std::string() : scalar_text(*id);
      if (const auto found = find_by_property(t, id_property, key)) {
        results.push_back(to_json(t, load(t, *found), &wanted, false, nullptr));
      } else {
        missing.push_back(json::value(key));
      }
    }
    if (!missing.empty()) {
      add_error("OBJECT_NOT_FOUND",
                "Could not get some " + upper_type + " objects, they may be deleted or not exist. Check that ids are valid.",
                json::object{{"ids", std::move(missing)}});
    }
  } else if (op == "create") {
    // All or nothing, unless every input carries an objectWriteTraceId: then the valid ones are created and the
    // others reported per input (207), as "Multi-status errors" in HubSpot's error-handling guide describes.
    const bool multi_status = !in.empty() && std::all_of(in.begin(), in.end(), [](const json::value& v) {
      return v.is_object() && v.get_object().contains("objectWriteTraceId");
    });
    struct planned {
      properties values;
      std::vector<std::pair<type_state*, std::int64_t>> links;
      std::string category, message;
      int status = 0;
    };
    std::vector<planned> plan;
    std::set<std::string> unique_in_batch;
    for (const auto& input : in) {
      planned p;
      const auto* props = input.is_object() ? input.get_object().if_contains("properties") : nullptr;
      std::string err = props != nullptr && props->is_object() ? check_properties(t.name, props->get_object(), p.values)
                                                               : std::string("properties is required");
      if (err.empty()) err = check_associations(t, input.get_object().if_contains("associations"), p.links);
      if (!err.empty()) {
        p.status = 400;
        p.category = "VALIDATION_ERROR";
        p.message = err;
      }
      for (const auto& spec : specs_for(t.name)) {
        if (p.status != 0 || !spec.unique || spec.read_only) continue;
        const auto it = p.values.find(spec.name);
        if (it == p.values.end() || it->second.empty()) continue;
        const auto existing = find_by_property(t, spec.name, it->second);
        if (existing || !unique_in_batch.insert(std::string(spec.name) + "\n" + it->second).second) {
          p.status = 409;
          p.category = "CONFLICT";
          p.message = std::string(t.singular == "contact" ? "Contact" : "Object") + " already exists. Existing ID: " +
                      (existing ? std::to_string(*existing) : std::string("(earlier in this batch)"));
        }
      }
      if (p.status != 0 && !multi_status) return error_reply(p.status, p.category, p.message, ++correlation_);
      plan.push_back(std::move(p));
    }
    for (std::size_t i = 0; i < plan.size(); ++i) {
      if (plan[i].status != 0) {
        const auto& trace = in[i].get_object().at("objectWriteTraceId");
        add_error(plan[i].category, plan[i].message, json::object{{"objectWriteTraceId", json::array{trace}}});
        continue;
      }
      crm_object obj = create(t, std::move(plan[i].values), change_origin::integration);
      link(t, obj, plan[i].links);
      auto o = to_json(t, obj, nullptr, false, nullptr);
      if (multi_status) o["objectWriteTraceId"] = in[i].get_object().at("objectWriteTraceId");
      results.push_back(std::move(o));
    }
  } else if (op == "update" || op == "upsert") {
    const bool upsert = op == "upsert";
    // One record per id: "Duplicate IDs found in batch input: [...]. IDs must be unique".
    {
      std::set<std::string> seen;
      json::array dups;
      for (const auto& input : in) {
        if (!input.is_object()) continue;
        const auto* id = input.get_object().if_contains("id");
        if (id == nullptr) continue;
        std::string prop = id_property;
        if (const auto* p = input.get_object().if_contains("idProperty"); p != nullptr && p->is_string())
          prop = std::string(p->get_string());
        std::string key = scalar_text(*id);
        // Email is matched without case, as the lookup does.
        std::string norm = prop == "email" ? [](std::string v) {
          std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          return v;
        }(key) : key;
        if (!seen.insert(prop + "\n" + norm).second) dups.push_back(json::value(key));
      }
      if (!dups.empty()) {
        std::string list;
        for (const auto& d : dups) list += (list.empty() ? "" : ", ") + std::string(d.as_string());
        auto r = error_reply(400, "VALIDATION_ERROR",
                             "Duplicate IDs found in batch input: [" + list + "]. IDs must be unique", ++correlation_);
        auto b = json::parse(r.body).as_object();
        b["context"] = json::object{{"ids", std::move(dups)}};
        r.body = json::serialize(b);
        return r;
      }
    }
    for (const auto& input : in) {
      if (!input.is_object()) {
        add_error("VALIDATION_ERROR", "input must be an object", {});
        continue;
      }
      const auto& io = input.get_object();
      const auto* id = io.if_contains("id");
      const std::string key = id == nullptr ? std::string() : scalar_text(*id);
      std::string prop = id_property;
      if (const auto* p = io.if_contains("idProperty"); p != nullptr && p->is_string()) prop = std::string(p->get_string());
      const auto* props = io.if_contains("properties");
      properties values;
      std::string err = props != nullptr && props->is_object() ? check_properties(t.name, props->get_object(), values)
                                                               : std::string("properties is required");
      if (err.empty() && key.empty()) err = "id is required";
      if (err.empty() && !prop.empty() && prop != "hs_object_id") {
        const property_spec* spec = find_spec(t.name, prop);
        if (spec == nullptr || !spec->unique) err = "idProperty " + prop + " is not a unique property";
      }
      if (!err.empty()) {
        add_error("VALIDATION_ERROR", err, json::object{{"id", key}});
        continue;
      }
      // Like HubSpot, the answer shows the properties that were written besides the default ones.
      std::vector<std::string> echoed = default_properties(t.name);
      for (const auto& [name, value] : values) {
        if (std::find(echoed.begin(), echoed.end(), name) == echoed.end()) echoed.push_back(name);
      }
      if (!prop.empty() && std::find(echoed.begin(), echoed.end(), prop) == echoed.end()) echoed.push_back(prop);
      const auto found = find_by_property(t, prop, key);
      if (found) {
        crm_object obj = load(t, *found);
        update(t, obj, values, change_origin::integration);
        auto o = to_json(t, obj, &echoed, false, nullptr);
        if (upsert) o["new"] = false;
        results.push_back(std::move(o));
      } else if (upsert && !prop.empty() && prop != "hs_object_id") {
        values[prop] = key;
        crm_object obj = create(t, std::move(values), change_origin::integration);
        auto o = to_json(t, obj, &echoed, false, nullptr);
        o["new"] = true;
        results.push_back(std::move(o));
      } else {
        add_error("OBJECT_NOT_FOUND", "Object not found. objectId are usually numeric.",
                  json::object{{"ids", json::array{json::value(key)}}});
      }
    }
  } else if (op == "archive") {
    for (const auto& input : in) {
      const auto* id = input.is_object() ? input.get_object().if_contains("id") : nullptr;
      if (id == nullptr) continue;
      if (const auto found = find_by_property(t, {}, scalar_text(*id))) {
        crm_object obj = load(t, *found);
        archive(t, obj, change_origin::integration);
      }
    }
    api_reply r;
    r.status = 204;
    return r;
  } else {
    return error_reply(404, "OBJECT_NOT_FOUND", "Unknown batch operation " + op, ++correlation_);
  }

  json::object out{{"status", "COMPLETE"},
                   {"results", std::move(results)},
                   {"requestedAt", requested_at},
                   {"startedAt", requested_at},
                   {"completedAt", iso_ms(now_ms_())},
                   {"links", json::object{}}};
  int status = op == "create" ? 201 : 200;
  if (!errors.empty()) {
    out["numErrors"] = errors.size();
    out["errors"] = std::move(errors);
    status = 207;
  }
  return json_reply(status, out);
}

api_reply api::associations_read(const std::string& from_name, const std::string& to_name, const json::value& body,
                                 bool v4) {
  type_state* from = find_type(from_name);
  type_state* to = find_type(to_name);
  if (from == nullptr || to == nullptr) {
    return error_reply(400, "VALIDATION_ERROR", "Unknown object type " + (from == nullptr ? from_name : to_name),
                       ++correlation_);
  }
  const auto* inputs = body.is_object() ? body.get_object().if_contains("inputs") : nullptr;
  if (inputs == nullptr || !inputs->is_array()) return error_reply(400, "VALIDATION_ERROR", "inputs is required", ++correlation_);
  if (inputs->get_array().size() > 1000) {
    return error_reply(400, "VALIDATION_ERROR", "Batch input is limited to 1000 inputs", ++correlation_);
  }
  const std::string label = from->singular + "_to_" + to->singular;
  // HubSpot-defined association type ids for the pairs this simulator stores.
  const int type_id = label == "deal_to_contact" ? 3 : label == "contact_to_deal" ? 4
                    : label == "feedback_submission_to_contact" ? 1208 : label == "contact_to_feedback_submission" ? 1209 : 0;
  json::array results;
  json::array errors;
  for (const auto& input : inputs->get_array()) {
    const auto* idv = input.is_object() ? input.get_object().if_contains("id") : nullptr;
    const auto id = idv == nullptr ? std::nullopt : parse_id(scalar_text(*idv));
    std::vector<std::int64_t> targets;
    if (id && exists(*from, *id)) {
      const crm_object obj = load(*from, *id);
      if (const auto it = obj.associations.find(to->name); it != obj.associations.end()) {
        targets = it->second;
      } else {
        // Stored on the other side (deals hold their contacts): find the objects pointing back.
        for_each(*to, false, [&](const crm_object& other) {
          if (const auto back = other.associations.find(from->name);
              back != other.associations.end() &&
              std::find(back->second.begin(), back->second.end(), *id) != back->second.end()) {
            targets.push_back(other.id);
          }
          return true;
        });
      }
    }
    const std::string id_text = idv == nullptr ? std::string() : scalar_text(*idv);
    if (targets.empty()) {
      errors.push_back(json::object{{"status", "error"},
                                    {"category", "OBJECT_NOT_FOUND"},
                                    {"subCategory", "crm.associations.NO_ASSOCIATIONS_FOUND"},
                                    {"message", "No " + to->singular + " is associated with " + from->singular + " " + id_text + "."},
                                    {"context", json::object{{"fromObjectId", json::array{json::value(id_text)}}}}});
      continue;
    }
    json::array to_list;
    for (const auto target : targets) {
      if (v4) {
        to_list.push_back(json::object{
            {"toObjectId", target},
            {"associationTypes", json::array{json::object{{"category", "HUBSPOT_DEFINED"}, {"typeId", type_id}, {"label", nullptr}}}}});
      } else {
        to_list.push_back(json::object{{"id", std::to_string(target)}, {"type", label}});
      }
    }
    results.push_back(json::object{{"from", json::object{{"id", id_text}}}, {"to", std::move(to_list)}});
  }
  const std::string at = iso_ms(now_ms_());
  json::object out{{"status", "COMPLETE"}, {"results", std::move(results)}, {"startedAt", at}, {"completedAt", at}};
  int status = 200;
  if (!errors.empty()) {
    out["numErrors"] = errors.size();
    out["errors"] = std::move(errors);
    status = 207;
  }
  return json_reply(status, out);
}

api_reply api::property_one(const std::string& type, const std::string& name) {
  // GET /crm/v3/properties/{objectType}/{propertyName}: the same object properties_of lists, or 404.
  type_state* t = find_type(type);
  if (t == nullptr) return error_reply(400, "VALIDATION_ERROR", "Unable to infer object type from: " + type, ++correlation_);
  const auto all = json::parse(properties_of(type).body).as_object().at("results").as_array();
  for (const auto& p : all)
    if (p.as_object().at("name").as_string() == name) return json_reply(200, p);
  return error_reply(404, "OBJECT_NOT_FOUND", "Unable to find property " + name + " for object type " + t->name,
                     ++correlation_);
}

api_reply api::properties_of(const std::string& type) {
  type_state* t = find_type(type);
  if (t == nullptr) return error_reply(400, "VALIDATION_ERROR", "Unable to infer object type from: " + type, ++correlation_);
  json::array results;
  int order = 0;
  for (const auto& s : specs_for(t->name)) {
    json::array options;
    int option_order = 0;
    for (const char* o : s.options) {
      options.push_back(json::object{{"label", o}, {"value", o}, {"displayOrder", option_order++}, {"hidden", false}});
    }
    results.push_back(json::object{
        {"name", s.name},
        {"label", s.label},
        {"type", s.type},
        {"fieldType", s.field_type},
        {"description", ""},
        {"groupName", s.group},
        {"options", std::move(options)},
        {"displayOrder", order++},
        {"calculated", false},
        {"externalOptions", false},
        {"hasUniqueValue", s.unique},
        {"hidden", false},
        {"hubspotDefined", !std::string_view(s.name).starts_with("omnisync_")},
        {"modificationMetadata",
         json::object{{"archivable", !s.read_only}, {"readOnlyDefinition", true}, {"readOnlyValue", s.read_only}}},
        {"formField", !s.read_only},
        {"archived", false},
        {"createdAt", "2020-01-01T00:00:00.000Z"},
        {"updatedAt", "2020-01-01T00:00:00.000Z"}});
  }
  return json_reply(200, json::object{{"results", std::move(results)}});
}

// ---- admin side ---------------------------------------------------------------------------------------------

std::optional<json::value> api::admin_list(std::string_view type, bool include_archived) {
  std::lock_guard lock(mutex_);
  type_state* t = find_type(type);
  if (t == nullptr) return std::nullopt;
  std::vector<std::string> all;
  for (const auto& s : specs_for(t->name)) all.emplace_back(s.name);
  const std::vector<std::string> assoc = {"contacts"};
  json::array out;
  for_each(*t, false, [&](const crm_object& obj) {
    out.push_back(to_json(*t, obj, &all, true, &assoc));
    return true;
  });
  if (include_archived) {
    for_each(*t, true, [&](const crm_object& obj) {
      out.push_back(to_json(*t, obj, &all, true, &assoc));
      return true;
    });
  }
  return json::value(std::move(out));
}

std::optional<json::value> api::admin_get(std::string_view type, std::int64_t id) {
  std::lock_guard lock(mutex_);
  type_state* t = find_type(type);
  if (t == nullptr || !exists(*t, id)) return std::nullopt;
  std::vector<std::string> all;
  for (const auto& s : specs_for(t->name)) all.emplace_back(s.name);
  const std::vector<std::string> assoc = {"contacts"};
  return json::value(to_json(*t, load(*t, id), &all, true, &assoc));
}

namespace {

properties admin_properties(const json::object& body) {
  const json::object* src = &body;
  if (const auto* p = body.if_contains("properties"); p != nullptr && p->is_object()) src = &p->get_object();
  properties out;
  for (const auto& [k, v] : *src) {
    if (k == "associations") continue;
    if (v.is_object() || v.is_array()) continue;
    out[std::string(k)] = scalar_text(v);
  }
  return out;
}

void admin_associations(const json::object& body, crm_object& obj) {
  const auto* assoc = body.if_contains("associations");
  if (assoc == nullptr || !assoc->is_object()) return;
  for (const auto& [k, v] : assoc->get_object()) {
    if (!v.is_array()) continue;
    auto& ids = obj.associations[std::string(k)];
    ids.clear();
    for (const auto& id : v.get_array()) {
      if (const auto n = parse_id(scalar_text(id))) ids.push_back(*n);
    }
  }
}

}  // namespace

std::optional<json::value> api::admin_create(std::string_view type, const json::object& body) {
  std::lock_guard lock(mutex_);
  type_state* t = find_type(type);
  if (t == nullptr) return std::nullopt;
  properties props = admin_properties(body);
  props.erase("hs_object_id");
  props.erase("createdate");
  props.erase(t->modified_property);
  crm_object obj = create(*t, std::move(props), change_origin::crm_ui);
  admin_associations(body, obj);
  store(*t, obj);
  std::vector<std::string> all;
  for (const auto& s : specs_for(t->name)) all.emplace_back(s.name);
  const std::vector<std::string> assoc = {"contacts"};
  return json::value(to_json(*t, obj, &all, true, &assoc));
}

std::optional<json::value> api::admin_update(std::string_view type, std::int64_t id, const json::object& body) {
  std::lock_guard lock(mutex_);
  type_state* t = find_type(type);
  if (t == nullptr || !exists(*t, id)) return std::nullopt;
  crm_object obj = load(*t, id);
  if (obj.archived) return std::nullopt;
  properties props = admin_properties(body);
  props.erase("hs_object_id");
  props.erase("createdate");
  props.erase(t->modified_property);
  const auto before = obj.associations;
  admin_associations(body, obj);
  const auto changed = update(*t, obj, props, change_origin::crm_ui);
  if (changed.empty() && before != obj.associations) {
    obj.updated_ms = std::max(now_ms_(), obj.updated_ms + 1);
    obj.props[t->modified_property] = iso_ms(obj.updated_ms);
    emit(*t, obj, "associationChange", change_origin::crm_ui);
  }
  store(*t, obj);
  std::vector<std::string> all;
  for (const auto& s : specs_for(t->name)) all.emplace_back(s.name);
  const std::vector<std::string> assoc = {"contacts"};
  return json::value(to_json(*t, obj, &all, true, &assoc));
}

bool api::admin_archive(std::string_view type, std::int64_t id) {
  std::lock_guard lock(mutex_);
  type_state* t = find_type(type);
  if (t == nullptr || !exists(*t, id)) return false;
  crm_object obj = load(*t, id);
  if (obj.archived) return false;
  archive(*t, obj, change_origin::crm_ui);
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
  if (object == "lists") {
    std::lock_guard lock(mutex_);
    auto r = lists_.admin(std::string(method), std::string(id), now_ms_());
    return {r.status, r.body};
  }
  const bool known = std::find(object_types().begin(), object_types().end(), object) != object_types().end();
  if (!known) return {404, json::object{{"error", "unknown object " + std::string(object)}}};
  std::optional<std::int64_t> n;
  if (!id.empty()) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
    if (ec == std::errc{} && p == id.data() + id.size()) n = v;
    if (!n) return {404, json::object{{"error", "no such id"}}};
  }
  if (method == "GET" && !n) return {200, *admin_list(object, true)};
  if (method == "GET") {
    auto v = admin_get(object, *n);
    return v ? admin_reply{200, *v} : admin_reply{404, json::object{{"error", "not found"}}};
  }
  if (method == "POST" && !n) return {201, *admin_create(object, in)};
  if ((method == "PATCH" || method == "PUT") && n) {
    auto v = admin_update(object, *n, in);
    return v ? admin_reply{200, *v} : admin_reply{404, json::object{{"error", "not found"}}};
  }
  if (method == "DELETE" && n) {
    return admin_archive(object, *n) ? admin_reply{200, json::object{{"archived", true}}}
                                     : admin_reply{404, json::object{{"error", "not found"}}};
  }
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value api::snapshot() {
  json::object out;
  for (const auto& type : object_types()) out[type] = *admin_list(type, true);
  std::lock_guard lock(mutex_);
  out["lists"] = lists_.snapshot();
  return out;
}

void api::set_limits(const json::object& limits) {
  std::lock_guard lock(mutex_);
  auto get = [&](const char* key, auto& slot) {
    if (const auto* v = limits.if_contains(key); v != nullptr && v->is_number()) {
      slot = static_cast<std::remove_reference_t<decltype(slot)>>(v->to_number<double>());
    }
  };
  get("ten_secondly_max", limits_.ten_secondly_max);
  get("daily_max", limits_.daily_max);
  get("batch_max", limits_.batch_max);
  get("list_max", limits_.list_max);
  get("list_membership_max", lists_.limits.membership_max);
  get("search_max_limit", limits_.search.max_limit);
  get("search_result_cap", limits_.search.result_cap);
  if (const auto* v = limits.if_contains("token_lifetime_ms"); v != nullptr && v->is_number()) {
    limits_.token_lifetime_ms = v->to_number<std::int64_t>();
    // Tokens already issued get the new lifetime too, so a test can expire them at once.
    const auto now = now_ms_();
    for (auto& [token, expiry] : access_tokens_) expiry = std::min(expiry, now + limits_.token_lifetime_ms);
  }
  auto text = [&](const char* key, std::string& slot) {
    if (const auto* v = limits.if_contains(key); v != nullptr && v->is_string()) slot = std::string(v->get_string());
  };
  text("oauth_client_id", oauth_.client_id);
  text("oauth_client_secret", oauth_.client_secret);
  if (const auto* v = limits.if_contains("oauth_refresh_token"); v != nullptr && v->is_string()) {
    oauth_.refresh_tokens.clear();
    if (!v->get_string().empty()) oauth_.refresh_tokens.insert(std::string(v->get_string()));
  }
  if (const auto* v = limits.if_contains("oauth_rotate_refresh_tokens"); v != nullptr && v->is_bool()) {
    oauth_.rotate = v->get_bool();
  }
  window_count_ = 0;
  day_count_ = 0;
}

api_limits api::limits() const {
  std::lock_guard lock(mutex_);
  return limits_;
}

std::vector<webhook_event> api::take_events() {
  std::lock_guard lock(mutex_);
  return std::exchange(events_, {});
}

std::string api::webhook_body(const std::vector<webhook_event>& events, int attempt_number) const {
  json::array out;
  for (const auto& e : events) {
    json::object o{{"eventId", e.event_id},
                   {"subscriptionId", 2902227},
                   {"portalId", portal_id_},
                   {"appId", app_id_},
                   {"occurredAt", e.occurred_ms},
                   {"subscriptionType", e.subscription_type},
                   {"attemptNumber", attempt_number},
                   {"objectId", e.object_id},
                   {"changeSource", e.origin == change_origin::crm_ui ? "CRM_UI" : "INTEGRATION"}};
    if (e.origin == change_origin::integration) o["sourceId"] = std::to_string(app_id_);
    if (e.is_new) o["changeFlag"] = "NEW";
    if (!e.property_name.empty()) {
      o["propertyName"] = e.property_name;
      o["propertyValue"] = e.property_value;
    }
    out.push_back(std::move(o));
  }
  return json::serialize(out);
}

std::vector<signed_webhook> sign_webhooks(const api& source, const std::vector<webhook_event>& events,
                                          std::string_view url, std::string_view client_secret, std::int64_t wall_ms,
                                          int attempt_number) {
  std::vector<signed_webhook> out;
  const std::string timestamp = std::to_string(wall_ms);
  for (std::size_t start = 0; start < events.size(); start += 100) {
    const std::vector<webhook_event> batch(events.begin() + static_cast<std::ptrdiff_t>(start),
                                           events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), start + 100)));
    signed_webhook w;
    w.body = source.webhook_body(batch, attempt_number);
    w.headers = {{"Content-Type", "application/json"},
                 {"User-Agent", "HubSpot Connect 2.0 (http://dev.hubspot.com/)"},
                 {"X-HubSpot-Signature-Version", "v1"},
                 {"X-HubSpot-Signature", signature_v1(client_secret, w.body)},
                 {"X-HubSpot-Signature-v3", signature_v3(client_secret, "POST", url, w.body, timestamp)},
                 {"X-HubSpot-Request-Timestamp", timestamp}};
    out.push_back(std::move(w));
  }
  return out;
}

std::optional<std::int64_t> webhook_retry_delay(const delivery_outcome& o) {
  const int s = o.status;
  if (s == 400 || s == 401 || s == 403 || s == 404 || s == 405) return std::nullopt;
  if (o.attempts > 10) return std::nullopt;  // the first try and 10 retries
  constexpr double day_ms = 24.0 * 3600 * 1000;
  const double nominal = day_ms * static_cast<double>(1LL << (o.attempts - 1)) / 1023.0;
  // Randomised between half and all of the nominal pause, so the 10 pauses never exceed 24 h together.
  const double fraction = 0.5 + 0.5 * static_cast<double>(mix(o.seed * 31 + static_cast<std::uint64_t>(o.attempts)) % 1001) / 1000.0;
  auto pause = static_cast<std::int64_t>(nominal * fraction);
  if (s == 429 && !o.retry_after.empty()) {
    char* end = nullptr;
    const long long seconds = std::strtoll(o.retry_after.c_str(), &end, 10);
    if (end && *end == '\0' && seconds >= 0) pause = std::max<std::int64_t>(pause, seconds * 1000);
  }
  return pause;
}

// ---- seeded data ---------------------------------------------------------------------------------------------

seed_source default_seed(std::uint64_t seed, std::size_t size, std::int64_t base_ms) {
  seed_source s;
  s.count = [size](std::string_view type) -> std::size_t {
    if (type == "contacts") return size;
    if (type == "companies") return size / 4;
    if (type == "deals") return size / 2;
    if (type == "feedback_submissions") return size / 3;
    return 0;
  };
  s.make = [seed, size, base_ms](std::string_view type, std::int64_t index) {
    static constexpr std::array<const char*, 5> stages = {"subscriber", "lead", "marketingqualifiedlead",
                                                          "opportunity", "customer"};
    const std::uint64_t h = mix(seed ^ (std::hash<std::string_view>{}(type) + static_cast<std::uint64_t>(index)));
    crm_object obj;
    obj.id = index;
    // Seeded records were created one minute apart and modified a little later, oldest first, all in the past.
    const auto n = static_cast<std::int64_t>(size);
    obj.created_ms = base_ms - (n - index + 2) * 60'000;
    obj.updated_ms = obj.created_ms + static_cast<std::int64_t>(h % 50'000);
    // Names come from the person's own hash, shared by every vendor simulator, so person p has the same name
    // (and email local part) in HubSpot, Zendesk, ActiveCampaign and Intercom.
    const auto who = person(seed, type == "deals" ? 2 * index - 1 : index);
    const std::string fn = who.first;
    const std::string ln = who.last;
    if (type == "contacts") {
      obj.props["firstname"] = fn;
      obj.props["lastname"] = ln;
      std::string email = fn + "." + ln + std::to_string(index) + "@example.com";
      if ((h >> 16) % 3 == 0) {
        std::transform(email.begin(), email.end(), email.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      }
      obj.props["email"] = email;
      if ((h >> 20) % 4 != 0) {
        char phone[32];
        std::snprintf(phone, sizeof phone, (h >> 24) % 2 ? "+1 415 555 %04llu" : "(415) 555-%04llu",
                      static_cast<unsigned long long>(index % 10000));
        obj.props["phone"] = phone;
      }
      obj.props["lifecyclestage"] = stages[(h >> 28) % stages.size()];
    } else if (type == "companies") {
      obj.props["name"] = ln + " Holdings " + std::to_string(index);
      obj.props["domain"] = "company" + std::to_string(index) + ".example.com";
    } else if (type == "deals") {
      obj.props["dealname"] = fn + " " + ln + " renewal";
      obj.props["amount"] = std::to_string(500 + (h % 20000));
      obj.props["deal_currency_code"] = "USD";
      obj.props["pipeline"] = "default";
      obj.props["dealstage"] = (h >> 12) % 3 == 0 ? "closedwon" : ((h >> 12) % 3 == 1 ? "closedlost" : "contractsent");
      obj.props["closedate"] = iso_ms(obj.updated_ms);
      // Deal i belongs to contact 2i-1 (every other contact has a deal).
      if (2 * index - 1 <= n) obj.associations["contacts"] = {2 * index - 1};
    } else {
      const int score = static_cast<int>(h % 11);
      obj.props["hs_survey_type"] = "NPS";
      obj.props["hs_survey_name"] = "Quarterly NPS";
      obj.props["hs_value"] = std::to_string(score);
      obj.props["hs_response_group"] = score >= 9 ? "PROMOTER" : (score >= 7 ? "PASSIVE" : "DETRACTOR");
      obj.props["hs_submission_timestamp"] = iso_ms(obj.created_ms);
      // Submission i comes from contact 3i-2.
      if (3 * index - 2 <= n) obj.associations["contacts"] = {3 * index - 2};
    }
    return obj;
  };
  return s;
}

}  // namespace omnisync::sim::hubspot
