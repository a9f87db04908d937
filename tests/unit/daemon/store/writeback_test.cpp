// What trustworthy write-back asks of the store, on both backends: record facts stored with records, the profile
// a queued write is for, acknowledgements that say what was actually written, news from a system still waiting in
// the inbox (inbox_pending), and the queued writes as a plan (outbox_pending).
#include <algorithm>
#include <set>

#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

namespace {

outbox_write write_for(std::string key, std::string payload, std::string profile) {
  outbox_write w("hubspot", "contact", std::move(key), std::move(payload));
  w.profile_id = std::move(profile);
  return w;
}

source_record with_facts(std::string id, std::string payload, std::int64_t ts, std::string facts) {
  auto r = rec(std::move(id), std::move(payload), ts);
  r.facts = std::move(facts);
  return r;
}

}  // namespace

TEST_CASE("store: record facts are stored, replaced and read with the record", "[store][records][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->append_records({"hubspot", "contact", {with_facts("1", R"({"v":1})", 1000, R"({"phone":1000})")}}));
  auto r = ok(s->record_get("hubspot", "contact", "1"));
  REQUIRE(r.has_value());
  CHECK(r->facts == R"({"phone":1000})");

  // An older copy replaces neither payload nor facts; one with the same stamp replaces both.
  auto sum = ok(s->append_records({"hubspot", "contact", {with_facts("1", R"({"v":0})", 999, "older")}}));
  CHECK(sum.stale == 1);
  CHECK(ok(s->record_get("hubspot", "contact", "1"))->facts == R"({"phone":1000})");
  ok(s->append_records({"hubspot", "contact", {with_facts("1", R"({"v":2})", 1000, "same stamp")}}));
  r = ok(s->record_get("hubspot", "contact", "1"));
  CHECK(r->payload == R"({"v":2})");
  CHECK(r->facts == "same stamp");
  // A copy without facts clears them: facts are part of what was stored.
  ok(s->append_records({"hubspot", "contact", {rec("1", R"({"v":3})", 1001)}}));
  CHECK(ok(s->record_get("hubspot", "contact", "1"))->facts.empty());

  // record_facts_set replaces only the facts: payload and stamps stay.
  const auto before = *ok(s->record_get("hubspot", "contact", "1"));
  clock.advance(5s);
  ok(s->record_facts_set("hubspot", "contact", "1", R"({"announced":{"phone":"+1"}})", {}));
  const auto after = *ok(s->record_get("hubspot", "contact", "1"));
  CHECK(after.facts == R"({"announced":{"phone":"+1"}})");
  CHECK(after.payload == before.payload);
  CHECK(after.source_updated_at == before.source_updated_at);
  CHECK(after.stored_at == before.stored_at);
  CHECK(after.first_seen == before.first_seen);
  CHECK(error_of(s->record_facts_set("hubspot", "contact", "nope", "{}", {})) == errc::not_found);
  CHECK(error_of(s->record_facts_set("hubspot", "", "1", "{}", {})) == errc::invalid_input);

  // Fenced like the other pipeline writes.
  auto lease = ok(s->lease("pipeline", "me", 1s));
  ok(s->record_facts_set("hubspot", "contact", "1", "fenced", fence{"pipeline", lease.token}));
  CHECK(error_of(s->record_facts_set("hubspot", "contact", "1", "stale", fence{"pipeline", lease.token + 1})) ==
        errc::conflict);
  CHECK(ok(s->record_get("hubspot", "contact", "1"))->facts == "fenced");

  // record_scan returns them too.
  ok(s->append_records({"hubspot", "contact", {with_facts("2", "{}", 1, "two")}}));
  auto page = ok(s->record_scan("hubspot", "contact", "", 10));
  REQUIRE(page.size() == 2);
  CHECK(page[0].facts == "fenced");
  CHECK(page[1].facts == "two");
}

TEST_CASE("store: a queued write keeps its profile, coalescing replaces it, claims and the plan return it",
          "[store][outbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  CHECK(ok(s->outbox_enqueue({write_for("a", R"({"v":1})", "p-1")}, {})).inserted == 1);
  CHECK(ok(s->outbox_enqueue({write_for("a", R"({"v":2})", "p-2")}, {})).coalesced == 1);
  auto plan = ok(s->outbox_pending({std::nullopt}));
  REQUIRE(plan.items.size() == 1);
  CHECK(plan.items[0].write.profile_id == "p-2");
  CHECK(plan.items[0].write.payload == R"({"v":2})");

  auto claimed = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].write.profile_id == "p-2");

  // Nacked for good, it goes to the dead letters with its profile in the meta (as the writer records it) and
  // comes back with it.
  ok(s->outbox_nack(ids_of(claimed), "boom", clock.now()));
  claimed = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(claimed.size() == 1);
  ok(s->outbox_ack(ids_of(claimed), {std::nullopt}));
  auto dl = ok(s->dead_letter_add({retry_target::outbox, "hubspot", "contact", "a", "", "write", "rejected",
                                   R"({"v":2})", R"({"target_id":"t-9","profile_id":"p-2"})"}));
  ok(s->dead_letter_retry(dl));
  claimed = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].write.profile_id == "p-2");
  CHECK(claimed[0].write.target_id == "t-9");
}

TEST_CASE("store: an acknowledgement records what was written, or nothing when nothing was sent",
          "[store][outbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto a = write_for("a", R"({"email":"old","phone":"1"})", "p");
  const auto b = write_for("b", R"({"email":"b"})", "p");
  const auto c = write_for("c", R"({"email":"c"})", "p");
  ok(s->outbox_enqueue({a, b, c}, {}));
  auto claimed = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(claimed.size() == 3);
  std::map<std::string, std::int64_t> id;
  for (const auto& it : claimed) id[it.write.record_key] = it.id;

  // One per id: a sent a field-level diff (the record as it now stands is what was written), b sent nothing, c's
  // entry is the whole queued payload. The vector must match the ids.
  CHECK(error_of(s->outbox_ack({id["a"], id["b"]}, {std::nullopt})) == errc::invalid_input);
  CHECK(ok(s->get_counts()).outbox_depth == 3);  // refused whole
  const std::string a_now = R"({"email":"new","phone":"1"})";
  ok(s->outbox_ack({id["a"], id["b"], id["c"], id["a"]}, {a_now, std::nullopt, c.payload, std::string("ignored")}));
  CHECK(ok(s->get_counts()).outbox_depth == 0);
  auto last = ok(s->outbox_last_written({a, b, c}));
  CHECK(last[0] == a_now);
  CHECK_FALSE(last[1].has_value());
  CHECK(last[2] == c.payload);

  // Same-as-last now compares with what was written: the queued payload of a is no longer "unchanged".
  CHECK(ok(s->outbox_enqueue({write_for("a", a_now, "p")}, {})).unchanged == 1);
  CHECK(ok(s->outbox_enqueue({a}, {})).inserted == 1);

  // nullopt leaves an earlier last-written payload as it was.
  claimed = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(claimed.size() == 1);
  ok(s->outbox_ack(ids_of(claimed), {std::nullopt}));
  CHECK(ok(s->outbox_last_written({a}))[0] == a_now);

  // Without the vector: as before, the queued payload becomes the last written.
  ok(s->outbox_enqueue({write_for("b", R"({"email":"b2"})", "p")}, {}));
  ok(s->outbox_ack(ids_of(ok(s->outbox_claim(10, 10s, {})))));
  CHECK(ok(s->outbox_last_written({b}))[0] == R"({"email":"b2"})");
}

TEST_CASE("store: inbox_pending tells whether news from a system received by then is still waiting",
          "[store][inbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  CHECK_FALSE(ok(s->inbox_pending("hubspot", t0)));
  ok(s->inbox_append({"hubspot", "e1", t0 + 100ms, "{}", "b"}));
  ok(s->inbox_append({"zendesk", "z1", t0, "{}", "b"}));
  CHECK_FALSE(ok(s->inbox_pending("hubspot", t0 + 99ms)));  // arrived later than asked about
  CHECK(ok(s->inbox_pending("hubspot", t0 + 100ms)));       // at: included
  CHECK(ok(s->inbox_pending("zendesk", t0)));
  CHECK_FALSE(ok(s->inbox_pending("intercom", t0 + 1h)));

  // Claimed is still pending (not processed yet); acknowledged is not.
  auto claimed = ok(s->inbox_claim(10, 10s, std::string("hubspot")));
  REQUIRE(claimed.size() == 1);
  CHECK(ok(s->inbox_pending("hubspot", t0 + 1s)));
  ok(s->inbox_nack({claimed[0].id}, "later", clock.now() + 1h));
  CHECK(ok(s->inbox_pending("hubspot", t0 + 1s)));  // failed and waiting to be retried: still news
  clock.advance(2h);
  claimed = ok(s->inbox_claim(10, 10s, std::string("hubspot")));
  REQUIRE(claimed.size() == 1);
  ok(s->inbox_ack({claimed[0].id}));
  CHECK_FALSE(ok(s->inbox_pending("hubspot", t0 + 1s)));
  CHECK(ok(s->inbox_pending("zendesk", t0 + 1s)));
  CHECK(error_of(s->inbox_pending("", t0)) == errc::invalid_input);
}

TEST_CASE("store: outbox_pending lists pending and claimed writes by id, a page at a time, per connector",
          "[store][outbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  std::vector<outbox_write> writes;
  for (int i = 0; i < 7; ++i) writes.push_back(write_for("h" + std::to_string(i), "{}", "p" + std::to_string(i)));
  writes.emplace_back("zendesk", "user", "z0", "{}");
  writes.emplace_back("zendesk", "user", "z1", "{}");
  ok(s->outbox_enqueue(writes, {}));
  auto claimed = ok(s->outbox_claim(1, 10s, std::string("hubspot")));  // claimed writes are still in the plan
  REQUIRE(claimed.size() == 1);
  auto done = ok(s->outbox_claim(1, 10s, std::string("zendesk")));
  ok(s->outbox_ack(ids_of(done)));  // acknowledged ones are not

  std::vector<outbox_item> all;
  std::int64_t after = 0;
  int pages = 0;
  do {
    auto page = ok(s->outbox_pending({std::nullopt, after, 3}));
    CHECK(page.items.size() <= 3);
    for (auto& it : page.items) all.push_back(std::move(it));
    after = page.next_after_id;
    ++pages;
  } while (after != 0);
  CHECK(pages == 3);
  REQUIRE(all.size() == 8);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].id < all[i].id);
  std::set<std::string> keys;
  for (const auto& it : all) keys.insert(it.write.record_key);
  CHECK(keys.count(claimed[0].write.record_key) == 1);
  CHECK(keys.count(done[0].write.record_key) == 0);
  CHECK(all[0].write.profile_id == "p0");

  auto zendesk = ok(s->outbox_pending({std::string("zendesk")}));
  REQUIRE(zendesk.items.size() == 1);
  CHECK(zendesk.items[0].write.connector == "zendesk");
  CHECK(zendesk.next_after_id == 0);
  CHECK(ok(s->outbox_pending({std::string("intercom")})).items.empty());
}

TEST_CASE("store: inbox_open_ids and inbox_open_events list a system's events not yet processed, by id",
          "[store][inbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  CHECK(ok(s->inbox_open_ids("zendesk", t0 + 1h)).empty());
  ok(s->inbox_append({"zendesk", "z1", t0, R"({"m":1})", "body-1"}));
  ok(s->inbox_append({"zendesk", "z2", t0 + 100ms, "{}", "body-2"}));
  ok(s->inbox_append({"zendesk", "z3", t0 + 200ms, "{}", "body-3"}));
  ok(s->inbox_append({"hubspot", "h1", t0, "{}", "other"}));
  auto ids = ok(s->inbox_open_ids("zendesk", t0 + 100ms));  // received later than asked about: left out
  REQUIRE(ids.size() == 2);
  CHECK(ids[0] < ids[1]);
  auto events = ok(s->inbox_open_events(ids));
  REQUIRE(events.size() == 2);
  CHECK(events[0].id == ids[0]);
  CHECK(events[0].event.dedupe_key == "z1");
  CHECK(events[0].event.meta == R"({"m":1})");
  CHECK(events[0].event.body == "body-1");
  CHECK(events[1].event.body == "body-2");

  // Claimed is still open; acknowledged is gone from both answers.
  auto claimed = ok(s->inbox_claim(1, 10s, std::string("zendesk")));
  REQUIRE(claimed.size() == 1);
  CHECK(ok(s->inbox_open_ids("zendesk", t0 + 1h)).size() == 3);
  ok(s->inbox_ack({claimed[0].id}));
  auto left = ok(s->inbox_open_ids("zendesk", t0 + 1h));
  REQUIRE(left.size() == 2);
  CHECK(left[0] != claimed[0].id);
  events = ok(s->inbox_open_events({claimed[0].id, left[1]}));
  REQUIRE(events.size() == 1);
  CHECK(events[0].event.dedupe_key == "z3");
  CHECK(ok(s->inbox_open_events({})).empty());
  CHECK(error_of(s->inbox_open_ids("", t0)) == errc::invalid_input);
}

TEST_CASE("store: inbox_open_events answers exactly the open events asked for, however the ids are spread",
          "[store][inbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  // 200 events of two systems, interleaved; every fifth Zendesk one processed.
  std::vector<std::int64_t> zendesk;
  for (int i = 0; i < 200; ++i) {
    const bool z = i % 3 != 0;
    ok(s->inbox_append({z ? "zendesk" : "hubspot", "e" + std::to_string(i), t0, "{}", "body-" + std::to_string(i)}));
  }
  zendesk = ok(s->inbox_open_ids("zendesk", t0));
  REQUIRE(zendesk.size() == 133);
  std::vector<std::int64_t> processed;
  for (std::size_t i = 0; i < zendesk.size(); i += 5) processed.push_back(zendesk[i]);
  auto claimed = ok(s->inbox_claim(200, 10s, std::string("zendesk")));
  REQUIRE(claimed.size() == 133);
  std::vector<std::int64_t> done, back;
  for (const auto& c : claimed)
    (std::binary_search(processed.begin(), processed.end(), c.id) ? done : back).push_back(c.id);
  ok(s->inbox_ack(done));
  ok(s->inbox_nack(back, "later", t0));  // claimed, then given back: still open
  REQUIRE(ok(s->inbox_open_ids("zendesk", t0)).size() == 133 - processed.size());

  // Asked: runs with small gaps, lone ids far apart, processed ones, an id twice, one past the end; unsorted.
  std::vector<std::int64_t> asked{zendesk[132], zendesk[0], zendesk[1], zendesk[2], zendesk[7], zendesk[60],
                                  zendesk[61], zendesk[61], zendesk[100], zendesk[5], zendesk.back() + 1000};
  auto events = ok(s->inbox_open_events(asked));
  std::vector<std::int64_t> want;
  for (auto id : asked)
    if (id <= zendesk.back() && !std::binary_search(processed.begin(), processed.end(), id)) want.push_back(id);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  std::vector<std::int64_t> got;
  for (const auto& e : events) {
    got.push_back(e.id);
    CHECK(e.event.connector == "zendesk");
  }
  CHECK(got == want);
  // Every open one at once: all of them, none of the other system's.
  auto open = ok(s->inbox_open_ids("zendesk", t0));
  events = ok(s->inbox_open_events(open));
  REQUIRE(events.size() == open.size());
  for (std::size_t i = 0; i < open.size(); ++i) CHECK(events[i].id == open[i]);
}

TEST_CASE("store: outbox_settle stores a chunk's acks, retries, dead letters, run counts, audit and note at once",
          "[store][outbox][writeback]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto run = ok(s->run_begin(run_record("poll", "salesforce", "Contact")));
  std::vector<outbox_write> writes;
  for (std::string k : {"a", "b", "c"}) {
    writes.push_back(write_for(k, R"({"email":")" + k + R"("})", "p-" + k));
    writes.back().run = run;
  }
  ok(s->outbox_enqueue(writes, {}));
  auto claimed = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(claimed.size() == 3);

  audit_entry e;
  e.connector = "hubspot";
  e.object = "contact";
  e.record_id = "a";
  e.field = "email";
  e.after = R"("a")";
  e.rule = "survivorship";
  e.outcome = "written";
  write_settlement w;
  w.runs.emplace_back(run, run_writes("hubspot", 0, 1, 1, 0));
  w.acked = {claimed[0].id};
  w.written = {std::optional<std::string>(R"({"email":"a","name":"A"})")};
  w.retried.emplace_back(claimed[1].id, "HTTP 503", clock.now() + 1h);
  w.dead_letters.emplace_back(claimed[2].id, dead_letter_entry(retry_target::outbox, "hubspot", "contact", "c", "",
                                                               "write", "INVALID_EMAIL", R"({"email":"c"})", "{}"));
  w.audit.push_back(e);
  w.meta.emplace("in_flight:hubspot", "[]");
  ok(s->outbox_settle(w));

  CHECK(ok(s->outbox_last_written({writes[0]}))[0] == R"({"email":"a","name":"A"})");
  auto queued = ok(s->outbox_pending({}));
  REQUIRE(queued.items.size() == 1);  // b waits for its retry; a and c left the queue
  CHECK(queued.items[0].id == claimed[1].id);
  CHECK(queued.items[0].last_error == "HTTP 503");
  CHECK(ok(s->outbox_claim(10, 10s, {})).empty());
  auto letters = ok(s->dead_letter_list(dead_letter_filter(std::string("hubspot"), std::string("write"), 0, 10)));
  REQUIRE(letters.items.size() == 1);
  CHECK(letters.items[0].entry.reason == "INVALID_EMAIL");
  CHECK(ok(s->audit_list({})).items.size() == 1);
  CHECK(ok(s->meta_get("in_flight:hubspot")) == std::optional<std::string>("[]"));
  auto r = ok(s->run_get(run));
  REQUIRE(r.writes.size() == 1);
  CHECK(r.writes[0].written == 1);
  CHECK(r.writes[0].refused == 1);

  // All or nothing: an invalid part leaves everything as it was.
  write_settlement bad;
  bad.acked = {claimed[1].id};
  bad.written = {std::nullopt, std::nullopt};  // two payloads for one id
  CHECK(error_of(s->outbox_settle(bad)) == errc::invalid_input);
  CHECK(ok(s->outbox_pending({})).items.size() == 1);
}
