// One lifecycle stage per profile: the stage a source reports is `source_stage` (an input of the lifecycle rules);
// `lifecycle_stage` is the computed one, the only stage the profile view shows and the one outbound writes carry.
// Salesforce's Lifecycle_Stage__c, which omnisync writes, is read back as lifecycle_stage and feeds nothing.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>

#include "tests/unit/daemon/profile/book_fixture.hpp"

using namespace omnisync::profile;
using omnisync::test::profile::fed_book;

TEST_CASE("lifecycle stage: a vendor's stage is source_stage, the view and the written record hold one computed "
          "lifecycle_stage", "[profile][book]") {
  fed_book f;
  // HubSpot says "customer" (source_stage purchase); Salesforce's field omnisync writes says "Lead" (awareness),
  // later: an outside edit, not a source.
  f.apply("hs", "901", 100,
          R"({"id":"901","properties":{"email":"ann@example.com","firstname":"Ann","lifecyclestage":"customer"}})");
  f.apply("sf", "003A", 200,
          R"({"Id":"003A","Email":"ann@example.com","FirstName":"Ann","LastName":"Lee","Lifecycle_Stage__c":"Lead",)"
          R"("SystemModstamp":"2026-01-01T00:00:00.000Z"})");
  auto pid = f.b.find("ann@example.com");
  REQUIRE(pid.has_value());
  auto view = f.b.view(*pid);
  REQUIRE(view.has_value());
  std::string source;
  for (const auto& [attr, g] : view->golden) {
    CHECK(attr != "lifecycle_stage");  // no second stage among the golden values
    if (attr == "source_stage") source = g.value.s;
  }
  CHECK(source == "purchase");
  // The computed stage follows the rules from the golden source stage (source_stage == purchase gives purchase).
  CHECK(view->kpis.lifecycle_stage == "purchase");
  // What a destination is written from carries that same stage.
  auto canonical = boost::json::parse(f.b.canonical_json(*pid)).as_object();
  REQUIRE(canonical.contains("lifecycle_stage"));
  CHECK(canonical.at("lifecycle_stage").as_string() == view->kpis.lifecycle_stage);
  CHECK(canonical.at("source_stage").as_string() == source);
}
