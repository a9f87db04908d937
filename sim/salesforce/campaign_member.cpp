// CampaignMember's own rules, apart from the generic field checks in api.cpp: the campaign and the person are
// set on insert only and must name live records, and a person is a member of a campaign at most once
// (Salesforce: DUPLICATE_VALUE "Already a campaign member.").
#include <boost/json.hpp>

#include "sim/salesforce/api.hpp"

namespace omnisync::sim::salesforce {
namespace json = boost::json;

namespace {

std::string member_error(const std::string& code, const std::string& message, const std::string& field = {}) {
  json::object e{{"message", message}, {"errorCode", code}};
  if (!field.empty()) e["fields"] = json::array{json::string(field)};
  return json::serialize(json::array{e});
}

std::string text_of(const json::object& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v.is_string() ? std::string(v.as_string()) : std::string();
  return {};
}

}  // namespace

std::optional<std::string> api::validate_campaign_member(const json::object& fields, bool create) const {
  const std::string campaign = text_of(fields, "CampaignId");
  const std::string contact = text_of(fields, "ContactId");
  const std::string lead = text_of(fields, "LeadId");
  if (!create) {
    for (const char* f : {"CampaignId", "ContactId", "LeadId"})
      if (!text_of(fields, f).empty())
        return member_error("INVALID_FIELD_FOR_INSERT_UPDATE",
                            std::string("Unable to create/update fields: ") + f +
                                ". Please check the security settings of this field.",
                            f);
    return std::nullopt;
  }
  if (campaign.empty())
    return member_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [CampaignId]", "CampaignId");
  if (contact.empty() && lead.empty())
    return member_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [ContactId, LeadId]", "ContactId");
  // The referenced records must exist and not be in the recycle bin.
  auto live = [&](const std::string& id, std::string_view object) {
    auto parsed = parse_id(id);
    if (!parsed || parsed->first != find_object(object)) return false;
    auto rec = load(*parsed->first, parsed->second);
    return rec && !rec->deleted && !purged_.count(id);
  };
  if (!live(campaign, "Campaign"))
    return member_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "CampaignId");
  const std::string& person = contact.empty() ? lead : contact;
  if (!live(person, contact.empty() ? "Lead" : "Contact"))
    return member_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                        contact.empty() ? "LeadId" : "ContactId");
  const char* person_field = contact.empty() ? "LeadId" : "ContactId";
  for (const auto& [id, rec] : touched_) {
    if (rec.object != "CampaignMember" || rec.deleted || purged_.count(id)) continue;
    auto c = rec.fields.if_contains("CampaignId");
    auto p = rec.fields.if_contains(person_field);
    if (c && p && c->is_string() && p->is_string() && c->as_string() == campaign && p->as_string() == person)
      return member_error("DUPLICATE_VALUE", "Already a campaign member.");
  }
  return std::nullopt;
}

}  // namespace omnisync::sim::salesforce
