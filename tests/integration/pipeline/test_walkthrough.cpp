// The operator's day from README's everyday commands, scripted with real processes: omnisync-sim writes the ready
// config for its five simulators (`--write-config`, the mappings a copy the operator edits), omnisyncd runs it as
// written, omnisyncctl steers it over the control socket. The shipped mappings lint clean. An outbound HubSpot
// mapping gets a property HubSpot does not have: `reload` refuses it with lint's located error, `reload --force`
// applies it, and the writes a Zendesk resync causes are dead-lettered with HubSpot's reason; `dlq stats` groups
// them; the mapping is fixed and reloaded; two commands drain them (`dlq retry --all --yes`, then `dlq list` shows none open, the gauge is 0)
// and HubSpot holds the new values; `omnisyncctl test` passes for every connector; `runs` and `runs show` show
// the resync and the reloads with their write-back counts.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "tests/integration/pipeline/pipeline_support.hpp"
#include "tests/integration/sim/sim_http.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using omnisync::test::temp_dir;
using omnisync::test::sim::running_sim;
using namespace omnisync::test::pipeline;

namespace {

// The operator's mistake: a property HubSpot does not have, made of the first name. Writes are field-level diffs
// against the contact as read back through the mapping, so it is sent (and refused) with every write that changes
// a first name.
const std::string bad_line = "  omnisync_nickname:   { from: first_name }   # no such HubSpot property\n";

std::int64_t n(const json::value& o, const char* k) { return o.as_object().at(k).as_int64(); }
std::int64_t open_dead_letters(daemon_run& d) { return d.status().at("store").at("dead_letters").as_int64(); }
std::int64_t outbox(daemon_run& d) { return d.status().at("store").at("outbox_depth").as_int64(); }

/// Every configured connector read its objects at least once, with no error.
bool all_connectors_read(daemon_run& d) {
  const auto st = d.status();
  for (const auto& [name, c] : st.at("connectors").as_object())
    for (const auto& o : c.at("objects_status").as_array())
      if (o.at("pages").as_int64() == 0 || !o.at("last_error").as_string().empty()) return false;
  return true;
}

/// Nothing queued for two seconds in a row (the writes and their echoes have settled).
bool quiet(daemon_run& d, std::chrono::milliseconds limit) {
  return eventually([&] {
    if (outbox(d) != 0) return false;
    std::this_thread::sleep_for(2s);
    return outbox(d) == 0;
  }, limit);
}

/// `omnisyncctl test` for every connector: exit 0 and each connector's report ok.
void connections_pass(daemon_run& d) {
  auto t = d.ctl({"test"}, 120s);
  INFO(t.out << t.err);
  CHECK(t.exit_code == 0);
  auto reply = ctl_json(d, {"test"});
  CHECK(reply.at("ok").as_bool());
  const auto& conns = reply.at("connectors").as_array();
  CHECK(conns.size() == 5);
  for (const auto& c : conns) {
    INFO(json::serialize(c));
    CHECK(c.as_object().at("ok").as_bool());
  }
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("walkthrough: set up from the docs, a bad mapping refused then forced, fixed, dead letters drained, "
          "connections tested, run history",
          "[pipeline][walkthrough]") {
  // ---- set-up as README's everyday commands say: the simulators write a ready config; omnisyncd runs it -------
  temp_dir work;
  const auto maps = work / "mappings";
  fs::copy(OMNISYNC_SOURCE_DIR "/config/mappings", maps, fs::copy_options::recursive);
  const auto config = work / "sim.yaml";
  running_sim sim({"--size", "40", "--write-config", config.string(), "--mappings-dir", maps.string()});
  daemon_run d;
  d.config = config;
  d.start();
  REQUIRE(eventually([&] { return all_connectors_read(d); }, 90s));
  REQUIRE(quiet(d, 120s));
  REQUIRE(open_dead_letters(d) == 0);
  connections_pass(d);
  // The shipped mappings lint clean against the simulators: no error, no warning.
  auto lint = ctl_json(d, {"lint"});
  INFO(json::serialize(lint));
  CHECK(n(lint, "errors") == 0);
  CHECK(lint.at("findings").as_array().empty());

  // ---- the mistake: an outbound property HubSpot does not have; reload refuses it with lint's located error ---
  const auto out_file = maps / "hubspot" / "contacts.out.yaml";
  const std::string shipped = read_file(out_file);
  std::ofstream(out_file, std::ios::app) << bad_line;
  auto refused = d.ctl({"reload"});
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("contacts.out.yaml:") != std::string::npos);  // located: file:line
  CHECK(refused.err.find("omnisync_nickname") != std::string::npos);
  CHECK(refused.err.find("--force") != std::string::npos);

  // ---- forced: HubSpot refuses what is written through the bad mapping ----------------------------------------
  auto forced = d.ctl({"reload", "--force"});
  INFO(forced.out << forced.err);
  REQUIRE(forced.exit_code == 0);
  REQUIRE(quiet(d, 120s));
  // People renamed in Zendesk while it is paused, then a resync of its users: the new names are written to the
  // other systems (the resync's write-back), and HubSpot refuses every one of its writes.
  REQUIRE(d.ctl({"pause", "zendesk"}).exit_code == 0);
  const auto users = sim.admin("GET", "/admin/zendesk/users").json();
  REQUIRE(users.is_array());
  std::map<std::string, std::string> renamed;  // email (lower case) -> new given name
  for (const auto& u : users.as_array()) {
    const auto& o = u.as_object();
    const auto* e = o.if_contains("email");
    if (!e || !e->is_string() || e->as_string().empty()) continue;
    const std::string given = "Walk" + std::to_string(renamed.size());
    sim.admin("PATCH", "/admin/zendesk/users/" + json::serialize(o.at("id")), R"({"name":")" + given + R"( Through"})");
    renamed[lower(std::string(e->as_string()))] = given;
    if (renamed.size() == 5) break;
  }
  REQUIRE(renamed.size() == 5);
  settle_zendesk(sim);
  const auto resync = ctl_json(d, {"resync", "zendesk", "users"});
  const auto resync_run = n(resync, "run");
  REQUIRE(resync_run > 0);
  REQUIRE(d.ctl({"resume", "zendesk"}).exit_code == 0);
  REQUIRE(eventually([&] {
    return ctl_json(d, {"runs", "show", std::to_string(resync_run)}).at("outcome").as_string() != "running";
  }, 90s));
  REQUIRE(quiet(d, 120s));

  // dlq stats: the refusals grouped by HubSpot's reason.
  const auto dead = open_dead_letters(d);
  INFO("open dead letters: " << dead);
  REQUIRE(dead >= 1);
  auto stats = ctl_json(d, {"dlq", "stats"});
  INFO(json::serialize(stats));
  CHECK(n(stats, "total") == dead);
  bool grouped = false;
  for (const auto& g : stats.at("groups").as_array()) {
    const auto& o = g.as_object();
    if (o.at("connector").as_string() == "hubspot" && o.at("object").as_string() == "contacts" &&
        o.at("stage").as_string() == "write" &&
        std::string(o.at("reason").as_string()).find("omnisync_nickname") != std::string::npos)
      grouped = n(g, "count") >= 1;
  }
  CHECK(grouped);
  auto human = d.ctl({"dlq", "stats"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find(" \u00d7 ") != std::string::npos);
  CHECK(human.out.find("hubspot/contacts") != std::string::npos);

  // ---- the fix, and the drain in two commands -----------------------------------------------------------------
  std::ofstream(out_file, std::ios::trunc) << shipped;
  auto fixed = d.ctl({"reload"});
  INFO(fixed.out << fixed.err);
  REQUIRE(fixed.exit_code == 0);
  auto retried = d.ctl({"dlq", "retry", "--all", "--yes"});
  INFO(retried.out << retried.err);
  REQUIRE(retried.exit_code == 0);
  REQUIRE(eventually([&] {
    return ctl_json(d, {"dlq", "list"}).at("items").as_array().empty() && open_dead_letters(d) == 0;
  }, 120s));
  CHECK(d.ctl({"dlq", "list"}).out.find("no dead letters") != std::string::npos);
  CHECK(eventually([&] { return dead_letter_gauge(d) == 0; }, 15s));
  REQUIRE(quiet(d, 120s));
  CHECK(open_dead_letters(d) == 0);  // it stays drained: the writes computed from the fixed mapping were taken

  // HubSpot holds the new names (written by the retried writes), and no contact the bad property.
  const auto contacts = sim.admin("GET", "/admin/hubspot/contacts").json();
  REQUIRE(contacts.is_array());
  std::size_t holding = 0;
  for (const auto& c : contacts.as_array()) {
    const auto& props = c.as_object().at("properties").as_object();
    CHECK_FALSE(props.contains("omnisync_nickname"));
    const auto* email = props.if_contains("email");
    if (!email || !email->is_string()) continue;
    const auto it = renamed.find(lower(std::string(email->as_string())));
    if (it == renamed.end()) continue;
    INFO(json::serialize(c));
    CHECK(props.at("firstname").as_string() == it->second);
    ++holding;
  }
  CHECK(holding == renamed.size());

  // ---- connections, and the run history ----------------------------------------------------------------------
  connections_pass(d);
  auto shown = ctl_json(d, {"runs", "show", std::to_string(resync_run)});
  INFO(json::serialize(shown));
  CHECK(shown.at("kind").as_string() == "resync");
  CHECK(shown.at("connector").as_string() == "zendesk");
  CHECK(shown.at("outcome").as_string() == "partial");  // its HubSpot writes were refused
  CHECK(n(shown, "read") == sim_count(sim, "zendesk", "users"));
  CHECK(n(shown.at("writes"), "queued") >= 1);
  CHECK(n(shown.at("writes"), "refused") >= 1);
  bool hubspot_refused = false;
  for (const auto& w : shown.at("writes").at("per_destination").as_array())
    if (w.as_object().at("destination").as_string() == "hubspot") hubspot_refused = n(w, "refused") >= 1;
  CHECK(hubspot_refused);
  auto show_text = d.ctl({"runs", "show", std::to_string(resync_run)});
  CHECK(show_text.exit_code == 0);
  CHECK(show_text.out.find("hubspot") != std::string::npos);
  CHECK(show_text.out.find("refused") != std::string::npos);

  // The three reloads, newest first: the fix (ok), the forced one (ok), the refused one (failed, with lint's words).
  auto reloads = ctl_json(d, {"runs", "--kind", "reload"}).at("items").as_array();
  INFO(json::serialize(reloads));
  REQUIRE(reloads.size() == 3);
  CHECK(reloads[0].as_object().at("outcome").as_string() == "ok");
  CHECK(reloads[1].as_object().at("outcome").as_string() == "ok");
  CHECK(reloads[2].as_object().at("outcome").as_string() == "failed");
  CHECK(std::string(reloads[2].as_object().at("error").as_string()).find("omnisync_nickname") != std::string::npos);
  auto table = d.ctl({"runs"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find(" resync ") != std::string::npos);
  CHECK(table.out.find(" reload ") != std::string::npos);
  CHECK(d.stop() == 0);
}
