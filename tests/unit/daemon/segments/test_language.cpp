// The segment language: parsing, type checking against the profile schema, located errors with suggestions,
// member_of cycles, and what each segment reads.
#include "tests/unit/daemon/segments/segments_fixture.hpp"

#include "daemon/segments/parser.hpp"

using namespace seg_test;

namespace {

std::string first_error(const std::string& where) {
  auto errs = compile_errors({def("s", where)});
  REQUIRE_FALSE(errs.empty());
  return errs.front().message;
}

}  // namespace

TEST_CASE("the issue's example compiles and reads what it names", "[segments]") {
  auto set = compile_ok({def("vip",
                             "stage == \"purchase\" && kpi.lifetime_value >= 5000 && "
                             "count(events, e.type == \"ticket\" && e.status != \"solved\", within: 30d) >= 1 && "
                             "none(events, e.type == \"deal_won\", within: 90d)")});
  REQUIRE(set.segments().size() == 1);
  const auto& in = set.segments()[0].inputs;
  CHECK(in.stage);
  CHECK(in.kpis.count("lifetime_value"));
  CHECK(in.event_types == std::set<std::string, std::less<>>{"deal_won", "ticket"});
  CHECK_FALSE(in.any_event);
  CHECK(in.clocked);
  CHECK(in.attributes.empty());
}

TEST_CASE("every operator of the grammar parses and types", "[segments]") {
  compile_ok({def("a", "email ends_with \"@acme.com\" || email starts_with \"ceo\" || first_name contains \"an\""),
              def("b", "company in [\"DE\", \"FR\"] && !exists(phone)"),
              def("c", "days_since(updated_at) > 30 && days_since(updated_at) <= 365"),
              def("d", "sum(events, e.amount, e.type == \"deal_won\", between: [60d, 30d]) >= 100"),
              def("e", "any(events, within: 7d) && count(events) > 2 && member_of(\"a\")"),
              def("f", "any(events, e.occurred_at >= \"2026-01-01\", between: [\"2026-01-01\", \"2026-02-01\"])"),
              def("g", "(kpi.nps >= 9 || kpi.nps_category == \"promoter\") && kpi.last_interaction_at < \"2027-01-01T00:00:00Z\""),
              def("h", "external_ids.hubspot == \"12\" && 5000 <= kpi.lifetime_value")});
}

TEST_CASE("syntax errors name the place and what was expected", "[segments]") {
  using omnisync::segments::expr_error;
  using omnisync::segments::parse_expression;
  auto err = [](const char* s) { return std::get<expr_error>(parse_expression(s)); };
  CHECK(err("email ==").message == "expected a value, a name or (, got the end of the expression");
  CHECK(err("email == \"x").message == "unterminated string");
  CHECK(err("a == 1 b").offset == 7);
  CHECK(err("count(tickets)").message.find("takes events first") != std::string::npos);
  CHECK(err("any(events, within: 30y)").message.find("unknown unit \"y\"") != std::string::npos);
  CHECK(err("sum(events, e.amount, between: [30d, 60d])").message.find("must be longer") != std::string::npos);
  CHECK(err("frobnicate(x)").message.find("unknown function \"frobnicate\"") != std::string::npos);
  CHECK(err("stage in \"x\"").message.find("expected a list") != std::string::npos);
  std::string deep(200, '(');
  CHECK(err(deep.c_str()).message == "expression nested too deeply");
}

TEST_CASE("unknown names are errors with a suggestion", "[segments]") {
  CHECK(first_error("emial == \"x\"") == "unknown attribute \"emial\" (did you mean \"email\"?)");
  CHECK(first_error("kpi.lifetime_valu > 3") == "unknown KPI \"lifetime_valu\" (did you mean \"lifetime_value\"?)");
  CHECK(first_error("lifetime_value > 3") == "unknown attribute \"lifetime_value\" (did you mean \"kpi.lifetime_value\"?)");
  CHECK(first_error("stage == \"purchse\"") == "unknown stage \"purchse\" (did you mean \"purchase\"?)");
  CHECK(first_error("any(events, e.type == \"tiket\")") == "unknown event type \"tiket\" (did you mean \"ticket\"?)");
  CHECK(first_error("any(events, e.stat == \"x\")") == "unknown event field \"stat\" (did you mean \"status\"?)");
  CHECK(first_error("member_of(\"vpi\")") == "unknown segment \"vpi\"");
  CHECK(first_error("e.type == \"x\"").find("only defined inside") != std::string::npos);
}

TEST_CASE("type mismatches are errors", "[segments]") {
  CHECK(first_error("kpi.lifetime_value == \"lots\"") == "cannot compare a number with a string");
  CHECK(first_error("email > \"a\"") == "<, <=, > and >= compare numbers and datetimes, not a string");
  CHECK(first_error("days_since(email) > 3") == "days_since() takes a datetime, this is a string");
  CHECK(first_error("kpi.order_count") == "a segment's condition must be true or false, this is a number");
  CHECK(first_error("count(events) && true") == "expected true or false here, this is a number");
  CHECK(first_error("sum(events, e.status) > 1") == "sum() adds numbers (e.amount, e.score), this is a string");
  CHECK(first_error("updated_at > \"yesterday\"") == "\"yesterday\" is not an ISO 8601 date or time");
  CHECK(first_error("email == \"a\" && 30d") == "a duration is only allowed in within: or between:");
}

TEST_CASE("errors are located in the file: the where text's start plus the offset, line by line", "[segments]") {
  auto errs = compile_errors({def("s", "stage == \"purchase\" &&\nemial == \"x\"")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].line == 11);
  CHECK(errs[0].column == 12);
  errs = compile_errors({def("s", "kpi.nps >= 9 && emial == \"x\"")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].line == 10);
  CHECK(errs[0].column == 12 + 16);
  // Several problems in one expression are all reported.
  CHECK(compile_errors({def("s", "emial == \"x\" && kpi.nsp > 3")}).size() == 2);
}

TEST_CASE("member_of forms a DAG: a cycle is an error naming it, dependencies come first", "[segments]") {
  auto errs = compile_errors({def("a", "member_of(\"b\")"), def("b", "member_of(\"c\")"), def("c", "member_of(\"a\")")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message == "member_of forms a cycle: a -> b -> c -> a");
  errs = compile_errors({def("self", "member_of(\"self\")")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message == "member_of forms a cycle: self -> self");
  CHECK(compile_errors({def("a", "true"), def("a", "false")}).front().message == "segment key declared twice");

  auto set = compile_ok({def("top", "member_of(\"mid\")"), def("mid", "member_of(\"base\")"), def("base", "kpi.nps >= 9")});
  CHECK(*set.index_of("base") < *set.index_of("mid"));
  CHECK(*set.index_of("mid") < *set.index_of("top"));
}

TEST_CASE("affected: only segments reading what changed, and their dependents", "[segments]") {
  auto set = compile_ok({def("mail", "email ends_with \"@acme.com\""), def("tix", "any(events, e.type == \"ticket\")"),
                         def("all_ev", "count(events) > 3"), def("dep", "member_of(\"mail\")"),
                         def("stage", "stage == \"purchase\""), def("ltv", "kpi.lifetime_value > 10")});
  auto names = [&](const profile_change& c) {
    std::set<std::string> out;
    for (int i : set.affected(c)) out.insert(set.segments()[static_cast<std::size_t>(i)].def.key);
    return out;
  };
  profile_change c;
  c.attributes = {"email"};
  CHECK(names(c) == std::set<std::string>{"mail", "dep"});
  c = {};
  c.event_types = {"deal_won"};
  CHECK(names(c) == std::set<std::string>{"all_ev"});
  c.event_types = {"ticket"};
  CHECK(names(c) == std::set<std::string>{"all_ev", "tix"});
  c = {};
  c.stage = true;
  c.kpis = {"lifetime_value"};
  CHECK(names(c) == std::set<std::string>{"stage", "ltv"});
  c = {};
  c.attributes = {"phone"};
  CHECK(names(c).empty());
}

TEST_CASE("segment events: e.segment names the segment read, a dependency, and only that transition touches it",
          "[segments]") {
  auto set = compile_ok({def("new_vip", "any(events, e.type == \"segment_entered\" && e.segment == \"vip\", within: 7d)"),
                         def("vip", "kpi.lifetime_value >= 5000"), def("tix", "count(events, within: 30d) > 0")});
  CHECK(*set.index_of("vip") < *set.index_of("new_vip"));
  const auto& in = set.segments()[static_cast<std::size_t>(*set.index_of("new_vip"))].inputs;
  CHECK(in.segment_events == std::set<std::string, std::less<>>{"vip"});
  auto names = [&](const profile_change& c) {
    std::set<std::string> out;
    for (int i : set.affected(c)) out.insert(set.segments()[static_cast<std::size_t>(i)].def.key);
    return out;
  };
  profile_change c;
  c.segment_events = {"vip"};
  CHECK(names(c) == std::set<std::string>{"new_vip"});  // not `tix`: an unpinned predicate reads the timeline only
  c.segment_events = {"tix"};
  CHECK(names(c).empty());
  c = {};
  c.kpis = {"lifetime_value"};
  CHECK(names(c) == std::set<std::string>{"vip", "new_vip"});

  // The segment must be named, exist, and not be the segment itself.
  auto errs = compile_errors({def("x", "any(events, e.type == \"segment_exited\")")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message.find("must name the segment") != std::string::npos);
  errs = compile_errors({def("x", "any(events, e.type == \"segment_exited\" && e.segment == \"vipp\")"),
                         def("vip", "true")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message == "unknown segment \"vipp\" (did you mean \"vip\"?)");
  errs = compile_errors({def("x", "none(events, e.type == \"segment_entered\" && e.segment == \"x\", within: 1d)")});
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].message == "member_of forms a cycle: x -> x");
}

TEST_CASE("diff_facts names what differs between two states of a profile", "[segments]") {
  profile_facts a;
  a.attributes.emplace("email", omnisync::mapping::value{});
  a.attributes["email"].set_string("ann@example.com");
  a.attributes["company"].set_string("Acme");
  a.kpis["lifetime_value"].set_number(10);
  a.stage = "lead";
  a.events = {ev("ticket", at("2026-01-01"), "open"), ev("deal_won", at("2026-01-02"), {}, 5.0)};
  profile_facts b = a;
  auto c = diff_facts(a, b);
  CHECK(c.attributes.empty());
  CHECK(c.kpis.empty());
  CHECK(c.event_types.empty());
  CHECK_FALSE(c.stage);
  b.attributes["company"].set_string("Acme Inc");
  b.attributes.erase("email");
  b.attributes["phone"].set_string("+15550100");
  b.events[0].status = "solved";
  b.kpis["lifetime_value"].set_number(10);
  b.stage = "purchase";
  c = diff_facts(a, b);
  CHECK(c.attributes == std::set<std::string, std::less<>>{"company", "email", "phone"});
  CHECK(c.kpis.empty());
  CHECK(c.event_types == std::set<std::string, std::less<>>{"ticket"});
  CHECK(c.stage);
  b.events.push_back(ev("conversation", at("2026-01-03")));
  CHECK(diff_facts(a, b).event_types == std::set<std::string, std::less<>>{"conversation", "ticket"});
}
