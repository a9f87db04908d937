#include "helpers.hpp"

using namespace omnisync::mapping;
using namespace omnisync::mapping::testing;

#define CHECK_HAS(all, part) CHECK_THAT(all, Catch::Matchers::Contains(part))

TEST_CASE("unknown transform is reported at its line and column with a suggestion", "[mapping][compiler]") {
  const auto e = compile_errors(header() + "  phone: { from: Phone, transform: [{ e146: { region: US } }] }\n");
  CHECK_HAS(e, "m.yaml:5:39: fields.phone.transform[0]: unknown transform \"e146\" (did you mean \"e164\"?)");
}

TEST_CASE("bad path syntax points at the offending character", "[mapping][compiler]") {
  CHECK_HAS(compile_errors(header() + "  company: Account..Name\n"),
            "m.yaml:5:20: fields.company: unexpected character '.' in path \"Account..Name\"");
  CHECK_HAS(compile_errors(header() + "  company: \"Account[x].Name\"\n"),
            "m.yaml:5:21: fields.company: array index must be a number or *, got \"x\"");
  CHECK_HAS(compile_errors(header() + "  company: Account[0\n"), "unclosed '['");
  CHECK_HAS(compile_errors(header() + "  company: { from: \"Account.\" }\n"),
            "m.yaml:5:29: fields.company.from: path \"Account.\" ends with an empty segment");
  CHECK_HAS(compile_errors(header() + "  company: \"Acc ount\"\n"), "m.yaml:5:16: fields.company: unexpected character ' '");
}

TEST_CASE("type mismatches are found at compile time", "[mapping][compiler]") {
  CHECK_HAS(compile_errors(header() + "  email: { from: E, transform: [not, lower] }\n"),
            "m.yaml:5:38: fields.email.transform[1]: type mismatch: transform \"lower\" takes a string but gets a boolean");
  CHECK_HAS(compile_errors(header() + "  lead_score: { from: S, default: lots }\n"),
            "m.yaml:5:35: fields.lead_score.default: type mismatch: expected a number");
  CHECK_HAS(compile_errors(header() + "  lead_score: { from: S, type: boolean }\n"),
            "fields.lead_score.type: type mismatch: declared boolean but attribute \"lead_score\" is number");
  CHECK_HAS(compile_errors(header() + "  email_opt_in: { from: S, map: { Y: yes-please } }\n"),
            "fields.email_opt_in.map.Y: type mismatch: expected a boolean");
  CHECK_HAS(compile_errors(header() + "  email: { from: \"E[*]\" }\n"), "type mismatch: produces a list");
}

TEST_CASE("duplicate targets, unknown attributes and unknown keys", "[mapping][compiler]") {
  const auto e = compile_errors(header() + "  email: Email\n  email: Email2\n  emial: X\n  phone: { form: P }\n");
  CHECK_HAS(e, "m.yaml:6:3: fields.email: duplicate target \"email\" (first at line 5)");
  CHECK_HAS(e, "m.yaml:7:3: fields.emial: unknown canonical attribute \"emial\" (did you mean \"email\"?)");
  CHECK_HAS(e, "m.yaml:8:12: fields.phone.form: unknown key \"form\" (did you mean \"from\"?)");
  CHECK_HAS(compile_errors("system: s\nobject: o\ndirection: inbound\nfeilds: {}\n"),
            "m.yaml:4:1: feilds: unknown key \"feilds\" (did you mean \"fields\"?)");
  CHECK_HAS(compile_errors("system: s\nobject: o\ndirection: sideways\nfields: { email: E }\n"),
            "m.yaml:3:12: direction: expected inbound or outbound");
  CHECK_HAS(compile_errors(header() + "  email: [\n"), "m.yaml:6:");  // YAML syntax error with a location
}

TEST_CASE("every problem is reported in one pass", "[mapping][compiler]") {
  omnisync::config::diagnostics d;
  auto p = compile_mapping(header() + "  emial: E\n  phone: { from: P, transform: [bogus] }\n  company: \"a b\"\n", "m.yaml",
                           default_canonical_attributes(), d);
  CHECK(p == nullptr);
  CHECK(d.size() == 3);
}

TEST_CASE("outbound: unknown canonical source and lengths beyond max_length", "[mapping][compiler]") {
  const std::string h = "system: salesforce\nobject: Contact\ndirection: outbound\nupsert_key: Omnisync_Id__c\nfields:\n";
  CHECK_HAS(compile_errors(h + "  LTV__c: lifetime_valeu\n"),
            "m.yaml:6:11: fields.LTV__c: unknown canonical attribute \"lifetime_valeu\" (did you mean \"lifetime_value\"?)");
  CHECK_HAS(compile_errors(h + "  Title: { from: company, max_length: 10, transform: [{ truncate: 80 }] }\n"),
            "m.yaml:6:67: fields.Title.transform[0]: truncate to 80 is longer than the destination allows (max_length 10)");
  CHECK_HAS(compile_errors(h + "  Source__c: { value: omnisync-daemon, max_length: 8 }\n"),
            "fields.Source__c.value: value \"omnisync-daemon\" is longer than the destination allows (max_length 8)");
  auto p = must_compile(h + "  Email: { from: email, max_length: 80 }\n  Omnisync_Id__c: _profile_id\n"
                            "  Stripe_Id__c: external_ids.stripe\n");
  CHECK(p->upsert_key() == "Omnisync_Id__c");
  CHECK(p->direction() == direction::outbound);
  CHECK_HAS(compile_errors(header() + "  email: { from: E, max_length: 3 }\n"), "unknown key \"max_length\"");
}

TEST_CASE("cycles between field references are reported", "[mapping][compiler]") {
  const auto e = compile_errors(header() + "  first_name: { template: \"{@last_name}\" }\n  last_name: \"@company\"\n"
                                           "  company: \"@first_name\"\n");
  CHECK_HAS(e, "cycle: ");
  CHECK_HAS(e, "first_name -> last_name -> company -> first_name");
  CHECK_HAS(compile_errors(header() + "  company: \"@nothing\"\n"), "reference \"@nothing\" names no field");
}

TEST_CASE("identity, hints and events are validated", "[mapping][compiler]") {
  CHECK_HAS(compile_errors(header() + "  email: E\nidentity: [email, phone]\n"),
            "m.yaml:6:19: identity[1]: identity attribute \"phone\" is not mapped in fields");
  auto p = must_compile(header() + "  email: E\n  lifecycle_stage: { from: S, owner: true, merge: source_priority }\n"
                                   "identity: [email]\n");
  REQUIRE(p->hints().size() == 1);
  CHECK(p->hints()[0].attribute == "lifecycle_stage");
  CHECK(p->hints()[0].owner);
  CHECK(p->hints()[0].merge == "source_priority");
  CHECK(p->identity() == std::vector<std::string>{"email"});
  const auto e = compile_errors(header() + "  email: E\nevents:\n  - type: t\n    id: Id\n    occurred_at: D\n"
                                           "    person: { emial: E }\n");
  CHECK_HAS(e, "m.yaml:10:15: events[0].person.emial: unknown canonical attribute \"emial\"");
}

TEST_CASE("the canonical set can come from omnisync.yaml", "[mapping][compiler]") {
  auto defaults = default_canonical_attributes();
  CHECK(find_attribute(defaults, "external_ids.zendesk") != nullptr);
  CHECK(find_attribute(defaults, "external_ids.") == nullptr);
  CHECK(find_attribute(defaults, "external_ids.a.b") == nullptr);
  CHECK(find_attribute(defaults, "nps_category")->computed);
}

TEST_CASE("an outbound field names the canonical attributes it comes from", "[mapping][compiler]") {
  const auto p = must_compile(
      "system: zendesk\nobject: users\ndirection: outbound\nupsert_key: external_id\nfields:\n"
      "  external_id: { from: _profile_id, required: true }\n"
      "  name: { template: \"{first_name} {last_name}\" }\n"
      "  phone: [phone, email]\n"
      "  role: { value: end-user }\n");
  CHECK(p->sources_of("external_id") == std::vector<std::string>{"_profile_id"});
  CHECK(p->sources_of("name") == std::vector<std::string>{"first_name", "last_name"});
  CHECK(p->sources_of("phone") == std::vector<std::string>{"phone", "email"});
  CHECK(p->sources_of("role").empty());
  CHECK(p->sources_of("nope").empty());
}

TEST_CASE("an empty mapping file is an error located at the start of the file", "[mapping][compiler]") {
  for (const char* text : {"", "   \n", "# nothing but a comment\n", "[]\n"}) {
    INFO("text: " << text);
    CHECK_HAS(compile_errors(text), "m.yaml:1:1: a mapping file is a YAML map with system, object, direction and fields");
  }
}
