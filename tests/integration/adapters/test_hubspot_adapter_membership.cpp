// The HubSpot connector's segment membership against omnisync-sim's lists v3: a MANUAL contact list found by
// name or created once, add-and-remove in chunks of sync.membership_chunk, recordIdsMissing as a refusal with
// HubSpot's words, and a list deleted outside omnisync reported as not_found (the writer recreates it).
#include <catch2/catch.hpp>

#include <set>

#include "tests/integration/adapters/hubspot_harness.hpp"
#include "tests/integration/adapters/membership_harness.hpp"

using omnisync::adapters::audience_spec;
using omnisync::adapters::membership_item;
using omnisync::test::adapters::change_10000;
using omnisync::test::adapters::check_written;
using omnisync::test::adapters::ensure_once;
using omnisync::test::adapters::fresh_sim;
using omnisync::test::adapters::harness;
using omnisync::test::adapters::sim_calls;
using omnisync::test::hubspot::hs_config;
namespace json = boost::json;

namespace {

std::set<std::string> list_members(omnisync::test::sim::running_sim& s, const std::string& name) {
  std::set<std::string> out;
  const auto doc = s.admin("GET", "/admin/hubspot/lists").json();
  for (const auto& l : doc.as_array())
    if (l.at("name").as_string() == name)
      for (const auto& m : l.at("members").as_array()) out.emplace(m.as_string());
  return out;
}

std::size_t lists_named(omnisync::test::sim::running_sim& s, const std::string& name) {
  std::size_t n = 0;
  const auto doc = s.admin("GET", "/admin/hubspot/lists").json();
  for (const auto& l : doc.as_array())
    if (l.at("name").as_string() == name) ++n;
  return n;
}

}  // namespace

TEST_CASE("HubSpot membership: a MANUAL list created once, members added and removed in chunks",
          "[adapters][hubspot][segments]") {
  auto& s = fresh_sim();
  harness h(hs_config(s, {{"sync.membership_chunk", "2"}}));
  REQUIRE(h.c->max_membership_batch() == 2);
  audience_spec spec{"vip", "VIP customers", false};
  const auto id = ensure_once(h, spec);  // found by name, not created twice
  CHECK(lists_named(s, "VIP customers") == 1);
  const auto list = s.admin("GET", "/admin/hubspot/lists/" + id).json();
  CHECK(list.at("processingType").as_string() == "MANUAL");
  CHECK(list.at("objectTypeId").as_string() == "0-1");

  const auto before = sim_calls(s, "hubspot", "add-and-remove");
  std::vector<membership_item> adds{{1, "1", true}, {2, "2", true}, {3, "3", true}};
  auto r = h.run(h.c->change_membership(spec, id, adds));
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 3);
  check_written(*r);
  CHECK(sim_calls(s, "hubspot", "add-and-remove") - before == 2);  // 3 ids in chunks of 2
  CHECK(list_members(s, "VIP customers") == std::set<std::string>{"1", "2", "3"});

  // A record that does not exist: HubSpot reports it missing; the add is refused with its words.
  auto missing = h.run(h.c->change_membership(spec, id, {{4, "987654321", true}, {5, "2", false}}));
  REQUIRE(missing.has_value());
  REQUIRE(missing->size() == 2);
  check_written(*missing, 4, "recordIdsMissing");
  CHECK(list_members(s, "VIP customers") == std::set<std::string>{"1", "3"});
  // Adding a member again and removing a non-member are no-ops HubSpot ignores: done.
  auto idem = h.run(h.c->change_membership(spec, id, {{6, "1", true}, {7, "2", false}}));
  REQUIRE(idem.has_value());
  check_written(*idem);
  CHECK(list_members(s, "VIP customers") == std::set<std::string>{"1", "3"});
}

TEST_CASE("HubSpot membership: a list deleted outside omnisync is not_found, then created anew",
          "[adapters][hubspot][segments]") {
  auto& s = fresh_sim();
  harness h(hs_config(s));
  audience_spec spec{"churn", "Churn risk", false};
  auto id = h.run(h.c->ensure_audience(spec));
  REQUIRE(id.has_value());
  s.admin("DELETE", "/admin/hubspot/lists/" + *id);
  auto r = h.run(h.c->change_membership(spec, *id, {{1, "5", true}}));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == omnisync::errc::not_found);
  auto fresh = h.run(h.c->ensure_audience(spec));
  REQUIRE(fresh.has_value());
  CHECK(*fresh != *id);
  auto ok = h.run(h.c->change_membership(spec, *fresh, {{1, "5", true}}));
  REQUIRE(ok.has_value());
  CHECK(list_members(s, "Churn risk") == std::set<std::string>{"5"});
}

// bench/segments/membership_calls.sh: API calls for 10,000 membership changes (5,000 adds, then 5,000 removals)
// against the batch floor (one call per membership_chunk ids).
TEST_CASE("HubSpot membership: calls per 10,000 changes", "[.bench][segments]") {
  omnisync::test::sim::running_sim s(std::vector<std::string>{"--size", "20000"});
  harness h(hs_config(s));
  audience_spec spec{"bench", "Bench", false};
  auto id = h.run(h.c->ensure_audience(spec));
  REQUIRE(id.has_value());
  const auto before = sim_calls(s, "hubspot", "/crm/v3/lists");
  change_10000(h, spec, *id, [](int i) { return std::to_string(i); });
  const auto calls = sim_calls(s, "hubspot", "/crm/v3/lists") - before;
  const auto floor = (10000 + h.c->max_membership_batch() - 1) / h.c->max_membership_batch();
  std::printf("BENCH hubspot changes=10000 calls=%lld floor=%zu\n", static_cast<long long>(calls), floor);
}
