// What an operator meets first, with real processes: the config omnisync-sim writes runs omnisyncd against the
// simulators as it is; HubSpot's "" properties sync without quarantine; omnisyncctl's command line (global options
// after the subcommand, usage errors exit 2, unknown commands and connectors named, --since forms) and status
// JSON with plain numbers — all through the real control socket. Every command that changes state leaves one
// audit entry naming the caller (its uid, from the socket's peer credentials); read-only ones leave none; a
// profile command naming the person by e-mail is recorded under the profile's id.
#include <unistd.h>

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

TEST_CASE("omnisyncctl: every command that changes state is in the audit log with its caller, read-only ones are not",
          "[cli][audit]") {
  running_sim sim({"--size", "0"});
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim) + zendesk_block(sim));
  d.start();
  auto commands = [&] { return ctl_json(d, {"audit", "--field", "command", "--limit", "100"}).at("items").as_array(); };
  REQUIRE(commands().empty());

  // Mutating commands: each is recorded once, done or failed (the daemon refuses an unknown connector).
  REQUIRE(d.ctl({"pause", "hs"}).exit_code == 0);
  REQUIRE(d.ctl({"resume", "hs"}).exit_code == 0);
  REQUIRE(d.ctl({"resync", "zd", "--since", "1h"}).exit_code == 0);
  CHECK(d.ctl({"dlq", "drop", "999"}).exit_code != 0);  // no such entry: asked, refused, recorded
  REQUIRE(d.ctl({"reload"}).exit_code == 0);
  REQUIRE(d.ctl({"resync", "nope"}).exit_code == 2);
  // An argument the declaration refuses never reaches the handler: nothing ran, nothing recorded.
  REQUIRE(d.ctl({"resync", "hs", "--since", "lots"}).exit_code == 2);
  const auto items = commands();
  INFO(json::serialize(items));
  REQUIRE(items.size() == 6);
  const std::string who = "control:uid " + std::to_string(::getuid());
  // Newest first: the refused resync, then back to the pause.
  const std::vector<std::pair<std::string, std::string>> want = {
      {"resync", "failed"}, {"reload", "done"}, {"dlq", "failed"},
      {"resync", "done"},    {"resume", "done"}, {"pause", "done"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& e = items[i].as_object();
    INFO(i << ": " << json::serialize(e));
    CHECK(std::string(e.at("source").as_string()).starts_with(who));
    CHECK(e.at("after").at("command").as_string() == want[i].first);
    CHECK(e.at("outcome").as_string() == want[i].second);
    CHECK(std::string(e.at("rule").as_string()).find(" by uid " + std::to_string(::getuid())) != std::string::npos);
    CHECK_FALSE(e.at("at").as_string().empty());
  }
  CHECK(items[0].at("answer").as_string().starts_with("unknown_connector: "));
  CHECK(items[2].at("after").at("args").at("action").as_string() == "drop");
  CHECK(items[2].at("after").at("args").at("id").as_int64() == 999);
  CHECK(items[2].at("connector").as_string() == "*");
  CHECK(items[1].at("connector").as_string() == "*");  // reload names no connector: the whole daemon
  CHECK(items[5].at("after").at("args").at("connector").as_string() == "hs");
  // Found by connector as well, with the writes the connector had (none here).
  CHECK(ctl_json(d, {"audit", "--connector", "hs"}).at("items").as_array().size() == 2);

  // Read-only commands add nothing.
  REQUIRE(d.ctl({"status"}).exit_code == 0);
  REQUIRE(d.ctl({"dlq", "list"}).exit_code == 0);
  REQUIRE(d.ctl({"dlq", "stats"}).exit_code == 0);
  REQUIRE(d.ctl({"dlq", "drop", "--connector", "hs", "--yes"}).exit_code == 0);  // only the count: none match
  REQUIRE(d.ctl({"plan", "hs"}).exit_code == 0);
  REQUIRE(d.ctl({"runs"}).exit_code == 0);
  CHECK(commands().size() == 6);
  CHECK(d.stop() == 0);
}

TEST_CASE("omnisyncctl: a profile command that names the person by e-mail is in the audit log under the profile id",
          "[cli][audit]") {
  running_sim sim({"--size", "0"});
  sim.admin("POST", "/admin/hubspot/contacts",
            R"({"properties":{"firstname":"Ada","lastname":"Audit","email":"ada.audit@example.com"}})");
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) + hubspot_block(sim));
  d.start();
  std::string id;
  REQUIRE(eventually([&] {
    const auto p = d.profile({"get", "ada.audit@example.com"});
    if (p.empty()) return false;
    id = std::string(p.at("id").as_string());
    return true;
  }));
  const auto resync = d.ctl({"profile", "resync", "ada.audit@example.com"});
  INFO(resync.out << resync.err << d.proc->stderr_text());
  REQUIRE(resync.exit_code == 0);
  // Found by the e-mail (the audit command looks it up) and by the id: the entry holds the resolved id.
  for (const std::string& who : {std::string("ada.audit@example.com"), id}) {
    INFO(who);
    const auto items = ctl_json(d, {"audit", "--profile", who, "--field", "command"}).at("items").as_array();
    INFO(json::serialize(items));
    REQUIRE(items.size() == 1);
    CHECK(items[0].at("profile").as_string() == id);
    CHECK(items[0].at("after").at("command").as_string() == "profile");
    CHECK(items[0].at("after").at("args").at("query").as_string() == "ada.audit@example.com");
    CHECK(items[0].at("outcome").as_string() == "done");
  }
  // A profile no one has: refused, recorded, with no profile.
  CHECK(d.ctl({"profile", "resync", "nobody@example.com"}).exit_code != 0);
  const auto all = ctl_json(d, {"audit", "--field", "command"}).at("items").as_array();
  REQUIRE(all.size() == 2);
  CHECK(all[0].at("outcome").as_string() == "failed");
  CHECK(all[0].at("profile").as_string().empty());
  CHECK(d.stop() == 0);
}
