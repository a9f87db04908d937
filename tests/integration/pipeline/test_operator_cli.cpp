// What an operator meets first, with real processes: the config omnisync-sim writes runs omnisyncd against the
// simulators as it is; HubSpot's "" properties sync without quarantine; omnisyncctl's command line (global options
// after the subcommand, usage errors exit 2, unknown commands and connectors named, --since forms) and status
// JSON with plain numbers — all through the real control socket.
#include <regex>

#include "tests/integration/pipeline/pipeline_support.hpp"

using namespace omnisync::test;
using namespace omnisync::test::pipeline;
using omnisync::test::sim::running_sim;

namespace {

bool all_connectors_read(daemon_run& d) {
  const auto st = d.status();
  for (const auto& [name, c] : st.at("connectors").as_object()) {
    for (const auto& o : c.at("objects_status").as_array())
      if (o.at("pages").as_int64() == 0 || !o.at("last_error").as_string().empty()) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("omnisync-sim --write-config runs omnisyncd against every simulator as written", "[cli][sim]") {
  temp_dir dir;
  const fs::path cfg = dir / "sim.yaml";
  running_sim sim({"--size", "20", "--write-config", cfg.string(), "--mappings-dir",
                   OMNISYNC_SOURCE_DIR "/config/mappings"});
  // HubSpot's way of saying "empty": "" for every empty property, the score too.
  sim.admin("POST", "/admin/hubspot/contacts",
            R"({"properties":{"firstname":"Empty","lastname":"","email":"empty.props@example.com","phone":"",)"
            R"("company":"","lifecyclestage":"","hubspotscore":""}})");

  daemon_run d;
  d.config = cfg;
  d.start();
  REQUIRE(eventually([&] { return all_connectors_read(d); }, 60s));
  const auto st = d.status();
  INFO(json::serialize(st));
  CHECK(st.at("connectors").as_object().size() == 5);
  for (const auto& [name, c] : st.at("connectors").as_object()) {
    INFO(name);
    CHECK(c.at("records").as_int64() > 0);
    for (const auto& o : c.at("objects_status").as_array()) CHECK(o.at("mapping_failures").as_int64() == 0);
  }
  CHECK(st.at("store").at("dead_letters").as_int64() == 0);
  auto p = d.profile({"get", "empty.props@example.com"});
  INFO(json::serialize(p));
  REQUIRE_FALSE(p.empty());

  // Status JSON writes numbers plainly (1.02, 0), never 1.02E0 or 0E0.
  auto raw = d.ctl({"status", "--json"});
  REQUIRE(raw.exit_code == 0);
  CHECK_FALSE(std::regex_search(raw.out, std::regex(R"([0-9]E[-+]?[0-9])")));
  CHECK(json::parse(raw.out).is_object());
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncctl: global options after the subcommand, usage errors exit 2, names checked", "[cli]") {
  running_sim sim({"--size", "0"});
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim) + zendesk_block(sim));
  d.start();

  // --json (and --socket, --timeout) after the subcommand as well as before it.
  auto after = d.ctl({"status", "--json"});
  INFO(after.err);
  CHECK(after.exit_code == 0);
  CHECK(json::parse(after.out).at("schema").as_int64() == 1);
  auto version = run({binary("omnisyncctl"), "version", "--json", "--socket", d.socket.string(), "--timeout", "5s"});
  CHECK(version.exit_code == 0);
  CHECK(json::parse(version.out).as_object().contains("version"));

  // An unknown command is named as such, with a suggestion.
  auto typo = d.ctl({"stauts"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("unknown command \"stauts\" (did you mean \"status\"?)") != std::string::npos);

  // --since: journalctl's forms; anything else is a usage error before the daemon is asked.
  for (const char* since : {"1h", "30m", "yesterday", "today", "2026-11-01", "2026-11-01T10:00:00Z", "1h ago"}) {
    auto r = d.ctl({"resync", "hs", "contacts", "--since", since});
    INFO(since << ": " << r.err);
    CHECK(r.exit_code == 0);
    auto a = d.ctl({"audit", "--since", since});
    CHECK(a.exit_code == 0);
  }
  for (const char* bad : {"lots", "1x", "2026-13-40"}) {
    auto r = d.ctl({"resync", "hs", "--since", bad});
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--since") != std::string::npos);
    CHECK(d.ctl({"audit", "--since", bad}).exit_code == 2);
  }
  // The daemon's own refusal of an argument is a usage error too (its code is kept in the message).
  auto refused = run({binary("omnisyncctl"), "--socket", d.socket.string(), "resync", "nope"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("unknown_connector") != std::string::npos);

  // Filters name configured connectors: a typo is an error with a suggestion, not an empty answer.
  auto audit = d.ctl({"audit", "--connector", "hss"});
  CHECK(audit.exit_code == 2);
  CHECK(audit.err.find("no connector named \"hss\" is configured (did you mean \"hs\"?)") != std::string::npos);
  CHECK(d.ctl({"plan", "zdd"}).exit_code == 2);
  CHECK(d.ctl({"audit", "--connector", "hs"}).exit_code == 0);
  CHECK(d.ctl({"plan", "hs"}).exit_code == 0);
  CHECK(d.stop() == 0);
}
