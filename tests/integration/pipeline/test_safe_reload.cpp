// Safe mapping changes with real processes: omnisync-sim (HubSpot and Zendesk), omnisyncd, omnisyncctl.
// - lint checks a candidate configuration or mapping file before it is loaded, not only the running one;
// - reload refuses a mapping that lint knows is wrong (a HubSpot property that does not exist) and nothing is
//   written; --force applies it anyway;
// - a reload that changes an outbound mapping says how many records it re-writes per destination (each record
//   re-checked once with the new mapping, only the differing ones written; an edit that changes no value writes
//   nothing);
// - what waits for a restart reaches the caller (a connector whose webhook settings changed: deliveries to the
//   new address answer 404 until then), and a changed inbound mapping points to `omnisyncctl remap`;
// - unknown webhook routes answer 404 with a log line and a metric.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

std::int64_t outbox(daemon_run& d) { return d.status().at("store").at("outbox_depth").as_int64(); }
std::int64_t dead_letters(daemon_run& d) { return d.status().at("store").at("dead_letters").as_int64(); }
/// HubSpot contact writes the simulator answered (batch create, update, upsert).
std::int64_t hs_writes(running_sim& sim) { return calls_to(sim, "contacts/batch"); }

/// The config: HubSpot and Zendesk on the simulator, mappings from `maps`; `hs_extra`: lines of the hs block.
std::string config_text(running_sim& sim, const fs::path& maps, const std::string& hs_extra = "") {
  return with_mappings(daemon_config(free_port()) + hubspot_block(sim, "contacts", hs_extra) + zendesk_block(sim, "users"),
                       maps);
}

/// The `rechecks` entry of a reload reply for connector `c` (empty when there is none).
json::object recheck_of(const json::object& reply, const std::string& c) {
  for (const auto& v : reply.at("rechecks").as_array())
    if (v.as_object().at("connector").as_string() == c) return v.as_object();
  return {};
}

}  // namespace

TEST_CASE("safe reload: lint a candidate, refuse a bad mapping, say what a reload re-writes and what waits",
          "[pipeline][reload]") {
  running_sim sim({"--size", "60"});
  lift_limits(sim);
  daemon_run d;
  const auto maps = copy_shipped_mappings(d.dir.path());
  const auto out_file = maps / "hubspot" / "contacts.out.yaml";
  const std::string shipped = read_file(out_file);
  d.dir.write("omnisync.yaml", config_text(sim, maps));
  d.start();
  // The initial sync done: both systems read and the writes between them sent.
  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  REQUIRE(hs_total > 0);
  REQUIRE(eventually([&] { return d.records("hs") >= hs_total && d.records("zd") > 0 && outbox(d) == 0; }, 90s));
  std::this_thread::sleep_for(1s);
  REQUIRE(eventually([&] { return outbox(d) == 0; }, 30s));
  REQUIRE(dead_letters(d) == 0);

  // ---- lint checks a change before it is loaded -----------------------------------------------------------
  {
    // A candidate: a copy of the mappings with a property HubSpot does not have, and a config that uses them.
    const auto cand_maps = d.dir / "candidate-mappings";
    fs::copy(maps, cand_maps, fs::copy_options::recursive);
    write_file(cand_maps / "hubspot" / "contacts.out.yaml", shipped + unknown_hubspot_property);
    d.dir.write("candidate.yaml", config_text(sim, cand_maps));
    // The running configuration is fine: its lint knows nothing of the candidate.
    auto running = d.ctl({"lint"});
    INFO(running.out << running.err);
    CHECK(running.exit_code == 0);
    CHECK(running.out.find("omnisync_nickname") == std::string::npos);
    // The candidate configuration, before it is loaded.
    auto cand = d.ctl({"lint", "--config", (d.dir / "candidate.yaml").string()});
    INFO(cand.out << cand.err);
    CHECK(cand.exit_code == 1);
    CHECK(cand.out.find("contacts.out.yaml:") != std::string::npos);
    CHECK(cand.out.find("error: hs/contacts:") != std::string::npos);
    CHECK(cand.out.find("omnisync_nickname") != std::string::npos);
    // One candidate mapping file, same output.
    auto one = d.ctl({"lint", "--mapping", (cand_maps / "hubspot" / "contacts.out.yaml").string()});
    INFO(one.out << one.err);
    CHECK(one.exit_code == 1);
    CHECK(one.out.find("error: hs/contacts:") != std::string::npos);
    CHECK(one.out.find("omnisync_nickname") != std::string::npos);
    auto j = d.ctl({"--json", "lint", "--mapping", (cand_maps / "hubspot" / "contacts.out.yaml").string()});
    CHECK(j.exit_code == 1);
    CHECK(json::parse(j.out).at("errors").as_int64() >= 1);
    // A candidate that does not even compile: its problems, located, as errors.
    write_file(cand_maps / "zendesk" / "users.out.yaml", "system: zendesk\nobject: users\ndirection: outbound\nfields: 7\n");
    auto broken = d.ctl({"lint", "--mapping", (cand_maps / "zendesk" / "users.out.yaml").string()});
    INFO(broken.out << broken.err);
    CHECK(broken.exit_code == 1);
    CHECK(broken.out.find("users.out.yaml:") != std::string::npos);
  }

  // ---- reload refuses what lint knows is wrong; nothing is written ------------------------------------------
  {
    write_file(out_file, shipped + unknown_hubspot_property);
    const auto writes_before = hs_writes(sim);
    auto refused = d.ctl({"reload"});
    INFO(refused.out << refused.err);
    if (refused.exit_code != 1) FAIL_CHECK("omnisyncd's log: " << d.proc->stderr_text());
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.find("omnisync_nickname") != std::string::npos);
    CHECK(refused.err.find("--force") != std::string::npos);
    CHECK(refused.err.find("lint_errors") != std::string::npos);
    // SIGHUP is refused the same way (and says so in the log).
    d.proc->signal(SIGHUP);
    CHECK(d.proc->wait_stderr_contains("reload refused", 20s));
    std::this_thread::sleep_for(2s);
    CHECK(hs_writes(sim) == writes_before);
    CHECK(dead_letters(d) == 0);
    CHECK(outbox(d) == 0);
    const auto last = d.status().at("last_reload").as_object();
    CHECK(last.at("ok").as_bool() == false);
  }

  // ---- --force applies it: the reply names the errors and what it re-writes ---------------------------------
  {
    auto forced = ctl_json(d, {"reload", "--force"});
    INFO(json::serialize(forced));
    CHECK(forced.at("forced").as_bool());
    bool named = false;
    for (const auto& f : forced.at("lint").as_array())
      if (f.as_object().at("severity").as_string() == "error" &&
          std::string(f.as_object().at("message").as_string()).find("omnisync_nickname") != std::string::npos)
        named = true;
    CHECK(named);
    // Every contact re-checked; none differs as the destination is read back (the field is made of the profile id
    // each contact holds): the bad field goes out with the next write of each, and is refused then.
    const auto hs = recheck_of(forced, "hs");
    REQUIRE(!hs.empty());
    CHECK(hs.at("checked").as_int64() >= hs_total);
    // The fix, reloaded: nothing to re-write (the bad field was never written anywhere).
    write_file(out_file, shipped);
    REQUIRE(eventually([&] { return outbox(d) == 0; }, 60s));
    auto fixed = ctl_json(d, {"reload"});
    INFO(json::serialize(fixed));
    CHECK(!fixed.at("forced").as_bool());
    CHECK(fixed.at("lint").as_array().empty());
    CHECK(!recheck_of(fixed, "hs").empty());
    CHECK(recheck_of(fixed, "hs").at("to_write").as_int64() == 0);
    REQUIRE(eventually([&] { return outbox(d) == 0; }, 60s));
    (void)d.ctl({"dlq", "drop", "--all", "--yes"});
  }

  // ---- what a reload re-writes is predictable: an edit that changes no value writes nothing -----------------
  {
    write_file(out_file, "# a comment changes no value\n" + shipped);
    const auto writes_before = hs_writes(sim);
    auto same = ctl_json(d, {"reload"});
    INFO(json::serialize(same));
    const auto hs = recheck_of(same, "hs");
    REQUIRE(!hs.empty());
    CHECK(hs.at("checked").as_int64() >= hs_total);
    CHECK(hs.at("to_write").as_int64() == 0);
    std::this_thread::sleep_for(1500ms);
    CHECK(hs_writes(sim) == writes_before);
    // A new field made of what HubSpot does not hold (the Zendesk id): every contact linked to a Zendesk user is
    // re-written, and the reply says how many.
    write_file(out_file, shipped + "  jobtitle:             { from: external_ids.zendesk, type: string }\n");
    auto human = d.ctl({"reload"});
    INFO(human.out << human.err);
    REQUIRE(human.exit_code == 0);
    CHECK(human.out.find("mapping changed: ") != std::string::npos);
    CHECK(human.out.find("hs/contacts: ") != std::string::npos);
    CHECK(human.out.find("record(s) to re-write") != std::string::npos);
    CHECK(human.out.find("hs/contacts: 0 record(s)") == std::string::npos);
    CHECK(eventually([&] { return hs_writes(sim) > writes_before && outbox(d) == 0; }, 60s));
    std::int64_t titled = 0;
    const auto listing = sim.admin("GET", "/admin/hubspot/contacts").json();
    REQUIRE(listing.is_array());
    for (const auto& r : listing.as_array())
      if (const auto* t = r.as_object().at("properties").as_object().if_contains("jobtitle");
          t && t->is_string() && !t->as_string().empty())
        ++titled;
    CHECK(titled > 0);
    CHECK(human.out.find("hs/contacts: " + std::to_string(titled) + " record(s) to re-write") != std::string::npos);
    write_file(out_file, shipped);
    CHECK(d.ctl({"reload"}).exit_code == 0);
    REQUIRE(eventually([&] { return outbox(d) == 0; }, 60s));
  }

  // ---- what waits for a restart reaches the caller; an inbound change points to remap -----------------------
  {
    d.dir.write("omnisync.yaml", config_text(sim, maps, "    webhook: { client_secret: a-new-secret }\n"));
    auto r = d.ctl({"reload"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("warning: connector hs: webhook.client_secret changed: takes effect at the next restart") !=
          std::string::npos);
    CHECK(r.out.find("answer 404") != std::string::npos);
    CHECK(r.out.find("a-new-secret") == std::string::npos);
    const auto in_file = maps / "zendesk" / "users.in.yaml";
    write_file(in_file, "# edited\n" + read_file(in_file));
    auto in = d.ctl({"reload"});
    INFO(in.out << in.err);
    CHECK(in.exit_code == 0);
    CHECK(in.out.find("next: inbound mapping of zd changed") != std::string::npos);
    CHECK(in.out.find("omnisyncctl remap zd") != std::string::npos);
    CHECK(in.out.find("remap hs") == std::string::npos);
  }

  // ---- in shadow mode the re-written records are queued, not sent, and the reply shows their plan --------------
  {
    d.dir.write("omnisync.yaml", config_text(sim, maps, "    webhook: { client_secret: a-new-secret }\n"
                                                        "    sync: { mode: shadow }\n"));
    write_file(out_file, shipped + "  city:                 { from: external_ids.zendesk, type: string }\n");
    const auto writes_before = hs_writes(sim);
    auto r = d.ctl({"reload"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("shadow mode: not sent") != std::string::npos);
    CHECK(r.out.find("plan for hs (first 20 writes):") != std::string::npos);
    CHECK(r.out.find("  city  ") != std::string::npos);
    std::this_thread::sleep_for(1500ms);
    CHECK(hs_writes(sim) == writes_before);
  }

  // ---- unknown webhook routes: 404, a log line, a metric ---------------------------------------------------
  {
    const std::string base = "http://127.0.0.1:" + std::to_string(d.port);
    auto unknown = omnisync::test::sim::http("POST", base + "/webhooks/nobody", "{}", {"Content-Type: application/json"});
    CHECK(unknown.status == 404);
    CHECK(d.proc->wait_stderr_contains("/webhooks/nobody", 10s));
    CHECK(d.proc->stderr_text().find("no connector takes webhooks by that name") != std::string::npos);
    // A configured connector without webhook settings (hs: its new client_secret waits for a restart) has no
    // route either.
    auto unconfigured = omnisync::test::sim::http("POST", base + "/webhooks/hs", "{}", {"Content-Type: application/json"});
    CHECK(unconfigured.status == 404);
    auto metrics = omnisync::test::sim::http("GET", base + "/metrics");
    CHECK(metrics.body.find("omnisync_webhook_requests_total{connector=\"(unknown)\",status=\"404\"} 2") !=
          std::string::npos);
  }
  CHECK(d.stop() == 0);
}
