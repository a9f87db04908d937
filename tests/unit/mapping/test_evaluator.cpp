#include <thread>

#include "helpers.hpp"

using namespace omnisync::mapping;
using namespace omnisync::mapping::testing;

TEST_CASE("paths: nested, HubSpot properties, array index and wildcard", "[mapping][evaluator]") {
  evaluator ev(must_compile(header() +
                            "  company: Account.Name\n"
                            "  email: properties.email\n"
                            "  phone: \"phones[1].number\"\n"
                            "  tags: \"labels[*].name\"\n"
                            "  last_name: { template: \"{Account}\" }\n"));
  CHECK(map_one(ev, R"({"Account":{"Name":"Acme"},"properties":{"email":"a@b.c"},)"
                    R"("phones":[{"number":"1"},{"number":"2"}],"labels":[{"name":"vip"},{"x":1},{"name":"eu"}]})") ==
        R"({"company":"Acme","email":"a@b.c","phone":"2","tags":["vip","eu"],"last_name":"{\"Name\":\"Acme\"}"})");
  // Missing paths are left out; a null parent makes the child null; an index past the end is missing.
  CHECK(map_one(ev, R"({"Account":null,"phones":[]})") == R"({"company":null,"last_name":null})");
}

TEST_CASE("coalesce, constants, templates, value maps with default, when", "[mapping][evaluator]") {
  evaluator ev(must_compile(header() +
                            "  phone: { from: [MobilePhone, Phone] }\n"
                            "  company: { value: Acme }\n"
                            "  first_name: { template: \"{FirstName} {LastName}!\" }\n"
                            "  lifecycle_stage: { from: Stage, map: { Lead: awareness, \"3\": purchase }, default: unknown }\n"
                            "  lead_score: { from: Score, when: { path: Type, equals: Person } }\n"));
  CHECK(map_one(ev, R"({"MobilePhone":"","Phone":"+1 2","FirstName":"Ann","LastName":"K","Stage":"Lead","Score":5,"Type":"Person"})") ==
        R"({"phone":"+1 2","company":"Acme","first_name":"Ann K!","lifecycle_stage":"awareness","lead_score":5})");
  CHECK(map_one(ev, R"({"MobilePhone":"m","FirstName":"Ann","Stage":3,"Score":5,"Type":"Org"})") ==
        R"({"phone":"m","company":"Acme","first_name":"Ann !","lifecycle_stage":"purchase"})");
  CHECK(map_one(ev, R"({"Stage":"Nope","MobilePhone":null})") ==
        R"({"phone":null,"company":"Acme","lifecycle_stage":"unknown"})");
}

TEST_CASE("canonical types are enforced, numbers written as jq writes them", "[mapping][evaluator]") {
  evaluator ev(must_compile(header() +
                            "  lead_score: Score\n  email_opt_in: OptIn\n  updated_at: Mod\n  tags: { from: Tags, transform: [{ split: \";\" }] }\n"));
  CHECK(map_one(ev, R"({"Score":73.0,"OptIn":"yes","Mod":"2026-01-01T00:00:00.000+0000","Tags":"a;b"})") ==
        R"({"lead_score":73,"email_opt_in":true,"updated_at":"2026-01-01T00:00:00.000Z","tags":["a","b"]})");
  CHECK(map_one(ev, R"({"Score":"12.5","Mod":1767225600000})") ==
        R"({"lead_score":12.5,"updated_at":"2026-01-01T00:00:00.000Z"})");
  CHECK(map_one(ev, R"({"Score":1e300})") == R"({"lead_score":1e+300})");
  CHECK(map_one(ev, R"({"Score":18446744073709551615})") == R"({"lead_score":18446744073709551616})");
  const auto err = map_one(ev, R"({"Score":"lots"})");
  CHECK(err == "ERROR: m.yaml:5: lead_score: type number: expected a number (source Score, value \"lots\")");
}

TEST_CASE("per-record errors name file, line, source, value and rule, the evaluator goes on", "[mapping][evaluator]") {
  evaluator ev(must_compile(header() + "  first_name: F\n  email: { from: Email, transform: [email], required: true }\n"
                                       "  phone: { from: Phone, transform: [{ e164: { region: US } }], on_error: null }\n"));
  CHECK(map_one(ev, R"({"Email":"not-an-email"})") ==
        "ERROR: m.yaml:6: email: transform email: not an e-mail address (source Email, value \"not-an-email\")");
  CHECK(map_one(ev, R"({"F":"x"})") == "ERROR: m.yaml:6: email: required: no value (source Email, value (missing))");
  CHECK(map_one(ev, R"({"Email":"A@B.CO","Phone":"garbage"})") == R"({"email":"a@b.co","phone":null})");
  CHECK(map_one(ev, R"({"Email":"a@b.co","Phone":"(415) 555-0132"})") == R"({"email":"a@b.co","phone":"+14155550132"})");
  record_error e;
  CHECK(ev.apply(std::string_view("{\"Email\": "), e) == nullptr);
  CHECK(e.bad_input);
  CHECK(ev.apply(std::string_view("[1,2]"), e) == nullptr);
  CHECK(e.rule == "record is not a JSON object");
  CHECK(ev.apply(std::string_view(R"({"Email":"ok@x.io"} {"Email":"b@x.io"})"), e) == nullptr);
  CHECK(e.rule == "not JSON: content after the record");
  CHECK(ev.apply(std::string_view(R"({"Email":"ok@x.io"}x)"), e) == nullptr);
  CHECK(e.bad_input);
  CHECK(map_one(ev, "  {\"Email\":\"ok@x.io\"}  ") == R"({"email":"ok@x.io"})");
  CHECK(map_one(ev, R"({"Email":"ok@x.io"})") == R"({"email":"ok@x.io"})");
}

TEST_CASE("unicode, escapes, empty strings and huge values survive", "[mapping][evaluator]") {
  evaluator ev(must_compile(header() + "  first_name: F\n  last_name: { from: L, transform: [trim] }\n"));
  // (blanks trimmed to "" are no value: docs/mapping-language.md, "Empty strings")
  CHECK(map_one(ev, R"({"F":"Zoë \"Q\" \u00e9\n\u0001","L":"  "})") == "{\"first_name\":\"Zoë \\\"Q\\\" é\\n\\u0001\",\"last_name\":null}");
  const std::string big(1 << 20, 'x');
  CHECK(map_one(ev, "{\"F\":\"" + big + "\"}") == "{\"first_name\":\"" + big + "\"}");
  CHECK(map_one(ev, R"({"F":{"deep":[1,{"a":null}]}})") == "ERROR: m.yaml:5: first_name: type string: expected a string, got object (source F, value {\"deep\":[1,{\"a\":null}]})");
  CHECK(map_one(ev, R"({"\u0046":"escaped key"})") == R"({"first_name":"escaped key"})");
}

TEST_CASE("timeline events and identity keys", "[mapping][evaluator]") {
  auto p = must_compile(
      "system: zendesk\nobject: tickets\ndirection: inbound\nfields:\n  external_ids.zendesk: requester_id\n"
      "identity: [external_ids.zendesk]\nevents:\n"
      "  - type: ticket_solved\n    when: { path: status, in: [solved, closed] }\n    id: id\n    occurred_at: updated_at\n"
      "    person: { external_ids.zendesk: requester_id }\n    status: status\n");
  evaluator ev(p);
  CHECK(map_one(ev, R"({"id":7,"requester_id":42,"status":"solved","updated_at":"2026-02-03T04:05:06Z"})") ==
        R"({"external_ids":{"zendesk":"42"},"_events":[{"type":"ticket_solved","occurred_at":"2026-02-03T04:05:06.000Z",)"
        R"("subject":"zendesk:tickets:7","person":{"external_ids.zendesk":"42"},"status":"solved"}]})");
  CHECK(map_one(ev, R"({"id":8,"requester_id":42,"status":"open"})") == R"({"external_ids":{"zendesk":"42"},"_events":[]})");
  record_error e;
  const mapped_record* r = ev.apply(std::string_view(R"({"id":8,"requester_id":42})"), e);
  REQUIRE(r != nullptr);
  auto keys = r->identity_keys(*p);
  REQUIRE(keys.size() == 1);
  CHECK(keys[0].first == "external_ids.zendesk");
  CHECK(keys[0].second->s == "42");
}

TEST_CASE("a plan is shared by evaluators on several threads", "[mapping][evaluator]") {
  auto p = must_compile(header() + "  email: { from: E, transform: [trim, lower] }\n  lead_score: S\n");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      evaluator ev(p);
      record_error e;
      for (int n = 0; n < 2000; ++n) {
        const std::string in = "{\"E\":\" X" + std::to_string(n) + "@Y.Z \",\"S\":" + std::to_string(t) + "}";
        const mapped_record* r = ev.apply(in, e);
        if (r && r->to_json(*p) == "{\"email\":\"x" + std::to_string(n) + "@y.z\",\"lead_score\":" + std::to_string(t) + "}")
          ++ok[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == std::vector<int>(4, 2000));
}

TEST_CASE("an evaluator reused across records whose values change shape", "[mapping][evaluator]") {
  // Found by fuzz_mapping_eval: a slot that held an array and then an object.
  evaluator ev(must_compile(header() + "  first_name: { template: \"{T}\" }\n"));
  CHECK(map_one(ev, R"({"T":[1,2,3]})") == R"({"first_name":"[1,2,3]"})");
  CHECK(map_one(ev, R"({"T":{"a":1}})") == R"({"first_name":"{\"a\":1}"})");
  CHECK(map_one(ev, R"({"T":[{"b":2}]})") == R"({"first_name":"[{\"b\":2}]"})");
  CHECK(map_one(ev, R"({"T":nuol})").rfind("ERROR", 0) == 0);
}
