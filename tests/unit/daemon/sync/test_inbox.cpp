// The inbox processor with in-memory connectors: webhook events processed in batches — records named by several
// events fetched and stored once, events trickling in gathered for a bounded window — and acknowledged only once
// what they brought is stored.
#include "tests/unit/daemon/sync/engine_harness.hpp"

using namespace engine_test;

namespace {

std::int64_t records_read(sync::engine& eng, const std::string& connector) {
  for (const auto& c : eng.status())
    if (c.name == connector) return c.objects.empty() ? 0 : c.objects[0].records_read;
  return -1;
}

}  // namespace

TEST_CASE("inbox: events naming the same records are fetched in one call and stored once each", "[engine][inbox]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.page_size = 0;  // polls bring nothing: only the webhook path stores
  for (int i = 1; i <= 3; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  const auto t = h.clk.now();
  // Five events, three records: record 1 is named three times (a vendor announcing each changed property).
  int n = 0;
  for (const char* id : {"1", "1", "2", "3", "1"})
    REQUIRE(store::wait(h.db->inbox_append(
                            store::inbox_event("hs", "e" + std::to_string(++n), t, "{}", std::string("{") + id + "}")))
                .has_value());
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 3 && store::wait(h.db->get_counts())->inbox_depth == 0; }));
  CHECK(hs.fetches == 1);      // one call for the batch, in the vendor's batch size
  CHECK(hs.fetched_ids == 3);  // each record once
  CHECK(records_read(*h.eng, "hs") == 3);  // one page of three records, not five
  CHECK(h.eng->status()[0].events_in == 5);
}

TEST_CASE("inbox: events trickling in within the batching window are processed together", "[engine][inbox]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.page_size = 0;
  for (int i = 1; i <= 4; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  h.start();
  h.run_for(100ms);  // the loops are idle, waiting for events
  REQUIRE(hs.fetches == 0);
  // One event, then the others a few milliseconds apart: all inside one window (inbox_window, 25 ms by default).
  for (int i = 1; i <= 4; ++i) {
    const auto id = std::to_string(i);
    REQUIRE(store::wait(h.db->inbox_append(store::inbox_event("hs", "e" + id, h.clk.now(), "{}", "{" + id + "}")))
                .has_value());
    h.eng->webhook_stored("hs");
    h.run_for(5ms);
  }
  REQUIRE(h.eventually([&] { return h.stored("hs") == 4 && store::wait(h.db->get_counts())->inbox_depth == 0; }));
  CHECK(hs.fetches == 1);
  CHECK(hs.fetched_ids == 4);
  CHECK(h.eng->status()[0].events_in == 4);
}

TEST_CASE("inbox: events whose records could not be fetched stay queued and are retried", "[engine][inbox]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.page_size = 0;
  hs.put("7", hubspot_contact(7, "seven@example.com"));
  hs.put("8", hubspot_contact(8, "eight@example.com"));
  hs.fail_fetches = 1;  // the first fetch fails (the vendor is unavailable)
  const auto t = h.clk.now();
  REQUIRE(store::wait(h.db->inbox_append(store::inbox_event("hs", "a", t, "{}", "{7}"))).has_value());
  REQUIRE(store::wait(h.db->inbox_append(store::inbox_event("hs", "b", t, "{}", "{8}"))).has_value());
  h.start();
  REQUIRE(h.eventually([&] { return hs.fetches >= 1; }));
  h.drain();
  // Not acknowledged: nothing was stored for them.
  CHECK(store::wait(h.db->get_counts())->inbox_depth == 2);
  CHECK(h.eng->status()[0].events_in == 0);
  REQUIRE(h.eventually([&] { return h.stored("hs") == 2 && store::wait(h.db->get_counts())->inbox_depth == 0; }));
  CHECK(h.eng->status()[0].events_in == 2);
}

TEST_CASE("inbox: a backlog of several batches is processed batch by batch, every event once", "[engine][inbox]") {
  // 1,200 waiting events; while a backlog waits a batch grows to 5 claims of 100 (500 events): three batches
  // (500, 500, 200), one fetch each; while one batch is stored the next is claimed and fetched, and none is lost, stored
  // twice or acknowledged before its records are stored.
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.page_size = 0;
  const auto t = h.clk.now();
  for (int i = 1; i <= 1200; ++i) {
    const auto id = std::to_string(i);
    hs.put(id, hubspot_contact(i, "p" + id + "@example.com"));
    REQUIRE(store::wait(h.db->inbox_append(store::inbox_event("hs", "e" + id, t, "{}", "{" + id + "}"))).has_value());
  }
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 1200 && store::wait(h.db->get_counts())->inbox_depth == 0; }));
  h.run_for(100ms);
  CHECK(hs.fetches == 3);
  CHECK(hs.fetched_ids == 1200);
  CHECK(records_read(*h.eng, "hs") == 1200);
  CHECK(h.eng->status()[0].events_in == 1200);
}

TEST_CASE("writer: nothing is written before every other system was read to the end once", "[engine][writer]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  auto& zd = h.add("zd", "zendesk", "users");
  auto& sf = h.add("sf", "salesforce", "Contact");
  zd.page_size = 0;  // read to the end at once
  for (int i = 1; i <= 3; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  {
    std::lock_guard lk(sf.mu);
    sf.hold = true;  // Salesforce's initial read goes on: its people may still join these profiles
  }
  h.start();
  REQUIRE(h.eventually([&] { return h.stored("hs") == 3; }));
  h.run_for(1s);
  {
    std::lock_guard lk(zd.mu);
    CHECK(zd.write_calls == 0);
  }
  {
    std::lock_guard lk(sf.mu);
    sf.hold = false;  // read to the end: resolution has settled
  }
  REQUIRE(h.eventually([&] {
    std::lock_guard lk(zd.mu);
    return zd.written.size() == 3;
  }));
}
