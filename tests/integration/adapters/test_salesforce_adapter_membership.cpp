// The Salesforce connector's segment membership against omnisync-sim: a Campaign found by Name or created once,
// CampaignMember rows inserted (with sync.campaign_member_status) and deleted through sObject Collections,
// DUPLICATE_VALUE as done, an unknown contact refused with Salesforce's code, a deleted campaign as not_found.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "adapters/registry.hpp"
#include "tests/integration/adapters/connector_harness.hpp"
#include "tests/integration/adapters/membership_harness.hpp"
#include "tests/integration/adapters/salesforce_harness.hpp"

using namespace omnisync::test::salesforce;
using omnisync::adapters::audience_spec;
using omnisync::test::adapters::change_10000;
using omnisync::test::adapters::check_written;
using omnisync::test::adapters::ensure_once;

namespace {

std::set<std::string> campaign_members(running_sim& s, const std::string& campaign, std::string* status = nullptr) {
  std::set<std::string> out;
  const auto doc = s.admin("GET", "/admin/salesforce/CampaignMember").json();
  for (const auto& m : doc.as_array()) {
    const auto& o = m.as_object();
    if (o.at("IsDeleted").as_bool() || o.at("CampaignId").as_string() != campaign) continue;
    out.emplace(o.at("ContactId").as_string());
    if (status) *status = std::string(o.at("Status").as_string());
  }
  return out;
}

}  // namespace

TEST_CASE("Salesforce membership: a Campaign created once, members inserted and deleted", "[adapters][salesforce][segments]") {
  fixture f(50);
  f.cfg.set("sync.campaign_member_status", "Responded");
  harness h(f.cfg);
  REQUIRE(h.c->max_membership_batch() == 200);
  audience_spec spec{"vip", "VIP customers", false};
  const auto id = ensure_once(h, spec);
  CHECK(id.rfind("701", 0) == 0);
  CHECK(f.sim.admin("GET", "/admin/salesforce/Campaign").json().as_array().size() == 1);

  std::vector<omnisync::adapters::membership_item> adds;
  for (int i = 1; i <= 5; ++i) adds.push_back({i, contact_id(i), true});
  adds.push_back({6, contact_id(9999), true});  // no such contact
  auto r = h.run(h.c->change_membership(spec, id, adds));
  REQUIRE(r.has_value());
  REQUIRE(r->size() == 6);
  check_written(*r, 6, "INVALID_CROSS_REFERENCE_KEY");
  std::string status;
  CHECK(campaign_members(f.sim, id, &status).size() == 5);
  CHECK(status == "Responded");
  // Already a member (DUPLICATE_VALUE) and a removal: both done; the removal deletes the row.
  auto r2 = h.run(h.c->change_membership(spec, id, {{7, contact_id(1), true}, {8, contact_id(2), false},
                                                    {9, contact_id(40), false}}));
  REQUIRE(r2.has_value());
  check_written(*r2);
  CHECK(campaign_members(f.sim, id) ==
        std::set<std::string>{contact_id(1), contact_id(3), contact_id(4), contact_id(5)});
  CHECK(calls(f.sim, "POST /services/data/v62.0/composite/sobjects") == 2);

  // Each insert answered its CampaignMember's id; a removal that carries it deletes the row without a query, and
  // one whose row is gone already (deleted in Salesforce) counts as done.
  std::map<std::int64_t, std::string> row;
  for (const auto& w : *r) row[w.outbox_id] = w.row_id;
  CHECK(row[3].rfind("00v", 0) == 0);
  CHECK(row[6].empty());  // refused: no row
  const auto queries = calls(f.sim, "/query");
  const auto deletes = calls(f.sim, "DELETE /services/data/v62.0/composite/sobjects");
  auto r3 = h.run(h.c->change_membership(spec, id, {{11, contact_id(3), false, row[3]},
                                                    {12, contact_id(2), false, row[2]}}));  // 2: deleted above
  REQUIRE(r3.has_value());
  REQUIRE(r3->size() == 2);
  check_written(*r3);
  CHECK(calls(f.sim, "/query") == queries);
  CHECK(calls(f.sim, "DELETE /services/data/v62.0/composite/sobjects") == deletes + 1);
  CHECK(campaign_members(f.sim, id) == std::set<std::string>{contact_id(1), contact_id(4), contact_id(5)});

  // The campaign deleted outside omnisync: not_found, so the writer can recreate it.
  f.sim.admin("DELETE", "/admin/salesforce/Campaign/" + id);
  auto gone = h.run(h.c->change_membership(spec, id, {{10, contact_id(6), true}}));
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error() == omnisync::errc::not_found);
}

// bench/segments/membership_calls.sh: API calls for 10,000 membership changes (5,000 inserts, then 5,000
// deletions of the rows the inserts answered: a delete per 200) against the floor of one call per 200.
TEST_CASE("Salesforce membership: calls per 10,000 changes", "[.bench][segments]") {
  fixture f(6000);
  harness h(f.cfg);
  audience_spec spec{"bench", "Bench", false};
  auto id = h.run(h.c->ensure_audience(spec));
  REQUIRE(id.has_value());
  const auto before = calls(f.sim, "/services/data");
  change_10000(h, spec, *id, [](int i) { return contact_id(i); });
  const auto n = calls(f.sim, "/services/data") - before;
  std::printf("BENCH salesforce changes=10000 calls=%lld floor=%d\n", static_cast<long long>(n), 10000 / 200);
}
