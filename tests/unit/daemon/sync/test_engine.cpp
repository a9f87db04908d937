// The sync engine with in-memory connectors (the one place where fakes stand in for vendors: the engine's own
// logic — cursors stored with their records, dead letters, propagation through the outbound mappings, batching,
// no ping-pong, resync, pause — is tested here; the adapters are tested against the simulators).
#include "tests/unit/daemon/sync/engine_harness.hpp"

using namespace engine_test;

TEST_CASE("engine: polls every page, stores the records with their cursor, and moves on", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.page_size = 100;
  for (int i = 1; i <= 250; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 250; }));
  REQUIRE(h.eventually([&] {
    auto c = store::wait(h.db->cursor_get("hs", "contacts"));
    return c && *c && **c == "250";
  }));
  // New records after the first pass arrive through the next poll.
  hs.put("251", hubspot_contact(251, "p251@example.com"));
  REQUIRE(h.eventually([&] { return h.stored("hs") == 251; }));
  // The counters follow the store (updated once the page's transaction returned).
  REQUIRE(h.eventually([&] { return h.eng->status()[0].objects[0].records_read == 251; }));
  auto st = h.eng->status();
  REQUIRE(st.size() == 1);
  CHECK(st[0].objects[0].pages >= 3);
}

TEST_CASE("engine: a record that fails mapping is stored raw and dead-lettered with the rule that failed", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.put("1", hubspot_contact(1, "a@example.com"));
  hs.put("2", R"({"properties":{"email":"b@example.com"}})");  // no id: external_ids.hubspot is required
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 2; }));
  store::dead_letter_filter f(std::string("hs"), std::string("mapping"));
  std::vector<store::dead_letter> items;
  REQUIRE(h.eventually([&] {
    auto page = store::wait(h.db->dead_letter_list(f));
    items = page ? page->items : std::vector<store::dead_letter>{};
    return items.size() == 1;
  }));
  CHECK(items[0].entry.record_id == "2");
  CHECK(items[0].entry.reason.find("external_ids.hubspot") != std::string::npos);
  CHECK(items[0].entry.payload.find("b@example.com") != std::string::npos);
}

TEST_CASE("engine: changes flow to the other systems in batches, rejected writes are dead-lettered, echoes stop", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  auto& zd = h.add("zd", "zendesk", "users");
  for (int i = 1; i <= 5; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  hs.put("6", hubspot_contact(6, "reject-me@example.com"));
  h.start();
  // Zendesk's outbound mapping (users.out.yaml) turns each HubSpot contact into a user upserted by external_id.
  REQUIRE(h.eventually([&] {
    std::lock_guard lk(zd.mu);
    return zd.written.size() == 5;
  }));
  {
    std::lock_guard lk(zd.mu);
    CHECK(zd.max_seen_batch <= 2);  // the adapter's batch size
    // Keyed by the person's profile id (the founding HubSpot record's), the same whatever the e-mail's casing.
    auto prof = h.eng->profile_get("P1@Example.com");
    REQUIRE(prof.has_value());
    bool found = false;
    for (const auto& w : zd.written)
      if (w.find(prof->view.id.str()) == 0 && w.find("\"email\":\"p1@example.com\"") != std::string::npos)
        found = true;
    CHECK(found);
  }
  store::dead_letter_filter f(std::string("zd"), std::string("write"));
  REQUIRE(h.eventually([&] {
    auto page = store::wait(h.db->dead_letter_list(f));
    return page && page->items.size() == 1 && page->items[0].entry.reason.find("INVALID_EMAIL") != std::string::npos;
  }));
  // The initial sync settles first: when the second system finishes its first full read it queues its profiles
  // again, and the refused create may be tried once more then (depending on which system finished first).
  REQUIRE(h.eventually([&] {
    int before = 0;
    {
      std::lock_guard lk(zd.mu);
      before = zd.write_calls;
    }
    h.run_for(1s);
    std::lock_guard lk(zd.mu);
    return zd.write_calls == before && store::wait(h.db->get_counts())->outbox_depth == 0;
  }));
  // The same state polled again (e.g. the echo of our own write coming back) writes nothing.
  int calls_before = 0;
  {
    std::lock_guard lk(zd.mu);
    calls_before = zd.write_calls;
  }
  hs.put("1", hubspot_contact(1, "p1@example.com"));  // same content, new stamp
  REQUIRE(h.eventually([&] {
    auto st = h.eng->status();
    return st[0].objects[0].records_read >= 7;
  }));
  h.run_for(2s);
  {
    std::lock_guard lk(zd.mu);
    CHECK(zd.write_calls == calls_before);
    CHECK(zd.written.size() == 5);
  }
  // What the echo queued is found to change nothing and leaves the queue (the store answers on its own thread:
  // waited for, not assumed done within a fixed clock time).
  CHECK(h.eventually([&] { return store::wait(h.db->get_counts())->outbox_depth == 0; }));
  {
    std::lock_guard lk(zd.mu);
    CHECK(zd.write_calls == calls_before);
  }
}

TEST_CASE("engine: webhook events are parsed, fetched and stored, and malformed ones are quarantined", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.page_size = 0;  // polls bring nothing: only the webhook path stores
  hs.put("42", hubspot_contact(42, "w@example.com"));
  h.start();
  auto t = h.clk.now();
  CHECK(store::wait(h.db->inbox_append(store::inbox_event("hs", "e1", t, "{}", "{42}"))).has_value());
  CHECK(store::wait(h.db->inbox_append(store::inbox_event("hs", "e2", t, "{}", "not json"))).has_value());
  REQUIRE(h.eventually([&] { return h.stored("hs") == 1; }));
  store::dead_letter_filter f(std::string("hs"), std::string("parse"));
  REQUIRE(h.eventually([&] {
    auto page = store::wait(h.db->dead_letter_list(f));
    return page && page->items.size() == 1 && page->items[0].entry.payload == "not json";
  }));
  REQUIRE(h.eventually([&] { return store::wait(h.db->get_counts())->inbox_depth == 0; }));
  CHECK(h.eng->status()[0].events_in == 1);
}

TEST_CASE("engine: failed polls are retried without moving the cursor, pause stops polling, resync re-reads", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.fail_next = 3;
  for (int i = 1; i <= 10; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 10; }));
  REQUIRE(h.eng->pause("hs").has_value());
  h.run_for(1s);  // a poll in flight finishes
  int polls = 0;
  {
    std::lock_guard lk(hs.mu);
    polls = hs.polls;
  }
  h.run_for(3s);
  {
    std::lock_guard lk(hs.mu);
    CHECK(hs.polls == polls);
  }
  CHECK(h.eng->status()[0].paused);
  REQUIRE(h.eng->resume("hs").has_value());
  sync::resync_request rq;
  rq.connector = "hs";
  auto started = h.eng->request_resync(rq);
  REQUIRE(started.has_value());
  CHECK(*started == std::vector<std::string>{"contacts"});
  REQUIRE(h.eventually([&] {
    auto st = h.eng->status()[0].objects[0];
    return !st.resync_running && st.resync_read == 10;
  }));
  {
    std::lock_guard lk(hs.mu);
    CHECK(hs.full_polls >= 1);
  }
  rq.connector = "nope";
  CHECK(h.eng->request_resync(rq).error() == errc::not_found);
  rq.connector = "hs";
  rq.what = sync::resync_request::kind::since;
  for (const char* bad : {"yesterday", "2026-02-30", "2026-11-23Tjunk", "2026-11-23T10:00:00Z+"}) {
    INFO(bad);
    rq.value = bad;
    CHECK(h.eng->request_resync(rq).error() == errc::invalid_input);
  }
}

TEST_CASE("engine: the echo of our own write is recognised and not propagated back", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  auto& zd = h.add("zd", "zendesk", "users");
  zd.apply_writes = true;
  hs.put("1", hubspot_contact(1, "echo@example.com"));
  h.start();
  // The profile goes to Zendesk (a new user) and back to its own HubSpot contact once: the contact gets its
  // omnisync id and KPIs (fields its inbound mapping does not read, so only a write can put them there).
  REQUIRE(h.eventually([&] {
    std::scoped_lock lk(zd.mu, hs.mu);  // both at once, never one order here and another there
    return zd.written.size() == 1 && hs.written.size() == 1;
  }));
  // Zendesk's poll reads the user we wrote and it joins the profile; the profile is unchanged by it, so nothing
  // more is written anywhere (HubSpot gets nothing back, Zendesk is not written again).
  REQUIRE(h.eventually([&] { return h.stored("zd") == 1; }));
  int hs_calls = 0, zd_calls = 0;
  {
    std::scoped_lock lk(hs.mu, zd.mu);
    hs_calls = hs.write_calls;
    zd_calls = zd.write_calls;
  }
  h.run_for(4s);
  {
    std::scoped_lock lk(hs.mu, zd.mu);
    INFO("written to zd: " << (zd.written.empty() ? "" : zd.written[0]));
    INFO("written to hs: " << (hs.written.empty() ? "" : hs.written[0]));
    CHECK(hs.write_calls == hs_calls);
    CHECK(zd.write_calls == zd_calls);
    CHECK(hs.written.size() == 1);
  }
  auto prof = h.eng->profile_get("echo@example.com");
  REQUIRE(prof.has_value());
  CHECK(prof->view.members.size() == 2);  // the HubSpot contact and the Zendesk user we created
  // A real change made in Zendesk afterwards does travel.
  zd.put("w-x", R"({"id":"w-x","email":"new@example.com","name":"New Person"})");
  REQUIRE(h.eventually([&] {
    std::lock_guard lk(hs.mu);
    for (const auto& w : hs.written)
      if (w.find("new@example.com") != std::string::npos) return true;
    return false;
  }));
}

TEST_CASE("engine: records deleted upstream without a trace are found by id-set reconciliation", "[engine]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts", 200ms);
  for (int i = 1; i <= 5; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 5; }));
  {
    std::lock_guard lk(hs.mu);  // hard-deleted: gone from the vendor, no tombstone in any change feed
    hs.records.erase(hs.records.begin() + 2);
  }
  REQUIRE(h.eventually([&] {
    auto r = store::wait(h.db->record_get("hs", "contacts", "3"));
    return r && *r && (*r)->deleted;
  }));
  auto kept = store::wait(h.db->record_get("hs", "contacts", "4"));
  REQUIRE(kept.has_value());
  REQUIRE(kept->has_value());
  CHECK_FALSE((*kept)->deleted);
}

TEST_CASE("engine: remap applies a changed inbound mapping to the stored records without reading the source",
          "[engine][remap]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  auto& zd = h.add("zd", "zendesk", "users");
  for (int i = 1; i <= 5; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  h.start();
  auto zd_holds = [&](const std::string& text) {
    std::lock_guard lk(zd.mu);
    std::size_t n = 0;
    for (const auto& w : zd.written) n += w.find(text) != std::string::npos;
    return n;
  };
  REQUIRE(h.eventually([&] { return zd_holds("\"name\":\"F1 L\"") == 1 && h.stored("hs") == 5; }));

  // Names are lower-cased from now on: a reload (the mappings replaced, the book rebuilt) writes nothing by itself.
  omnisync::test::temp_dir maps;
  std::filesystem::copy(OMNISYNC_SOURCE_DIR "/config/mappings", maps.path(), std::filesystem::copy_options::recursive);
  const auto in_file = maps.path() / "hubspot" / "contacts.in.yaml";
  std::string text;
  {
    std::ifstream in(in_file);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string line = "transform: [collapse_spaces] }";
  const auto at = text.find(line);  // the first one: first_name
  REQUIRE(at != std::string::npos);
  text.replace(at, line.size(), "transform: [collapse_spaces, lower] }");
  {
    std::ofstream out(in_file);
    out << text;
  }
  config::diagnostics diags;
  auto plans = mapping::load_mapping_dir(maps.path(), mapping::default_canonical_attributes(), diags);
  REQUIRE(diags.empty());
  REQUIRE(h.eng->pause("hs"));  // no poll of the source from here on
  h.eng->set_mappings(plans);
  REQUIRE(h.eventually([&] { return h.eng->profiles_ready(); }));
  h.run_for(500ms);
  CHECK(zd_holds("\"name\":\"f1 L\"") == 0);
  int polls_before = 0, fetches_before = 0;
  {
    std::lock_guard lk(hs.mu);
    polls_before = hs.polls;
    fetches_before = hs.fetches;
  }

  // Arguments first: unknown names, an object no inbound mapping reads, one remap at a time.
  CHECK(h.eng->start_remap("nope", "").error() == errc::not_found);
  CHECK(h.eng->start_remap("hs", "deals").error() == errc::not_found);
  auto started = h.eng->start_remap("hs", "");
  REQUIRE(started);
  CHECK(h.eng->start_remap("zd", "").error() == errc::conflict);
  auto progress = *started;
  REQUIRE(progress->targets.size() == 1);
  CHECK(progress->targets[0].first == "hs");
  CHECK(progress->targets[0].second == std::vector<std::string>{"contacts"});
  CHECK(h.eng->running_remap() == progress);  // status shows it from the start
  asio::co_spawn(h.ioc, h.eng->run_remap(progress), asio::detached);
  REQUIRE(h.eventually([&] { return !progress->running.load(); }));
  CHECK(h.eng->running_remap() == nullptr);
  // A remap is a run: kind remap, its rows and the writes it queued per destination.
  REQUIRE(progress->run > 0);
  auto run = store::wait(h.db->run_get(progress->run));
  REQUIRE(run.has_value());
  CHECK(run->kind == "remap");
  CHECK(run->connector == "hs");
  CHECK(run->objects == "contacts");
  CHECK(run->outcome == "ok");
  CHECK(run->counts.read == 5);
  CHECK(run->counts.mapped == 5);
  CHECK(run->counts.failed == 0);
  std::int64_t queued = 0, to_zd = 0;
  for (const auto& w : run->writes) {
    queued += w.queued;
    if (w.destination == "zd") to_zd = w.queued;
  }
  CHECK(queued == progress->writes_queued);
  CHECK(to_zd >= 5);
  CHECK(progress->error.empty());
  CHECK(progress->read == 5);
  CHECK(progress->mapped == 5);
  CHECK(progress->failed == 0);
  CHECK(progress->estimated_total == 5);
  CHECK(progress->writes_queued >= 5);
  // Zendesk gets every lower-cased name; HubSpot was neither polled nor asked for a record.
  REQUIRE(h.eventually([&] {
    std::size_t n = 0;
    for (int i = 1; i <= 5; ++i) n += zd_holds("\"name\":\"f" + std::to_string(i) + " L\"") > 0;
    return n == 5;
  }));
  {
    std::lock_guard lk(hs.mu);
    CHECK(hs.polls == polls_before);
    CHECK(hs.fetches == fetches_before);
  }
  // Done: the next remap may start; with nothing changed since, it queues nothing new for Zendesk to receive.
  auto again = h.eng->start_remap("hs", "contacts");
  REQUIRE(again);
  const auto zd_writes = [&] {
    std::lock_guard lk(zd.mu);
    return zd.written.size();
  }();
  asio::co_spawn(h.ioc, h.eng->run_remap(*again), asio::detached);
  REQUIRE(h.eventually([&] { return !(*again)->running.load(); }));
  h.run_for(500ms);
  std::lock_guard lk(zd.mu);
  CHECK(zd.written.size() == zd_writes);
}
