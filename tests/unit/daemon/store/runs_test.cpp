// The run history on both backends: a run begins, counts are added (by several callers), writes are counted per
// destination, it ends (ok turns partial on failed records or refused writes, also after it ended); idle poll
// cycles count on the object's newest poll run; listed newest first with filters and pages; the writes a run
// queued carry its id through the outbox; finished runs past the retention are pruned with their write counts.
#include <chrono>

#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

TEST_CASE("store: a run counts, ends, and lists newest first with filters and pages", "[store][runs]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();

  const auto poll = ok(s->run_begin(run_record("poll", "hubspot", "contacts")));
  CHECK(poll > 0);
  run_counts d;
  d.read = 100;
  d.stored = 90;
  d.mapped = 98;
  d.failed = 2;
  d.api_calls = 3;
  ok(s->run_add(poll, d));
  d.api_calls = 1;
  ok(s->run_add(poll, d));  // added, not replaced
  ok(s->run_count_writes({{poll, run_writes("salesforce", 5, 0, 0, 0)}, {poll, run_writes("zendesk", 3, 0, 0, 0)}}));
  ok(s->run_count_writes({{poll, run_writes("salesforce", 0, 4, 0, 1)}}));
  clock.advance(2s);
  ok(s->run_finish(poll, "ok", ""));

  auto got = ok(s->run_get(poll));
  CHECK(got.kind == "poll");
  CHECK(got.connector == "hubspot");
  CHECK(got.objects == "contacts");
  CHECK(got.started_at == t0);
  REQUIRE(got.ended_at);
  CHECK(*got.ended_at == t0 + 2s);
  CHECK(got.outcome == "partial");  // two records failed
  CHECK(got.counts.read == 200);
  CHECK(got.counts.stored == 180);
  CHECK(got.counts.mapped == 196);
  CHECK(got.counts.failed == 4);
  CHECK(got.counts.api_calls == 4);
  REQUIRE(got.writes.size() == 2);
  CHECK(got.writes[0].destination == "salesforce");
  CHECK(got.writes[0].queued == 5);
  CHECK(got.writes[0].written == 4);
  CHECK(got.writes[0].unchanged == 1);
  CHECK(got.writes[1].destination == "zendesk");
  CHECK(got.writes[1].queued == 3);

  // A clean resync ends ok; a refusal counted after it ended makes it partial.
  const auto resync = ok(s->run_begin(run_record("resync", "salesforce", "Contact,Lead")));
  ok(s->run_count_writes({{resync, run_writes("hubspot", 2, 0, 0, 0)}}));
  ok(s->run_finish(resync, "ok", ""));
  CHECK(ok(s->run_get(resync)).outcome == "ok");
  ok(s->run_count_writes({{resync, run_writes("hubspot", 0, 1, 1, 0)}}));
  got = ok(s->run_get(resync));
  CHECK(got.outcome == "partial");
  CHECK(got.writes.at(0).refused == 1);

  const auto reload = ok(s->run_begin(run_record("reload", "", "")));
  ok(s->run_finish(reload, "failed", "omnisync.yaml:3:1: x: unknown key"));
  CHECK(ok(s->run_get(reload)).error == "omnisync.yaml:3:1: x: unknown key");

  // Unknown runs.
  CHECK(error_of(s->run_add(9999, d)) == errc::not_found);
  CHECK(error_of(s->run_finish(9999, "ok", "")) == errc::not_found);
  CHECK(error_of(s->run_get(9999)) == errc::not_found);
  ok(s->run_count_writes({{9999, run_writes("hubspot", 1, 0, 0, 0)}}));  // ignored: a pruned run

  auto all = ok(s->run_list({}));
  REQUIRE(all.items.size() == 3);
  CHECK(all.items[0].id == reload);
  CHECK(all.items[1].id == resync);
  CHECK(all.items[2].id == poll);
  CHECK(all.items[2].writes.size() == 2);
  CHECK(all.next_after_id == 0);

  run_filter f;
  f.connector = "hubspot";
  auto by_connector = ok(s->run_list(f));
  REQUIRE(by_connector.items.size() == 1);
  CHECK(by_connector.items[0].id == poll);
  f = {};
  f.kind = "resync";
  CHECK(ok(s->run_list(f)).items.size() == 1);

  f = {};
  f.limit = 2;
  auto first = ok(s->run_list(f));
  REQUIRE(first.items.size() == 2);
  CHECK(first.next_after_id == resync);
  f.after_id = first.next_after_id;
  auto second = ok(s->run_list(f));
  REQUIRE(second.items.size() == 1);
  CHECK(second.items[0].id == poll);
  CHECK(second.next_after_id == 0);
}

TEST_CASE("store: idle poll cycles count on the object's newest poll run, no run no count", "[store][runs]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  CHECK_FALSE(ok(s->run_idle("hubspot", "contacts")));
  const auto older = ok(s->run_begin(run_record("poll", "hubspot", "contacts")));
  ok(s->run_finish(older, "ok", ""));
  const auto newer = ok(s->run_begin(run_record("poll", "hubspot", "contacts")));
  ok(s->run_finish(newer, "ok", ""));
  const auto other = ok(s->run_begin(run_record("poll", "hubspot", "companies")));
  ok(s->run_finish(other, "ok", ""));
  clock.advance(5s);
  CHECK(ok(s->run_idle("hubspot", "contacts")));
  CHECK(ok(s->run_idle("hubspot", "contacts")));
  CHECK(ok(s->run_get(newer)).idle_cycles == 2);
  CHECK(ok(s->run_get(newer)).last_idle_at == clock.now());
  CHECK(ok(s->run_get(older)).idle_cycles == 0);
  CHECK(ok(s->run_get(other)).idle_cycles == 0);
  CHECK(ok(s->run_list({})).items.size() == 3);  // no rows added
}

TEST_CASE("store: queued writes carry their run, coalescing moves them to the newer run", "[store][runs]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto a = ok(s->run_begin(run_record("resync", "salesforce", "Contact")));
  const auto b = ok(s->run_begin(run_record("poll", "salesforce", "Contact")));
  outbox_write w1("hubspot", "contacts", "k1", R"({"email":"a@x"})");
  w1.run = a;
  outbox_write w2("hubspot", "contacts", "k2", R"({"email":"b@x"})");
  w2.run = a;
  auto sum = ok(s->outbox_enqueue({w1, w2}, std::nullopt));
  CHECK(sum.queued_per_connector.at("hubspot") == 2);
  CHECK(ok(s->run_writes_queued(a)) == 2);
  outbox_write w3("hubspot", "contacts", "k2", R"({"email":"b2@x"})");
  w3.run = b;
  ok(s->outbox_enqueue({w3}, std::nullopt));  // replaces k2's pending write
  CHECK(ok(s->run_writes_queued(a)) == 1);
  CHECK(ok(s->run_writes_queued(b)) == 1);
  auto claimed = ok(s->outbox_claim(10, 60s, std::nullopt));
  REQUIRE(claimed.size() == 2);
  for (const auto& it : claimed) CHECK(it.write.run == (it.write.record_key == "k1" ? a : b));
  CHECK(ok(s->outbox_pending({})).items.at(0).write.run > 0);
  ok(s->outbox_ack({claimed[0].id, claimed[1].id}));
  CHECK(ok(s->run_writes_queued(a)) == 0);
  CHECK(ok(s->run_writes_queued(b)) == 0);
}

TEST_CASE("store: finished runs past the retention are pruned with their write counts", "[store][runs]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto old = ok(s->run_begin(run_record("poll", "hubspot", "contacts")));
  ok(s->run_count_writes({{old, run_writes("salesforce", 1, 1, 0, 0)}}));
  ok(s->run_finish(old, "ok", ""));
  const auto running = ok(s->run_begin(run_record("resync", "hubspot", "contacts")));
  clock.advance(1h);
  const auto recent = ok(s->run_begin(run_record("poll", "hubspot", "contacts")));
  ok(s->run_finish(recent, "ok", ""));
  CHECK(ok(s->run_prune(clock.now() - 30min)) == 1);
  CHECK(error_of(s->run_get(old)) == errc::not_found);
  CHECK(ok(s->run_get(running)).outcome == "running");  // never pruned while it runs
  CHECK(ok(s->run_get(recent)).outcome == "ok");
  CHECK(ok(s->run_prune(clock.now() - 30min)) == 0);
  // The pruned run's write counts went with it: a new run with its id (SQLite may reuse it) starts at zero.
  ok(s->run_count_writes({{old, run_writes("salesforce", 0, 0, 1, 0)}}));  // ignored, no such run
}
