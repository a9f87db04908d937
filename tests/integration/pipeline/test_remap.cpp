// Safe mapping changes with real processes: omnisync-sim (HubSpot and Zendesk), omnisyncd and omnisyncctl.
// - remap: an inbound mapping change (HubSpot first names upper-cased) is reloaded; with every connector paused,
//   `remap hs --follow` makes not one call to any vendor, yet queues the writes that carry the new values to
//   Zendesk, which holds them once the connectors resume;
// - sample: stored HubSpot contacts printed as JSON lines, fed to `omnisyncctl map` with the inbound mapping,
//   give the mapped records;
// - fields: HubSpot's contact properties with their writability (firstname writable, createdate read-only);
// - bad arguments: unknown connectors and objects are usage errors (exit 2), a missing record exit 1.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
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
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p);
  out << text;
}

/// `line` of the shipped HubSpot contacts mapping replaced by `with` (REQUIREd to be there).
std::string replaced(std::string text, const std::string& line, const std::string& with) {
  const auto at = text.find(line);
  REQUIRE(at != std::string::npos);
  return text.replace(at, line.size(), with);
}

std::int64_t outbox(daemon_run& d) { return d.status().at("store").at("outbox_depth").as_int64(); }

/// Every call the simulator counted, over all services.
std::int64_t all_calls(running_sim& sim) { return calls_to(sim, ""); }

std::string text_of(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : std::string(); }

/// The simulated Zendesk user holding `email`, or an empty object.
json::object zendesk_user(running_sim& sim, const std::string& email) {
  auto users = sim.admin("GET", "/admin/zendesk/users").json();
  const json::array* list = users.if_array();
  if (!list)
    if (auto* o = users.if_object())
      for (const char* k : {"records", "items", "users"})
        if (auto* a = o->if_contains(k); a && a->is_array()) list = &a->as_array();
  if (list)
    for (const auto& u : *list)
      if (u.is_object() && lower(text_of(u.as_object().contains("email") ? u.at("email") : json::value())) == lower(email))
        return u.as_object();
  return {};
}

const std::string shipped_first_name = "  first_name:   { from: properties.firstname, transform: [collapse_spaces] }";

}  // namespace

TEST_CASE("remap, sample, fields: a changed inbound mapping reaches the other systems without a vendor read",
          "[pipeline][remap]") {
  running_sim sim({"--size", "40"});
  lift_limits(sim);
  daemon_run d;
  const auto maps = copy_shipped_mappings(d.dir.path());
  const auto in_file = maps / "hubspot" / "contacts.in.yaml";
  const std::string shipped = read_file(in_file);
  // HubSpot owns first names (so the change below is the golden value everywhere), as shipped otherwise.
  write_file(in_file, replaced(shipped, shipped_first_name,
                               "  first_name:   { from: properties.firstname, transform: [collapse_spaces], owner: true }"));
  std::string text = daemon_config(free_port()) + hubspot_block(sim, "contacts") + zendesk_block(sim, "users");
  text = with_mappings(text, maps);
  d.dir.write("omnisync.yaml", text);
  d.start();

  // The initial sync and its write-back settle.
  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  REQUIRE(hs_total > 0);
  const bool settled = eventually([&] { return d.records("hs") >= hs_total && outbox(d) == 0; }, 120s);
  INFO("status: " << json::serialize(d.status()) << "\nlog: " << d.proc->stderr_text());
  REQUIRE(settled);
  std::this_thread::sleep_for(1500ms);
  REQUIRE(eventually([&] { return outbox(d) == 0; }, 60s));

  {  // sample feeds map: stored raw records, mapped as the daemon maps them
    auto one = d.ctl({"sample", "hs", "contacts", "--limit", "5"});
    INFO(one.err);
    REQUIRE(one.exit_code == 0);
    std::vector<json::object> lines;
    std::istringstream in(one.out);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(json::parse(line).as_object());
    REQUIRE(lines.size() == 5);
    CHECK(one.err.find("--after") != std::string::npos);  // more follow
    for (const auto& l : lines) CHECK(l.at("properties").is_object());  // HubSpot's own shape, as stored

    // One by id: the same record.
    const std::string id = text_of(lines[0].at("id"));
    auto by_id = d.ctl({"sample", "hs", "contacts", "--id", id});
    REQUIRE(by_id.exit_code == 0);
    CHECK(json::parse(by_id.out).at("id") == lines[0].at("id"));

    // Fed to `omnisyncctl map` with the inbound mapping: every record maps, to the e-mail and HubSpot id it holds.
    d.dir.write("sample.jsonl", one.out);
    auto mapped = omnisync::test::run({omnisync::test::binary("omnisyncctl"), "map", "-m", in_file.string(), "-i", (d.dir / "sample.jsonl").string()});
    INFO(mapped.err);
    REQUIRE(mapped.exit_code == 0);
    std::istringstream out(mapped.out);
    std::size_t i = 0;
    for (std::string line; std::getline(out, line);) {
      if (line.empty()) continue;
      REQUIRE(i < lines.size());
      auto m = json::parse(line).as_object();
      INFO(line);
      const auto& props = lines[i].at("properties").as_object();
      if (props.contains("email") && !text_of(props.at("email")).empty())
        CHECK(lower(text_of(m.at("email"))) == lower(text_of(props.at("email"))));
      CHECK(line.find(text_of(lines[i].at("id"))) != std::string::npos);  // external_ids.hubspot
      ++i;
    }
    CHECK(i == lines.size());

    // Paging: the next page starts after the last id shown.
    auto page = ctl_json(d, {"sample", "hs", "contacts", "--limit", "5"});
    const std::string next = text_of(page.at("next_after"));
    REQUIRE_FALSE(next.empty());
    auto second = ctl_json(d, {"sample", "hs", "contacts", "--limit", "5", "--after", next});
    REQUIRE(second.at("items").as_array().size() >= 1);
    CHECK(text_of(second.at("items").as_array()[0].at("id")) > next);
  }

  {  // fields: HubSpot's contact properties with their writability
    auto f = ctl_json(d, {"fields", "hs", "contacts"});
    CHECK(text_of(f.at("kind")) == "hubspot");
    std::map<std::string, json::object> by_name;
    for (const auto& x : f.at("fields").as_array()) by_name[text_of(x.at("name"))] = x.as_object();
    REQUIRE(by_name.count("firstname"));
    CHECK(by_name["firstname"].at("writable").as_bool());
    REQUIRE(by_name.count("createdate"));
    CHECK_FALSE(by_name["createdate"].at("writable").as_bool());
    auto human = d.ctl({"fields", "hs", "contacts"});
    REQUIRE(human.exit_code == 0);
    CHECK(human.out.find("createdate") != std::string::npos);
    CHECK(human.out.find("read-only") != std::string::npos);
  }

  {  // bad arguments are clear errors
    auto unknown_connector = d.ctl({"fields", "hsx", "contacts"});
    CHECK(unknown_connector.exit_code == 2);
    CHECK(unknown_connector.err.find("did you mean \"hs\"") != std::string::npos);
    auto unknown_object = d.ctl({"sample", "hs", "contact"});
    CHECK(unknown_object.exit_code == 2);
    CHECK(unknown_object.err.find("no object \"contact\"") != std::string::npos);
    CHECK(unknown_object.err.find("contacts") != std::string::npos);
    CHECK(d.ctl({"remap", "nosuch"}).exit_code == 2);
    CHECK(d.ctl({"remap", "zd", "tickets"}).exit_code == 2);  // not an object of zd here
    CHECK(d.ctl({"fields", "hs"}).exit_code == 2);            // the object is required
    CHECK(d.ctl({"sample", "hs", "contacts", "--limit", "0"}).exit_code == 2);
    auto missing = d.ctl({"sample", "hs", "contacts", "--id", "no-such-id"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.err.find("no stored hs contacts record") != std::string::npos);
  }

  {  // remap: the reloaded mapping reaches Zendesk with zero vendor calls by the remap
    // A contact whose first name is lower-case somewhere, so upper-casing changes it.
    auto page = ctl_json(d, {"sample", "hs", "contacts", "--limit", "1000"});
    std::string email, first;
    for (const auto& it : page.at("items").as_array()) {
      const auto& props = it.at("payload").at("properties").as_object();
      const std::string e = props.contains("email") ? text_of(props.at("email")) : "";
      const std::string f = props.contains("firstname") ? text_of(props.at("firstname")) : "";
      std::string up = f;
      for (auto& ch : up) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      if (!e.empty() && !f.empty() && up != f && !zendesk_user(sim, e).empty()) {
        email = e;
        first = f;
        break;
      }
    }
    REQUIRE_FALSE(email.empty());
    INFO("contact " << email << " first name " << first);
    const std::string zd_name_before = text_of(zendesk_user(sim, email).at("name"));
    CHECK(zd_name_before.find(first) != std::string::npos);

    // The change: first names upper-cased. Reloaded, the profiles know it; nothing is written yet.
    write_file(in_file, replaced(shipped, shipped_first_name,
                                 "  first_name:   { from: properties.firstname, transform: [collapse_spaces, upper], "
                                 "owner: true }"));
    auto reloaded = d.ctl({"reload"});
    INFO(reloaded.err);
    REQUIRE(reloaded.exit_code == 0);
    REQUIRE(d.ctl({"pause"}).exit_code == 0);  // every connector: no polls, no writes
    std::this_thread::sleep_for(1500ms);       // a poll under way finishes
    std::string upper = first;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    REQUIRE(eventually([&] {
      auto p = d.profile({"get", email});
      return !p.empty() && json::serialize(p).find("\"" + upper) != std::string::npos;
    }, 30s));
    CHECK(outbox(d) == 0);

    const auto calls_before = all_calls(sim);
    auto done = ctl_json(d, {"remap", "hs", "--follow"}, 60s);
    INFO(json::serialize(done));
    CHECK(done.at("running").as_bool() == false);
    CHECK(text_of(done.at("error")).empty());
    CHECK(done.at("read").as_int64() == hs_total);
    CHECK(done.at("mapped").as_int64() == hs_total);
    CHECK(done.at("failed").as_int64() == 0);
    CHECK(done.at("writes_queued").as_int64() > 0);
    std::this_thread::sleep_for(500ms);
    CHECK(all_calls(sim) == calls_before);  // not one vendor call: stored records only, writes held by the pause

    // The remap is a run: kind remap, its rows read/mapped/failed, the writes it queued per destination.
    const auto run = done.at("run").as_int64();
    REQUIRE(run > 0);
    auto shown = ctl_json(d, {"runs", "show", std::to_string(run)});
    INFO(json::serialize(shown));
    CHECK(text_of(shown.at("kind")) == "remap");
    CHECK(text_of(shown.at("connector")) == "hs");
    CHECK(text_of(shown.at("outcome")) == "ok");
    CHECK(shown.at("read").as_int64() == hs_total);
    CHECK(shown.at("mapped").as_int64() == hs_total);
    CHECK(shown.at("failed").as_int64() == 0);
    CHECK(shown.at("writes").at("queued").as_int64() == done.at("writes_queued").as_int64());
    auto listed = ctl_json(d, {"runs", "--kind", "remap"});
    REQUIRE(listed.at("items").as_array().size() == 1);
    CHECK(listed.at("items").as_array()[0].at("id").as_int64() == run);

    // The plan shows the Zendesk name changing for that person.
    auto plan = ctl_json(d, {"plan", "zd"});
    CHECK(json::serialize(plan).find(upper) != std::string::npos);

    // Resumed: the writes go out, Zendesk holds the new name.
    REQUIRE(d.ctl({"resume"}).exit_code == 0);
    const bool written = eventually([&] {
      auto u = zendesk_user(sim, email);
      return !u.empty() && text_of(u.at("name")).find(upper) != std::string::npos;
    }, 60s);
    INFO("zendesk user: " << json::serialize(zendesk_user(sim, email)) << "\nlog: " << d.proc->stderr_text());
    CHECK(written);
    // ... and the remap's run counts them written at Zendesk.
    CHECK(eventually([&] {
      const auto now = ctl_json(d, {"runs", "show", std::to_string(run)});  // named: the loop reads into it
      for (const auto& w : now.at("writes").at("per_destination").as_array())
        if (text_of(w.at("destination")) == "zd" && w.at("written").as_int64() > 0) return true;
      return false;
    }, 60s));

    // A human remap prints its summary; a second one right after finds nothing new to write.
    REQUIRE(eventually([&] { return outbox(d) == 0; }, 60s));
    auto again = d.ctl({"remap", "hs", "contacts", "--follow"}, 60s);
    INFO(again.err);
    CHECK(again.exit_code == 0);
    CHECK(again.out.find("remap of hs (contacts) finished") != std::string::npos);
    CHECK(again.out.find("no vendor API calls") != std::string::npos);
  }
  d.stop();
}
