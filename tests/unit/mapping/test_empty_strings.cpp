// Empty strings from vendors (HubSpot sends "" for an empty property): no value by default, a value in plain
// string fields only under `empty_strings: value`.
#include "helpers.hpp"

using namespace omnisync::mapping;
using namespace omnisync::mapping::testing;

namespace {
std::string hubspot_header() { return "system: hubspot\nobject: contacts\ndirection: inbound\nfields:\n"; }
}  // namespace

TEST_CASE("an empty string is no value: typed, defaulted, coalesced, transformed", "[mapping][evaluator][empty]") {
  auto p = must_compile(hubspot_header() +
                        "  lead_score: { from: properties.hubspotscore, type: number, default: 0 }\n"
                        "  email: { from: properties.email, transform: [trim, lower] }\n"
                        "  phone: { from: [properties.mobilephone] }\n"
                        "  company: { from: [properties.company, properties.company] }\n"
                        "  first_name: properties.firstname\n"
                        "  updated_at: properties.lastmodifieddate\n"
                        "  external_ids.hubspot: { from: id, required: true }\n"
                        "identity: [email, external_ids.hubspot]\n");
  evaluator ev(p);
  // The obvious rule for a score no longer sends the record to quarantine: "" takes the default.
  CHECK(map_one(ev, R"({"id":"1","properties":{"hubspotscore":"","email":"","mobilephone":"","company":"",)"
                    R"("firstname":"","lastmodifieddate":""}})") ==
        R"({"lead_score":0,"email":null,"phone":null,"company":null,"first_name":null,"updated_at":null,)"
        R"("external_ids":{"hubspot":"1"}})");
  // A list of one and a list of two agree; whitespace that a transform reduces to "" is no value too.
  CHECK(map_one(ev, R"({"id":"1","properties":{"email":"   ","company":"Acme","mobilephone":"+1"}})") ==
        R"({"lead_score":0,"email":null,"phone":"+1","company":"Acme","external_ids":{"hubspot":"1"}})");
  // No identity key is ever "": a required id that is "" fails the record as a missing one does.
  CHECK(map_one(ev, R"({"id":"","properties":{}})") ==
        R"(ERROR: m.yaml:11: external_ids.hubspot: required: no value (source id, value null))");
  record_error err;
  const auto* r = ev.apply(std::string_view(R"({"id":"7","properties":{"email":""}})"), err);
  REQUIRE(r);
  const auto keys = r->identity_keys(*p);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].first == "external_ids.hubspot");
}

TEST_CASE("empty strings in templates, maps and events", "[mapping][evaluator][empty]") {
  evaluator ev(must_compile(hubspot_header() +
                            "  first_name: { template: \"{properties.firstname} {properties.lastname}\" }\n"
                            "  lifecycle_stage: { from: properties.lifecyclestage, map: { lead: awareness }, default: unknown }\n"
                            "  external_ids.hubspot: id\n"
                            "events:\n"
                            "  - type: deal_won\n"
                            "    id: id\n"
                            "    occurred_at: properties.closedate\n"
                            "    person: { external_ids.hubspot: properties.contact }\n"
                            "    amount: properties.amount\n"));
  // Every placeholder "" is every placeholder missing; an unmapped "" is no value, so the default applies
  // without failing the map; an event's "" amount and date are null, its "" person link is no link.
  CHECK(map_one(ev, R"({"id":"9","properties":{"firstname":"","lastname":"","lifecyclestage":"","closedate":"",)"
                    R"("contact":"5","amount":""}})") ==
        R"({"first_name":null,"lifecycle_stage":"unknown","external_ids":{"hubspot":"9"},"_events":[{"type":"deal_won",)"
        R"("occurred_at":null,"subject":"hubspot:contacts:9","person":{"external_ids.hubspot":"5"},"amount":null}]})");
  CHECK(map_one(ev, R"({"id":"9","properties":{"firstname":"Ann","lastname":"","contact":""}})") ==
        R"({"first_name":"Ann ","lifecycle_stage":"unknown","external_ids":{"hubspot":"9"},"_events":[]})");
}

TEST_CASE("empty_strings: value keeps \"\" in plain string fields only", "[mapping][evaluator][empty]") {
  auto p = must_compile(hubspot_header() +
                        "  lead_score: { from: properties.hubspotscore, type: number, default: 0 }\n"
                        "  first_name: properties.firstname\n"
                        "  last_name: { from: [properties.lastname] }\n"
                        "  company: { from: [properties.company, properties.name] }\n"
                        "  phone: { from: properties.jobtitle, default: none }\n"
                        "  email: properties.email\n"
                        "identity: [email]\n");
  evaluator keep(p, evaluate_options{true});
  CHECK(map_one(keep, R"({"properties":{"hubspotscore":"","firstname":"","lastname":"","company":"","name":"N",)"
                      R"("jobtitle":"","email":""}})") ==
        R"({"lead_score":0,"first_name":"","last_name":"","company":"","phone":"none","email":null})");
  evaluator none(p);
  CHECK(map_one(none, R"({"properties":{"firstname":"","company":"","name":"N"}})") ==
        R"({"lead_score":0,"first_name":null,"company":"N","phone":"none"})");
}

TEST_CASE("outbound mappings keep \"\" in plain string fields", "[mapping][evaluator][empty]") {
  evaluator ev(must_compile("system: hubspot\nobject: contacts\ndirection: outbound\nfields:\n"
                            "  firstname: first_name\n"
                            "  hubspotscore: { from: lead_score, type: number, default: 0 }\n"));
  CHECK(map_one(ev, R"({"first_name":"","lead_score":""})") == R"({"firstname":"","hubspotscore":0})");
}
