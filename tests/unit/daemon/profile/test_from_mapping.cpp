// The profile layer on records mapped by the shipped mappings (config/mappings): raw vendor records in, one
// profile with golden values, provenance and KPIs out.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "daemon/profile/from_mapping.hpp"
#include "daemon/profile/kpis.hpp"
#include "daemon/profile/resolver.hpp"
#include "daemon/profile/survivorship.hpp"
#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace fs = std::filesystem;
using namespace omnisync::profile;
namespace mapping = omnisync::mapping;

namespace {

std::shared_ptr<const mapping::plan> shipped(const char* rel) {
  omnisync::config::diagnostics d;
  auto p = mapping::load_mapping_file(fs::path(OMNISYNC_SOURCE_DIR) / "config" / "mappings" / rel,
                                      mapping::default_canonical_attributes(), d);
  INFO(d.format());
  REQUIRE(p != nullptr);
  return p;
}

// One mapped source record, copied out of the evaluator.
struct mapped {
  std::string system, object, id;
  mapped_identity identity;
  std::vector<std::pair<std::string, mapping::value>> attributes;
  std::vector<event> events;
  std::vector<mapped_identity> persons;  // per event
  std::int64_t updated_at = 0;
};

mapped map_record(const std::shared_ptr<const mapping::plan>& p, const std::string& connector,
                  const std::string& id, const std::string& json) {
  mapping::evaluator ev(p);
  mapping::record_error err;
  const mapping::mapped_record* r = ev.apply(json, err);
  INFO(err.format());
  REQUIRE(r != nullptr);
  mapped m;
  m.system = connector;
  m.object = p->object();
  m.id = id;
  m.identity = identity_of(*p, *r);
  m.attributes = attributes_of(*p, *r);
  m.events = events_of(*r);
  for (const auto& e : r->events) m.persons.push_back(person_of(e));
  for (const auto& [name, v] : m.attributes)
    if (name == "updated_at") m.updated_at = timestamp_ms(v).value_or(0);
  return m;
}

}  // namespace

TEST_CASE("records mapped by the shipped mappings resolve into one profile with golden values and KPIs",
          "[profile][mapping]") {
  auto sf_contact = shipped("salesforce/Contact.in.yaml");
  auto hs_contact = shipped("hubspot/contacts.in.yaml");
  auto hs_deal = shipped("hubspot/deals.in.yaml");
  auto zd_user = shipped("zendesk/users.in.yaml");
  auto zd_ticket = shipped("zendesk/tickets.in.yaml");

  // The same person: e-mail cased differently, the phone written three ways.
  std::vector<mapped> people = {
      map_record(sf_contact, "salesforce", "003D000000QV9n2IAD",
                 R"({"Id":"003D000000QV9n2IAD","FirstName":"Ann","LastName":"Kowalska",)"
                 R"("Email":"  Ann.Kowalska@Example.COM ","Phone":"(415) 555-0132","MobilePhone":null,)"
                 R"("Account":{"Name":"Acme"},"Lifecycle_Stage__c":"MQL","Lead_Score__c":42.0,)"
                 R"("HasOptedOutOfEmail":false,"SystemModstamp":"2026-05-03T10:00:00.000+0000"})"),
      map_record(hs_contact, "hubspot", "151",
                 R"({"id":"151","properties":{"email":"ann.kowalska@EXAMPLE.com","firstname":"Anna",)"
                 R"("lastname":"Kowalska","phone":"+1 415-555-0132","company":"Acme Inc","lifecyclestage":"customer",)"
                 R"("hubspotscore":"35","hs_tag_names":"pilot; vip","lastmodifieddate":"2026-05-02T10:00:00.000Z"},)"
                 R"("updatedAt":"2026-05-02T10:00:00.000Z"})"),
      map_record(zd_user, "zendesk", "20978392",
                 R"({"id":20978392,"name":"Ann Kowalska","email":"ann.kowalska@example.com","phone":"+1.415.555.0132",)"
                 R"("tags":["eu"],"updated_at":"2026-05-01T10:00:00Z"})"),
  };
  resolver res;
  std::int64_t first_seen = 1;
  profile_id id{};
  for (auto& m : people) {
    auto keys = m.identity.keys();
    auto p = res.observe(source_record{m.system, m.object, m.id, first_seen++, 0, keys});
    REQUIRE(p.has_value());
    if (&m == &people.front()) id = *p;
    CHECK(*p == id);
  }
  CHECK(res.profile_count() == 1);
  auto ex = res.explain(id);
  REQUIRE(ex.has_value());
  CHECK(ex->records.size() == 3);
  CHECK(ex->edges.size() == 2);

  // Golden values: survivorship defaults plus the mappings' hints (HubSpot owns source_stage).
  survivorship_rules rules = survivorship_rules::defaults();
  CHECK(rules.apply_hints("hubspot", hs_contact->hints()).empty());
  CHECK(rules.apply_hints("salesforce", sf_contact->hints()).empty());
  std::vector<std::string> keys;
  std::vector<attribute_source> sources;
  for (const auto& m : people) keys.push_back(m.system + ":" + m.object + ":" + m.id);
  for (std::size_t i = 0; i < people.size(); ++i)
    sources.push_back(attribute_source{people[i].system, keys[i], people[i].updated_at, people[i].attributes});
  std::map<std::string, golden_value> golden;
  for (auto& [name, g] : golden_record(rules, sources)) golden[name] = std::move(g);
  auto text = [&golden](const char* name) {
    std::string s;
    mapping::append_json(s, golden.at(name).value);
    return s;
  };
  CHECK(text("email") == "\"ann.kowalska@example.com\"");
  CHECK(text("phone") == "\"+14155550132\"");
  CHECK(text("first_name") == "\"Ann\"");            // Salesforce changed last
  CHECK(golden.at("first_name").from[0].record == "salesforce:Contact:003D000000QV9n2IAD");
  CHECK(text("source_stage") == "\"purchase\"");  // HubSpot's, though older: it owns the field
  CHECK(golden.at("source_stage").decided_by == "owner");
  CHECK(text("lead_score") == "42");
  CHECK(text("tags") == R"(["eu","pilot","vip"])");
  CHECK(text("external_ids.salesforce") == "\"003D000000QV9n2IAD\"");
  CHECK(text("external_ids.hubspot") == "\"151\"");
  CHECK(text("external_ids.zendesk") == "\"20978392\"");
  CHECK(golden.at("updated_at").from[0].system == "salesforce");

  // Events find the profile through their person keys: a HubSpot deal and a Zendesk ticket.
  std::vector<mapped> interactions = {
      map_record(hs_deal, "hubspot", "5001",
                 R"({"id":"5001","properties":{"dealname":"Pilot","amount":"2400","deal_currency_code":"USD",)"
                 R"("dealstage":"closedwon","closedate":"2026-04-30T15:00:00.000Z"},)"
                 R"("associations":{"contacts":{"results":[{"id":"151","type":"deal_to_contact"}]}}})"),
      map_record(zd_ticket, "zendesk", "35436",
                 R"({"id":35436,"status":"pending","requester_id":20978392,)"
                 R"("created_at":"2026-05-01T10:00:00Z","updated_at":"2026-05-01T11:00:00Z"})"),
  };
  const kpi_rules kr = kpi_rules::defaults();
  timeline t(kr);
  for (const auto& m : interactions) {
    REQUIRE(m.events.size() == 1);
    auto person = m.persons[0].keys();
    CHECK(res.resolve(person) == id);
    t.add(m.events[0]);
  }
  const kpi_values v = t.values(golden.at("source_stage").value.s);
  CHECK(v.order_count == 1);
  CHECK(v.lifetime_value == Approx(2400));
  CHECK(v.open_tickets == 1);  // pending counts as open
  CHECK(v.total_tickets == 1);
  CHECK(v.last_interaction_at == omnisync::to_epoch_ms(*omnisync::parse_iso8601("2026-05-01T11:00:00Z")));
  CHECK(v.lifecycle_stage == "activation");  // bought, then came back with a ticket
}
