#include "sim/salesforce/api.hpp"

#include <boost/json.hpp>
#include <boost/url/decode_view.hpp>
#include <boost/url/parse.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>

#include "sim/salesforce/soql.hpp"
#include "sim/core/form.hpp"
#include "sim/core/people.hpp"
#include "sim/core/validate.hpp"
#include "core/time.hpp"

namespace omnisync::sim::salesforce {
namespace json = boost::json;

struct api::field_def {
  std::string name;
  std::string type;   // id, string, email, phone, boolean, double, currency, datetime, date, reference, picklist
  int length = 0;
  bool calculated = false;
  bool external_id = false;
  bool updateable = true;
  std::string reference_to = {};  // for reference fields: the object, and the relationship name is the field minus "Id"
  std::string label = {};         // describe's label; derived from the name when empty
  std::vector<std::string> picklist = {};  // picklist values, in order
  bool restricted = false;        // restricted picklist: other values are refused
  int precision = 0, scale = 0;   // double/currency: digits in all, digits after the point
};

struct api::object_def {
  std::string name;
  std::string prefix;
  std::vector<field_def> fields;
  std::string label = {}, label_plural = {};
  const field_def* field(std::string_view n) const {
    for (const auto& f : fields)
      if (f.name.size() == n.size() &&
          std::equal(f.name.begin(), f.name.end(), n.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        return &f;
    return nullptr;
  }
};

namespace {



std::string error_body(const std::string& code, const std::string& message, std::vector<std::string> fields = {}) {
  json::object e{{"message", message}, {"errorCode", code}};
  if (!fields.empty()) {
    json::array f;
    for (auto& x : fields) f.push_back(json::string(x));
    e["fields"] = f;
  }
  return json::serialize(json::array{e});
}

api_reply reply(int status, std::string body) { return {status, {}, std::move(body)}; }


std::string base64url_decode(std::string s) {
  std::replace(s.begin(), s.end(), '-', '+');
  std::replace(s.begin(), s.end(), '_', '/');
  while (s.size() % 4) s += '=';
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : s) {
    if (c == '=') break;
    auto p = chars.find(c);
    if (p == std::string::npos) return {};
    val = (val << 6) + static_cast<int>(p);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over `signed_part`, with the key of a PEM certificate or public key.
bool verify_rs256(const std::string& pem, const std::string& signed_part, const std::string& signature) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return false;
  EVP_PKEY* key = nullptr;
  if (pem.find("BEGIN CERTIFICATE") != std::string::npos) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
    if (cert) key = X509_get_pubkey(cert.get());
  } else {
    key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  }
  if (!key) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> owned(key, EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
}

/// RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::int64_t epoch_ms) { return format_http_date(from_epoch_ms(epoch_ms)); }

bool is_system_field(const std::string& n) {
  return n == "Id" || n == "CreatedDate" || n == "LastModifiedDate" || n == "SystemModstamp" || n == "IsDeleted";
}

}  // namespace

// ---- schema ---------------------------------------------------------------------------------------------------

static std::vector<api::object_def> build_schema() {
  using f = api::field_def;
  auto common = [](std::vector<f> v) {
    v.insert(v.begin(), f{"Id", "id", 18, false, false, false, ""});
    for (const char* n : {"CreatedDate", "LastModifiedDate", "SystemModstamp"})
      v.push_back(f{n, "datetime", 0, false, false, false, ""});
    v.push_back(f{"IsDeleted", "boolean", 0, false, false, false, ""});
    return v;
  };
  std::vector<api::object_def> s;
  s.push_back({"Account", "001",
               common({{"Name", "string", 255}, {"Industry", "picklist", 255}, {"Phone", "phone", 40},
                       {"Omnisync_Id__c", "string", 64, false, true, true}}),
               "Account", "Accounts"});
  s.push_back({"Contact", "003",
               common({{"FirstName", "string", 40},
                       {"LastName", "string", 80},
                       {"Email", "email", 80},
                       {"Phone", "phone", 40},
                       {"MobilePhone", "phone", 40},
                       {"AccountId", "reference", 18, false, false, true, "Account"},
                       {"Lifecycle_Stage__c", "picklist", 255},
                       {"Lead_Score__c", "double", 0},
                       {"HasOptedOutOfEmail", "boolean", 0},
                       {"Omnisync_Id__c", "string", 64, false, true, true},
                       {"LTV__c", "currency", 0},
                       {"Open_Tickets__c", "double", 0},
                       {"CSAT__c", "double", 0},
                       {"NPS_Category__c", "string", 20},
                       {"Days_Since_Created__c", "double", 0, true, false, false}}),
               "Contact", "Contacts"});
  s.push_back({"Lead", "00Q",
               common({{"FirstName", "string", 40}, {"LastName", "string", 80}, {"Email", "email", 80},
                       {"Phone", "phone", 40}, {"MobilePhone", "phone", 40}, {"Company", "string", 255},
                       {"Status", "picklist", 255}, {"HasOptedOutOfEmail", "boolean", 0},
                       {"Omnisync_Id__c", "string", 64, false, true, true}}),
               "Lead", "Leads"});
  s.push_back({"Opportunity", "006",
               common({{"Name", "string", 120}, {"AccountId", "reference", 18, false, false, true, "Account"},
                       {"ContactId", "reference", 18, false, false, true, "Contact"}, {"Amount", "currency", 0},
                       {"StageName", "picklist", 255}, {"IsWon", "boolean", 0, false, false, false},
                       {"CloseDate", "date", 0}}),
               "Opportunity", "Opportunities"});
  s.push_back({"Case", "500",
               common({{"ContactId", "reference", 18, false, false, true, "Contact"}, {"Subject", "string", 255},
                       {"Status", "picklist", 255}, {"Priority", "picklist", 255},
                       {"SuppliedEmail", "email", 80},  // Email-to-Case / Web-to-Case: the sender's address
                       {"IsClosed", "boolean", 0, false, false, false}}),
               "Case", "Cases"});
  // Campaigns and their members (segment sync writes CampaignMember rows through sObject Collections).
  s.push_back({"Campaign", "701",
               common({{"Name", "string", 80}, {"IsActive", "boolean", 0}, {"Status", "picklist", 255},
                       {"Type", "picklist", 255}, {"Description", "string", 32000},
                       {"NumberOfContacts", "double", 0, true, false, false}}),
               "Campaign", "Campaigns"});
  s.push_back({"CampaignMember", "00v",
               common({{"CampaignId", "reference", 18, false, false, true, "Campaign"},
                       {"ContactId", "reference", 18, false, false, true, "Contact"},
                       {"LeadId", "reference", 18, false, false, true, "Lead"},
                       {"Status", "picklist", 255},
                       {"HasResponded", "boolean", 0, true, false, false}}),
               "Campaign Member", "Campaign Members"});
  // Labels, picklist values and number precision, as describe reports them. Standard picklists are
  // unrestricted (any value is stored); the custom Lifecycle_Stage__c is a restricted picklist.
  const std::map<std::string, std::string> labels = {
      {"Id", "Record ID"}, {"CreatedDate", "Created Date"}, {"LastModifiedDate", "Last Modified Date"},
      {"SystemModstamp", "System Modstamp"}, {"IsDeleted", "Deleted"}, {"FirstName", "First Name"},
      {"LastName", "Last Name"}, {"MobilePhone", "Mobile Phone"}, {"AccountId", "Account ID"},
      {"ContactId", "Contact ID"}, {"Lifecycle_Stage__c", "Lifecycle Stage"}, {"Lead_Score__c", "Lead Score"},
      {"HasOptedOutOfEmail", "Email Opt Out"}, {"Omnisync_Id__c", "omnisync ID"}, {"LTV__c", "Lifetime Value"},
      {"Open_Tickets__c", "Open Tickets"}, {"CSAT__c", "CSAT"}, {"NPS_Category__c", "NPS Category"},
      {"Days_Since_Created__c", "Days Since Created"}, {"StageName", "Stage"}, {"IsWon", "Won"},
      {"CloseDate", "Close Date"}, {"IsClosed", "Closed"}, {"Name", "Name"}, {"CampaignId", "Campaign ID"},
      {"LeadId", "Lead ID"}, {"HasResponded", "Responded"}, {"IsActive", "Active"}};
  for (auto& o : s) {
    for (auto& fd : o.fields) {
      if (auto it = labels.find(fd.name); it != labels.end()) fd.label = it->second;
      else fd.label = fd.name;
      if (fd.type == "currency") fd.precision = 16, fd.scale = 2;
      if (fd.type == "double") fd.precision = 18, fd.scale = 0;
      if (fd.name == "CSAT__c") fd.precision = 3, fd.scale = 2;
      if (o.name == "Contact" && fd.name == "Lifecycle_Stage__c") {
        fd.picklist = {"Lead", "MQL", "SQL", "Customer", "Evangelist"};
        fd.restricted = true;
      }
      if (fd.name == "Industry") fd.picklist = {"Technology", "Retail", "Finance", "Healthcare"};
      if (o.name == "Lead" && fd.name == "Status")
        fd.picklist = {"Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"};
      if (fd.name == "StageName")
        fd.picklist = {"Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review",
                       "Closed Won", "Closed Lost"};
      if (o.name == "Case" && fd.name == "Status") fd.picklist = {"New", "Working", "Escalated", "Closed"};
      if (fd.name == "Priority") fd.picklist = {"High", "Medium", "Low"};
      // A campaign's default member statuses ("Sent" is the default, "Responded" counts as responded).
      if (o.name == "CampaignMember" && fd.name == "Status") fd.picklist = {"Sent", "Responded"};
      if (o.name == "Campaign" && fd.name == "Status")
        fd.picklist = {"Planned", "In Progress", "Completed", "Aborted"};
    }
  }
  return s;
}

static const std::vector<api::object_def>& schema() {
  static const std::vector<api::object_def> s = build_schema();
  return s;
}

// ---- records --------------------------------------------------------------------------------------------------

api::api(std::uint64_t seed, std::size_t size, std::int64_t base_ms, std::function<std::int64_t()> now_ms)
    : seed_(seed), size_(size), base_ms_(base_ms), now_ms_(std::move(now_ms)) {
  day_start_ms_ = now_ms_();
}

const api::object_def* api::find_object(std::string_view name) const {
  // API names are case-insensitive (SELECT Id FROM contact works).
  for (const auto& o : schema())
    if (o.name.size() == name.size() &&
        std::equal(o.name.begin(), o.name.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return &o;
  return nullptr;
}

std::string api::make_id(const object_def& o, std::int64_t index) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%012lldAAA", o.prefix.c_str(), static_cast<long long>(index));
  return buf;
}

std::optional<std::pair<const api::object_def*, std::int64_t>> api::parse_id(std::string_view id) const {
  if (id.size() != 18 && id.size() != 15) return std::nullopt;
  for (const auto& o : schema()) {
    if (id.substr(0, 3) != o.prefix) continue;
    std::string digits(id.substr(3, 12));
    if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
    return std::make_pair(&o, static_cast<std::int64_t>(std::stoll(digits)));
  }
  return std::nullopt;
}

std::int64_t api::count(const object_def& o) const {
  std::int64_t seeded = 0;
  auto n = static_cast<std::int64_t>(size_);
  if (o.name == "Contact") seeded = n;
  else if (o.name == "Account") seeded = std::max<std::int64_t>(1, n / 4);
  else if (o.name == "Lead") seeded = n / 5;
  else if (o.name == "Opportunity") seeded = n / 2;
  else if (o.name == "Case") seeded = n / 2;
  auto it = created_count_.find(o.name);
  return seeded + (it == created_count_.end() ? 0 : it->second);
}

api::record api::seeded(const object_def& o, std::int64_t index) const {
  record r;
  r.object = o.name;
  r.index = index;
  const auto n = static_cast<std::int64_t>(size_);
  // Created one minute apart, oldest first, modified a little later; all before base_ms.
  const auto st = seeded_stamps(o, index);
  const std::uint64_t h = st.hash;
  r.created_ms = st.created_ms;
  r.last_modified_ms = st.last_modified_ms;
  r.modstamp_ms = st.modstamp_ms;
  auto& f = r.fields;
  const std::int64_t accounts = std::max<std::int64_t>(1, n / 4);
  if (o.name == "Contact" || o.name == "Lead") {
    // Person `index` (leads are the people after the contacts): same name as in the other simulators.
    std::int64_t person = o.name == "Contact" ? index : n + index;
    const auto who = omnisync::sim::person(seed_, person);
    std::string fn = who.first, ln = who.last;
    f["FirstName"] = fn;
    f["LastName"] = ln;
    std::string email = fn + "." + ln + std::to_string(person) + "@example.com";
    // Salesforce keeps what people typed: some upper-case, some with stray spaces.
    if (h % 5 == 0) std::transform(email.begin(), email.end(), email.begin(), ::toupper);
    f["Email"] = (h >> 4) % 7 == 0 ? json::value(nullptr) : json::value(email);
    char phone[40];
    std::snprintf(phone, sizeof phone, (h >> 8) % 2 ? "415.555.%04lld" : "+1 (415) 555-%04lld",
                  static_cast<long long>(person % 10000));
    f["Phone"] = (h >> 12) % 4 == 0 ? json::value(nullptr) : json::value(phone);
    if (o.name == "Contact") {
      f["MobilePhone"] = nullptr;
      f["AccountId"] = make_id(*find_object("Account"), 1 + (index - 1) % accounts);
      static constexpr std::array<const char*, 6> stages = {"Lead", "MQL", "SQL", "Customer", "Evangelist", ""};
      std::string st = stages[(h >> 16) % stages.size()];
      f["Lifecycle_Stage__c"] = st.empty() ? json::value(nullptr) : json::value(st);
      f["Lead_Score__c"] = static_cast<double>((h >> 20) % 101);
      f["HasOptedOutOfEmail"] = (h >> 28) % 10 == 0;
      for (const char* k : {"Omnisync_Id__c", "LTV__c", "Open_Tickets__c", "CSAT__c", "NPS_Category__c"}) f[k] = nullptr;
    } else {
      f["Company"] = "Acme " + std::to_string(index % 97);
      f["Status"] = "Open - Not Contacted";
      f["Omnisync_Id__c"] = nullptr;
    }
  } else if (o.name == "Account") {
    f["Name"] = "Acme " + std::to_string(index);
    static constexpr std::array<const char*, 4> industries = {"Technology", "Retail", "Finance", "Healthcare"};
    f["Industry"] = industries[h % industries.size()];
    f["Phone"] = nullptr;
    f["Omnisync_Id__c"] = nullptr;
  } else if (o.name == "Opportunity") {
    // Opportunity k belongs to contact (2k-1): the people who buy.
    std::int64_t contact = std::min<std::int64_t>(n, 2 * index - 1);
    f["Name"] = "Deal " + std::to_string(index);
    f["ContactId"] = make_id(*find_object("Contact"), contact);
    f["AccountId"] = make_id(*find_object("Account"), 1 + (contact - 1) % accounts);
    f["Amount"] = static_cast<double>(500 + (h % 95) * 100);
    bool won = (h >> 8) % 3 != 0;
    f["StageName"] = won ? "Closed Won" : ((h >> 10) % 2 ? "Prospecting" : "Closed Lost");
    f["IsWon"] = won;
    f["CloseDate"] = format_sf_datetime(r.created_ms).substr(0, 10);
  } else if (o.name == "Case") {
    std::int64_t contact = std::min<std::int64_t>(n, 2 * index);
    f["ContactId"] = make_id(*find_object("Contact"), contact);
    f["Subject"] = "Question " + std::to_string(index);
    bool closed = (h >> 8) % 2 == 0;
    f["Status"] = closed ? "Closed" : "New";
    f["Priority"] = (h >> 9) % 3 == 0 ? "High" : "Medium";
    f["IsClosed"] = closed;
  }
  return r;
}

std::optional<api::record> api::load(const object_def& o, std::int64_t index) const {
  auto id = make_id(o, index);
  if (purged_.count(id)) return std::nullopt;
  if (auto it = touched_.find(id); it != touched_.end()) return it->second;
  if (index < 1 || index > count(o)) return std::nullopt;
  return seeded(o, index);
}

json::value api::field_value(const record& r, const std::string& name) const {
  if (name == "Id") return json::string(make_id(*find_object(r.object), r.index));
  if (name == "CreatedDate") return json::string(format_sf_datetime(r.created_ms));
  if (name == "LastModifiedDate") return json::string(format_sf_datetime(r.last_modified_ms));
  if (name == "SystemModstamp") return json::string(format_sf_datetime(r.modstamp_ms));
  if (name == "IsDeleted") return r.deleted;
  if (name == "Days_Since_Created__c") {
    // A formula: changes every day without touching SystemModstamp.
    return std::floor(double(now_ms_() - r.created_ms) / 86'400'000.0);
  }
  if (name == "HasResponded" && r.object == "CampaignMember") {
    // Derived from the member status ("Responded" is the default status that counts as responded).
    auto* st = r.fields.if_contains("Status");
    return st && st->is_string() && st->as_string() == "Responded";
  }
  if (auto* v = r.fields.if_contains(name)) return *v;
  return nullptr;
}

json::object api::to_json(const record& r, const std::vector<std::string>* fields, const std::string& version) const {
  const auto& o = *find_object(r.object);
  auto id = make_id(o, r.index);
  json::object out;
  out["attributes"] = json::object{{"type", r.object}, {"url", "/services/data/v" + version + "/sobjects/" + r.object + "/" + id}};
  std::vector<std::string> all;
  if (!fields) {
    for (const auto& f : o.fields) all.push_back(f.name);
    fields = &all;
  }
  for (const auto& name : *fields) {
    auto dot = name.find('.');
    if (dot == std::string::npos) {
      const auto* def = o.field(name);
      out[def ? def->name : name] = field_value(r, def ? def->name : name);
      continue;
    }
    // Relationship field: Account.Name → "Account": {"attributes":{...},"Name":...} or null.
    std::string rel = name.substr(0, dot), sub = name.substr(dot + 1);
    const field_def* ref = o.field(rel + "Id");
    json::value target = nullptr;
    if (ref) {
      auto ref_id = field_value(r, ref->name);
      if (ref_id.is_string()) {
        if (auto parsed = parse_id(ref_id.as_string()); parsed)
          if (auto rec = load(*parsed->first, parsed->second); rec && !rec->deleted) {
            json::object nested;
            if (auto* existing = out.if_contains(rel); existing && existing->is_object()) nested = existing->as_object();
            nested["attributes"] = json::object{{"type", rec->object},
                                                {"url", "/services/data/v" + version + "/sobjects/" + rec->object + "/" +
                                                            std::string(ref_id.as_string())}};
            const auto* sub_def = parsed->first->field(sub);
            nested[sub_def ? sub_def->name : sub] = field_value(*rec, sub_def ? sub_def->name : sub);
            target = nested;
          }
      }
    }
    out[rel] = target;
  }
  return out;
}

void api::touch(record& r, bool api_origin) {
  auto now = now_ms_();
  r.last_modified_ms = std::max(now, r.last_modified_ms + 1);
  r.modstamp_ms = std::max(now, r.modstamp_ms + 1);
  if (r.object == "Contact") pending_notifications_.push_back(make_id(*find_object("Contact"), r.index));
  (void)api_origin;
  const auto id = make_id(*find_object(r.object), r.index);
  if (auto old = touched_.find(id); old != touched_.end()) index_external_ids(old->second, false);
  index_external_ids(r, true);
  touched_[id] = r;
}

void api::index_external_ids(const record& r, bool add) {
  // Seeded records hold no external ids, so only changed records are indexed.
  const auto& o = *find_object(r.object);
  const auto id = make_id(o, r.index);
  for (const auto& f : o.fields) {
    if (!f.external_id) continue;
    auto* v = r.fields.if_contains(f.name);
    if (!v || !v->is_string()) continue;
    auto key = o.name + "\n" + f.name + "\n" + std::string(v->as_string());
    if (add) {
      external_ids_[key].insert(id);
    } else if (auto it = external_ids_.find(key); it != external_ids_.end()) {
      it->second.erase(id);
      if (it->second.empty()) external_ids_.erase(it);
    }
  }
}

std::vector<std::int64_t> api::find_by_external_id(const object_def& o, const std::string& field,
                                                   const json::value& value) const {
  std::vector<std::int64_t> out;
  if (!value.is_string()) return out;
  auto it = external_ids_.find(o.name + "\n" + field + "\n" + std::string(value.as_string()));
  if (it == external_ids_.end()) return out;
  for (const auto& id : it->second) {
    auto t = touched_.find(id);
    if (t != touched_.end() && !t->second.deleted && !purged_.count(id)) out.push_back(t->second.index);
  }
  return out;
}

std::optional<std::string> api::deserialize(const object_def& o, const json::object& fields) const {
  // What Salesforce's JSON reader refuses before any record is looked at: the whole request is a 400.
  for (const auto& [k, v] : fields) {
    if (k == "attributes") continue;
    const auto* f = o.field(k);
    if (!f || v.is_null()) continue;
    const std::string& t = f->type;
    std::string jtype = t == "double" || t == "currency" ? "double" : t == "boolean" ? "boolean" : t == "date" ? "date" : "String";
    bool ok = true;
    std::string shown;
    if (v.is_object() || v.is_array()) {
      ok = false;
      shown = v.is_object() ? "START_OBJECT" : "START_ARRAY";
    } else if (t == "double" || t == "currency") {
      if (v.is_string()) {
        ok = plain_number(v.as_string());
        shown = "VALUE_STRING value " + std::string(v.as_string());
      } else if (v.is_bool()) {
        ok = false;
        shown = std::string("VALUE_") + (v.as_bool() ? "TRUE" : "FALSE");
      }
    } else if (t == "boolean") {
      if (v.is_string()) {
        ok = v.as_string() == "true" || v.as_string() == "false";
        shown = "VALUE_STRING value " + std::string(v.as_string());
      } else if (!v.is_bool()) {
        ok = false;
        shown = "VALUE_NUMBER_INT";
      }
    } else if (t == "date") {
      ok = v.is_string() && calendar_date(v.as_string());
      shown = v.is_string() ? "VALUE_STRING value " + std::string(v.as_string()) : "VALUE_NUMBER";
    }
    if (!ok)
      return error_body("JSON_PARSER_ERROR", "Cannot deserialize instance of " + jtype + " from " + shown +
                                                 " or request may be missing a required field at [line:1, column:1]");
  }
  return std::nullopt;
}

std::optional<std::string> api::validate(const object_def& o, const json::object& fields, bool create) const {
  for (const auto& [k, v] : fields) {
    if (k == "attributes") continue;
    const auto* f = o.field(k);
    if (!f) return error_body("INVALID_FIELD", "No such column '" + std::string(k) + "' on sobject of type " + o.name,
                              {std::string(k)});
    if (!f->updateable || f->calculated)
      return error_body("INVALID_FIELD_FOR_INSERT_UPDATE",
                        "Unable to create/update fields: " + f->name + ". Please check the security settings of this field.",
                        {f->name});
    if (v.is_null()) continue;
    std::string text = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
    if (f->length > 0 && static_cast<int>(text.size()) > f->length)
      return error_body("STRING_TOO_LONG",
                        f->label + ": data value too large: " + text.substr(0, 40) +
                            " (max length=" + std::to_string(f->length) + ")",
                        {f->name});
    // An empty string clears a field, as null does.
    if (text.empty()) continue;
    if (f->type == "email" && !valid_email(text))
      return error_body("INVALID_EMAIL_ADDRESS", f->label + ": invalid email address: " + text, {f->name});
    if (f->type == "picklist" && f->restricted &&
        std::find(f->picklist.begin(), f->picklist.end(), text) == f->picklist.end())
      return error_body("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f->label + ": bad value for restricted picklist field: " + text, {f->name});
    if ((f->type == "double" || f->type == "currency") && f->precision > 0) {
      // The digits before the point may not exceed precision - scale.
      const double x = std::fabs(v.is_string() ? std::strtod(text.c_str(), nullptr) : v.to_number<double>());
      if (x >= std::pow(10.0, f->precision - f->scale)) {
        char shown[64];
        std::snprintf(shown, sizeof shown, "%.1E", x);
        return error_body("NUMBER_OUTSIDE_VALID_RANGE",
                          f->label + ": value outside of valid range on numeric field: " + shown, {f->name});
      }
    }
    if (f->type == "reference" && !(text.size() == 15 || text.size() == 18))
      return error_body("MALFORMED_ID", f->label + ": id value of incorrect type: " + text, {f->name});
  }
  if (create && (o.name == "Contact" || o.name == "Lead")) {
    auto* ln = fields.if_contains("LastName");
    if (!ln || !ln->is_string() || ln->as_string().empty())
      return error_body("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", {"LastName"});
  }
  if (o.name == "Campaign" && create) {
    auto* n = fields.if_contains("Name");
    if (!n || !n->is_string() || n->as_string().empty())
      return error_body("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", {"Name"});
  }
  if (o.name == "CampaignMember") {
    if (auto bad = validate_campaign_member(fields, create)) return bad;
  }
  if (create && o.name == "Opportunity") {
    for (const char* req : {"Name", "StageName", "CloseDate"}) {
      auto* v = fields.if_contains(req);
      if (!v || v->is_null() || (v->is_string() && v->as_string().empty()))
        return error_body("REQUIRED_FIELD_MISSING", std::string("Required fields are missing: [") + req + "]", {req});
    }
  }
  return std::nullopt;
}

api::record api::new_record(const object_def& o) {
  record rec;
  rec.object = o.name;
  rec.index = count(o) + 1;
  ++created_count_[o.name];
  rec.created_ms = now_ms_();
  rec.last_modified_ms = rec.modstamp_ms = rec.created_ms - 1;
  for (const auto& f : o.fields)
    if (!is_system_field(f.name) && !f.calculated) rec.fields[f.name] = nullptr;
  return rec;
}

// ---- HTTP surface ---------------------------------------------------------------------------------------------

api_reply api::handle(const api_request& r) {
  std::lock_guard lock(mutex_);
  auto out = route(r);
  if (r.target.rfind("/services/oauth2/", 0) != 0 && out.status != 401)
    out.headers.emplace_back("Sforce-Limit-Info", "api-usage=" + std::to_string(used_today_) + "/" +
                                                      std::to_string(limits_.daily_api_requests));
  out.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");
  // Every Salesforce answer carries the server's time; clients use it to keep watermarks on the org's clock.
  out.headers.emplace_back("Date", http_date(now_ms_()));
  return out;
}

api_reply api::route(const api_request& r) {
  auto path = r.target.substr(0, r.target.find('?'));
  std::map<std::string, std::string> q;
  if (auto qm = r.target.find('?'); qm != std::string::npos) q = parse_form(std::string_view(r.target).substr(qm + 1));

  if (path == "/services/oauth2/token") {
    if (r.method != "POST") return reply(405, error_body("METHOD_NOT_ALLOWED", "HTTP Method not allowed"));
    return token(r);
  }
  if (path.rfind("/services/data/", 0) != 0) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));

  // Authentication, then the daily budget.
  auto now = now_ms_();
  std::string bearer = r.authorization.rfind("Bearer ", 0) == 0 ? r.authorization.substr(7) : "";
  auto tok = tokens_.find(bearer);
  if (tok == tokens_.end() || tok->second <= now)
    return reply(401, error_body("INVALID_SESSION_ID", "Session expired or invalid"));
  if (now - day_start_ms_ >= 86'400'000) {
    day_start_ms_ = now;
    used_today_ = 0;
  }
  if (used_today_ >= limits_.daily_api_requests)
    return reply(403, error_body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."));
  ++used_today_;

  // /services/data/vXX.X/...
  auto rest = path.substr(15);
  auto slash = rest.find('/');
  if (rest.empty() || rest[0] != 'v' || slash == std::string::npos)
    return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  std::string version = rest.substr(1, slash - 1);
  std::string tail = rest.substr(slash + 1);
  std::vector<std::string> parts;
  for (size_t s = 0; s <= tail.size();) {
    auto e = tail.find('/', s);
    auto p = tail.substr(s, e == std::string::npos ? std::string::npos : e - s);
    if (!p.empty()) parts.push_back(p);
    if (e == std::string::npos) break;
    s = e + 1;
  }
  if (parts.empty()) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));

  if ((parts[0] == "query" || parts[0] == "queryAll") && r.method == "GET") {
    if (parts.size() == 2) return query_more(r, version, parts[1]);
    if (!q.count("q")) return reply(400, error_body("MALFORMED_QUERY", "A query string has to be specified"));
    return query(r, version, parts[0] == "queryAll", q["q"]);
  }
  if (parts[0] == "limits" && parts.size() == 1 && r.method == "GET") return limits();
  if (parts[0] == "composite" && parts.size() == 2 && parts[1] == "sobjects" && r.method == "DELETE")
    return collections_delete(q);
  if (parts[0] == "composite" && parts.size() == 3 && parts[1] == "sobjects" && (r.method == "GET" || r.method == "POST")) {
    const auto* o = find_object(parts[2]);
    if (!o) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
    return retrieve_many(r, version, *o, q);
  }
  if (parts[0] == "composite" && parts.size() >= 2 && parts[1] == "sobjects") {
    return collections(r, version, parts.size() >= 3 ? parts[2] : "", parts.size() >= 4 ? parts[3] : "");
  }
  if (parts[0] == "sobjects" && parts.size() == 1 && r.method == "GET") return describe_global(version);
  if (parts[0] == "sobjects" && parts.size() >= 2) {
    const auto* o = find_object(parts[1]);
    if (!o) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
    if (parts.size() == 2 && r.method == "POST") return create_one(*o, r.body);
    if (parts.size() == 2 && r.method == "GET") {
      // sObject Basic Information: the object's describeGlobal entry and its recently viewed records (none here).
      auto global = json::parse(describe_global(version).body).as_object();
      for (auto& entry : global["sobjects"].as_array())
        if (entry.as_object()["name"] == json::string(o->name))
          return reply(200, json::serialize(json::object{{"objectDescribe", entry}, {"recentItems", json::array{}}}));
    }
    if (parts.size() == 3 && parts[2] == "describe" && r.method == "GET") return describe(version, *o);
    if (parts.size() == 3 && parts[2] == "deleted" && r.method == "GET") return get_deleted(*o, q);
    if (parts.size() == 3 && parts[2] == "updated" && r.method == "GET") return get_updated(*o, q);
    if (parts.size() == 3 && r.method == "GET") return read_one(version, *o, parts[2], q);
    if (parts.size() == 3 && r.method == "PATCH") return update_one(*o, parts[2], r.body);
    if (parts.size() == 3 && r.method == "DELETE") return delete_one(*o, parts[2]);
    if (parts.size() == 4 && r.method == "PATCH") {
      auto u = q.find("updateOnly");
      return upsert_one(version, *o, parts[2], parts[3], r.body, u != q.end() && u->second == "true");
    }
  }
  return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
}

api_reply api::token(const api_request& r) {
  auto form = parse_form(r.body);
  auto grant = form["grant_type"];
  auto fail = [](const std::string& code, const std::string& why) {
    return reply(400, json::serialize(json::object{{"error", code}, {"error_description", why}}));
  };
  if (grant == "refresh_token") {
    if (form["refresh_token"].empty() || form["refresh_token"] == "revoked")
      return fail("invalid_grant", "expired access/refresh token");
    if (form["client_id"].empty()) return fail("invalid_client_id", "client identifier invalid");
  } else if (grant == "client_credentials") {
    if (form["client_id"].empty() || form["client_secret"].empty())
      return fail("invalid_client", "invalid client credentials");
  } else if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    auto a = form["assertion"];
    auto d1 = a.find('.'), d2 = a.find('.', d1 == std::string::npos ? 0 : d1 + 1);
    if (d1 == std::string::npos || d2 == std::string::npos) return fail("invalid_grant", "invalid assertion");
    boost::system::error_code ec;
    auto header = json::parse(base64url_decode(a.substr(0, d1)), ec);
    if (ec || !header.is_object() || !header.as_object().contains("alg")) return fail("invalid_grant", "invalid assertion");
    auto claims = json::parse(base64url_decode(a.substr(d1 + 1, d2 - d1 - 1)), ec);
    if (ec || !claims.is_object()) return fail("invalid_grant", "invalid assertion");
    auto& c = claims.as_object();
    if (!c.contains("iss") || !c.contains("sub") || !c.contains("aud") || !c.contains("exp"))
      return fail("invalid_grant", "invalid assertion");
    auto exp = c.at("exp").is_int64() ? c.at("exp").as_int64() : 0;
    auto now_s = now_ms_() / 1000;
    if (exp <= now_s) return fail("invalid_grant", "expired authorization code");
    if (exp > now_s + 180 + 30) return fail("invalid_grant", "invalid assertion");  // at most 3 minutes ahead
    // With the connected app's certificate configured (POST /admin/limits {"jwt_certificate": PEM}), the
    // RS256 signature over "header.claims" must verify, as on a real org.
    if (!limits_.jwt_certificate.empty()) {
      auto* alg = header.as_object().if_contains("alg");
      if (!alg || !alg->is_string() || alg->as_string() != "RS256") return fail("invalid_grant", "invalid assertion");
      if (!verify_rs256(limits_.jwt_certificate, a.substr(0, d2), base64url_decode(a.substr(d2 + 1))))
        return fail("invalid_grant", "invalid assertion");
    }
  } else {
    return fail("unsupported_grant_type", "grant type not supported");
  }
  auto now = now_ms_();
  const auto serial = ++token_counter_;
  std::string access = std::string(organization_id).substr(0, 15) + "!AQSIM." + std::to_string(serial) + "." +
                       std::to_string(mix(seed_ + static_cast<std::uint64_t>(serial)) % 1000000007);
  tokens_[access] = now + limits_.token_lifetime_ms;
  json::object out{{"access_token", access},
                   {"instance_url", r.base_url},
                   {"id", r.base_url + "/id/" + organization_id + "/005SIM0000000001AA"},
                   {"token_type", "Bearer"},
                   {"issued_at", std::to_string(now)},
                   {"scope", "api"}};
  // "Base64-encoded HMAC-SHA256 signature signed with the client_secret (private key) containing the concatenated
  // ID and issued_at value" (refresh-token and client-credentials flows; the JWT bearer flow returns none).
  if (grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" && !form["client_secret"].empty()) {
    const std::string msg = std::string(out["id"].as_string()) + std::string(out["issued_at"].as_string());
    const std::string& key = form["client_secret"];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
         msg.size(), mac, &mac_len);
    std::string b64(4 * ((mac_len + 2) / 3), '\0');
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(mac_len));
    out["signature"] = b64;
  }
  return reply(200, json::serialize(out));
}

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Returns <0, 0, >0; datetimes compare as instants, numbers numerically, the rest as text. Text compares
/// case-insensitively (SOQL's `=` on 'Ann@Example.com' finds ann@example.com) except record ids, which are
/// case-sensitive in their 15-character form.
int compare_values(const json::value& a, const soql_literal& b, bool case_sensitive = true) {
  if (b.type == soql_literal::kind::null) return a.is_null() ? 0 : 1;
  if (a.is_null()) return -1;
  if (b.type == soql_literal::kind::date) {
    auto t = a.is_string() ? parse_soql_date(std::string(a.as_string()).substr(0, 10)) : std::nullopt;
    if (!t) return -1;
    return *t < b.epoch_ms ? -1 : (*t > b.epoch_ms ? 1 : 0);
  }
  if (b.type == soql_literal::kind::datetime) {
    auto t = a.is_string() ? parse_sf_datetime(std::string(a.as_string())) : std::nullopt;
    if (!t) return -1;
    return *t < b.epoch_ms ? -1 : (*t > b.epoch_ms ? 1 : 0);
  }
  if (b.type == soql_literal::kind::boolean) return a.is_bool() ? (int(a.as_bool()) - int(b.boolean)) : -1;
  if (b.type == soql_literal::kind::number) {
    double v = a.is_double() ? a.as_double() : a.is_int64() ? double(a.as_int64()) : NAN;
    if (std::isnan(v)) return -1;
    return v < b.number ? -1 : (v > b.number ? 1 : 0);
  }
  std::string s = a.is_string() ? std::string(a.as_string()) : json::serialize(a);
  return case_sensitive ? s.compare(b.text) : lower(s).compare(lower(b.text));
}

bool op_holds(const std::string& op, int cmp) {
  return op == "=" ? cmp == 0 : op == "!=" ? cmp != 0 : op == "<" ? cmp < 0 : op == "<=" ? cmp <= 0
       : op == ">" ? cmp > 0 : cmp >= 0;
}

/// Fields whose value grows with the record's index for every seeded (never changed) record: the seed creates
/// records a minute apart and modifies each less than a minute after its creation, and ids are zero-padded
/// indexes. These are the fields the indexed query path can binary-search.
bool monotone_field(const std::string& f) {
  return f == "Id" || f == "SystemModstamp" || f == "LastModifiedDate" || f == "CreatedDate";
}
}  // namespace

bool api::matches(const record& rec, const std::vector<soql_condition>& where) const {
  for (const auto& c : where) {
    auto v = field_value(rec, c.field);
    const bool cs = c.field == "Id";
    bool match;
    if (c.op == "IN")
      match = std::any_of(c.values.begin(), c.values.end(), [&](auto& l) { return compare_values(v, l, cs) == 0; });
    else
      match = op_holds(c.op, compare_values(v, c.values[0], cs));
    if (!match) return false;
  }
  return true;
}

api::stamps api::seeded_stamps(const object_def& o, std::int64_t index) const {
  const auto n = static_cast<std::int64_t>(size_);
  const std::uint64_t h = mix(seed_ ^ (std::hash<std::string>{}(o.name) + static_cast<std::uint64_t>(index)));
  stamps s;
  s.created_ms = base_ms_ - (n - index + 2) * 60'000;
  s.last_modified_ms = s.created_ms + static_cast<std::int64_t>(h % 50'000);
  s.modstamp_ms = s.last_modified_ms;
  s.hash = h;
  return s;
}

std::int64_t api::order_key(const record& r, const std::string& key) const {
  if (key == "SystemModstamp") return r.modstamp_ms;
  if (key == "LastModifiedDate") return r.last_modified_ms;
  if (key == "CreatedDate") return r.created_ms;
  return r.index;  // Id: ids are zero-padded indexes, so they sort as their indexes do
}

std::int64_t api::seeded_order_key(const object_def& o, std::int64_t index, const std::string& key) const {
  if (key == "Id") return index;
  auto s = seeded_stamps(o, index);
  if (key == "SystemModstamp") return s.modstamp_ms;
  if (key == "LastModifiedDate") return s.last_modified_ms;
  return s.created_ms;
}

std::int64_t api::seeded_count(const object_def& o) const {
  auto it = created_count_.find(o.name);
  return count(o) - (it == created_count_.end() ? 0 : it->second);
}

void api::expire_cursors() {
  // Salesforce closes query cursors after 15 minutes of inactivity; so do we, which also bounds memory when a
  // client abandons a query half-way.
  const auto now = now_ms_();
  for (auto it = cursors_.begin(); it != cursors_.end();)
    it = now - it->second.last_used_ms > 15 * 60'000 ? cursors_.erase(it) : std::next(it);
}

api_reply api::query(const api_request& r, const std::string& version, bool all, const std::string& soql) {
  auto parsed = parse_soql(soql);
  if (auto* err = std::get_if<std::string>(&parsed)) return reply(400, error_body("MALFORMED_QUERY", *err));
  auto& q = std::get<soql_query>(parsed);
  const auto* o = find_object(q.object);
  if (!o) return reply(400, error_body("INVALID_TYPE", "sObject type '" + q.object + "' is not supported."));
  // Field checks: every selected field must exist (relationship fields through their reference).
  std::vector<std::string> fields;
  for (auto& f : q.fields) {
    auto dot = f.find('.');
    if (dot == std::string::npos) {
      const auto* def = o->field(f);
      if (!def) return reply(400, error_body("INVALID_FIELD", "No such column '" + f + "' on entity '" + o->name + "'"));
      fields.push_back(def->name);
    } else {
      const auto* ref = o->field(f.substr(0, dot) + "Id");
      const auto* target = ref ? find_object(ref->reference_to) : nullptr;
      if (!target || !target->field(f.substr(dot + 1)))
        return reply(400, error_body("INVALID_FIELD", "Didn't understand relationship '" + f.substr(0, dot) + "'"));
      fields.push_back(f);
    }
  }
  // WHERE: any field of the object (relationship fields are outside the subset), with its API name's case.
  for (auto& c : q.where) {
    if (c.field.find('.') != std::string::npos)
      return reply(400, error_body("MALFORMED_QUERY", "this simulator does not filter on relationship fields: '" +
                                                          c.field + "'"));
    const auto* def = o->field(c.field);
    if (!def) return reply(400, error_body("INVALID_FIELD", "No such column '" + c.field + "' on entity '" + o->name + "'"));
    c.field = def->name;
    // Each literal must suit the field's type: strings and ids quoted, numbers and booleans not, dates and
    // datetimes unquoted and each only on its own kind of field (SOQL reference, "Date Formats and Date
    // Literals": "If you specify a dateTime format in a query, you can filter only on dateTime fields").
    const std::string& t = def->type;
    using kind = soql_literal::kind;
    const bool quoted_type = t != "datetime" && t != "date" && t != "boolean" && t != "double" && t != "currency";
    const char* want = t == "datetime" ? "dateTime" : t == "date" ? "date" : t == "boolean" ? "boolean"
                     : t == "double" || t == "currency" ? "double" : t == "id" || t == "reference" ? "id" : "string";
    for (const auto& v : c.values) {
      if (v.type == kind::null) continue;
      const bool fits = t == "datetime" ? v.type == kind::datetime
                      : t == "date" ? v.type == kind::date
                      : t == "boolean" ? v.type == kind::boolean
                      : t == "double" || t == "currency" ? v.type == kind::number
                      : v.type == kind::string;
      if (!fits)
        return reply(400, error_body("INVALID_FIELD", "value of filter criterion for field '" + def->name +
                                                          "' must be of type " + want + " and should " +
                                                          (quoted_type ? "" : "not ") + "be enclosed in quotes"));
      if ((t == "id" || t == "reference") &&
          !((v.text.size() == 15 || v.text.size() == 18) &&
            std::all_of(v.text.begin(), v.text.end(), [](unsigned char ch) { return std::isalnum(ch); })))
        return reply(400, error_body("INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: " + v.text));
    }
  }
  for (auto& ob : q.order_by) {
    const auto* def = o->field(ob.field);
    if (!def) return reply(400, error_body("INVALID_FIELD", "No such column '" + ob.field + "'"));
    ob.field = def->name;
  }

  std::size_t batch = 2000;
  if (auto p = r.query_options.find("batchSize="); p != std::string::npos) {
    long v = std::atol(r.query_options.c_str() + p + 10);
    batch = static_cast<std::size_t>(std::clamp<long>(v, 200, 2000));
  }
  expire_cursors();
  cursor c;
  c.object = o;
  c.fields = fields;
  c.batch = batch;
  c.last_used_ms = now_ms_();

  // The indexed path: ordered by one of the monotone fields (then Id), filtered only on monotone fields and
  // IsDeleted. Seeded records are then a contiguous index range found by binary search, so a query over a
  // million records costs O(log n + changed records) to open and O(page) per page, as on a real org where
  // SystemModstamp and Id are indexed.
  std::string key;
  bool indexed = true;
  if (q.order_by.empty()) key = "Id";
  else if (!q.order_by[0].descending && monotone_field(q.order_by[0].field)) key = q.order_by[0].field;
  else indexed = false;
  for (size_t k = 1; indexed && k < q.order_by.size(); ++k)
    indexed = q.order_by[k].field == "Id" && !q.order_by[k].descending;
  bool has_id_list = false;
  for (const auto& cond : q.where) {
    if (cond.field == "Id" && (cond.op == "IN" || cond.op == "=")) has_id_list = true;
    if (cond.field == "IsDeleted" && (cond.op == "=" || cond.op == "!=") &&
        cond.values[0].type == soql_literal::kind::boolean)
      continue;
    if (!monotone_field(cond.field) || cond.op == "IN" || cond.op == "!=") indexed = false;
  }
  if (indexed && !has_id_list) {
    open_indexed(c, q, key, all);
  } else {
    // The general path: candidates are the named ids (WHERE Id IN / Id =) or every record; matches are kept as
    // (sort keys, index) only, never whole records, so large results stay small.
    std::vector<std::int64_t> candidates;
    bool named = false;
    for (const auto& cond : q.where) {
      if (cond.field != "Id" || (cond.op != "IN" && cond.op != "=")) continue;
      std::vector<std::int64_t> these;
      for (const auto& l : cond.values)
        if (auto id = parse_id(l.text); id && id->first == o) these.push_back(id->second);
      std::sort(these.begin(), these.end());
      these.erase(std::unique(these.begin(), these.end()), these.end());
      if (named) {
        std::vector<std::int64_t> both;
        std::set_intersection(candidates.begin(), candidates.end(), these.begin(), these.end(), std::back_inserter(both));
        candidates = std::move(both);
      } else {
        candidates = std::move(these);
        named = true;
      }
    }
    struct row {
      std::vector<json::value> keys;
      std::int64_t index;
    };
    std::vector<row> rows;
    auto consider = [&](std::int64_t i) {
      auto rec = load(*o, i);
      if (!rec) return;
      if (rec->deleted && !all) return;  // query never sees the recycle bin
      if (!matches(*rec, q.where)) return;
      row rw{{}, i};
      for (auto& ob : q.order_by) rw.keys.push_back(field_value(*rec, ob.field));
      rows.push_back(std::move(rw));
    };
    if (named)
      for (auto i : candidates) consider(i);
    else
      for (std::int64_t i = 1, total = count(*o); i <= total; ++i) consider(i);
    auto as_literal = [](const json::value& v, const json::value& other) {
      soql_literal l;
      if (v.is_null()) l.type = soql_literal::kind::null;
      else if (v.is_bool()) { l.type = soql_literal::kind::boolean; l.boolean = v.as_bool(); }
      else if (v.is_string()) {
        if (auto t = parse_sf_datetime(std::string(v.as_string())); t && other.is_string()) {
          l.type = soql_literal::kind::datetime;
          l.epoch_ms = *t;
        } else {
          l.type = soql_literal::kind::string;
          l.text = v.as_string();
        }
      } else { l.type = soql_literal::kind::number; l.number = v.to_number<double>(); }
      return l;
    };
    if (!q.order_by.empty()) {
      std::stable_sort(rows.begin(), rows.end(), [&](const row& a, const row& b) {
        for (size_t k = 0; k < q.order_by.size(); ++k) {
          int cmp = compare_values(a.keys[k], as_literal(b.keys[k], a.keys[k]));
          if (cmp != 0) return q.order_by[k].descending ? cmp > 0 : cmp < 0;
        }
        return false;
      });
    }
    if (q.limit && static_cast<std::int64_t>(rows.size()) > *q.limit) rows.resize(static_cast<size_t>(*q.limit));
    c.indexes.reserve(rows.size());
    for (auto& row : rows) c.indexes.push_back(row.index);
    c.total = static_cast<std::int64_t>(c.indexes.size());
  }
  // Query locators are record ids (prefix 01g, 18 characters), as in "/query/01gD0000002HU6KIAW-2000".
  char locator_buf[32];
  std::snprintf(locator_buf, sizeof locator_buf, "01gSIM%09lldAAA", static_cast<long long>(++cursor_counter_));
  std::string locator = locator_buf;
  cursors_[locator] = std::move(c);
  return page(version, locator, 0);
}

void api::open_indexed(cursor& c, const soql_query& q, const std::string& key, bool all) const {
  const auto& o = *c.object;
  c.lazy = true;
  c.key = key;
  // Seeded records: an index range [lo, hi], narrowed by each condition with a binary search (the field's
  // value is non-decreasing in the index, so "value compared to the literal" is too).
  std::int64_t lo = 1, hi = seeded_count(o);
  for (const auto& cond : q.where) {
    if (cond.field == "IsDeleted") {
      // Seeded records are never deleted (deleting one makes it a changed record).
      bool wants_deleted = (cond.op == "=") == cond.values[0].boolean;
      if (wants_deleted) hi = lo - 1;
      continue;
    }
    const auto& lit = cond.values[0];
    const bool cs = cond.field == "Id";
    auto cmp_at = [&](std::int64_t i) {
      record s = seeded(o, i);
      return compare_values(field_value(s, cond.field), lit, cs);
    };
    // first index in [1, n] (n+1 if none) where pred holds, pred monotone false..true
    auto first = [&](auto pred) {
      std::int64_t a = 1, b = seeded_count(o) + 1;
      while (a < b) {
        auto m = a + (b - a) / 2;
        if (pred(m)) b = m;
        else a = m + 1;
      }
      return a;
    };
    const auto ge = first([&](std::int64_t i) { return cmp_at(i) >= 0; });
    const auto gt = first([&](std::int64_t i) { return cmp_at(i) > 0; });
    if (cond.op == ">") lo = std::max(lo, gt);
    else if (cond.op == ">=") lo = std::max(lo, ge);
    else if (cond.op == "<") hi = std::min(hi, ge - 1);
    else if (cond.op == "<=") hi = std::min(hi, gt - 1);
    else { lo = std::max(lo, ge); hi = std::min(hi, gt - 1); }  // =
  }
  c.seeded_hi = hi;
  // Seeded indexes that are no longer seeded (changed, deleted, purged) leave the range; changed records that
  // match join through `extra`, sorted by (key, index) like the range.
  std::int64_t excluded_in_range = 0;
  for (const auto& [id, rec] : touched_) {
    if (rec.object != o.name) continue;
    if (rec.index >= lo && rec.index <= hi) {
      c.excluded.push_back(rec.index);
      ++excluded_in_range;
    }
    if (rec.deleted && !all) continue;
    if (purged_.count(id)) continue;
    if (!matches(rec, q.where)) continue;
    c.extra.emplace_back(order_key(rec, key), rec.index);
  }
  for (const auto& id : purged_) {
    auto p = parse_id(id);
    if (p && p->first == &o && p->second >= lo && p->second <= hi && !touched_.count(id)) {
      c.excluded.push_back(p->second);
      ++excluded_in_range;
    }
  }
  std::sort(c.excluded.begin(), c.excluded.end());
  std::sort(c.extra.begin(), c.extra.end());
  std::int64_t total = std::max<std::int64_t>(0, hi - lo + 1) - excluded_in_range + static_cast<std::int64_t>(c.extra.size());
  if (q.limit) total = std::min(total, *q.limit);
  c.total = total;
  c.positions[0] = cursor::position{lo, 0, 0, total};
}

api_reply api::page(const std::string& version, const std::string& locator, std::size_t offset) {
  auto& c = cursors_.at(locator);
  c.last_used_ms = now_ms_();
  json::array records;
  bool done = false;
  std::size_t end = offset;
  if (!c.lazy) {
    end = std::min(c.indexes.size(), offset + c.batch);
    for (std::size_t i = offset; i < end; ++i) {
      auto rec = load(*c.object, c.indexes[i]);
      if (!rec) continue;  // purged since the query ran
      records.push_back(to_json(*rec, &c.fields, version));
    }
    done = end >= c.indexes.size();
  } else {
    // Merge the seeded range (minus excluded indexes) with the changed records, by (key, index).
    auto pos = c.positions.at(offset);
    auto skip_excluded = [&] {
      while (pos.seeded_next <= c.seeded_hi && pos.excluded_at < c.excluded.size() &&
             c.excluded[pos.excluded_at] <= pos.seeded_next) {
        if (c.excluded[pos.excluded_at] == pos.seeded_next) ++pos.seeded_next;
        ++pos.excluded_at;
      }
    };
    auto exhausted = [&] {
      skip_excluded();
      return pos.remaining <= 0 || (pos.seeded_next > c.seeded_hi && pos.extra_at >= c.extra.size());
    };
    while (end < offset + c.batch && !exhausted()) {
      std::int64_t index;
      const bool have_seeded = pos.seeded_next <= c.seeded_hi;
      const bool have_extra = pos.extra_at < c.extra.size();
      if (have_seeded &&
          (!have_extra || std::make_pair(seeded_order_key(*c.object, pos.seeded_next, c.key), pos.seeded_next) <
                              c.extra[pos.extra_at]))
        index = pos.seeded_next++;
      else
        index = c.extra[pos.extra_at++].second;
      --pos.remaining;
      ++end;
      auto rec = load(*c.object, index);
      if (!rec) continue;  // purged since the query ran
      records.push_back(to_json(*rec, &c.fields, version));
    }
    done = exhausted();
    if (!done) c.positions[end] = pos;
  }
  json::object out{{"totalSize", c.total}, {"done", done}};
  if (!done) out["nextRecordsUrl"] = "/services/data/v" + version + "/query/" + locator + "-" + std::to_string(end);
  out["records"] = std::move(records);
  if (done) cursors_.erase(locator);
  return reply(200, json::serialize(out));
}

api_reply api::query_more(const api_request& r, const std::string& version, const std::string& locator) {
  auto dash = locator.rfind('-');
  auto it = dash == std::string::npos ? cursors_.end() : cursors_.find(locator.substr(0, dash));
  if (it == cursors_.end()) return reply(400, error_body("INVALID_QUERY_LOCATOR", "invalid query locator"));
  auto offset = static_cast<std::size_t>(std::atoll(locator.c_str() + dash + 1));
  // A lazily evaluated cursor can resume only where one of its pages began (a client re-asking for a page it
  // lost gets it again); the materialised one anywhere.
  if (it->second.lazy && !it->second.positions.count(offset))
    return reply(400, error_body("INVALID_QUERY_LOCATOR", "invalid query locator"));
  return page(version, it->first, offset);
}

// DELETE /composite/sobjects?ids=ID,ID&allOrNone=false: up to 200 records of any objects; one result per id in
// order ({id, success, errors}); with allOrNone=true one failure rolls every deletion back.
api_reply api::collections_delete(const std::map<std::string, std::string>& q) {
  auto it = q.find("ids");
  if (it == q.end() || it->second.empty())
    return reply(400, error_body("MISSING_ARGUMENT", "ids parameter is required"));
  std::vector<std::string> ids;
  for (std::size_t s = 0; s <= it->second.size();) {
    auto e = it->second.find(',', s);
    ids.push_back(it->second.substr(s, e == std::string::npos ? std::string::npos : e - s));
    if (e == std::string::npos) break;
    s = e + 1;
  }
  if (ids.size() > 200)
    return reply(400, error_body("EXCEEDED_ID_LIMIT", "record limit exceeded: at most 200 records per request"));
  auto a = q.find("allOrNone");
  const bool all_or_none = a != q.end() && a->second == "true";
  json::array out;
  std::vector<record> doomed;
  bool failed = false;
  for (const auto& id : ids) {
    json::object res{{"id", id}, {"success", false}};
    auto fail = [&](const char* code, const char* why) {
      res["errors"] = json::array{json::object{{"statusCode", code}, {"message", why}, {"fields", json::array()}}};
      failed = true;
    };
    auto parsed = parse_id(id);
    std::optional<record> rec;
    if (parsed) rec = load(*parsed->first, parsed->second);
    if (!parsed) fail("MALFORMED_ID", "malformed id");
    else if (!rec) fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id");
    else if (rec->deleted) fail("ENTITY_IS_DELETED", "entity is deleted");
    else {
      res["success"] = true;
      res["errors"] = json::array();
      doomed.push_back(std::move(*rec));
    }
    out.push_back(std::move(res));
  }
  if (all_or_none && failed) {
    for (auto& v : out)
      if (v.as_object().at("success").as_bool()) {
        v.as_object()["success"] = false;
        v.as_object()["errors"] = json::array{json::object{
            {"statusCode", "ALL_OR_NONE_OPERATION_ROLLED_BACK"}, {"message", "Record rolled back because not all records were valid and the request was using AllOrNone header"}, {"fields", json::array()}}};
      }
    return reply(200, json::serialize(out));
  }
  for (auto& rec : doomed) {
    rec.deleted = true;
    rec.deleted_ms = now_ms_();
    touch(rec, true);
  }
  return reply(200, json::serialize(out));
}

api_reply api::collections(const api_request& r, const std::string& version, const std::string& object,
                           const std::string& ext_field) {
  boost::system::error_code ec;
  auto body = json::parse(r.body, ec);
  if (ec || !body.is_object() || !body.as_object().contains("records") || !body.at("records").is_array())
    return reply(400, error_body("JSON_PARSER_ERROR", "Unexpected body: expected {\"allOrNone\":...,\"records\":[...]}"));
  auto& recs = body.at("records").as_array();
  if (recs.size() > 200)
    return reply(400, error_body("EXCEEDED_ID_LIMIT", "record limit exceeded: at most 200 records per request"));
  bool all_or_none = body.as_object().contains("allOrNone") && body.at("allOrNone").is_bool() && body.at("allOrNone").as_bool();
  // A value the JSON reader cannot take fails the whole request before any record is written.
  for (auto& v : recs) {
    if (!v.is_object()) continue;
    std::string type = object;
    if (auto* a = v.as_object().if_contains("attributes"); a && a->is_object() && a->as_object().contains("type") &&
                                                           a->at("type").is_string())
      type = std::string(a->at("type").as_string());
    if (const auto* o = find_object(type))
      if (auto bad = deserialize(*o, v.as_object())) return reply(400, *bad);
  }
  bool upsert = !object.empty();
  if (upsert && r.method != "PATCH") return reply(405, error_body("METHOD_NOT_ALLOWED", "HTTP Method not allowed"));
  bool create = !upsert && r.method == "POST";
  bool update = !upsert && r.method == "PATCH";
  if (!create && !update && !upsert) return reply(405, error_body("METHOD_NOT_ALLOWED", "HTTP Method not allowed"));

  // First validate everything (allOrNone needs to know before writing anything), then apply.
  struct planned {
    const object_def* o = nullptr;
    json::object fields;
    std::optional<std::int64_t> index;  // existing record
    std::string error;                  // the errorCode, empty when fine
    std::string message;
    json::array error_fields;           // the fields the error names
    void fail(std::string code, std::string why) {
      error = std::move(code);
      message = std::move(why);
    }
    /// From a REST error body ([{"message":...,"errorCode":...,"fields":[...]}]).
    void fail_with(const std::string& body) {
      auto v = json::parse(body).as_array()[0].as_object();
      fail(std::string(v.at("errorCode").as_string()), std::string(v.at("message").as_string()));
      if (auto* f = v.if_contains("fields"); f && f->is_array()) error_fields = f->as_array();
    }
  };
  std::vector<planned> plan;
  for (auto& v : recs) {
    planned p;
    if (!v.is_object()) { p.fail("INVALID_INPUT", "record must be an object"); plan.push_back(p); continue; }
    auto rec = v.as_object();
    std::string type = upsert ? object : "";
    if (auto* a = rec.if_contains("attributes"); a && a->is_object() && a->as_object().contains("type"))
      type = std::string(a->at("type").as_string());
    p.o = find_object(type);
    if (!p.o) { p.fail("INVALID_TYPE", "sObject type '" + type + "' is not supported."); plan.push_back(p); continue; }
    rec.erase("attributes");
    std::string id;
    for (const char* k : {"id", "Id"})
      if (auto* x = rec.if_contains(k); x && x->is_string()) { id = x->as_string(); rec.erase(k); }
    if (create && !id.empty()) { p.fail("INVALID_FIELD", "cannot specify Id in an insert call"); plan.push_back(p); continue; }
    // "Only external ids are supported. Don't use record ids." (sObject Collections upsert)
    if (upsert && !id.empty()) {
      p.fail("INVALID_FIELD", "cannot specify Id in an upsert call: the external ID field " + ext_field + " names the record");
      plan.push_back(p);
      continue;
    }
    if (update) {
      // As Salesforce answers an update by id: no Id, an id of another object or not an id at all, a record in
      // the recycle bin or purged, and an id that never named a record each have their own status code.
      auto parsed = parse_id(id);
      if (id.empty()) { p.fail("MISSING_ARGUMENT", "Id not specified in an update call"); plan.push_back(p); continue; }
      if (!parsed || parsed->first != p.o) {
        p.fail("MALFORMED_ID", p.o->name + " ID: id value of incorrect type: " + id);
        plan.push_back(p);
        continue;
      }
      const bool ever_existed = parsed->second >= 1 && parsed->second <= count(*p.o);  // purged ones included
      auto existing = load(*p.o, parsed->second);
      if (!ever_existed) { p.fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"); plan.push_back(p); continue; }
      if (!existing || existing->deleted) { p.fail("ENTITY_IS_DELETED", "entity is deleted"); plan.push_back(p); continue; }
      p.index = parsed->second;
    }
    if (upsert) {
      const auto* ext = p.o->field(ext_field);
      if (!ext || !ext->external_id) {
        p.fail("INVALID_FIELD", "Field " + ext_field + " is not an external id field");
        plan.push_back(p);
        continue;
      }
      auto* key = rec.if_contains(ext->name);
      if (!key || !key->is_string() || key->as_string().empty()) {
        p.fail("REQUIRED_FIELD_MISSING", "Required fields are missing: [" + ext->name + "]");
        plan.push_back(p);
        continue;
      }
      if (auto found = find_by_external_id(*p.o, ext->name, *key); !found.empty()) p.index = found.front();
    }
    if (auto bad = validate(*p.o, rec, !p.index.has_value())) { p.fail_with(*bad); plan.push_back(p); continue; }
    if (create && p.o->name == "CampaignMember") {
      // One person once per campaign within the request too (validate sees only stored members).
      auto same = [&](const json::object& a, const char* f) {
        auto* x = a.if_contains(f);
        auto* y = rec.if_contains(f);
        return (x ? json::serialize(*x) : "null") == (y ? json::serialize(*y) : "null");
      };
      if (std::any_of(plan.begin(), plan.end(), [&](const auto& q) {
            return q.error.empty() && q.o == p.o && same(q.fields, "CampaignId") && same(q.fields, "ContactId") &&
                   same(q.fields, "LeadId");
          })) {
        p.fail("DUPLICATE_VALUE", "Already a campaign member.");
        plan.push_back(p);
        continue;
      }
    }
    p.fields = std::move(rec);
    plan.push_back(std::move(p));
  }
  bool any_error = std::any_of(plan.begin(), plan.end(), [](auto& p) { return !p.error.empty(); });
  json::array results;
  for (auto& p : plan) {
    if (!p.error.empty()) {
      results.push_back(json::object{{"success", false},
                                     {"errors", json::array{json::object{{"statusCode", p.error},
                                                                         {"message", p.message},
                                                                         {"fields", p.error_fields}}}}});
      continue;
    }
    if (all_or_none && any_error) {
      results.push_back(json::object{{"success", false},
                                     {"errors", json::array{json::object{
                                                    {"statusCode", "ALL_OR_NONE_OPERATION_ROLLED_BACK"},
                                                    {"message", "Record rolled back because not all records were valid and "
                                                                "the request was using AllOrNone header"},
                                                    {"fields", json::array{}}}}}});
      continue;
    }
    record rec;
    bool created = !p.index.has_value();
    if (created) {
      rec = new_record(*p.o);
    } else {
      rec = *load(*p.o, *p.index);
    }
    for (auto& [k, v] : p.fields) rec.fields[p.o->field(k)->name] = v;
    touch(rec, true);
    json::object res{{"id", make_id(*p.o, rec.index)}, {"success", true}, {"errors", json::array{}}};
    if (upsert) res["created"] = created;
    results.push_back(std::move(res));
  }
  return reply(200, json::serialize(results));
}

api_reply api::upsert_one(const std::string& version, const object_def& o, const std::string& ext_field,
                          const std::string& value, const std::string& body, bool update_only) {
  const auto* ext = o.field(ext_field);
  if (!ext || !ext->external_id)
    return reply(400, error_body("NOT_FOUND", "Provided external ID field does not exist or is not accessible: " + ext_field));
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return reply(400, error_body("JSON_PARSER_ERROR", "Unexpected body"));
  auto fields = parsed.as_object();
  fields.erase("attributes");
  if (fields.contains("Id") || fields.contains(ext->name))
    return reply(400, error_body("INVALID_FIELD", "Id and the external id field may not be in the body"));
  if (auto bad = deserialize(o, fields)) return reply(400, *bad);
  auto found = find_by_external_id(o, ext->name, json::value(value));
  if (found.size() > 1) return reply(300, json::serialize(json::array{}));
  bool created = found.empty();
  // "If you want to update a record but not create it if it doesn't exist, add the updateOnly parameter."
  if (created && update_only) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  if (auto bad = validate(o, fields, created)) return reply(400, *bad);
  record rec;
  if (created) {
    rec = new_record(o);
    rec.fields[ext->name] = value;
  } else {
    rec = *load(o, found[0]);
  }
  for (auto& [k, v] : fields) rec.fields[o.field(k)->name] = v;
  touch(rec, true);
  json::object res{{"id", make_id(o, rec.index)}, {"success", true}, {"errors", json::array{}}, {"created", created}};
  // v46.0 and later answer 200 with a body on update; earlier versions 204.
  if (!created && std::atof(version.c_str()) < 46.0) return reply(204, "");
  return reply(created ? 201 : 200, json::serialize(res));
}

// POST /sobjects/{Object}: 201 {"id","success":true,"errors":[]}; a failure is the REST error array (400).
api_reply api::create_one(const object_def& o, const std::string& body) {
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return reply(400, error_body("JSON_PARSER_ERROR", "Unexpected body"));
  auto fields = parsed.as_object();
  fields.erase("attributes");
  if (fields.contains("Id") || fields.contains("id"))
    return reply(400, error_body("INVALID_FIELD", "cannot specify Id in an insert call", {"Id"}));
  if (auto bad = deserialize(o, fields)) return reply(400, *bad);
  if (auto bad = validate(o, fields, true)) return reply(400, *bad);
  record rec = new_record(o);
  for (auto& [k, v] : fields) rec.fields[o.field(k)->name] = v;
  touch(rec, true);
  return reply(201, json::serialize(json::object{{"id", make_id(o, rec.index)}, {"success", true}, {"errors", json::array{}}}));
}

// PATCH /sobjects/{Object}/{Id}: 204 No Content; a record in the recycle bin is ENTITY_IS_DELETED.
api_reply api::update_one(const object_def& o, const std::string& id, const std::string& body) {
  auto parsed_id = parse_id(id);
  if (!parsed_id || parsed_id->first != &o) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  auto existing = load(o, parsed_id->second);
  if (!existing) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  if (existing->deleted) return reply(404, error_body("ENTITY_IS_DELETED", "entity is deleted"));
  boost::system::error_code ec;
  auto parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return reply(400, error_body("JSON_PARSER_ERROR", "Unexpected body"));
  auto fields = parsed.as_object();
  fields.erase("attributes");
  fields.erase("Id");
  fields.erase("id");
  if (auto bad = deserialize(o, fields)) return reply(400, *bad);
  if (auto bad = validate(o, fields, false)) return reply(400, *bad);
  for (auto& [k, v] : fields) existing->fields[o.field(k)->name] = v;
  touch(*existing, true);
  return reply(204, "");
}

// DELETE /sobjects/{Object}/{Id}: 204 No Content; the record goes to the recycle bin (queryAll, getDeleted).
api_reply api::delete_one(const object_def& o, const std::string& id) {
  auto parsed_id = parse_id(id);
  if (!parsed_id || parsed_id->first != &o) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  auto existing = load(o, parsed_id->second);
  if (!existing) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  if (existing->deleted) return reply(404, error_body("ENTITY_IS_DELETED", "entity is deleted"));
  existing->deleted = true;
  existing->deleted_ms = now_ms_();
  touch(*existing, true);
  return reply(204, "");
}

// GET /sobjects/{Object}/{Id}[?fields=a,b]: every field, or the named ones (plus Id and attributes).
api_reply api::read_one(const std::string& version, const object_def& o, const std::string& id,
                        const std::map<std::string, std::string>& q) const {
  auto parsed_id = parse_id(id);
  if (!parsed_id || parsed_id->first != &o) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  auto rec = load(o, parsed_id->second);
  if (!rec || rec->deleted) return reply(404, error_body("NOT_FOUND", "The requested resource does not exist"));
  auto f = q.find("fields");
  if (f == q.end() || f->second.empty()) return reply(200, json::serialize(to_json(*rec, nullptr, version)));
  std::vector<std::string> wanted;
  for (std::size_t start = 0; start <= f->second.size();) {
    auto comma = f->second.find(',', start);
    auto name = f->second.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto* def = o.field(name);
    if (!def) return reply(400, error_body("INVALID_FIELD", "No such column '" + name + "' on sobject of type " + o.name));
    wanted.push_back(def->name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (std::find(wanted.begin(), wanted.end(), "Id") == wanted.end()) wanted.push_back("Id");
  return reply(200, json::serialize(to_json(*rec, &wanted, version)));
}

// sObject Collections retrieve: GET /composite/sobjects/{Object}?ids=..&fields=.. or POST with
// {"ids":[...],"fields":[...]}; the records in the order asked, null for an id that names no (live) record.
api_reply api::retrieve_many(const api_request& r, const std::string& version, const object_def& o,
                             const std::map<std::string, std::string>& q) const {
  std::vector<std::string> ids, names;
  auto split = [](const std::string& text, std::vector<std::string>& out) {
    for (std::size_t start = 0; start <= text.size();) {
      auto comma = text.find(',', start);
      auto item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!item.empty()) out.push_back(item);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  };
  if (r.method == "GET") {
    if (auto it = q.find("ids"); it != q.end()) split(it->second, ids);
    if (auto it = q.find("fields"); it != q.end()) split(it->second, names);
  } else {
    boost::system::error_code ec;
    auto body = json::parse(r.body, ec);
    if (ec || !body.is_object()) return reply(400, error_body("JSON_PARSER_ERROR", "Unexpected body"));
    for (const char* key : {"ids", "fields"}) {
      auto* v = body.as_object().if_contains(key);
      if (!v || !v->is_array()) continue;
      for (const auto& x : v->as_array())
        if (x.is_string()) (std::string_view(key) == "ids" ? ids : names).emplace_back(x.as_string());
    }
  }
  if (ids.empty()) return reply(400, error_body("MISSING_ARGUMENT", "ids parameter is required"));
  if (names.empty()) return reply(400, error_body("MISSING_ARGUMENT", "fields parameter is required"));
  if (ids.size() > 2000) return reply(400, error_body("EXCEEDED_ID_LIMIT", "record limit exceeded: at most 2000 ids"));
  std::vector<std::string> wanted;
  for (const auto& n : names) {
    const auto* def = o.field(n);
    if (!def) return reply(400, error_body("INVALID_FIELD", "No such column '" + n + "' on sobject of type " + o.name));
    wanted.push_back(def->name);
  }
  if (std::find(wanted.begin(), wanted.end(), "Id") == wanted.end()) wanted.push_back("Id");
  json::array out;
  for (const auto& id : ids) {
    auto parsed = parse_id(id);
    auto rec = parsed && parsed->first == &o ? load(o, parsed->second) : std::nullopt;
    if (!rec || rec->deleted) out.push_back(nullptr);
    else out.push_back(to_json(*rec, &wanted, version));
  }
  return reply(200, json::serialize(out));
}

namespace {
std::string soap_type(const std::string& t) {
  if (t == "id" || t == "reference") return "tns:ID";
  if (t == "boolean") return "xsd:boolean";
  if (t == "double" || t == "currency") return "xsd:double";
  if (t == "datetime") return "xsd:dateTime";
  if (t == "date") return "xsd:date";
  return "xsd:string";
}
json::object object_urls(const std::string& version, const std::string& name) {
  const std::string base = "/services/data/v" + version + "/sobjects/" + name;
  return json::object{{"sobject", base}, {"describe", base + "/describe"}, {"rowTemplate", base + "/{ID}"}};
}
}  // namespace

// GET /sobjects/{Object}/describe: the object's metadata and every field's, with the keys clients read.
api_reply api::describe(const std::string& version, const object_def& o) const {
  json::array fields;
  for (const auto& f : o.fields) {
    const bool writable = f.updateable && !f.calculated;
    json::object d{{"name", f.name},
                   {"label", f.label},
                   {"type", f.type},
                   {"soapType", soap_type(f.type)},
                   {"length", f.length},
                   {"precision", f.precision},
                   {"scale", f.scale},
                   {"calculated", f.calculated},
                   {"externalId", f.external_id},
                   {"unique", f.external_id || f.name == "Id"},
                   {"idLookup", f.external_id || f.name == "Id" || f.type == "email"},
                   {"filterable", true},
                   {"sortable", true},
                   {"updateable", writable},
                   {"createable", writable},
                   {"nillable", f.name != "Id" && f.name != "LastName" && f.type != "boolean"},
                   {"defaultedOnCreate", is_system_field(f.name) || f.type == "boolean"},
                   {"custom", f.name.size() > 3 && f.name.ends_with("__c")},
                   {"nameField", f.name == "Name" || (f.name == "LastName" && (o.name == "Contact" || o.name == "Lead"))},
                   {"restrictedPicklist", f.restricted},
                   {"referenceTo", json::array{}},
                   {"relationshipName", nullptr}};
    json::array values;
    for (const auto& v : f.picklist)
      values.push_back(json::object{{"active", true}, {"defaultValue", false}, {"label", v}, {"validFor", nullptr}, {"value", v}});
    d["picklistValues"] = std::move(values);
    if (f.calculated) d["calculatedFormula"] = "TODAY() - DATEVALUE(CreatedDate)";
    if (!f.reference_to.empty()) {
      d["referenceTo"] = json::array{json::string(f.reference_to)};
      d["relationshipName"] = f.name.substr(0, f.name.size() - 2);
    }
    fields.push_back(std::move(d));
  }
  return reply(200, json::serialize(json::object{{"name", o.name}, {"label", o.label}, {"labelPlural", o.label_plural},
                                                 {"keyPrefix", o.prefix}, {"custom", false}, {"queryable", true},
                                                 {"retrieveable", true}, {"searchable", true}, {"replicateable", true},
                                                 {"createable", true}, {"updateable", true}, {"deletable", true},
                                                 {"undeletable", true}, {"urls", object_urls(version, o.name)},
                                                 {"fields", std::move(fields)}}));
}

// GET /sobjects: every object with the keys describeGlobal documents.
api_reply api::describe_global(const std::string& version) const {
  json::array objects;
  for (const auto& o : schema()) {
    objects.push_back(json::object{{"name", o.name}, {"label", o.label}, {"labelPlural", o.label_plural},
                                   {"keyPrefix", o.prefix}, {"custom", false}, {"customSetting", false},
                                   {"activateable", false}, {"createable", true}, {"updateable", true},
                                   {"deletable", true}, {"undeletable", true}, {"queryable", true},
                                   {"retrieveable", true}, {"searchable", true}, {"replicateable", true},
                                   {"triggerable", true}, {"layoutable", true}, {"mergeable", o.name != "Opportunity"},
                                   {"deprecatedAndHidden", false}, {"feedEnabled", false}, {"mruEnabled", true},
                                   {"urls", object_urls(version, o.name)}});
  }
  return reply(200, json::serialize(json::object{{"encoding", "UTF-8"}, {"maxBatchSize", 200}, {"sobjects", std::move(objects)}}));
}

// GET /limits: the daily API budget the Sforce-Limit-Info header counts (the request itself included).
api_reply api::limits() const {
  const auto remaining = std::max<std::int64_t>(0, limits_.daily_api_requests - used_today_);
  return reply(200, json::serialize(json::object{
                        {"DailyApiRequests", json::object{{"Max", limits_.daily_api_requests}, {"Remaining", remaining}}}}));
}

namespace {
/// Replication windows are whole minutes: "the API ignores the seconds portion of the specified dateTime value".
std::int64_t floor_minute(std::int64_t ms) { return ms - ((ms % 60'000) + 60'000) % 60'000; }
}  // namespace

// GET /sobjects/{Object}/updated/?start=&end=: the ids changed (SystemModstamp) in the window, at most 30 days
// back, start before end (INVALID_REPLICATION_DATE otherwise), at most 600,000 ids (EXCEEDED_ID_LIMIT).
api_reply api::get_updated(const object_def& o, const std::map<std::string, std::string>& q) const {
  auto start = q.count("start") ? parse_sf_datetime(q.at("start")) : std::nullopt;
  auto end = q.count("end") ? parse_sf_datetime(q.at("end")) : std::nullopt;
  if (!start || !end)
    return reply(400, error_body("INVALID_REPLICATION_DATE", "start and end must be valid ISO 8601 dateTime values"));
  const auto now = now_ms_();
  const auto from = floor_minute(*start), to = floor_minute(*end);
  if (from >= to) return reply(400, error_body("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"));
  if (from < floor_minute(now) - 30LL * 86'400'000)
    return reply(400, error_body("INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago"));
  std::vector<std::pair<std::int64_t, std::string>> hits;
  for (const auto& [id, rec] : touched_) {
    if (rec.object != o.name || rec.deleted || purged_.count(id)) continue;
    if (rec.modstamp_ms >= from && rec.modstamp_ms < to) hits.emplace_back(rec.modstamp_ms, id);
  }
  // Seeded records are stamped in index order: binary-search the first one in the window.
  std::int64_t lo = 1, hi = seeded_count(o) + 1;
  while (lo < hi) {
    auto mid = lo + (hi - lo) / 2;
    if (seeded_order_key(o, mid, "SystemModstamp") >= from) hi = mid;
    else lo = mid + 1;
  }
  for (std::int64_t i = lo, n = seeded_count(o); i <= n && seeded_order_key(o, i, "SystemModstamp") < to; ++i) {
    const auto id = make_id(o, i);
    if (!touched_.count(id) && !purged_.count(id)) hits.emplace_back(seeded_order_key(o, i, "SystemModstamp"), id);
    if (hits.size() > 600'000) break;
  }
  if (hits.size() > 600'000)
    return reply(400, error_body("EXCEEDED_ID_LIMIT", "More than 600,000 ids: choose start and end dates closer together"));
  std::sort(hits.begin(), hits.end());
  json::array ids;
  for (const auto& h : hits) ids.push_back(json::string(h.second));
  return reply(200, json::serialize(json::object{{"ids", std::move(ids)},
                                                 {"latestDateCovered", format_sf_datetime(std::min(to, floor_minute(now)))}}));
}

api_reply api::get_deleted(const object_def& o, const std::map<std::string, std::string>& q) const {
  // Plain values and flags rather than optionals compared after the check: GCC 12 took those for uninitialized.
  std::int64_t from = 0, to = 0;
  bool valid = false;
  if (q.count("start") && q.count("end")) {
    const auto s = parse_sf_datetime(q.at("start")), e = parse_sf_datetime(q.at("end"));
    valid = s.has_value() && e.has_value();
    from = s.value_or(0);
    to = e.value_or(0);
  }
  if (!valid || to < from)
    return reply(400, error_body("INVALID_REPLICATION_DATE", "start and end must be valid ISO 8601 dates, start before end"));
  json::array out;
  for (const auto& [id, rec] : touched_) {
    if (rec.object != o.name || !rec.deleted || purged_.count(id)) continue;
    if (rec.deleted_ms < from || rec.deleted_ms > to) continue;
    out.push_back(json::object{{"id", id}, {"deletedDate", format_sf_datetime(rec.deleted_ms)}});
  }
  return reply(200, json::serialize(json::object{{"deletedRecords", std::move(out)},
                                                 {"earliestDateAvailable", format_sf_datetime(base_ms_ - 15LL * 86'400'000)},
                                                 {"latestDateCovered", format_sf_datetime(std::min(to, now_ms_()))}}));
}

// ---- admin side -----------------------------------------------------------------------------------------------

admin_reply api::admin(std::string_view method, std::string_view object, std::string_view id_in, std::string_view body) {
  std::lock_guard lock(mutex_);
  std::string id(id_in);
  bool purge = false;
  // ?modstamp=T (PATCH, DELETE): the change becomes visible now but carries SystemModstamp T, as a long
  // transaction that commits after later ones does on a real org — what a poller's settle lag and overlap
  // window exist for.
  std::optional<std::int64_t> late_modstamp;
  if (auto qm = id.find('?'); qm != std::string::npos) {
    auto opts = parse_form(std::string_view(id).substr(qm + 1));
    purge = opts["purge"] == "true";
    if (opts.count("modstamp")) {
      late_modstamp = parse_sf_datetime(opts["modstamp"]);
      if (!late_modstamp) return {400, json::object{{"error", "modstamp must be a datetime like 2026-05-01T10:00:00.000Z"}}};
    }
    id = id.substr(0, qm);
  }
  auto backdate = [&](const record& r) {
    if (!late_modstamp) return;
    auto& stored = touched_[make_id(*find_object(r.object), r.index)];
    stored.modstamp_ms = *late_modstamp;
    stored.last_modified_ms = std::min(stored.last_modified_ms, *late_modstamp);
  };
  const auto* o = find_object(object);
  if (!o) return {404, json::object{{"error", "unknown object " + std::string(object)}}};
  if (id.empty()) {
    if (method == "GET") {
      json::array all;
      for (std::int64_t i = 1, n = count(*o); i <= n; ++i)
        if (auto rec = load(*o, i)) all.push_back(to_json(*rec, nullptr, "62.0"));
      return {200, all};
    }
    if (method == "POST") {
      boost::system::error_code ec;
      auto v = json::parse(body, ec);
      if (ec || !v.is_object()) return {400, json::object{{"error", "body must be a JSON object of fields"}}};
      auto fields = v.as_object();
      fields.erase("attributes");
      if (auto bad = deserialize(*o, fields)) return {400, json::parse(*bad)};
      if (auto bad = validate(*o, fields, true)) return {400, json::parse(*bad)};
      record rec = new_record(*o);
      for (auto& [k, val] : fields) rec.fields[o->field(k)->name] = val;
      touch(rec, false);
      return {201, to_json(rec, nullptr, "62.0")};
    }
    return {405, json::object{{"error", "method not allowed"}}};
  }
  auto parsed = parse_id(id);
  if (!parsed || parsed->first != o) return {404, json::object{{"error", "no such record"}}};
  auto rec = load(*o, parsed->second);
  if (!rec) return {404, json::object{{"error", "no such record"}}};
  if (method == "GET") return {200, to_json(*rec, nullptr, "62.0")};
  if (method == "PATCH") {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) return {400, json::object{{"error", "body must be a JSON object of fields"}}};
    auto fields = v.as_object();
    fields.erase("attributes");
    if (auto bad = deserialize(*o, fields)) return {400, json::parse(*bad)};
    if (auto bad = validate(*o, fields, false)) return {400, json::parse(*bad)};
    for (auto& [k, val] : fields) rec->fields[o->field(k)->name] = val;
    touch(*rec, false);
    backdate(*rec);
    return {200, to_json(*load(*o, parsed->second), nullptr, "62.0")};
  }
  if (method == "DELETE") {
    if (purge) {
      purged_.insert(id);
      if (auto t = touched_.find(id); t != touched_.end()) index_external_ids(t->second, false);
      touched_.erase(id);
      return {200, json::object{{"purged", id}}};
    }
    rec->deleted = true;
    rec->deleted_ms = now_ms_();
    touch(*rec, false);
    backdate(*rec);
    return {200, json::object{{"deleted", id}}};
  }
  return {405, json::object{{"error", "method not allowed"}}};
}

json::value api::snapshot() {
  std::lock_guard lock(mutex_);
  json::object out;
  for (const auto& o : schema()) {
    json::array rows;
    for (std::int64_t i = 1, n = count(o); i <= n; ++i)
      if (auto rec = load(o, i)) rows.push_back(to_json(*rec, nullptr, "62.0"));
    out[o.name] = std::move(rows);
  }
  return out;
}

void api::set_limits(const json::object& l) {
  std::lock_guard lock(mutex_);
  if (auto* v = l.if_contains("daily_api_requests"); v && v->is_int64()) limits_.daily_api_requests = v->as_int64();
  if (auto* v = l.if_contains("token_lifetime_ms"); v && v->is_int64()) {
    limits_.token_lifetime_ms = v->as_int64();
    // Existing tokens get the new lifetime too, so a test can expire them at once.
    auto now = now_ms_();
    for (auto& [t, exp] : tokens_) exp = std::min(exp, now + limits_.token_lifetime_ms);
  }
  if (auto* v = l.if_contains("api_requests_used"); v && v->is_int64()) used_today_ = v->as_int64();
  if (auto* v = l.if_contains("jwt_certificate"); v && v->is_string()) limits_.jwt_certificate = v->as_string();
}

void api::reset() {
  std::lock_guard lock(mutex_);
  touched_.clear();
  external_ids_.clear();
  purged_.clear();
  created_count_.clear();
  tokens_.clear();
  cursors_.clear();
  pending_notifications_.clear();
  used_today_ = 0;
  day_start_ms_ = now_ms_();
  limits_ = {};
}

std::string api::outbound_xml(const std::vector<std::string>& notification_ids,
                              const std::vector<std::string>& record_ids) const {
  // The org's SOAP endpoints as Outbound Messages name them: /services/Soap/c/<version>/<15-character org id>
  // (enterprise) and /services/Soap/u/... (partner), on the instance.
  const std::string org15 = std::string(organization_id).substr(0, 15);
  std::string xml =
      R"(<?xml version="1.0" encoding="UTF-8"?>)"
      R"(<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">)"
      R"(<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">)";
  xml += std::string("<OrganizationId>") + organization_id + "</OrganizationId><ActionId>04kSIM0000000001AA</ActionId>"
         "<SessionId xsi:nil=\"true\"/><EnterpriseUrl>" + instance_url_ + "/services/Soap/c/62.0/" + org15 +
         "</EnterpriseUrl><PartnerUrl>" + instance_url_ + "/services/Soap/u/62.0/" + org15 + "</PartnerUrl>";
  const auto* contact = find_object("Contact");
  auto escape = [](const std::string& text) {
    std::string esc;
    for (char c : text) esc += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
    return esc;
  };
  for (std::size_t i = 0; i < notification_ids.size(); ++i) {
    xml += "<Notification><Id>" + notification_ids[i] +
           "</Id><sObject xsi:type=\"sf:Contact\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">";
    auto parsed = parse_id(record_ids[i]);
    auto rec = parsed ? load(*contact, parsed->second) : std::nullopt;
    if (!rec || rec->deleted) {
      // "If the record is deleted before the notification is delivered, the notification doesn't contain any data."
      xml += "<sf:Id>" + record_ids[i] + "</sf:Id>";
    } else {
      for (const char* f : {"Id", "FirstName", "LastName", "Email", "Phone", "SystemModstamp"}) {
        auto v = field_value(*rec, f);
        if (v.is_null()) continue;
        xml += std::string("<sf:") + f + ">" + escape(v.is_string() ? std::string(v.as_string()) : json::serialize(v)) +
               "</sf:" + f + ">";
      }
    }
    xml += "</sObject></Notification>";
  }
  xml += "</notifications></soapenv:Body></soapenv:Envelope>";
  return xml;
}

std::vector<outbound_message> api::take_outbound_messages(std::string_view endpoint_url) {
  std::lock_guard lock(mutex_);
  std::vector<outbound_message> out;
  const auto* contact = find_object("Contact");
  if (!endpoint_url.empty()) {
    for (size_t start = 0; start < pending_notifications_.size(); start += 100) {
      outbound_message m;
      for (size_t i = start; i < std::min(pending_notifications_.size(), start + 100); ++i) {
        auto parsed = parse_id(pending_notifications_[i]);
        if (!parsed || !load(*contact, parsed->second)) continue;  // purged before the message was built
        char nid[32];
        std::snprintf(nid, sizeof nid, "04lSIM%09lldAAA", static_cast<long long>(++notification_counter_));
        m.notification_ids.push_back(nid);
        m.record_ids.push_back(pending_notifications_[i]);
      }
      if (m.notification_ids.empty()) continue;
      m.body = outbound_xml(m.notification_ids, m.record_ids);
      out.push_back(std::move(m));
    }
  }
  pending_notifications_.clear();
  return out;
}

std::string api::render_outbound(const outbound_message& message) const {
  std::lock_guard lock(mutex_);
  return outbound_xml(message.notification_ids, message.record_ids);
}

void api::set_instance_url(std::string https_url) {
  std::lock_guard lock(mutex_);
  instance_url_ = std::move(https_url);
}

namespace {
/// The namespace URI bound to `prefix` ("" for the default namespace) where `node` stands.
std::string namespace_of(pugi::xml_node node, const std::string& prefix) {
  const std::string attr = prefix.empty() ? "xmlns" : "xmlns:" + prefix;
  for (auto n = node; n; n = n.parent())
    if (auto a = n.attribute(attr.c_str())) return a.value();
  return {};
}
/// An element's local name and namespace URI.
std::pair<std::string, std::string> qualified(pugi::xml_node node) {
  std::string name = node.name();
  std::string prefix;
  if (auto colon = name.find(':'); colon != std::string::npos) {
    prefix = name.substr(0, colon);
    name = name.substr(colon + 1);
  }
  return {name, namespace_of(node, prefix)};
}
pugi::xml_node child_element(pugi::xml_node parent, std::string_view local, std::string_view ns) {
  for (auto c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    auto [name, uri] = qualified(c);
    if (name == local && uri == ns) return c;
  }
  return {};
}
}  // namespace

bool acknowledges(int status, std::string_view body) {
  if (status / 100 != 2) return false;
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size(), pugi::parse_default & ~pugi::parse_doctype)) return false;
  const std::string_view soap = "http://schemas.xmlsoap.org/soap/envelope/";
  const std::string_view om = "http://soap.sforce.com/2005/09/outbound";
  auto envelope = doc.document_element();
  auto [root, root_ns] = qualified(envelope);
  if (root != "Envelope" || root_ns != soap) return false;
  auto response = child_element(child_element(envelope, "Body", soap), "notificationsResponse", om);
  // The WSDL's schema is elementFormDefault="qualified": Ack is in the outbound namespace too.
  auto ack = child_element(response, "Ack", om);
  if (!ack) return false;
  std::string value = ack.text().get();
  value.erase(0, value.find_first_not_of(" \t\r\n"));
  value.erase(value.find_last_not_of(" \t\r\n") + 1);
  return value == "true" || value == "1";
}

std::optional<std::int64_t> outbound_retry_delay(const delivery_outcome& o) {
  constexpr std::int64_t first = 15'000, cap = 2 * 3600 * 1000, max_age = 24 * 3600 * 1000;
  const std::int64_t pause = o.attempts <= 1 ? first : std::min(cap, 2 * std::max<std::int64_t>(o.last_pause_ms, first / 2));
  if (o.elapsed_ms + pause > max_age) return std::nullopt;  // dropped from the queue at 24 hours
  return pause;
}

}  // namespace omnisync::sim::salesforce
