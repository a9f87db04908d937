// Survivorship: each strategy, field ownership, nulls, order independence, hints from mapping files.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "daemon/profile/survivorship.hpp"

using namespace omnisync::profile;
using omnisync::mapping::value;

namespace {

value str(const char* s) {
  value v;
  v.set_string(s);
  return v;
}
value num(double d) {
  value v;
  v.set_number(d);
  return v;
}
value integer(std::int64_t i) {
  value v;
  v.set_int(i);
  return v;
}
value boolean(bool b) {
  value v;
  v.set_bool(b);
  return v;
}
value null() {
  value v;
  v.set_null();
  return v;
}
value list(std::vector<const char*> items) {
  value v;
  v.k = value::kind::array;
  for (const char* i : items) v.items.push_back(str(i));
  return v;
}

attribute_rule rule(strategy how, std::vector<std::string> priority = {}, std::string owner = {}) {
  attribute_rule r;
  r.attribute = "x";
  r.how = how;
  r.priority = std::move(priority);
  r.owner = std::move(owner);
  return r;
}

// Values with their sources: salesforce (ts 100), hubspot (ts 300), zendesk (ts 200), intercom (ts 50).
struct fixture {
  std::vector<value> values;
  std::vector<candidate> cands;
  void add(const char* system, const char* record, std::int64_t ts, value v) {
    values.push_back(std::move(v));
    records.emplace_back(record);
    systems.emplace_back(system);
    timestamps.push_back(ts);
  }
  std::span<const candidate> all() {
    cands.clear();
    for (std::size_t i = 0; i < values.size(); ++i)
      cands.push_back(candidate{systems[i], records[i], timestamps[i], &values[i]});
    return cands;
  }
  std::vector<std::string> records, systems;
  std::vector<std::int64_t> timestamps;
};

// The result must not depend on the candidates' order.
golden_value survive_all_orders(const attribute_rule& r, fixture& f) {
  const auto initial = f.all();
  std::vector<candidate> c(initial.begin(), initial.end());
  const golden_value first = survive(r, c);
  std::string first_json;
  omnisync::mapping::append_json(first_json, first.value);
  std::sort(c.begin(), c.end(), [](const candidate& a, const candidate& b) { return a.record < b.record; });
  do {
    golden_value g = survive(r, c);
    std::string json;
    omnisync::mapping::append_json(json, g.value);
    CHECK(json == first_json);
    CHECK(g.from == first.from);
  } while (std::next_permutation(c.begin(), c.end(),
                                 [](const candidate& a, const candidate& b) { return a.record < b.record; }));
  return first;
}

std::string json(const value& v) {
  std::string s;
  omnisync::mapping::append_json(s, v);
  return s;
}

}  // namespace

TEST_CASE("source priority: the first listed system with a value wins", "[profile][survivorship]") {
  fixture f;
  f.add("salesforce", "salesforce:Contact:1", 100, str("Ann"));
  f.add("hubspot", "hubspot:contacts:1", 300, str("Annie"));
  f.add("zendesk", "zendesk:users:1", 200, null());
  auto g = survive_all_orders(rule(strategy::source_priority, {"zendesk", "salesforce", "hubspot"}), f);
  CHECK(json(g.value) == "\"Ann\"");  // zendesk is first but holds null
  REQUIRE(g.from.size() == 1);
  CHECK(g.from[0] == provenance{"salesforce", "salesforce:Contact:1", 100});
  CHECK(g.decided_by == "source_priority");
  // Systems not listed come after the listed ones, most recent first.
  auto h = survive_all_orders(rule(strategy::source_priority, {"intercom"}), f);
  CHECK(json(h.value) == "\"Annie\"");
}

TEST_CASE("most recent: the newest source timestamp wins, nulls only when configured", "[profile][survivorship]") {
  fixture f;
  f.add("salesforce", "salesforce:Contact:1", 100, str("+14155550100"));
  f.add("hubspot", "hubspot:contacts:1", 200, str("+14155550199"));
  f.add("zendesk", "zendesk:users:1", 300, null());  // the newest says: no phone
  auto g = survive_all_orders(rule(strategy::most_recent), f);
  CHECK(json(g.value) == "\"+14155550199\"");
  CHECK(g.from[0].record == "hubspot:contacts:1");
  auto r = rule(strategy::most_recent);
  r.null_wins = true;
  auto cleared = survive_all_orders(r, f);
  CHECK(cleared.value.k == value::kind::null);
  CHECK(cleared.from[0].system == "zendesk");

  // A tie on the timestamp goes to the priority list, then to the record key.
  fixture t;
  t.add("salesforce", "salesforce:Contact:1", 500, str("from salesforce"));
  t.add("hubspot", "hubspot:contacts:1", 500, str("from hubspot"));
  CHECK(json(survive_all_orders(rule(strategy::most_recent, {"salesforce"}), t).value) == "\"from salesforce\"");
  CHECK(json(survive_all_orders(rule(strategy::most_recent), t).value) == "\"from hubspot\"");  // key order
}

TEST_CASE("first non-null: the oldest value sticks", "[profile][survivorship]") {
  fixture f;
  f.add("intercom", "intercom:contacts:1", 50, null());
  f.add("salesforce", "salesforce:Contact:1", 100, str("webinar"));
  f.add("hubspot", "hubspot:contacts:1", 300, str("ads"));
  auto g = survive_all_orders(rule(strategy::first_non_null), f);
  CHECK(json(g.value) == "\"webinar\"");
  CHECK(g.from[0] == provenance{"salesforce", "salesforce:Contact:1", 100});
}

TEST_CASE("union: every distinct value once, sorted, with the first contributor of each", "[profile][survivorship]") {
  fixture f;
  f.add("hubspot", "hubspot:contacts:1", 300, list({"vip", "pilot"}));
  f.add("zendesk", "zendesk:users:1", 200, list({"pilot", "churn-risk"}));
  f.add("salesforce", "salesforce:Contact:1", 100, str("vip"));
  f.add("intercom", "intercom:contacts:1", 50, null());
  auto g = survive_all_orders(rule(strategy::union_all), f);
  CHECK(json(g.value) == R"(["churn-risk","pilot","vip"])");
  REQUIRE(g.from.size() == 3);
  CHECK(g.from[0].system == "zendesk");
  CHECK(g.from[1].system == "zendesk");     // pilot: zendesk (200) before hubspot (300)
  CHECK(g.from[2].system == "salesforce");  // vip: salesforce (100) first
}

TEST_CASE("max, min and sum", "[profile][survivorship]") {
  fixture f;
  f.add("salesforce", "salesforce:Contact:1", 100, integer(42));
  f.add("hubspot", "hubspot:contacts:1", 300, num(35.5));
  f.add("zendesk", "zendesk:users:1", 200, null());
  auto mx = survive_all_orders(rule(strategy::max), f);
  CHECK(json(mx.value) == "42");
  CHECK(mx.from[0].system == "salesforce");
  auto mn = survive_all_orders(rule(strategy::min), f);
  CHECK(json(mn.value) == "35.5");
  auto sm = survive_all_orders(rule(strategy::sum), f);
  CHECK(sm.value.k == value::kind::number);
  CHECK(sm.value.d == Approx(77.5));
  CHECK(sm.from.size() == 2);

  // Datetimes (canonical UTC text) order as text; booleans false < true (opt-out wins under min).
  fixture d;
  d.add("salesforce", "salesforce:Contact:1", 100, str("2026-05-01T10:00:00.000Z"));
  d.add("hubspot", "hubspot:contacts:1", 300, str("2026-04-30T23:59:59.999Z"));
  CHECK(json(survive_all_orders(rule(strategy::max), d).value) == "\"2026-05-01T10:00:00.000Z\"");
  fixture b;
  b.add("salesforce", "salesforce:Contact:1", 100, boolean(true));
  b.add("hubspot", "hubspot:contacts:1", 300, boolean(false));
  b.add("zendesk", "zendesk:users:1", 400, boolean(true));
  auto opt_in = survive_all_orders(rule(strategy::min), b);
  CHECK(json(opt_in.value) == "false");
  CHECK(opt_in.from[0].system == "hubspot");
  // Integers sum to an integer.
  fixture i;
  i.add("salesforce", "salesforce:Contact:1", 100, integer(2));
  i.add("hubspot", "hubspot:contacts:1", 300, integer(3));
  CHECK(json(survive_all_orders(rule(strategy::sum), i).value) == "5");
}

TEST_CASE("field ownership: the owning system always wins, else the strategy decides", "[profile][survivorship]") {
  fixture f;
  f.add("salesforce", "salesforce:Contact:1", 900, str("conversion"));
  f.add("hubspot", "hubspot:contacts:1", 100, str("purchase"));
  auto g = survive_all_orders(rule(strategy::most_recent, {"salesforce"}, "hubspot"), f);
  CHECK(json(g.value) == "\"purchase\"");  // older, lower priority, but the owner's
  CHECK(g.decided_by == "owner");
  CHECK(g.from[0].system == "hubspot");

  fixture n;
  n.add("salesforce", "salesforce:Contact:1", 900, str("conversion"));
  n.add("hubspot", "hubspot:contacts:1", 100, null());
  auto h = survive_all_orders(rule(strategy::most_recent, {}, "hubspot"), n);
  CHECK(json(h.value) == "\"conversion\"");  // the owner holds nothing: the strategy decides
  CHECK(h.decided_by == "most_recent");
}

TEST_CASE("no value anywhere: null when a record says so, missing when none does", "[profile][survivorship]") {
  fixture f;
  f.add("salesforce", "salesforce:Contact:1", 100, null());
  CHECK(survive_all_orders(rule(strategy::most_recent), f).value.k == value::kind::null);
  fixture e;
  CHECK(survive(rule(strategy::union_all), e.all()).value.is_missing());
}

TEST_CASE("rules by attribute, family and fallback, and hints from mapping files", "[profile][survivorship]") {
  survivorship_rules rules = survivorship_rules::defaults();
  CHECK(rules.rule_for("tags").how == strategy::union_all);
  CHECK(rules.rule_for("email_opt_in").how == strategy::min);
  CHECK(rules.rule_for("first_name").how == strategy::most_recent);

  attribute_rule ids;
  ids.attribute = "external_ids.*";
  ids.how = strategy::first_non_null;
  rules.attributes.push_back(ids);
  CHECK(rules.rule_for("external_ids.hubspot").how == strategy::first_non_null);
  CHECK(rules.rule_for("external_ids").how == strategy::most_recent);

  // hubspot/contacts.in.yaml declares `owner: true` on lifecycle_stage.
  omnisync::mapping::attribute_hint owner;
  owner.attribute = "lifecycle_stage";
  owner.owner = true;
  omnisync::mapping::attribute_hint merge;
  merge.attribute = "company";
  merge.merge = "source_priority";
  CHECK(rules.apply_hints("hubspot", {owner, merge}).empty());
  CHECK(rules.rule_for("lifecycle_stage").owner == "hubspot");
  CHECK(rules.rule_for("company").how == strategy::source_priority);

  omnisync::mapping::attribute_hint bad;
  bad.attribute = "phone";
  bad.merge = "loudest";
  auto problems = rules.apply_hints("salesforce", {owner, bad});
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] == "lifecycle_stage: owned by both hubspot and salesforce");
  CHECK(problems[1].find("unknown merge strategy 'loudest'") != std::string::npos);
  CHECK(rules.rule_for("lifecycle_stage").owner == "hubspot");
}

TEST_CASE("a golden record from several sources", "[profile][survivorship]") {
  using attrs = std::vector<std::pair<std::string, value>>;
  attrs sf = {{"first_name", str("Ann")}, {"lead_score", integer(42)}, {"tags", list({"vip"})},
              {"email_opt_in", boolean(true)}};
  attrs hs = {{"first_name", str("Anna")}, {"lead_score", integer(35)}, {"tags", list({"pilot"})},
              {"email_opt_in", boolean(false)}, {"phone", null()}};
  std::vector<attribute_source> sources = {{"salesforce", "salesforce:Contact:1", 100, sf},
                                           {"hubspot", "hubspot:contacts:1", 200, hs}};
  auto golden = golden_record(survivorship_rules::defaults(), sources);
  std::vector<std::string> got;
  for (const auto& [name, g] : golden) got.push_back(name + "=" + json(g.value) + " by " + g.decided_by);
  CHECK(got == std::vector<std::string>{"email_opt_in=false by min", "first_name=\"Anna\" by most_recent",
                                        "lead_score=42 by max", "phone=null by most_recent",
                                        "tags=[\"pilot\",\"vip\"] by union"});
}

TEST_CASE("most_recent compares the time of each value's information, and a newer clear empties the value",
          "[profile][survivorship]") {
  using attrs = std::vector<std::pair<std::string, value>>;
  // Salesforce changed the phone at 100; HubSpot's record was modified at 300, but its phone is a copy omnisync
  // wrote there of Salesforce's older value 50 (its information dates from 50), and its name changed at 300.
  attrs sf = {{"phone", str("+14155550100")}, {"first_name", str("Ann")}};
  attrs hs = {{"phone", str("+14155550999")}, {"first_name", str("Anna")}};
  std::vector<attribute_state> hs_states = {{0, 50, false}};
  std::vector<attribute_source> sources = {{"salesforce", "salesforce:Contact:1", 100, sf},
                                           {"hubspot", "hubspot:contacts:1", 300, hs, hs_states}};
  auto golden = golden_record(survivorship_rules::defaults(), sources);
  REQUIRE(golden.size() == 2);
  CHECK(golden[0].first == "first_name");
  CHECK(json(golden[0].second.value) == "\"Anna\"");  // the name's information is HubSpot's, from 300
  CHECK(golden[1].first == "phone");
  CHECK(json(golden[1].second.value) == "\"+14155550100\"");  // 100 beats the copy's 50
  CHECK(golden[1].second.from.at(0).record == "salesforce:Contact:1");
  CHECK_FALSE(golden[1].second.cleared);

  // HubSpot clears the phone at 400 (the record held one, a change removed it): the clear is the newest
  // information and empties the golden value — marked as a clear, unlike a null nobody ever filled.
  attrs hs2 = {{"phone", null()}, {"first_name", str("Anna")}};
  std::vector<attribute_state> cleared = {{0, 400, true}};
  std::vector<attribute_source> later = {{"salesforce", "salesforce:Contact:1", 100, sf},
                                         {"hubspot", "hubspot:contacts:1", 400, hs2, cleared}};
  auto g2 = golden_record(survivorship_rules::defaults(), later);
  CHECK(g2[1].second.value.k == value::kind::null);
  CHECK(g2[1].second.cleared);
  CHECK(g2[1].second.from.at(0).record == "hubspot:contacts:1");
  // A clear older than another source's value loses; a plain null (never held a value) never wins.
  std::vector<attribute_state> old_clear = {{0, 60, true}};
  std::vector<attribute_source> stale = {{"salesforce", "salesforce:Contact:1", 100, sf},
                                         {"hubspot", "hubspot:contacts:1", 400, hs2, old_clear}};
  CHECK(json(golden_record(survivorship_rules::defaults(), stale)[1].second.value) == "\"+14155550100\"");
  std::vector<attribute_source> plain = {{"salesforce", "salesforce:Contact:1", 100, sf},
                                         {"hubspot", "hubspot:contacts:1", 400, hs2}};
  auto g3 = golden_record(survivorship_rules::defaults(), plain);
  CHECK(json(g3[1].second.value) == "\"+14155550100\"");
  CHECK_FALSE(g3[1].second.cleared);
}
