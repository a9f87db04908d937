// The 360 view end to end, with real processes: omnisync-sim serving Salesforce, HubSpot and Zendesk
// over HTTPS, omnisyncd with the shipped mappings, all three connectors writable, steered with omnisyncctl. One
// person in two systems becomes one profile; changes and KPIs propagate to every system without duplicates or
// ping-pong; the declared survivorship rules decide conflicts; generic e-mails do not merge people; split and
// restore keep ids stable; kill -9 with writes pending ends in the fault-free state.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <functional>
#include <thread>

#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/integration/pipeline/pipeline_support.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::binary;
using omnisync::test::process;
using omnisync::test::run;
using omnisync::test::run_result;
using omnisync::test::temp_dir;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

// ---- helpers (the daemon/simulator plumbing is in pipeline_support.hpp) ------------------------------------------

/// sf (Contact, Opportunity, Case), hs (contacts, deals) and zd (users, tickets, ratings), all writable.
/// `top` is added at the top level (identity:, survivorship:, ...).
std::string config_text(running_sim& sim, const std::string& top = "", const std::string& hs_sync = "",
                        const std::string& zd_sync = "") {
  return daemon_config(free_port(), top, std::getenv("OMNISYNC_TEST_DUMP_LOG") ? "debug" : "info") +
         salesforce_block(sim, "Contact, Opportunity, Case") +
         hubspot_block(sim, "contacts, deals", hs_sync.empty() ? std::string() : "    sync: { " + hs_sync + " }\n") +
         zendesk_block(sim, "users, tickets, satisfaction_ratings",
                       "    sync: { job_poll_interval: 100ms" + (zd_sync.empty() ? std::string() : ", " + zd_sync) + " }\n");
}

/// Every write call to the three systems (Salesforce sObject Collections, HubSpot batches, Zendesk bulk users).
std::int64_t write_calls(running_sim& sim) {
  return calls_to(sim, "composite/sobjects") + calls_to(sim, "batch/upsert") + calls_to(sim, "batch/update") +
         calls_to(sim, "batch/create") + calls_to(sim, "update_many");
}

/// Every connector read everything, and nothing is waiting to be processed or written.
bool settled(daemon_run& d) {
  auto st = d.status();
  const auto& store = st.at("store").as_object();
  if (store.at("outbox_depth").as_int64() != 0 || store.at("inbox_depth").as_int64() != 0) return false;
  for (const auto& [name, c] : st.at("connectors").as_object())
    for (const auto& o : c.as_object().at("objects_status").as_array())
      if (o.as_object().at("pages").as_int64() == 0 || o.as_object().at("phase").as_string() != "idle") return false;
  return true;
}

/// Settled and stays settled for a few poll intervals (a write's read-back may still be on its way).
bool quiet(daemon_run& d, running_sim& sim) {
  if (!settled(d)) return false;
  const auto w = write_calls(sim);
  std::this_thread::sleep_for(1s);
  return settled(d) && write_calls(sim) == w;
}

std::string text(const json::value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

std::string id_text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_int64()) return std::to_string(v.as_int64());
  return {};
}

/// The records of one object in the simulator whose e-mail (any case) is `email`.
std::vector<json::object> salesforce_contacts(running_sim& sim, const std::string& email) {
  std::vector<json::object> out;
  const auto all = sim.admin("GET", "/admin/salesforce/Contact").json();
  for (const auto& r : all.as_array())
    if (lower(text(r.as_object().if_contains("Email"))) == lower(email)) out.push_back(r.as_object());
  return out;
}
std::vector<json::object> hubspot_contacts(running_sim& sim, const std::string& email) {
  std::vector<json::object> out;
  const auto all = sim.admin("GET", "/admin/hubspot/contacts").json();
  for (const auto& r : all.as_array()) {
    const auto& o = r.as_object();
    if (o.contains("archived") && o.at("archived").is_bool() && o.at("archived").as_bool()) continue;
    if (lower(text(o.at("properties").as_object().if_contains("email"))) == lower(email)) out.push_back(o);
  }
  return out;
}
std::vector<json::object> zendesk_users(running_sim& sim, const std::string& email) {
  std::vector<json::object> out;
  const auto all = sim.admin("GET", "/admin/zendesk/users").json();
  for (const auto& r : all.as_array())
    if (lower(text(r.as_object().if_contains("email"))) == lower(email)) out.push_back(r.as_object());
  return out;
}

/// "system:object:id" of each record a profile reply lists.
std::vector<std::string> members(const json::object& p) {
  std::vector<std::string> out;
  if (const auto* rs = p.if_contains("records"))
    for (const auto& r : rs->as_array()) {
      const auto& o = r.as_object();
      out.push_back(std::string(o.at("system").as_string()) + ":" + std::string(o.at("object").as_string()) + ":" +
                    id_text(o.at("id")));
    }
  return out;
}
bool has_member(const json::object& p, const std::string& key) {
  auto m = members(p);
  return std::find(m.begin(), m.end(), key) != m.end();
}
bool has_system(const json::object& p, const std::string& system) {
  for (const auto& m : members(p))
    if (m.rfind(system + ":", 0) == 0) return true;
  return false;
}

/// Ann K., created in Salesforce and in HubSpot with different e-mail casing and phone formats.
struct ann_ids {
  std::string sf, hs;
};
ann_ids create_ann(running_sim& sim, const std::string& hs_extra = "") {
  auto sf = sim.admin("POST", "/admin/salesforce/Contact",
                      R"({"FirstName":"Ann","LastName":"Kowalski","Email":"Ann.K@Example.com","Phone":"(415) 555-0101"})")
                .json();
  auto hs = sim.admin("POST", "/admin/hubspot/contacts",
                      R"({"properties":{"firstname":"Ann","lastname":"Kowalski","email":"ann.k@example.com",)"
                      R"("phone":"+1 415 555 0101")" + hs_extra + "}}")
                .json();
  return {std::string(sf.at("Id").as_string()), id_text(hs.at("id"))};
}

/// The profile holding both of Ann's records and the Zendesk user omnisync created for her.
json::object wait_for_ann(daemon_run& d, const ann_ids& ann) {
  json::object p;
  const bool ok = eventually([&] {
    p = d.profile({"get", "ann.k@example.com"});
    return has_member(p, "sf:Contact:" + ann.sf) && has_member(p, "hs:contacts:" + ann.hs) && has_system(p, "zd");
  }, 90s);
  INFO(json::serialize(p));
  REQUIRE(ok);
  return p;
}

const std::string ann_email = "ann.k@example.com";

/// Creates Ann in both systems, with HubSpot paused until Salesforce's record is in the book, so her profile is
/// founded by the Salesforce Contact. (Read the other way round, the HubSpot-only profile upserts a new Contact
/// on Omnisync_Id__c before the existing one is read: the race the initial-sync case below shows.)
ann_ids create_ann_sf_first(daemon_run& d, running_sim& sim, const std::string& hs_extra = "") {
  REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);
  auto ann = create_ann(sim, hs_extra);
  REQUIRE(eventually([&] { return !d.profile({"get", "sf:Contact:" + ann.sf}).empty(); }, 30s));
  REQUIRE(d.ctl({"resume", "hs"}).exit_code == 0);
  return ann;
}

/// Salesforce Contacts the sf connector has read so far (status objects_status records_read).
std::int64_t contacts_read(daemon_run& d) {
  auto st = d.status();
  for (const auto& o : st.at("connectors").at("sf").at("objects_status").as_array())
    if (o.as_object().at("object").as_string() == "Contact") return o.as_object().at("records_read").as_int64();
  return -1;
}

std::int64_t ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

/// The golden value of `attr` in a profile reply ("" when absent or not text).
std::string golden(const json::object& p, const std::string& attr) {
  const auto* g = p.if_contains("golden");
  if (!g || !g->is_object()) return {};
  const auto* a = g->as_object().if_contains(attr);
  if (!a || !a->is_object()) return {};
  return text(a->as_object().if_contains("value"));
}

}  // namespace


TEST_CASE("profiles: one person in Salesforce and HubSpot becomes one profile, changes and ticket KPIs reach every "
          "system once, nothing ping-pongs, HubSpot owns the source stage and one lifecycle_stage is shown and written",
          "[profiles]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();
  REQUIRE(eventually([&] { return settled(d); }, 60s));

  // 1. One profile: both records (e-mail casing and phone format differ) and the Zendesk user omnisync created.
  auto t = std::chrono::steady_clock::now();
  const auto ann = create_ann_sf_first(d, sim);
  auto p = wait_for_ann(d, ann);
  WARN("1. one profile of three records after " << ms_since(t) << " ms");
  const std::string pid(p.at("id").as_string());
  CHECK(text(d.profile({"get", "sf:Contact:" + ann.sf}).if_contains("id")) == pid);
  CHECK(text(d.profile({"get", "hs:" + ann.hs}).if_contains("id")) == pid);
  CHECK(text(d.profile({"get", "Ann.K@Example.com"}).if_contains("id")) == pid);
  {
    auto why = d.profile({"explain", ann_email});
    INFO(json::serialize(why));
    // The links form a tree over the three records; which identifier links which pair depends on the order they
    // arrived in (the profile id omnisync wrote back is one): each of Salesforce and HubSpot is linked by one.
    bool sf_linked = false, hs_linked = false;
    for (const auto& e : why.at("edges").as_array()) {
      const auto& o = e.as_object();
      const std::string from(o.at("from").at("system").as_string()), to(o.at("to").at("system").as_string());
      const std::string rule(o.at("rule").as_string());
      if (rule != "email" && rule != "phone" && rule != "omnisync_id") continue;
      sf_linked = sf_linked || from == "sf" || to == "sf";
      hs_linked = hs_linked || from == "hs" || to == "hs";
    }
    CHECK(sf_linked);
    CHECK(hs_linked);
  }
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  REQUIRE(zendesk_users(sim, ann_email).size() == 1);
  CHECK(text(zendesk_users(sim, ann_email)[0].if_contains("external_id")) == pid);
  CHECK(salesforce_contacts(sim, ann_email).size() == 1);
  CHECK(hubspot_contacts(sim, ann_email).size() == 1);

  // 2. A HubSpot change reaches the same Salesforce Contact (by id, no duplicate) and the Zendesk user.
  t = std::chrono::steady_clock::now();
  sim.admin("PATCH", "/admin/hubspot/contacts/" + ann.hs, R"({"properties":{"firstname":"Annabel"}})");
  REQUIRE(eventually([&] {
    auto c = salesforce_contacts(sim, ann_email);
    auto u = zendesk_users(sim, ann_email);
    return c.size() == 1 && text(c[0].if_contains("FirstName")) == "Annabel" && u.size() == 1 &&
           text(u[0].if_contains("name")) == "Annabel Kowalski";
  }, 30s));
  WARN("2. HubSpot change in Salesforce and Zendesk after " << ms_since(t) << " ms");
  CHECK(text(salesforce_contacts(sim, ann_email)[0].if_contains("Id")) == ann.sf);
  CHECK(golden(d.profile({"get", ann_email}), "first_name") == "Annabel");

  // 3. An open Zendesk ticket for her user: the profile counts it, Salesforce and HubSpot get the KPI.
  const auto zd_user = id_text(zendesk_users(sim, ann_email)[0].at("id"));
  REQUIRE(eventually([&] { return has_member(d.profile({"get", ann_email}), "zd:users:" + zd_user); }, 30s));
  t = std::chrono::steady_clock::now();
  sim.admin("POST", "/admin/zendesk/tickets",
            R"({"ticket":{"subject":"Cannot log in","status":"open","requester_id":)" + zd_user + "}}");
  REQUIRE(eventually([&] {
    auto c = salesforce_contacts(sim, ann_email);
    auto h = hubspot_contacts(sim, ann_email);
    if (c.size() != 1 || h.size() != 1) return false;
    const auto* sf_open = c[0].if_contains("Open_Tickets__c");
    return sf_open && sf_open->is_number() && sf_open->to_number<double>() == 1.0 &&
           text(h[0].at("properties").as_object().if_contains("omnisync_open_tickets")) == "1";
  }, 30s));
  WARN("3. ticket KPI in Salesforce and HubSpot after " << ms_since(t) << " ms");
  {
    auto now = d.profile({"get", ann_email});
    INFO(json::serialize(now));
    CHECK(now.at("kpis").at("open_tickets").to_number<double>() == 1.0);
    CHECK(now.at("kpis").at("total_tickets").to_number<double>() == 1.0);
    CHECK(text(now.if_contains("id")) == pid);
  }

  // 4. Echoes stop: once settled, the polls keep reading omnisync's own writes back and write nothing.
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  const auto writes = write_calls(sim);
  CHECK(writes > 0);
  std::this_thread::sleep_for(3s);
  CHECK(write_calls(sim) == writes);
  // (phase is sampled: a poll may be in flight at this instant; it must be idle again within a cycle)
  CHECK(eventually([&] { return settled(d); }, 5s));
  CHECK(salesforce_contacts(sim, ann_email).size() == 1);
  CHECK(hubspot_contacts(sim, ann_email).size() == 1);
  CHECK(zendesk_users(sim, ann_email).size() == 1);

  // 5. source_stage is HubSpot's (`owner: true`); lifecycle_stage, computed from it, is the one stage shown and
  // written: a Salesforce edit of it is corrected (purchase -> Customer).
  sim.admin("PATCH", "/admin/hubspot/contacts/" + ann.hs, R"({"properties":{"lifecyclestage":"customer"}})");
  REQUIRE(eventually([&] {
    auto c = salesforce_contacts(sim, ann_email);
    return c.size() == 1 && text(c[0].if_contains("Lifecycle_Stage__c")) == "Customer";
  }, 30s));
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  t = std::chrono::steady_clock::now();
  const auto sf_read = contacts_read(d);
  sim.admin("PATCH", "/admin/salesforce/Contact/" + ann.sf, R"({"Lifecycle_Stage__c":"Lead"})");
  REQUIRE(eventually([&] { return contacts_read(d) > sf_read; }, 30s));  // the Salesforce change was read
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  if (std::getenv("OMNISYNC_TEST_DUMP_LOG")) WARN(d.proc->stderr_text());  // the daemon's log, at debug level
  WARN("5. Salesforce lifecycle change read and settled after " << ms_since(t) << " ms; Salesforce's value now: "
                                                                 << text(salesforce_contacts(sim, ann_email)[0].if_contains("Lifecycle_Stage__c")));
  // Salesforce is given HubSpot's stage back: the Contact was read holding another value than omnisync last
  // wrote there, so the correcting write goes even though its payload equals the last one written.
  CHECK(eventually([&] {
    auto c = salesforce_contacts(sim, ann_email);
    return c.size() == 1 && text(c[0].if_contains("Lifecycle_Stage__c")) == "Customer";
  }, 10s));
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));  // corrected once, then no further writes
  {
    auto now = d.profile({"explain", ann_email, "source_stage"});
    INFO(json::serialize(now));
    REQUIRE(now.contains("attribute_golden"));
    const auto& g = now.at("attribute_golden").as_object();
    CHECK(text(g.if_contains("value")) == "purchase");
    CHECK(text(g.if_contains("decided_by")) == "owner");
    REQUIRE(g.at("from").as_array().size() >= 1);
    CHECK(text(g.at("from").as_array()[0].as_object().if_contains("system")) == "hs");
    CHECK(text(now.at("kpis").as_object().if_contains("lifecycle_stage")) == "purchase");
    CHECK_FALSE(now.at("golden").as_object().contains("lifecycle_stage"));  // one stage: the computed one
    CHECK(text(d.profile({"explain", ann_email, "lifecycle_stage"}).if_contains("attribute_computed")) == "purchase");
  }
  CHECK(text(hubspot_contacts(sim, ann_email)[0].at("properties").as_object().if_contains("lifecyclestage")) ==
        "customer");
  CHECK(d.status().at("store").at("dead_letters").as_int64() == 0);
  CHECK(d.stop() == 0);
}

TEST_CASE("profiles: a generic e-mail shared by two different people does not merge them", "[profiles]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  const std::string shared = "info@acme.example";
  const auto sf = std::string(sim.admin("POST", "/admin/salesforce/Contact",
                                        R"({"FirstName":"Ivy","LastName":"Stone","Email":"info@acme.example",)"
                                        R"("Phone":"(212) 555-0199"})")
                                  .json()
                                  .at("Id")
                                  .as_string());
  const auto hs = id_text(sim.admin("POST", "/admin/hubspot/contacts",
                                    R"({"properties":{"firstname":"Max","lastname":"Power",)"
                                    R"("email":"info@acme.example","phone":"+1 646 555 0142"}})")
                              .json()
                              .at("id"));
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();
  REQUIRE(eventually([&] {
    return !d.profile({"get", "sf:Contact:" + sf}).empty() && !d.profile({"get", "hs:contacts:" + hs}).empty();
  }, 60s));
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));

  auto ivy = d.profile({"explain", "sf:Contact:" + sf});
  auto max = d.profile({"explain", "hs:contacts:" + hs});
  INFO(json::serialize(ivy) << "\n" << json::serialize(max));
  CHECK(text(ivy.if_contains("id")) != text(max.if_contains("id")));
  CHECK_FALSE(has_member(ivy, "hs:contacts:" + hs));
  CHECK_FALSE(has_member(max, "sf:Contact:" + sf));
  CHECK(golden(ivy, "first_name") == "Ivy");
  CHECK(golden(max, "first_name") == "Max");
  // explain says why the shared address links nobody.
  bool listed = false;
  for (const auto& g : ivy.at("ignored").as_array())
    if (text(g.as_object().if_contains("attribute")) == "email" && lower(text(g.as_object().if_contains("value"))) == shared)
      listed = text(g.as_object().if_contains("reason")).find("generic") != std::string::npos;
  CHECK(listed);

  // Max is written to Salesforce as his own Contact (upsert on his profile id) and linked back by his phone;
  // Ivy's Contact is left alone.
  REQUIRE(eventually([&] { return salesforce_contacts(sim, shared).size() == 2 && quiet(d, sim); }, 30s));
  {
    auto m = d.profile({"get", "hs:contacts:" + hs});
    INFO(json::serialize(m));
    CHECK(m.at("records").as_array().size() == 2);
    CHECK(text(m.if_contains("id")) == text(max.if_contains("id")));
    CHECK(text(d.profile({"get", "sf:Contact:" + sf}).if_contains("id")) == text(ivy.if_contains("id")));
    for (const auto& c : salesforce_contacts(sim, shared))
      if (text(c.if_contains("Id")) == sf) CHECK(text(c.if_contains("FirstName")) == "Ivy");
  }
  // Neither is created where the upsert would match on the shared address: HubSpot upserts contacts by e-mail,
  // so Ivy there would overwrite Max's contact; Zendesk's create_or_update_many matches users by e-mail, so the
  // first one created would be overwritten by the other. Max's HubSpot contact stays his; status counts them.
  {
    auto h = hubspot_contacts(sim, shared);
    REQUIRE(h.size() == 1);
    CHECK(text(h[0].at("properties").as_object().if_contains("firstname")) == "Max");
    // His phone as he typed it: the same number in another format is no change to write back.
    CHECK(text(h[0].at("properties").as_object().if_contains("phone")) == "+1 646 555 0142");
    CHECK(zendesk_users(sim, shared).empty());
    const auto st = d.status();
    INFO(json::serialize(st));
    CHECK(st.at("profiles").at("withheld_creates").as_int64() >= 3);  // Ivy in hs and zd, Max in zd
    // Counted per destination and reason (the record a reason names left out, so equal reasons add up), and
    // logged as one summary line per destination and reason a minute, not one per profile.
    const auto& reasons = st.at("profiles").at("withheld_reasons").as_object();
    std::int64_t distinct = 0;
    for (const auto& kv : reasons) distinct += kv.value().as_int64();
    CHECK(distinct >= 3);
    CHECK(reasons.contains("zd/users: it is a generic address"));
    const std::string log = d.proc->stderr_text();
    std::size_t lines = 0;
    for (auto at = log.find("profile(s) not created in"); at != std::string::npos;
         at = log.find("profile(s) not created in", at + 1))
      ++lines;
    CHECK(lines >= 1);
    CHECK(lines <= reasons.size());
  }
  CHECK(d.stop() == 0);
}

TEST_CASE("profiles: split and restore keep profile ids stable", "[profiles]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();
  REQUIRE(eventually([&] { return settled(d); }, 60s));
  const auto ann = create_ann_sf_first(d, sim);
  auto p = wait_for_ann(d, ann);
  const std::string pid(p.at("id").as_string());
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));

  // The HubSpot record shares both identifiers with the others (as normalised: explain shows these values).
  const std::string hs_key = "hs:contacts:" + ann.hs;
  const std::vector<std::pair<std::string, std::string>> links{{"email", ann_email}, {"phone", "+14155550101"}};
  const auto t = std::chrono::steady_clock::now();
  for (const auto& [attr, value] : links) {
    auto r = d.ctl({"profile", "split", hs_key, "--record", hs_key, "--attribute", attr, "--value", value});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  auto hs_alone = d.profile({"get", hs_key});
  INFO(json::serialize(hs_alone));
  CHECK(!text(hs_alone.if_contains("id")).empty());
  CHECK(text(hs_alone.if_contains("id")) != pid);
  CHECK(text(d.profile({"get", "sf:Contact:" + ann.sf}).if_contains("id")) == pid);  // the founder keeps the id
  CHECK_FALSE(has_member(hs_alone, "sf:Contact:" + ann.sf));
  const std::string split_id = text(hs_alone.if_contains("id"));
  // The decision survives the split-off profile's own writes coming back.
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  CHECK(text(d.profile({"get", hs_key}).if_contains("id")) == split_id);
  WARN("split: settled after " << ms_since(t) << " ms; Salesforce contacts with her e-mail now "
                               << salesforce_contacts(sim, ann_email).size() << ", Zendesk users "
                               << zendesk_users(sim, ann_email).size());

  for (const auto& [attr, value] : links) {
    auto r = d.ctl({"profile", "restore", hs_key, "--record", hs_key, "--attribute", attr, "--value", value});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
  }
  auto again = d.profile({"get", hs_key});
  INFO(json::serialize(again));
  CHECK(text(again.if_contains("id")) == pid);
  CHECK(has_member(again, "sf:Contact:" + ann.sf));
  CHECK(text(d.profile({"get", ann_email}).if_contains("id")) == pid);
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  CHECK(text(d.profile({"get", hs_key}).if_contains("id")) == pid);
  CHECK(text(d.profile({"get", "sf:Contact:" + ann.sf}).if_contains("id")) == pid);
  // While split, the HubSpot profile was a person of its own and was created in Salesforce (upsert on its id);
  // after the restore that Contact stays, apart from her profile (same_object conflict).
  WARN("after restore: Salesforce contacts with her e-mail " << salesforce_contacts(sim, ann_email).size()
                                                            << ", Zendesk users " << zendesk_users(sim, ann_email).size());
  CHECK(d.stop() == 0);
}

TEST_CASE("profiles: kill -9 with many writes pending, then a restart, ends in the fault-free state", "[profiles]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();
  REQUIRE(eventually([&] { return settled(d); }, 60s));
  constexpr int people = 50;
  auto email = [](int i) { return "crash" + std::to_string(i) + "@example.com"; };
  std::vector<std::string> hs_ids;
  for (int i = 1; i <= people; ++i)
    hs_ids.push_back(id_text(sim.admin("POST", "/admin/hubspot/contacts",
                                       R"({"properties":{"firstname":"Before","lastname":"Crash)" + std::to_string(i) +
                                           R"(","email":")" + email(i) + R"("}})")
                                 .json()
                                 .at("id")));
  REQUIRE(eventually([&] { return zendesk_users(sim, "crash50@example.com").size() == 1 && quiet(d, sim); }, 90s));

  // Zendesk paused: its writes queue up. 50 HubSpot changes, then resume and kill -9 straight away.
  REQUIRE(d.ctl({"pause", "zd"}).exit_code == 0);
  for (int i = 1; i <= people; ++i)
    sim.admin("PATCH", "/admin/hubspot/contacts/" + hs_ids[i - 1], R"({"properties":{"firstname":"After"}})");
  REQUIRE(eventually([&] {
    auto st = d.status();
    return st.at("connectors").at("zd").at("outbox_depth").as_int64() >= people;
  }, 60s));
  REQUIRE(d.ctl({"resume", "zd"}).exit_code == 0);
  ::kill(d.proc->pid(), SIGKILL);
  REQUIRE(d.proc->wait(10s).has_value());
  std::size_t landed_before_restart = 0;  // how far the propagation got before the kill
  {
    const auto users = sim.admin("GET", "/admin/zendesk/users").json();
    for (const auto& u : users.as_array())
      if (text(u.as_object().if_contains("name")).rfind("After ", 0) == 0) ++landed_before_restart;
  }
  const auto t = std::chrono::steady_clock::now();
  d.start();
  REQUIRE(eventually([&] { return quiet(d, sim); }, 120s));
  WARN("kill -9 with " << people << " Zendesk writes pending (" << landed_before_restart
                       << " landed before the kill): settled " << ms_since(t) << " ms after the restart");

  // The fault-free expectation: every change in every system, each person once, nothing left to write.
  for (int i = 1; i <= people; ++i) {
    INFO(email(i));
    auto u = zendesk_users(sim, email(i));
    REQUIRE(u.size() == 1);
    CHECK(text(u[0].if_contains("name")) == "After Crash" + std::to_string(i));
    auto c = salesforce_contacts(sim, email(i));
    REQUIRE(c.size() == 1);
    CHECK(text(c[0].if_contains("FirstName")) == "After");
    CHECK(hubspot_contacts(sim, email(i)).size() == 1);
  }
  auto st = d.status();
  CHECK(st.at("store").at("outbox_depth").as_int64() == 0);
  CHECK(st.at("store").at("dead_letters").as_int64() == 0);
  CHECK(st.at("profiles").at("profiles").as_int64() == people);
  CHECK(d.stop() == 0);
}

TEST_CASE("profiles: the initial sync of people present in every system converges without creating records",
          "[profiles]") {
  // The simulator's seeded people: person i is Salesforce Contact i, HubSpot contact i and Zendesk user i (some
  // without an e-mail or phone at all).
  constexpr int people = 10;
  running_sim sim({"--size", std::to_string(people)});
  lift_limits(sim);
  auto count = [&](const std::string& path) { return sim.admin("GET", path).json().as_array().size(); };
  REQUIRE(count("/admin/salesforce/Contact") == people);
  // A seeded Contact with neither e-mail nor phone cannot be recognised as anyone: that person is created in
  // Salesforce from their HubSpot/Zendesk records, rightly.
  std::size_t unidentifiable = 0;
  {
    const auto seeded = sim.admin("GET", "/admin/salesforce/Contact").json();
    for (const auto& c : seeded.as_array()) {
      const auto& o = c.as_object();
      if (text(o.if_contains("Email")).empty() && text(o.if_contains("Phone")).empty() &&
          text(o.if_contains("MobilePhone")).empty())
        ++unidentifiable;
    }
  }
  daemon_run d;
  d.dir.write("omnisync.yaml", config_text(sim));
  d.start();
  const auto t = std::chrono::steady_clock::now();
  // Converges: a record with no e-mail and no phone is not propagated (before the fix in book.cpp its copy came
  // back as a new unlinked record, was copied again, and so on: records created in every system without end).
  REQUIRE(eventually([&] { return quiet(d, sim); }, 120s));
  WARN("initial sync of " << people << " people x 3 systems settled after " << ms_since(t) << " ms");
  const auto sf_n = count("/admin/salesforce/Contact"), hs_n = count("/admin/hubspot/contacts"),
             zd_n = count("/admin/zendesk/users");
  std::this_thread::sleep_for(2s);
  CHECK(count("/admin/salesforce/Contact") == sf_n);
  CHECK(count("/admin/hubspot/contacts") == hs_n);
  CHECK(count("/admin/zendesk/users") == zd_n);
  CHECK(hs_n == people);
  CHECK(zd_n == people);
  WARN("after the initial sync: Salesforce " << sf_n << " contacts (" << unidentifiable << " seeded without e-mail or phone), HubSpot " << hs_n << ", Zendesk " << zd_n
                                             << ", profiles " << d.status().at("profiles").at("profiles").as_int64());
  // No Contact is created twice: HubSpot and Zendesk are read before Salesforce's first page (OAuth and describe
  // come first), and an upsert on Omnisync_Id__c (the profile id) cannot match a Contact not read yet, so creates
  // wait until the destination object was read once (this found the bug: 11 to 20 Contacts for 10 people).
  CHECK(sf_n == people + unidentifiable);
  // Each seeded Contact with an e-mail or a phone is one profile with its HubSpot contact and Zendesk user.
  const auto contacts = sim.admin("GET", "/admin/salesforce/Contact").json();
  for (const auto& c : contacts.as_array()) {
    const auto& o = c.as_object();
    if (text(o.if_contains("Email")).empty() && text(o.if_contains("Phone")).empty()) continue;
    auto p = d.profile({"get", "sf:Contact:" + text(o.if_contains("Id"))});
    INFO(json::serialize(o) << "\n" << json::serialize(p));
    CHECK(has_system(p, "hs"));
    CHECK(has_system(p, "zd"));
  }
  CHECK(d.stop() == 0);
}

TEST_CASE("profiles: with deletes: delete, a person deleted in one system is deleted from the others, once", "[profiles]") {
  running_sim sim({"--size", "0"});
  lift_limits(sim);
  daemon_run d;
  // HubSpot's search never shows archived contacts: its archived list is read every second here (default 10 min).
  d.dir.write("omnisync.yaml",
              config_text(sim, "propagation: { deletes: delete }\n", "archived_scan_interval: 0s"));
  d.start();
  REQUIRE(eventually([&] { return settled(d); }, 60s));
  const auto ann = create_ann_sf_first(d, sim);
  wait_for_ann(d, ann);
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  REQUIRE(zendesk_users(sim, ann_email).size() == 1);

  // Ann deleted in HubSpot: her Salesforce Contact and Zendesk user are deleted too.
  const auto t = std::chrono::steady_clock::now();
  {
    auto del = sim.admin("DELETE", "/admin/hubspot/contacts/" + ann.hs);
    INFO(del.body);
    REQUIRE(del.status == 200);
    REQUIRE(hubspot_contacts(sim, ann_email).empty());
  }
  CHECK(eventually([&] {
    auto sf = salesforce_contacts(sim, ann_email);
    auto zd = zendesk_users(sim, ann_email);
    return sf.size() == 1 && sf[0].at("IsDeleted").as_bool() && zd.size() == 1 && !zd[0].at("active").as_bool();
  }, 30s));
  WARN("deletion reached Salesforce and Zendesk after " << ms_since(t) << " ms");
  REQUIRE(eventually([&] { return quiet(d, sim); }, 60s));
  const auto deletes = calls_to(sim, "DELETE");
  CHECK(deletes >= 2);
  std::this_thread::sleep_for(2s);
  CHECK(calls_to(sim, "DELETE") == deletes);  // the deletions' echoes delete nothing more
  {
    auto now = d.profile({"get", "sf:Contact:" + ann.sf});
    INFO(json::serialize(now));
    for (const auto& r : now.at("records").as_array()) CHECK(r.as_object().at("deleted").as_bool());
  }
  CHECK(d.status().at("store").at("dead_letters").as_int64() == 0);
  CHECK(d.stop() == 0);
}
