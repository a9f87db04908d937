// Segment membership sync end to end with real processes: omnisync-sim (HubSpot, ActiveCampaign, Salesforce),
// omnisyncd and omnisyncctl. Membership writes (`segment:<key>` outbox entries, as the segment runtime queues
// them) are put in the daemon's store while it is stopped, then the daemon sends them: the HubSpot list, the
// ActiveCampaign tag and the Salesforce campaign end up holding exactly the members; a member someone else added
// to the list is never removed (not omnisync's); a record HubSpot reports missing is dead-lettered with HubSpot's
// words; a mass removal beyond `max_churn_per_run` trips the safety brake (nothing removed, the segment held);
// `segment release` sends the held removals once, audited with the caller; what it cannot release is refused.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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

/// Requests `service` took (the simulator's request log, which must not have wrapped) whose method is `method` and
/// whose target contains `needle`.
int requests_to(running_sim& sim, const std::string& service, const std::string& method, const std::string& needle) {
  int n = 0;
  const auto log = sim.admin("GET", "/admin/requests").json();  // kept alive over the loop
  REQUIRE(log.as_array().size() < 10000);
  for (const auto& e : log.as_array())
    if (e.at("service").as_string() == service && e.at("direction").as_string() == "in" &&
        e.at("method").as_string() == method &&
        std::string_view(e.at("target").as_string()).find(needle) != std::string_view::npos)
      ++n;
  return n;
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
  // The removal deleted the contactTag its add answered (its id stored with the member): contact 2's tags were
  // never looked up.
  CHECK(requests_to(sim, "activecampaign", "DELETE", "/api/3/contactTags/") == 1);
  CHECK(requests_to(sim, "activecampaign", "GET", "/contactTags") == 0);
  REQUIRE(d.proc->wait_stderr_contains("membership sync of segment vip is held", 30s));
  CHECK(d.proc->stderr_text().find("not added by omnisync") != std::string::npos);
  CHECK(sf_campaign(sim) == sf_members);  // the brake held every removal
  const auto metrics = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics");
  CHECK(metrics.body.find("omnisync_segment_sync_paused{connector=\"sf\",segment=\"vip\"} 1") != std::string::npos);
  CHECK(d.status().at("connectors").at("sf").at("segment_sync_held").as_object().contains("vip"));
  // Held writes are re-checked (capped backoff, the first after 2 x write_retry = 4 s) without using up an
  // attempt: they never reached Salesforce. After the hold's claim and a re-check (six claims of the three
  // writes), `plan` shows each with 0 attempts and why it waits; counted, they would show 2 and, held long
  // enough, reach a release or reload with too little retry budget left.
  const auto sf_retried = [&] {
    return d.status().at("connectors").at("sf").at("writes").at("retried").as_int64();
  };
  REQUIRE(eventually([&] { return sf_retried() >= 6; }, 30s));
  const auto held_attempts = [&] {
    std::vector<std::int64_t> out;
    const auto plan = ctl_json(d, {"plan", "sf"});  // kept alive over the loop
    for (const auto& c : plan.at("changes").as_array())
      if (c.at("object").as_string() == "segment:vip") {
        out.push_back(c.at("attempts").as_int64());
        if (const auto* e = c.as_object().if_contains("last_error"))
          CHECK(e->as_string() == "segment sync held: vip");
      }
    return out;
  };
  // eventually: a re-check in flight holds its claim (attempts 1) until it settles.
  REQUIRE(eventually([&] { return held_attempts() == std::vector<std::int64_t>{0, 0, 0}; }, 10s));
  CHECK(sf_campaign(sim) == sf_members);

  // Phase 3: `segment release`. What it cannot do is refused, non-zero, and changes nothing: an unknown segment
  // (1), a connector that is not one of its destinations (2: usage), a destination that is not held (1).
  CHECK(d.ctl({"segment", "release", "nosuch"}).exit_code == 1);
  CHECK(d.ctl({"segment", "release", "vip", "--connector", "zz"}).exit_code == 2);
  const auto not_held = d.ctl({"segment", "release", "vip", "--connector", "hs"});
  CHECK(not_held.exit_code == 1);
  CHECK(not_held.err.find("not held") != std::string::npos);
  CHECK(d.status().at("connectors").at("sf").at("segment_sync_held").as_object().contains("vip"));
  CHECK(sf_campaign(sim) == sf_members);
  // The release: the three held removals are sent (once, past the brake); the hold, gauge and status clear.
  // A release lasts until its writes settle: here Salesforce refuses the deletes (503) and the daemon restarts
  // meanwhile; the restarted daemon sends them without holding them again.
  sim.admin("POST", "/admin/faults",
            R"({"service":"salesforce","method":"DELETE","path_glob":"*/composite/sobjects","kind":"status",)"
            R"("status":503,"count":-1})");
  const auto released = ctl_json(d, {"segment", "release", "vip", "--connector", "sf"});
  INFO(boost::json::serialize(released));
  REQUIRE(released.at("released").as_array().size() == 1);
  CHECK(released.at("released").as_array()[0].at("connector").as_string() == "sf");
  CHECK(released.at("released").as_array()[0].at("writes").as_int64() == 3);
  CHECK(released.at("by").as_string().starts_with("uid "));
  const auto refused_deletes = [&] {  // the deletes Salesforce answered 503 (the simulator's request log)
    int n = 0;
    const auto log = sim.admin("GET", "/admin/requests").json();  // kept alive over the loop
    for (const auto& e : log.as_array())
      if (e.at("method").as_string() == "DELETE" && e.at("status").to_number<int>() == 503 &&
          std::string_view(e.at("target").as_string()).find("/composite/sobjects") != std::string_view::npos)
        ++n;
    return n;
  };
  REQUIRE(eventually([&] { return refused_deletes() >= 1; }, 30s));  // sent past the brake, and refused
  CHECK(d.status().at("connectors").at("sf").at("segment_sync_held").as_object().empty());
  const auto after = omnisync::test::sim::http("GET", "http://127.0.0.1:" + std::to_string(d.port) + "/metrics");
  CHECK(after.body.find("omnisync_segment_sync_paused{connector=\"sf\",segment=\"vip\"} 0") != std::string::npos);
  CHECK(sf_campaign(sim) == sf_members);
  REQUIRE(d.stop() == 0);
  sim.admin("DELETE", "/admin/faults");
  d.start();
  REQUIRE(eventually([&] { return sf_campaign(sim).empty(); }, 30s));
  // The CampaignMember ids the inserts answered were stored and deleted as they were: no SOQL look-up of them.
  CHECK(requests_to(sim, "salesforce", "GET", "CampaignMember") == 0);
  CHECK(d.proc->stderr_text().find("released before the restart are still queued") != std::string::npos);
  CHECK(d.proc->stderr_text().find("is held") == std::string::npos);
  CHECK(d.status().at("connectors").at("sf").at("segment_sync_held").as_object().empty());
  // The audit log has who released what, and the three removals sent.
  const auto audit = ctl_json(d, {"audit", "--connector", "sf", "--field", "sync_hold"});
  REQUIRE(audit.at("items").as_array().size() == 1);
  const auto& entry = audit.at("items").as_array()[0].as_object();
  CHECK(entry.at("outcome").as_string() == "released");
  CHECK(entry.at("object").as_string() == "segment:vip");
  CHECK(std::string(entry.at("source").as_string()).starts_with("control:uid "));
  CHECK(std::string(entry.at("rule").as_string()).find("released by uid ") != std::string::npos);
  REQUIRE(eventually([&] {
    const auto removed = ctl_json(d, {"audit", "--connector", "sf", "--field", "membership"});
    int n = 0;
    for (const auto& it : removed.at("items").as_array())
      if (it.at("after").as_string() == "removed" && it.at("outcome").as_string() == "written") ++n;
    return n == 3;
  }, 10s));
  // Released once: nothing is held any more, so a second release has nothing to do.
  CHECK(d.ctl({"segment", "release", "vip"}).exit_code == 1);
  REQUIRE(d.stop() == 0);
  // The settled release is no longer stored: a later restart lets nothing past the brake.
  omnisync::store::options o;
  o.state_dir = d.state;
  auto s = omnisync::store::open_store(o);
  REQUIRE(s.has_value());
  const auto kept = omnisync::store::wait((*s)->meta_get("segment.released.vip/sf"));
  REQUIRE(kept.has_value());
  CHECK((!*kept || (*kept)->empty()));
}

namespace {

std::set<std::string> hubspot_list_named(running_sim& sim, const std::string& name) {
  std::set<std::string> out;
  const auto doc = sim.admin("GET", "/admin/hubspot/lists").json();
  for (const auto& l : doc.as_array())
    if (l.at("name").as_string() == name)
      for (const auto& m : l.at("members").as_array())
        out.emplace(m.is_string() ? std::string(m.as_string()) : std::to_string(m.to_number<std::int64_t>()));
  return out;
}

std::set<std::string> stored_members(daemon_run& d, const std::string& key) {
  std::set<std::string> out;
  const auto reply = ctl_json(d, {"segment", "members", key});  // kept: the loop runs over its items
  for (const auto& m : reply.at("items").as_array()) out.emplace(m.at("profile").as_string());
  return out;
}

/// The membership changes omnisync sent to `connector` (its audit log): "added <member>" / "removed <member>".
std::multiset<std::string> sent_changes(daemon_run& d, const std::string& connector) {
  std::multiset<std::string> out;
  const auto audit = ctl_json(d, {"audit", "--connector", connector, "--field", "membership", "--limit", "1000"});
  for (const auto& it : audit.at("items").as_array())
    if (it.at("outcome").as_string() == "written")
      out.insert(std::string(it.at("after").as_string()) + " " + std::string(it.at("record").as_string()));
  return out;
}

}  // namespace

TEST_CASE("segment pause keeps the destination as it was while transitions happen, resume catches it up exactly, "
          "a release lets held removals through once",
          "[pipeline][segments]") {
  running_sim sim(std::vector<std::string>{"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  {
    std::ofstream f(d.config);
    f << daemon_config(free_port(),
                       "segments:\n"
                       "  acme:\n"
                       "    where: 'company == \"Acme\"'\n"
                       "    sync:\n"
                       "      - { connector: hs, list: Acme people, max_churn_per_run: 1 }\n") +
             hubspot_block(sim, "contacts");
  }
  // Four people in HubSpot, three of them at Acme.
  std::map<std::string, std::string> id;  // name -> HubSpot contact id
  for (const auto& [name, company] : std::vector<std::pair<std::string, std::string>>{
           {"ann", "Acme"}, {"bob", "Acme"}, {"cy", "Acme"}, {"dee", "Other"}}) {
    const auto c = sim.admin("POST", "/admin/hubspot/contacts",
                             R"({"properties":{"firstname":")" + name + R"(","lastname":"Pause","email":")" + name +
                                 R"(@pause.example","company":")" + company + R"("}})")
                       .json();
    id[name] = std::string(c.at("id").as_string());
  }
  d.start();
  const std::string list = "Acme people";
  REQUIRE(eventually([&] { return hubspot_list_named(sim, list) == std::set<std::string>{id["ann"], id["bob"], id["cy"]}; },
                     60s));
  const auto profile_of = [&](const std::string& name) {
    return std::string(d.profile({"get", name + "@pause.example"}).at("id").as_string());
  };
  const auto company = [&](const std::string& name, const std::string& value) {
    sim.admin("PATCH", "/admin/hubspot/contacts/" + id[name], R"({"properties":{"company":")" + value + R"("}})");
  };
  REQUIRE(eventually([&] { return sent_changes(d, "hs").size() == 3; }, 10s));
  const auto before = sent_changes(d, "hs");

  // Paused: ann leaves, dee enters, bob leaves and comes back; the stored membership follows each step, the list
  // does not change.
  REQUIRE(d.ctl({"segment", "pause", "acme"}).exit_code == 0);
  const auto membership_calls = calls_to(sim, "memberships/add-and-remove");
  company("ann", "Other");
  company("dee", "Acme");
  company("bob", "Globex");
  REQUIRE(eventually([&] {
    const auto m = stored_members(d, "acme");
    return m == std::set<std::string>{profile_of("cy"), profile_of("dee")};
  }, 30s));
  company("bob", "Acme");
  REQUIRE(eventually([&] {
    return stored_members(d, "acme") == std::set<std::string>{profile_of("bob"), profile_of("cy"), profile_of("dee")};
  }, 30s));
  CHECK(hubspot_list_named(sim, list) == std::set<std::string>{id["ann"], id["bob"], id["cy"]});
  CHECK(calls_to(sim, "memberships/add-and-remove") == membership_calls);
  const auto preview = ctl_json(d, {"segment", "preview", "acme"});
  INFO(boost::json::serialize(preview));
  CHECK(preview.at("destinations").as_array()[0].at("adds").as_int64() == 1);
  CHECK(preview.at("destinations").as_array()[0].at("removes").as_int64() == 1);

  // Resume: the catch-up queues exactly what preview showed (dee in, ann out; nothing for bob), and the list
  // ends holding the members, each change sent once.
  const auto resumed = ctl_json(d, {"segment", "resume", "acme"});
  INFO(boost::json::serialize(resumed));
  REQUIRE(resumed.at("queued").as_array().size() == 1);
  CHECK(resumed.at("queued").as_array()[0].at("adds").as_int64() == 1);
  CHECK(resumed.at("queued").as_array()[0].at("removes").as_int64() == 1);
  REQUIRE(eventually([&] { return hubspot_list_named(sim, list) == std::set<std::string>{id["bob"], id["cy"], id["dee"]}; },
                     30s));
  REQUIRE(eventually([&] { return sent_changes(d, "hs").size() == before.size() + 2; }, 10s));
  std::this_thread::sleep_for(std::chrono::seconds(2));  // a few more poll and writer turns: nothing else is sent
  auto after = sent_changes(d, "hs");
  for (const auto& c : before) after.erase(after.find(c));
  CHECK(after == std::multiset<std::string>{"added " + id["dee"], "removed " + id["ann"]});
  CHECK(calls_to(sim, "memberships/add-and-remove") - membership_calls <= 2);  // one chunk (two if claimed apart)
  // Desired against acknowledged: nothing left to send.
  const auto settled = ctl_json(d, {"segment", "preview", "acme"});
  INFO(boost::json::serialize(settled));
  const auto& dest = settled.at("destinations").as_array()[0].as_object();
  CHECK(dest.at("acknowledged").as_int64() == 3);
  CHECK(dest.at("adds").as_int64() == 0);
  CHECK(dest.at("removes").as_int64() == 0);

  // A release lets the held writes through once; changes queued after it obey the brake again. Two people leave
  // in one page (HubSpot paused while they change, so one poll reads both): two removals at once, more than
  // max_churn_per_run 1 — held.
  const auto leave_together = [&](const std::string& a, const std::string& b) {
    REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);
    company(a, "Other");
    company(b, "Other");
    REQUIRE(d.ctl({"resume", "hs"}).exit_code == 0);
  };
  const auto held = [&] {
    return d.status().at("connectors").at("hs").at("segment_sync_held").as_object().contains("acme");
  };
  leave_together("bob", "cy");
  REQUIRE(eventually(held, 30s));
  CHECK(ctl_json(d, {"segment", "show", "acme"}).at("held").as_object().contains("hs"));
  CHECK(hubspot_list_named(sim, list) == std::set<std::string>{id["bob"], id["cy"], id["dee"]});
  const auto released = ctl_json(d, {"segment", "release", "acme"});
  INFO(boost::json::serialize(released));
  CHECK(released.at("released").as_array()[0].at("writes").as_int64() == 2);
  REQUIRE(eventually([&] { return hubspot_list_named(sim, list) == std::set<std::string>{id["dee"]}; }, 30s));
  CHECK_FALSE(held());
  // Two come back (adds: no brake), then leave together again: held again, nothing removed.
  company("ann", "Acme");
  company("bob", "Acme");
  REQUIRE(eventually([&] { return hubspot_list_named(sim, list) == std::set<std::string>{id["ann"], id["bob"], id["dee"]}; },
                     30s));
  leave_together("ann", "bob");
  REQUIRE(eventually(held, 30s));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  CHECK(hubspot_list_named(sim, list) == std::set<std::string>{id["ann"], id["bob"], id["dee"]});
  REQUIRE(d.stop() == 0);
}
