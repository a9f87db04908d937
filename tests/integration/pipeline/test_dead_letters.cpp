// Dead letters drained with real processes: omnisync-sim (HubSpot and Zendesk) and omnisyncd, steered with
// omnisyncctl. An outbound mapping names a HubSpot property the simulator does not have, so every write to HubSpot
// is refused and dead-lettered; `dlq stats` groups them by reason, `dlq list` pages through them, a bulk retry
// without --yes off a terminal is refused; the mapping is fixed and reloaded, `dlq retry --all --yes` drains them
// (each write computed anew from the profile and the fixed mapping), the gauge returns to 0 and HubSpot holds the
// values.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

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

std::int64_t open_dead_letters(daemon_run& d) { return d.status().at("store").at("dead_letters").as_int64(); }
std::int64_t outbox(daemon_run& d) { return d.status().at("store").at("outbox_depth").as_int64(); }

}  // namespace

TEST_CASE("dead letters: a bad outbound field, then the fix, reload and one bulk retry drain them to zero",
          "[pipeline][dlq]") {
  running_sim sim({"--size", "120"});
  lift_limits(sim);
  daemon_run d;
  const auto maps = copy_shipped_mappings(d.dir.path());
  const auto out_file = maps / "hubspot" / "contacts.out.yaml";
  std::string shipped;
  {
    std::ifstream in(out_file);
    shipped.assign(std::istreambuf_iterator<char>(in), {});
  }
  {
    std::ofstream out(out_file);
    out << shipped << unknown_hubspot_property;
  }
  std::string text = daemon_config(free_port(), "dead_letters: { retries: 0 }\n") + hubspot_block(sim, "contacts") +
                     zendesk_block(sim, "users");
  text = with_mappings(text, maps);
  d.dir.write("omnisync.yaml", text);
  d.start();

  // Every write to HubSpot is refused; the outbox empties into the dead letters.
  const auto hs_total = sim_count(sim, "hubspot", "contacts");
  REQUIRE(hs_total > 0);
  const bool failed_all = eventually([&] { return open_dead_letters(d) >= hs_total && outbox(d) == 0; }, 120s);
  if (!failed_all)
    FAIL_CHECK("status: " << json::serialize(d.status()) << "\ndlq stats: " << d.ctl({"dlq", "stats"}).out
                          << "\nlog: " << d.proc->stderr_text());
  REQUIRE(failed_all);
  std::this_thread::sleep_for(1s);
  REQUIRE(eventually([&] { return outbox(d) == 0; }, 30s));
  const auto dead = open_dead_letters(d);
  INFO("dead letters: " << dead);

  // stats: one group, the vendor's reason, the count.
  auto stats = ctl_json(d, {"dlq", "stats"});
  REQUIRE(stats.at("groups").as_array().size() >= 1);
  const auto& top = stats.at("groups").as_array()[0].as_object();
  CHECK(top.at("connector").as_string() == "hs");
  CHECK(top.at("object").as_string() == "contacts");
  CHECK(top.at("stage").as_string() == "write");
  CHECK(std::string(top.at("reason").as_string()).find("omnisync_nickname") != std::string::npos);
  CHECK(stats.at("total").as_int64() == dead);
  auto human = d.ctl({"dlq", "stats"});
  CHECK(human.out.find(" \u00d7 ") != std::string::npos);
  CHECK(human.out.find("hs/contacts") != std::string::npos);

  // list pages: 25 at a time, each page starting after the last id of the one before, all of them once.
  std::int64_t after = 0, seen = 0, pages = 0;
  for (;;) {
    auto page = ctl_json(d, {"dlq", "list", "--limit", "25", "--after", std::to_string(after)});
    for (const auto& it : page.at("items").as_array()) {
      CHECK(it.as_object().at("id").as_int64() > after);
      ++seen;
    }
    ++pages;
    after = page.at("next_after").as_int64();
    if (after == 0) break;
  }
  CHECK(seen == dead);
  CHECK(pages == (dead + 24) / 25);

  // A bulk operation off a terminal needs --yes: refused with a usage error, nothing done.
  auto refused = d.ctl({"dlq", "retry", "--all"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("--yes") != std::string::npos);
  // The old spelling works too, and is refused the same way rather than "Could not convert".
  auto old_spelling = d.ctl({"dlq", "retry", "all"});
  CHECK(old_spelling.exit_code == 2);
  CHECK(old_spelling.err.find("Could not convert") == std::string::npos);
  CHECK(open_dead_letters(d) == dead);

  // The fix: the bad field goes, the configuration is reloaded, and one command drains the dead letters.
  {
    std::ofstream out(out_file);
    out << shipped;
  }
  auto reloaded = d.ctl({"reload"});
  INFO(reloaded.err);
  REQUIRE(reloaded.exit_code == 0);
  auto drained = d.ctl({"--json", "dlq", "retry", "--all", "--yes"});
  INFO(drained.err);
  INFO(drained.out);
  REQUIRE(drained.exit_code == 0);
  const auto result = json::parse(drained.out).as_object();
  // What the reload's own re-propagation wrote in between was resolved by itself; the rest was retried.
  const auto matched = result.at("matched").as_int64();
  const auto resolved = static_cast<std::int64_t>(
      ctl_json(d, {"dlq", "list", "--resolved", "--limit", "1000"}).at("items").as_array().size());
  CHECK(matched + resolved >= dead);
  if (matched > 0) CHECK(result.at("retried").as_int64() == matched);

  REQUIRE(eventually([&] { return open_dead_letters(d) == 0 && outbox(d) == 0; }, 120s));
  CHECK(eventually([&] { return dead_letter_gauge(d) == 0; }, 15s));
  // It stays drained: the writes computed from the fixed mapping were accepted.
  std::this_thread::sleep_for(2s);
  CHECK(open_dead_letters(d) == 0);
  CHECK(ctl_json(d, {"dlq", "list"}).at("items").as_array().empty());

  // HubSpot holds the values: every contact carries its profile id (written by the fixed mapping).
  std::int64_t with_id = 0, contacts = 0;
  const auto listing = sim.admin("GET", "/admin/hubspot/contacts").json();
  INFO(json::serialize(listing).substr(0, 2000));
  REQUIRE(listing.is_array());
  for (const auto& r : listing.as_array()) {
    const auto& props = r.as_object().at("properties").as_object();
    ++contacts;
    if (const auto* v = props.if_contains("omnisync_id"); v && v->is_string() && !v->as_string().empty()) ++with_id;
  }
  CHECK(contacts >= hs_total);
  CHECK(with_id == contacts);
  CHECK(d.stop() == 0);
}

TEST_CASE("dead letters: a removed connector's entries can be listed, counted and dropped, not retried",
          "[pipeline][dlq]") {
  running_sim sim({"--size", "20"});
  lift_limits(sim);
  daemon_run d;
  const auto maps = d.dir / "mappings";
  fs::copy(OMNISYNC_SOURCE_DIR "/config/mappings", maps, fs::copy_options::recursive);
  std::ofstream(maps / "hubspot" / "contacts.out.yaml", std::ios::app) << unknown_hubspot_property;
  auto config_with = [&](const std::string& blocks) {
    std::string text = daemon_config(d.port > 0 ? d.port : free_port(), "dead_letters: { retries: 0 }\n") + blocks;
    const std::string shipped_dir = "mappings_dir: " OMNISYNC_SOURCE_DIR "/config/mappings";
    text.replace(text.find(shipped_dir), shipped_dir.size(), "mappings_dir: " + maps.string());
    return text;
  };
  d.dir.write("omnisync.yaml", config_with(hubspot_block(sim, "contacts") + zendesk_block(sim, "users")));
  d.start();
  REQUIRE(eventually([&] { return open_dead_letters(d) > 0 && outbox(d) == 0; }, 120s));
  std::this_thread::sleep_for(1s);
  REQUIRE(eventually([&] { return outbox(d) == 0; }, 30s));
  CHECK(d.stop() == 0);

  // HubSpot leaves the configuration; its dead letters stay in the store.
  d.dir.write("omnisync.yaml", config_with(zendesk_block(sim, "users")));
  d.start();
  auto listed = ctl_json(d, {"dlq", "list", "--connector", "hs", "--limit", "1000"});
  const auto held = static_cast<std::int64_t>(listed.at("items").as_array().size());
  REQUIRE(held > 0);
  CHECK(listed.at("removed_connector").as_string() == "hs");
  auto human = d.ctl({"dlq", "list", "--connector", "hs"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("connector \"hs\" is no longer configured") != std::string::npos);
  auto stats = ctl_json(d, {"dlq", "stats", "--connector", "hs"});
  CHECK(stats.at("total").as_int64() == held);
  CHECK(stats.at("removed_connector").as_string() == "hs");

  // Retry has nowhere to send them: refused (by filter and by id), nothing changes.
  auto bulk = d.ctl({"dlq", "retry", "--connector", "hs", "--yes"});
  CHECK(bulk.exit_code == 1);
  CHECK(bulk.err.find("no longer configured") != std::string::npos);
  const auto first_id = listed.at("items").as_array()[0].at("id").as_int64();
  auto one = d.ctl({"dlq", "retry", std::to_string(first_id)});
  CHECK(one.exit_code == 1);
  CHECK(one.err.find("no longer configured") != std::string::npos);
  CHECK(ctl_json(d, {"dlq", "stats", "--connector", "hs"}).at("total").as_int64() == held);

  // A name that never had entries stays an error (exit 2), with the configured names.
  auto unknown = d.ctl({"dlq", "list", "--connector", "nope"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("no connector named \"nope\" is configured") != std::string::npos);
  CHECK(d.ctl({"dlq", "retry", "--connector", "nope", "--yes"}).exit_code == 2);

  // Drop clears them; then the name is unknown like any other.
  auto dropped = ctl_json(d, {"dlq", "drop", "--connector", "hs", "--yes"});
  CHECK(dropped.at("dropped").as_int64() == held);
  CHECK(d.ctl({"dlq", "list", "--connector", "hs"}).exit_code == 2);
  CHECK(open_dead_letters(d) == 0);
  CHECK(d.stop() == 0);
}

TEST_CASE("dead letters: a webhook event that does not parse names its record and resolves when the record is read",
          "[pipeline][dlq]") {
  running_sim sim({"--size", "10"});
  lift_limits(sim);
  const std::string secret = "hs-webhook-secret-for-tests";
  daemon_run d;
  d.dir.write("omnisync.yaml", daemon_config(free_port()) +
                                   hubspot_block(sim, "contacts", "    webhook: { client_secret: " + secret + " }\n"));
  d.start();
  const auto contacts = sim.admin("GET", "/admin/hubspot/contacts").json();
  REQUIRE(contacts.is_array());
  REQUIRE_FALSE(contacts.as_array().empty());
  const auto& contact = contacts.as_array()[0].as_object();
  const std::string id = contact.at("id").is_string() ? std::string(contact.at("id").as_string())
                                                        : json::serialize(contact.at("id"));
  // The initial sync done and settled: polls find nothing more (a page read now would resolve the entry early).
  REQUIRE(eventually([&] {
    const auto st = d.status();
    const auto& o = st.at("connectors").at("hs").at("objects_status").as_array()[0].as_object();
    return o.at("initial_sync").at("state").as_string() == "done" && d.records("hs") >= 10;
  }, 60s));
  std::this_thread::sleep_for(1500ms);
  REQUIRE(eventually([&] { return outbox(d) == 0; }, 30s));

  // A delivery HubSpot would never send: the subscription type has no action, so the event does not parse. Its
  // objectId and objectTypeId still name the contact.
  const std::string body = R"([{"eventId":1,"subscriptionId":1,"portalId":1,"appId":1,"occurredAt":)" +
                           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch()).count()) +
                           R"(,"subscriptionType":"contact","objectTypeId":"0-1","objectId":)" + id + "}]";
  REQUIRE(post_signed_hubspot(d.port, secret, body) / 100 == 2);
  REQUIRE(eventually([&] { return open_dead_letters(d) == 1; }, 30s));
  auto listed = ctl_json(d, {"dlq", "list", "--stage", "parse"});
  REQUIRE(listed.at("items").as_array().size() == 1);
  const auto& entry = listed.at("items").as_array()[0].as_object();
  CHECK(entry.at("object").as_string() == "contacts");
  CHECK(entry.at("record_id").as_string() == id);
  CHECK(eventually([&] { return dead_letter_gauge(d) == 1; }, 15s));

  // The contact changes in HubSpot; the poll reads it, and the entry resolves by itself: the gauge returns to 0.
  sim.admin("PATCH", "/admin/hubspot/contacts/" + id, R"({"properties":{"firstname":"Parsed"}})");
  REQUIRE(eventually([&] { return open_dead_letters(d) == 0; }, 30s));
  CHECK(eventually([&] { return dead_letter_gauge(d) == 0; }, 15s));
  auto resolved = ctl_json(d, {"dlq", "list", "--resolved"});
  REQUIRE(resolved.at("items").as_array().size() == 1);
  CHECK(resolved.at("items").as_array()[0].at("record_id").as_string() == id);
  CHECK(d.stop() == 0);
}
