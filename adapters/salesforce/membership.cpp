// The Salesforce connector's segment membership: a Campaign per segment destination (found by Name or
// created), and CampaignMember rows inserted and deleted through sObject Collections (at most 200 per call,
// allOrNone false). An insert answers the row's id, which the writer stores: a removal deletes that row without
// a query (members added before ids were stored are looked up, one query per 200). A member already there
// (DUPLICATE_VALUE) or already gone (the row deleted outside omnisync) counts as done.
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "adapters/rest/rest_util.hpp"
#include "adapters/salesforce/connector_impl.hpp"
#include "adapters/salesforce/errors.hpp"

namespace omnisync::adapters::salesforce {

namespace {

constexpr std::size_t collection_limit = 200;

/// The first error of one collections result: (statusCode, message, fields named).
struct item_error {
  std::string code, message;
  std::vector<std::string> fields;
};

std::optional<item_error> error_of(const json::value& a) {
  const auto* o = a.if_object();
  if (!o) return item_error{"", "unreadable result", {}};
  if (const auto* ok = o->if_contains("success"); ok && ok->is_bool() && ok->as_bool()) return std::nullopt;
  item_error e;
  if (const auto* errs = o->if_contains("errors"); errs && errs->is_array() && !errs->as_array().empty()) {
    const auto* first = errs->as_array()[0].if_object();
    if (first) {
      e.code = rest::member_text(*first, "statusCode");
      e.message = rest::member_text(*first, "message");
      if (const auto* f = first->if_contains("fields"); f && f->is_array())
        for (const auto& x : f->as_array())
          if (x.is_string()) e.fields.emplace_back(x.as_string());
    }
  }
  return e;
}

/// Lead ids start with 00Q; every other person id is taken as a Contact.
const char* person_field(const std::string& id) { return id.rfind("00Q", 0) == 0 ? "LeadId" : "ContactId"; }

}  // namespace

task<std::string> connector_impl::ensure_audience(audience_spec spec) {
  if (spec.name.empty()) co_return make_error_code(errc::invalid_input);
  auto found = co_await soql("SELECT Id FROM Campaign WHERE Name = " + soql_quote(spec.name), false, 200);
  if (!found) co_return found.error();
  for (const auto& r : found->records)
    if (r.is_object()) {
      auto id = rest::member_text(r, "Id");
      if (!id.empty()) co_return id;
    }
  json::object body{{"Name", spec.name},
                    {"IsActive", true},
                    {"Description", "Managed by omnisync: members of segment " + spec.segment_key}};
  auto r = co_await call_rest("POST", data_path("/sobjects/Campaign"), json::serialize(body), true);
  if (!r) co_return r.error();
  if (r->status != 201 && r->status != 200) co_return failed(*r, "create Campaign");
  auto v = rest::parse_json(r->body);
  const auto id = v ? rest::member_text(*v, "id") : std::string();
  if (id.empty()) co_return make_error_code(errc::invalid_input);
  spdlog::info("{}: created Campaign '{}' ({}) for segment {}", s_.connector, spec.name, id, spec.segment_key);
  co_return id;
}

task<std::vector<write_result>> connector_impl::change_membership(audience_spec spec, std::string audience_id,
                                                                  std::vector<membership_item> items) {
  std::vector<write_result> out;
  std::vector<const membership_item*> adds, removes;
  for (const auto& it : items) (it.add ? adds : removes).push_back(&it);
  auto result = [](const membership_item& it, write_result::outcome how, std::string why) {
    write_result w;
    w.outbox_id = it.outbox_id;
    w.status = how;
    w.error = std::move(why);
    w.destination_id = it.member_id;
    return w;
  };
  std::optional<boost::system::error_code> call_error;
  bool any_attempted = false;

  // Inserts: POST /composite/sobjects with CampaignMember records.
  for (std::size_t at = 0; at < adds.size(); at += collection_limit) {
    const std::size_t end = std::min(adds.size(), at + collection_limit);
    json::array records;
    for (std::size_t i = at; i < end; ++i)
      records.push_back(json::object{{"attributes", json::object{{"type", "CampaignMember"}}},
                                     {"CampaignId", audience_id},
                                     {person_field(adds[i]->member_id), adds[i]->member_id},
                                     {"Status", s_.campaign_member_status}});
    json::object body{{"allOrNone", false}, {"records", std::move(records)}};
    auto a = co_await collection_call("insert CampaignMember", data_path("/composite/sobjects"), json::serialize(body),
                                      end - at, "POST");
    if (a.call_error) call_error = a.call_error;
    any_attempted = any_attempted || a.attempted;
    for (std::size_t i = at; i < end; ++i) {
      if (!a.answers) {
        out.push_back(result(*adds[i], a.outcome, a.whole_error));
        continue;
      }
      const auto& answer = (*a.answers)[i - at];
      auto e = error_of(answer);
      if (!e || e->code == "DUPLICATE_VALUE") {  // inserted (its row id kept), or already a member
        out.push_back(result(*adds[i], write_result::outcome::written, {}));
        if (!e) out.back().row_id = rest::member_text(answer, "id");
        continue;
      }
      // The campaign itself is gone (deleted outside omnisync): the whole audience must be re-ensured.
      if (e->code == "INVALID_CROSS_REFERENCE_KEY" &&
          std::find(e->fields.begin(), e->fields.end(), "CampaignId") != e->fields.end())
        co_return make_error_code(errc::not_found);
      out.push_back(result(*adds[i],
                           retryable_record_error(e->code) ? write_result::outcome::retry
                                                           : write_result::outcome::rejected,
                           e->code.empty() ? e->message : e->code + ": " + e->message));
    }
  }

  // Deletes: the rows' ids as their inserts answered them; those not known are looked up (one query per 200);
  // then DELETE /composite/sobjects?ids=.
  for (std::size_t at = 0; at < removes.size(); at += collection_limit) {
    const std::size_t end = std::min(removes.size(), at + collection_limit);
    std::string contacts, leads;
    std::map<std::string, std::string> row_of;  // person id → CampaignMember id
    for (std::size_t i = at; i < end; ++i) {
      if (!removes[i]->row_id.empty()) {
        row_of[removes[i]->member_id] = removes[i]->row_id;
        continue;
      }
      auto& list = std::string(person_field(removes[i]->member_id)) == "LeadId" ? leads : contacts;
      list += (list.empty() ? "" : ", ") + soql_quote(removes[i]->member_id);
    }
    for (auto [field, in] : {std::pair{"ContactId", contacts}, std::pair{"LeadId", leads}}) {
      if (in.empty()) continue;
      auto q = co_await soql(std::string("SELECT Id, ") + field + " FROM CampaignMember WHERE CampaignId = " +
                                 soql_quote(audience_id) + " AND " + field + " IN (" + in + ")",
                             false, 2000);
      if (!q) {
        call_error = q.error();
        break;
      }
      any_attempted = true;
      for (const auto& r : q->records) row_of[rest::member_text(r, field)] = rest::member_text(r, "Id");
    }
    std::string ids;
    std::vector<const membership_item*> present;
    for (std::size_t i = at; i < end; ++i) {
      auto row = row_of.find(removes[i]->member_id);
      if (row == row_of.end()) {
        // Not a member (never added, or removed in Salesforce already): nothing to delete — unless the query
        // itself failed, then try again later.
        out.push_back(call_error ? result(*removes[i], write_result::outcome::retry, call_error->message())
                                 : result(*removes[i], write_result::outcome::written, {}));
        continue;
      }
      ids += (ids.empty() ? "" : ",") + rest::url_encode(row->second);
      present.push_back(removes[i]);
    }
    if (present.empty()) continue;
    auto a = co_await collection_call("delete CampaignMember",
                                      data_path("/composite/sobjects?ids=" + ids + "&allOrNone=false"), std::string(),
                                      present.size(), "DELETE");
    if (a.call_error) call_error = a.call_error;
    any_attempted = any_attempted || a.attempted;
    for (std::size_t i = 0; i < present.size(); ++i) {
      if (!a.answers) {
        out.push_back(result(*present[i], a.outcome, a.whole_error));
        continue;
      }
      auto e = error_of((*a.answers)[i]);
      if (!e || e->code == "ENTITY_IS_DELETED" || e->code == "INVALID_CROSS_REFERENCE_KEY")
        out.push_back(result(*present[i], write_result::outcome::written, {}));
      else
        out.push_back(result(*present[i],
                             retryable_record_error(e->code) ? write_result::outcome::retry
                                                             : write_result::outcome::rejected,
                             e->code + ": " + e->message));
    }
  }
  if (call_error && !any_attempted) co_return *call_error;
  (void)spec;
  co_return out;
}

}  // namespace omnisync::adapters::salesforce
