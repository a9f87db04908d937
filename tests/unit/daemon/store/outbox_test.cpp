// The outbox, dead letters and leases through the store's interface, on both backends (built into test_store
// and test_store_pg): same-as-last, coalescing, claims, acks and nacks, dead-letter retries, fences.
#include <set>
#include <string>
#include <vector>

#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

TEST_CASE("store: outbox skips a payload equal to the one last written or pending", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  CHECK(ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {})).inserted == 1);
  CHECK(ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {})).unchanged == 1);  // same as pending
  auto w = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(w.size() == 1);
  ok(s->outbox_ack({w[0].id}));
  // Written: the same state again (an echo coming back through a poll) is nothing to do ...
  auto again = ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {}));
  CHECK(again.unchanged == 1);
  CHECK(again.inserted == 0);
  CHECK(ok(s->get_counts()).outbox_depth == 0);
  // ... a different state is a write, and so is the old state after it (it changed back).
  CHECK(ok(s->outbox_enqueue({write_of("c1", R"({"v":2})")}, {})).inserted == 1);
  auto w2 = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(w2.size() == 1);
  ok(s->outbox_ack({w2[0].id}));
  CHECK(ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {})).inserted == 1);
  // A nacked (not written) payload is not "last written".
  auto w3 = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(w3.size() == 1);
  ok(s->outbox_nack({w3[0].id}, "500", clock.now()));
  auto counts = ok(s->get_counts());
  CHECK(counts.outbox_depth == 1);
  // The age of the oldest write waiting (status and /metrics): when it was queued, by connector.
  REQUIRE(counts.oldest_outbox_per_connector.count("hubspot") == 1);
  CHECK(counts.oldest_outbox_per_connector.at("hubspot") <= clock.now());
  CHECK(counts.oldest_inbox_per_connector.empty());
}

TEST_CASE("store: the age gauge gives each connector's oldest waiting write, claimed or not", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  auto to = [](std::string connector, std::string key) {
    return outbox_write{std::move(connector), "contact", std::move(key), R"({"v":1})"};
  };
  REQUIRE(ok(s->outbox_enqueue({to("zendesk", "z1")}, {})).inserted == 1);
  clock.advance(10ms);
  REQUIRE(ok(s->outbox_enqueue({to("hubspot", "h1"), to("salesforce", "s1"), to("zendesk", "z2")}, {})).inserted == 3);
  clock.advance(10ms);
  REQUIRE(ok(s->outbox_enqueue({to("hubspot", "h2")}, {})).inserted == 1);
  auto oldest = ok(s->get_counts()).oldest_outbox_per_connector;
  REQUIRE(oldest.size() == 3);
  CHECK(oldest.at("hubspot") == t0 + 10ms);
  CHECK(oldest.at("salesforce") == t0 + 10ms);
  CHECK(oldest.at("zendesk") == t0);
  // A claimed write still waits for its destination; an acknowledged one no longer does.
  auto claimed = ok(s->outbox_claim(10, 1000ms, std::string("zendesk")));
  REQUIRE(claimed.size() == 2);
  CHECK(ok(s->get_counts()).oldest_outbox_per_connector.at("zendesk") == t0);
  ok(s->outbox_ack({claimed[0].id}));
  CHECK(ok(s->get_counts()).oldest_outbox_per_connector.at("zendesk") == t0 + 10ms);
  ok(s->outbox_ack({claimed[1].id}));
  auto claimed_h = ok(s->outbox_claim(10, 1000ms, std::string("hubspot")));
  REQUIRE(claimed_h.size() == 2);
  ok(s->outbox_ack(ids_of(claimed_h)));
  oldest = ok(s->get_counts()).oldest_outbox_per_connector;
  REQUIRE(oldest.size() == 1);
  CHECK(oldest.at("salesforce") == t0 + 10ms);
}

TEST_CASE("store: a forced write is queued even when equal to the last written, not when equal to a pending one", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  auto forced = [](std::string payload) {
    auto w = write_of("c1", std::move(payload));
    w.force = true;
    return w;
  };
  REQUIRE(ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {})).inserted == 1);
  auto w = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(w.size() == 1);
  // In flight with the same payload: forcing it again adds nothing.
  CHECK(ok(s->outbox_enqueue({forced(R"({"v":1})")}, {})).unchanged == 1);
  ok(s->outbox_ack({w[0].id}));
  // Written; the destination was changed since: an unforced write of the same state is skipped, a forced one goes.
  CHECK(ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {})).unchanged == 1);
  CHECK(ok(s->outbox_enqueue({forced(R"({"v":1})")}, {})).inserted == 1);
  CHECK(ok(s->outbox_enqueue({forced(R"({"v":1})")}, {})).unchanged == 1);  // same as pending
  CHECK(ok(s->get_counts()).outbox_depth == 1);
}

TEST_CASE("store: release_claims returns what a dead process had claimed, at once", "[store][outbox][inbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->outbox_enqueue({write_of("c1", R"({"v":1})")}, {}));
  REQUIRE(ok(s->inbox_append(omnisync::store::inbox_event("hs", "e1", clock.now(), "{}", "[]"))) == omnisync::store::append_outcome::inserted);
  REQUIRE(ok(s->outbox_claim(10, 60000ms, {})).size() == 1);
  REQUIRE(ok(s->inbox_claim(10, 60000ms, {})).size() == 1);
  CHECK(ok(s->outbox_claim(10, 60000ms, {})).empty());  // held by the "dead" claimer
  CHECK(ok(s->release_claims()) == 2);
  CHECK(ok(s->outbox_claim(10, 60000ms, {})).size() == 1);
  CHECK(ok(s->inbox_claim(10, 60000ms, {})).size() == 1);
}

TEST_CASE("store: outbox coalesces pending writes per record", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));

  auto e1 = ok(s->outbox_enqueue({write_of("c1", R"({"v":1})"), write_of("c2", R"({"v":1})")}, {}));
  CHECK(e1.inserted == 2);
  auto e2 = ok(s->outbox_enqueue({write_of("c1", R"({"v":2})")}, {}));
  CHECK(e2.inserted == 0);
  CHECK(e2.coalesced == 1);
  CHECK(ok(s->get_counts()).outbox_depth == 2);

  auto claimed = ok(s->outbox_claim(10, 1000ms, std::string("hubspot")));
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].write.record_key == "c1");
  CHECK(claimed[0].write.payload == R"({"v":2})");
  CHECK(claimed[0].attempts == 1);

  // A write for a record whose write is in flight queues behind it, and is not claimed while it flies.
  auto e3 = ok(s->outbox_enqueue({write_of("c1", R"({"v":3})")}, {}));
  CHECK(e3.inserted == 1);
  CHECK(ok(s->outbox_claim(10, 1000ms, {})).empty());
  ok(s->outbox_ack({claimed[0].id}));
  auto next = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(next.size() == 1);
  CHECK(next[0].write.payload == R"({"v":3})");

  SECTION("nack retries later") {
    ok(s->outbox_nack({next[0].id}, "429", clock.now() + 2000ms));
    clock.advance(1000ms);  // c2's claim expired: it returns
    auto again = ok(s->outbox_claim(10, 60000ms, {}));
    REQUIRE(again.size() == 1);
    CHECK(again[0].write.record_key == "c2");
    CHECK(again[0].attempts == 2);
    clock.advance(1000ms);
    auto retried = ok(s->outbox_claim(10, 1000ms, {}));
    REQUIRE(retried.size() == 1);
    CHECK(retried[0].write.payload == R"({"v":3})");
    CHECK(retried[0].last_error == "429");
  }
  SECTION("a nacked write superseded by a newer pending one is dropped") {
    ok(s->outbox_enqueue({write_of("c1", R"({"v":4})")}, {}));
    ok(s->outbox_nack({next[0].id}, "500", clock.now()));
    CHECK(ok(s->get_counts()).outbox_depth == 2);  // c1 v4 pending, c2 claimed
    auto w = ok(s->outbox_claim(10, 1000ms, {}));
    REQUIRE(w.size() == 1);
    CHECK(w[0].write.payload == R"({"v":4})");
  }
  SECTION("an expired claim superseded by a newer pending write is dropped") {
    ok(s->outbox_enqueue({write_of("c1", R"({"v":5})")}, {}));
    clock.advance(1000ms);
    auto w = ok(s->outbox_claim(10, 1000ms, {}));
    REQUIRE(w.size() == 2);
    std::set<std::string> payloads{w[0].write.payload, w[1].write.payload};
    CHECK(payloads == std::set<std::string>{R"({"v":5})", R"({"v":1})"});
    CHECK(ok(s->get_counts()).outbox_depth == 2);
  }
}

TEST_CASE("store: dead letters are added, listed, retried and dropped", "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  auto a = ok(s->dead_letter_add({retry_target::outbox, "hubspot", "contact", "c9", "", "write", "400 INVALID_EMAIL",
                                  R"({"email":"x"})", "{}"}));
  auto b = ok(s->dead_letter_add({retry_target::inbox, "zendesk", "", "", "zd-77", "parse", "malformed JSON", "{oops",
                                  R"({"content-type":"application/json"})"}));
  auto c = ok(s->dead_letter_add({retry_target::none, "zendesk", "user", "u1", "", "mapping", "no email", "{}", "{}"}));
  CHECK(a < b);
  CHECK(b < c);
  CHECK(ok(s->get_counts()).dead_letters == 3);
  CHECK(error_of(s->dead_letter_add({retry_target::none, "x", "", "", "", "", "", "", ""})) == errc::invalid_input);

  auto p1 = ok(s->dead_letter_list({std::nullopt, std::nullopt, 0, 2}));
  REQUIRE(p1.items.size() == 2);
  CHECK(p1.items[0].id == a);
  CHECK(p1.next_after_id == b);
  auto p2 = ok(s->dead_letter_list({std::nullopt, std::nullopt, p1.next_after_id, 2}));
  REQUIRE(p2.items.size() == 1);
  CHECK(p2.items[0].id == c);
  CHECK(p2.next_after_id == 0);
  auto zd = ok(s->dead_letter_list({std::string("zendesk"), std::nullopt, 0, 10}));
  CHECK(zd.items.size() == 2);
  auto parse = ok(s->dead_letter_list({std::nullopt, std::string("parse"), 0, 10}));
  REQUIRE(parse.items.size() == 1);
  CHECK(parse.items[0].entry.event_id == "zd-77");

  auto got = ok(s->dead_letter_get(a));
  CHECK(got.entry.target == retry_target::outbox);
  CHECK(got.entry.reason == "400 INVALID_EMAIL");
  CHECK(got.created_at == clock.now());
  CHECK(error_of(s->dead_letter_get(999)) == errc::not_found);

  // Retry to the outbox: the write for the record is queued again and the entry is gone. The payload it failed
  // with is not replayed: the writer computes what it sends from the profile when it sends it.
  ok(s->dead_letter_retry(a));
  CHECK(error_of(s->dead_letter_get(a)) == errc::not_found);
  auto w = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(w.size() == 1);
  CHECK(w[0].write.record_key == "c9");
  CHECK(w[0].write.payload == "{}");

  // Retry to the inbox: the event is queued again under its event id, even though that key was seen before.
  REQUIRE(ok(s->inbox_append({"zendesk", "zd-77", clock.now(), "{}", "{oops"})) == append_outcome::inserted);
  auto first = ok(s->inbox_claim(10, 1000ms, {}));
  REQUIRE(first.size() == 1);
  ok(s->inbox_ack({first[0].id}));
  ok(s->dead_letter_retry(b));
  auto ev = ok(s->inbox_claim(10, 1000ms, {}));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].event.dedupe_key == "zd-77");
  CHECK(ev[0].event.body == "{oops");
  CHECK(ev[0].event.meta == R"({"content-type":"application/json"})");

  // An entry without a queue cannot be retried, only dropped.
  CHECK(error_of(s->dead_letter_retry(c)) == errc::invalid_input);
  ok(s->dead_letter_drop(c));
  CHECK(error_of(s->dead_letter_drop(c)) == errc::not_found);
  CHECK(error_of(s->dead_letter_retry(c)) == errc::not_found);
  CHECK(ok(s->get_counts()).dead_letters == 0);
}

TEST_CASE("store: leases expire, change owner with a new token, and fence writes", "[store][lease]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const std::string key = "poll:salesforce:Contact";

  auto a = ok(s->lease(key, "node-a", 1000ms));
  CHECK(a.token == 1);
  CHECK(a.expires_at == clock.now() + 1000ms);
  CHECK(error_of(s->lease(key, "node-b", 1000ms)) == errc::conflict);
  clock.advance(500ms);
  auto renewed = ok(s->lease(key, "node-a", 1000ms));
  CHECK(renewed.token == 1);
  fence fa{key, a.token};

  ok(s->append_records({"sf", "Contact", {rec("1", "{}")}, "a-1", fa}));
  ok(s->cursor_set("sf", "Contact", "a-2", fa));
  CHECK(ok(s->outbox_enqueue({write_of("k", "{}")}, fa)).inserted == 1);
  CHECK(error_of(s->cursor_set("sf", "Contact", "x", fence{key, 7})) == errc::conflict);
  CHECK(error_of(s->cursor_set("sf", "Contact", "x", fence{"no-such-lease", 1})) == errc::conflict);

  clock.advance(1000ms);  // a's lease has expired: its writes are refused even before anyone takes over
  CHECK(error_of(s->cursor_set("sf", "Contact", "a-3", fa)) == errc::conflict);
  auto b = ok(s->lease(key, "node-b", 1000ms));
  CHECK(b.token == 2);
  CHECK(error_of(s->append_records({"sf", "Contact", {rec("2", "{}")}, "a-3", fa})) == errc::conflict);
  CHECK(error_of(s->outbox_enqueue({write_of("k2", "{}")}, fa)) == errc::conflict);
  CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("a-2"));
  CHECK_FALSE(ok(s->record_get("sf", "Contact", "2")).has_value());
  CHECK(ok(s->get_counts()).outbox_depth == 1);
  ok(s->cursor_set("sf", "Contact", "b-1", fence{key, b.token}));

  auto leases = ok(s->lease_list());
  REQUIRE(leases.size() == 1);
  CHECK(leases[0].owner == "node-b");
  CHECK(leases[0].token == 2);

  ok(s->lease_release(key, "node-a"));  // not the holder: no effect
  CHECK(error_of(s->lease(key, "node-a", 1000ms)) == errc::conflict);
  ok(s->lease_release(key, "node-b"));
  CHECK(ok(s->lease(key, "node-a", 1000ms)).token == 3);
  CHECK(error_of(s->lease(key, "node-a", 0ms)) == errc::invalid_input);
}

TEST_CASE("store: writes for one record in one enqueue call meet each other as pending", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  auto sum = ok(s->outbox_enqueue({write_of("c1", R"({"v":1})"), write_of("c1", R"({"v":2})"),
                                   write_of("c2", R"({"v":1})"), write_of("c2", R"({"v":1})")},
                                  {}));
  CHECK(sum.inserted == 2);
  CHECK(sum.coalesced == 1);   // c1's second write replaced the first
  CHECK(sum.unchanged == 1);   // c2's second write equals the first
  auto claimed = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].write.payload == R"({"v":2})");
  ok(s->outbox_ack(ids_of(claimed)));
  // Written: v2 again is nothing to do, also when a write in the same call changed it in between and back.
  sum = ok(s->outbox_enqueue({write_of("c1", R"({"v":2})"), write_of("c1", R"({"v":3})"),
                              write_of("c1", R"({"v":3})")},
                             {}));
  CHECK(sum.unchanged == 2);
  CHECK(sum.inserted == 1);
}

TEST_CASE("store: acks and nacks naming an id twice act once", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->outbox_enqueue({write_of("c1", R"({"v":1})"), write_of("c2", R"({"v":1})")}, {}));
  auto claimed = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(claimed.size() == 2);
  ok(s->outbox_nack({claimed[0].id, claimed[0].id}, "busy", clock.now()));
  ok(s->outbox_ack({claimed[1].id, claimed[1].id}));
  auto again = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(again.size() == 1);
  CHECK(again[0].write.record_key == "c1");
  CHECK(again[0].last_error == "busy");
  CHECK(ok(s->outbox_last_written({write_of("c2", "")}))[0] == std::optional<std::string>(R"({"v":1})"));
}

TEST_CASE("store: record keys with quotes, backslashes, commas and braces go through the outbox unchanged",
          "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  std::vector<outbox_write> writes;
  for (std::string key : {"a\"b", "c\\d", "e,f", "{g}", "NULL", " h ", "\xc3\xa9\xe2\x82\xac"})
    writes.push_back(write_of(key, R"({"key":")" + key + "\"}"));
  writes.back().object = "o\"b,j";
  CHECK(ok(s->outbox_enqueue(writes, {})).inserted == writes.size());
  for (const auto& last : ok(s->outbox_last_written(writes))) CHECK_FALSE(last);
  auto claimed = ok(s->outbox_claim(100, 1000ms, {}));
  REQUIRE(claimed.size() == writes.size());
  ok(s->outbox_ack(ids_of(claimed)));
  auto last = ok(s->outbox_last_written(writes));
  REQUIRE(last.size() == writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) CHECK(last[i] == std::optional<std::string>(writes[i].payload));
  CHECK(ok(s->outbox_enqueue(writes, {})).unchanged == writes.size());
}

TEST_CASE("store: a write refused again replaces the record's open dead letter, other records and stages stay",
          "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->dead_letter_add({retry_target::outbox, "hubspot", "contact", "c9", "", "write", "400 first", "{}", "{}"}));
  ok(s->dead_letter_add({retry_target::outbox, "hubspot", "contact", "c8", "", "write", "400 other", "{}", "{}"}));
  ok(s->dead_letter_add({retry_target::none, "hubspot", "contact", "c9", "", "mapping", "no email", "{}", "{}"}));
  clock.advance(1s);
  auto again = ok(s->dead_letter_add({retry_target::outbox, "hubspot", "contact", "c9", "", "write", "400 again",
                                      R"({"v":2})", "{}"}));
  CHECK(ok(s->get_counts()).dead_letters == 3);
  auto writes = ok(s->dead_letter_list({std::string("hubspot"), std::string("write"), 0, 10}));
  REQUIRE(writes.items.size() == 2);
  CHECK(writes.items[0].entry.record_id == "c8");
  CHECK(writes.items[1].id == again);
  CHECK(writes.items[1].entry.reason == "400 again");
  CHECK(ok(s->dead_letter_list({std::string("hubspot"), std::string("mapping"), 0, 10})).items.size() == 1);
}

TEST_CASE("store: outbox_due_now makes one object's pending writes due with their attempts counted anew",
          "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->outbox_enqueue({{"sf", "segment:vip", "p1", R"({"op":"remove"})"},
                        {"sf", "segment:vip", "p2", R"({"op":"remove"})"},
                        {"sf", "segment:other", "p3", R"({"op":"remove"})"},
                        {"hs", "segment:vip", "p4", R"({"op":"remove"})"}},
                       {}));
  // Each tried three times and put back an hour ahead (as a held segment's writes are).
  for (int round = 0; round < 3; ++round) {
    auto claimed = ok(s->outbox_claim(10, 1000ms, {}));
    REQUIRE(claimed.size() == 4);
    ok(s->outbox_nack(ids_of(claimed), "segment sync held: vip", clock.now() + 1h));
    clock.advance(2h);
  }
  ok(s->outbox_nack(ids_of(ok(s->outbox_claim(10, 1000ms, {}))), "held", clock.now() + 1h));
  CHECK(ok(s->outbox_claim(10, 1000ms, {})).empty());  // nothing due
  CHECK(ok(s->outbox_due_now("sf", "segment:vip")) == 2);
  auto due = ok(s->outbox_claim(10, 1000ms, {}));
  REQUIRE(due.size() == 2);
  for (const auto& it : due) {
    CHECK(it.write.connector == "sf");
    CHECK(it.write.object == "segment:vip");
    CHECK(it.attempts == 1);  // counted from zero again: this claim is its first attempt
  }
  // Claimed writes are not touched; nothing matches an unknown object.
  CHECK(ok(s->outbox_due_now("sf", "segment:vip")) == 0);
  CHECK(ok(s->outbox_due_now("sf", "segment:none")) == 0);
  CHECK(error_of(s->outbox_due_now("", "segment:vip")) == errc::invalid_input);
}

TEST_CASE("store: an uncounted retry gives its claim back, a counted one keeps it", "[store][outbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->outbox_enqueue({{"sf", "segment:vip", "p1", R"({"op":"remove"})"},
                        {"sf", "segment:vip", "p2", R"({"op":"remove"})"}},
                       {}));
  // Three re-checks of p1 while held (uncounted), three failed sends of p2 (counted).
  for (int round = 0; round < 3; ++round) {
    auto claimed = ok(s->outbox_claim(10, 1000ms, {}));
    REQUIRE(claimed.size() == 2);
    write_settlement w;
    for (const auto& it : claimed) {
      CHECK(it.attempts == (it.write.record_key == "p1" ? 1 : round + 1));  // this claim included
      w.retried.emplace_back(it.id, it.write.record_key == "p1" ? "segment sync held: vip" : "503",
                             clock.now() + 1s, /*uncounted=*/it.write.record_key == "p1");
    }
    ok(s->outbox_settle(std::move(w)));
    clock.advance(2s);
  }
  auto page = ok(s->outbox_pending(outbox_filter(std::string("sf"))));
  REQUIRE(page.items.size() == 2);
  for (const auto& it : page.items) {
    CHECK(it.attempts == (it.write.record_key == "p1" ? 0 : 3));
    CHECK(it.last_error == (it.write.record_key == "p1" ? "segment sync held: vip" : "503"));
  }
}
