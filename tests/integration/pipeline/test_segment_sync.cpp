// Segment membership sync end to end with real processes: omnisync-sim (HubSpot, ActiveCampaign, Salesforce),
// omnisyncd and omnisyncctl. Membership writes (`segment:<key>` outbox entries, as the segment runtime queues
// them) are put in the daemon's store while it is stopped, then the daemon sends them: the HubSpot list, the
// ActiveCampaign tag and the Salesforce campaign end up holding exactly the members; a member someone else added
// to the list is never removed (not omnisync's); a record HubSpot reports missing is dead-lettered with HubSpot's
// words; a mass removal beyond `max_churn_per_run` trips the safety brake (nothing removed, the segment held).
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "tests/integration/pipeline/pipeline_support.hpp"

using namespace omnisync::test::pipeline;
using omnisync::test::sim::running_sim;

namespace {

std::string sf_contact(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "003%012dAAA", i);
  return buf;
}

/// Membership writes as the segment runtime queues them (SEAMS: payload {op, segment, list, resubscribe}).
struct pending {
  std::string connector, member, profile;
  bool add = true;
};

void enqueue(const std::filesystem::path& state, const std::vector<pending>& list) {
  omnisync::store::options o;
  o.state_dir = state;
  auto s = omnisync::store::open_store(o);
  REQUIRE(s.has_value());
  std::vector<omnisync::store::outbox_write> writes;
  for (const auto& p : list) {
    boost::json::object payload{{"op", p.add ? "add" : "remove"}, {"segment", "vip"}, {"list", "VIP"},
                                {"resubscribe", false}};
    omnisync::store::outbox_write w(p.connector, "segment:vip", p.profile, boost::json::serialize(payload));
    w.target_id = p.member;
    w.profile_id = p.profile;
    writes.push_back(std::move(w));
  }
  REQUIRE(omnisync::store::wait((*s)->outbox_enqueue(std::move(writes), std::nullopt)).has_value());
}

std::set<std::string> hubspot_list(running_sim& sim) {
  std::set<std::string> out;
  const auto doc = sim.admin("GET", "/admin/hubspot/lists").json();
  for (const auto& l : doc.as_array())
    if (l.at("name").as_string() == "VIP")
      for (const auto& m : l.at("members").as_array()) out.emplace(m.as_string());
  return out;
}

std::set<std::string> ac_tag(running_sim& sim) {
  std::string tag;
  const auto tags = sim.admin("GET", "/admin/activecampaign/tags").json();
  for (const auto& t : tags.as_array())
    if (t.at("tag").as_string() == "VIP") tag = std::string(t.at("id").as_string());
  std::set<std::string> out;
  const auto cts = sim.admin("GET", "/admin/activecampaign/contactTags").json();
  for (const auto& ct : cts.as_array())
    if (!tag.empty() && ct.at("tag").as_string() == tag) out.emplace(ct.at("contact").as_string());
  return out;
}

std::set<std::string> sf_campaign(running_sim& sim) {
  std::string campaign;
  const auto cs = sim.admin("GET", "/admin/salesforce/Campaign").json();
  for (const auto& c : cs.as_array())
    if (c.at("Name").as_string() == "VIP" && !c.at("IsDeleted").as_bool()) campaign = std::string(c.at("Id").as_string());
  std::set<std::string> out;
  const auto ms = sim.admin("GET", "/admin/salesforce/CampaignMember").json();
  for (const auto& m : ms.as_array())
    if (!m.at("IsDeleted").as_bool() && m.at("CampaignId").as_string() == campaign)
      out.emplace(m.at("ContactId").as_string());
  return out;
}

std::string config(running_sim& sim, int port) {
  const std::string segments =
      "segments:\n"
      "  vip:\n"
      "    where: \"kpi.lifetime_value >= 5000\"\n"
      "    sync:\n"
      "      - { connector: hs, list: VIP }\n"
      "      - { connector: ac, list: VIP }\n"
      "      - { connector: sf, list: VIP, max_churn_per_run: 2 }\n";
  return daemon_config(port, segments) + hubspot_block(sim) + salesforce_block(sim) +
         connector_head(sim, "ac", "activecampaign", "base_url", "contacts") +
         "    auth: { api_token: ac-test-token }\n"
         "    rate_limit: { per_second: 1000 }\n";
}

}  // namespace

TEST_CASE("segment membership reaches the HubSpot list, the ActiveCampaign tag and the Salesforce campaign",
          "[pipeline][segments]") {
  running_sim sim(std::vector<std::string>{"--size", "40"});
  lift_limits(sim);
  sim.admin("POST", "/admin/limits", R"({"service":"activecampaign","per_second":100000})");
  daemon_run d;
  d.port = free_port();
  {
    std::ofstream f(d.config);
    f << config(sim, d.port);
  }
  const std::set<std::string> hs_members{"1", "2", "3"}, ac_members{"1", "2", "3"};
  std::set<std::string> sf_members;
  std::vector<pending> adds;
  for (int i = 1; i <= 3; ++i) {
    const auto n = std::to_string(i);
    adds.push_back({"hs", n, "p" + n});
    adds.push_back({"ac", n, "p" + n});
    adds.push_back({"sf", sf_contact(i), "p" + n});
    sf_members.insert(sf_contact(i));
  }
  adds.push_back({"hs", "987654321", "p-missing"});  // no such HubSpot contact
  enqueue(d.state, adds);
  d.start();

  REQUIRE(eventually([&] { return hubspot_list(sim) == hs_members; }));
  REQUIRE(eventually([&] { return ac_tag(sim) == ac_members; }));
  REQUIRE(eventually([&] { return sf_campaign(sim) == sf_members; }));
  // The refused add is a dead letter with HubSpot's reason.
  REQUIRE(eventually([&] {
    auto r = d.ctl({"--json", "dlq", "list"});
    return r.exit_code == 0 && r.out.find("recordIdsMissing") != std::string::npos &&
           r.out.find("segment:vip") != std::string::npos;
  }));

  // Someone adds contact 7 to the list in HubSpot: it is not omnisync's to remove.
  const auto list_id = [&] {
    const auto doc = sim.admin("GET", "/admin/hubspot/lists").json();
    return std::string(doc.as_array()[0].at("listId").as_string());
  }();
  auto put = omnisync::test::sim::http("PUT", sim.url("hubspot", "http") + "/crm/v3/lists/" + list_id +
                                                  "/memberships/add-and-remove",
                                       R"({"recordIdsToAdd":["7"],"recordIdsToRemove":[]})",
                                       {"Content-Type: application/json", "Authorization: Bearer pat-human"});
  REQUIRE(put.status == 200);
  REQUIRE(d.stop() == 0);

  // Phase 2: contact 2 leaves; a removal of 7 (never added by omnisync); three Salesforce removals at once, more
  // than max_churn_per_run (2).
  enqueue(d.state, {{"hs", "2", "p2", false},
                    {"hs", "7", "p7", false},
                    {"ac", "2", "p2", false},
                    {"sf", sf_contact(1), "p1", false},
                    {"sf", sf_contact(2), "p2", false},
                    {"sf", sf_contact(3), "p3", false}});
  d.start();
  REQUIRE(eventually([&] { return hubspot_list(sim) == std::set<std::string>{"1", "3", "7"}; }));
  REQUIRE(eventually([&] { return ac_tag(sim) == std::set<std::string>{"1", "3"}; }));
  REQUIRE(d.proc->wait_stderr_contains("membership sync of segment vip is held", 30s));
  CHECK(d.proc->stderr_text().find("not added by omnisync") != std::string::npos);
  CHECK(sf_campaign(sim) == sf_members);  // the brake held every removal
  const auto metrics = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics");
  CHECK(metrics.body.find("omnisync_segment_sync_paused{connector=\"sf\",segment=\"vip\"} 1") != std::string::npos);
  REQUIRE(d.stop() == 0);
}
