// Dead letters in bulk through the store's interface, on both backends (built into test_store and test_store_pg):
// filters (connector, object, stage, reason substring or glob, time range, state), paging, grouped counts, bulk
// retry and drop, resolution by a later success, and the retry schedule's step.
#include <string>
#include <vector>

#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

namespace {

dead_letter_entry refused(std::string connector, std::string object, std::string id, std::string reason) {
  return {retry_target::outbox, std::move(connector), std::move(object), std::move(id), "", "write",
          std::move(reason), R"({"stale":true})", R"({"profile_id":"p-1"})"};
}

dead_letter_filter all_open() { return dead_letter_filter(std::nullopt, std::nullopt, 0, 1000); }

std::vector<std::string> record_ids(const dead_letter_page& p) {
  std::vector<std::string> out;
  for (const auto& d : p.items) out.push_back(d.entry.record_id);
  return out;
}

/// 5 hubspot/contacts refused for a missing property, 2 hubspot/companies rate-limited, 1 zendesk/users refused,
/// 1 mapping failure; the clock advances 1 s between them.
void fill(store& s, manual_clock& clock) {
  for (int i = 0; i < 5; ++i) {
    ok(s.dead_letter_add(refused("hubspot", "contacts", "c" + std::to_string(i),
                                 R"(VALIDATION_ERROR: Property "x" does not exist)")));
    clock.advance(1s);
  }
  for (int i = 0; i < 2; ++i) {
    auto e = refused("hubspot", "companies", "k" + std::to_string(i), "429 Too Many Requests");
    e.retryable = true;
    ok(s.dead_letter_add(std::move(e)));
    clock.advance(1s);
  }
  ok(s.dead_letter_add(refused("zendesk", "users", "u1", "422 Email: is already being used by another user")));
  clock.advance(1s);
  ok(s.dead_letter_add({retry_target::none, "salesforce", "Contact", "003A", "", "mapping",
                        "email: not a valid e-mail address (50%_off)", "{}", "{}"}));
  clock.advance(1s);
}

}  // namespace

TEST_CASE("store: dead letters are filtered by object, reason, time and stage, and paged", "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  const auto t0 = clock.now();
  auto s = open_ok(make_options(dir.path(), clock));
  fill(*s, clock);

  auto f = all_open();
  f.object = "contacts";
  CHECK(ok(s->dead_letter_list(f)).items.size() == 5);
  f = all_open();
  f.reason = "does NOT exist";  // a substring, ASCII case ignored
  CHECK(ok(s->dead_letter_list(f)).items.size() == 5);
  f.reason = "4?? *";  // a glob over the whole reason
  CHECK(record_ids(ok(s->dead_letter_list(f))) == std::vector<std::string>{"k0", "k1", "u1"});
  f.reason = "422*";
  CHECK(ok(s->dead_letter_list(f)).items.size() == 1);
  f.reason = "%_off";  // LIKE's wildcards are text here
  CHECK(record_ids(ok(s->dead_letter_list(f))) == std::vector<std::string>{"003A"});
  f.reason = "50%_of";
  CHECK(ok(s->dead_letter_list(f)).items.size() == 1);
  f.reason = "x%_of";
  CHECK(ok(s->dead_letter_list(f)).items.empty());
  f = all_open();
  f.since = t0 + 5s;  // created at or after
  f.until = t0 + 7s;  // created before
  CHECK(record_ids(ok(s->dead_letter_list(f))) == std::vector<std::string>{"k0", "k1"});
  f = all_open();
  f.stage = "mapping";
  CHECK(ok(s->dead_letter_list(f)).items.size() == 1);
  f = all_open();
  f.retryable_only = true;
  CHECK(ok(s->dead_letter_list(f)).items.size() == 2);

  // Pages of 4 over the 9 entries: 4, 4, 1, each page naming where the next starts.
  std::vector<std::string> seen;
  dead_letter_filter page(std::nullopt, std::nullopt, 0, 4);
  int pages = 0;
  for (;;) {
    auto p = ok(s->dead_letter_list(page));
    ++pages;
    for (auto& id : record_ids(p)) seen.push_back(id);
    if (p.next_after_id == 0) break;
    page.after_id = p.next_after_id;
  }
  CHECK(pages == 3);
  CHECK(seen.size() == 9);
}

TEST_CASE("store: dead letters are counted by connector, object, stage and reason", "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  const auto t0 = clock.now();
  auto s = open_ok(make_options(dir.path(), clock));
  fill(*s, clock);
  auto groups = ok(s->dead_letter_stats(all_open()));
  REQUIRE(groups.size() == 4);
  CHECK(groups[0].connector == "hubspot");
  CHECK(groups[0].object == "contacts");
  CHECK(groups[0].stage == "write");
  CHECK(groups[0].reason == R"(VALIDATION_ERROR: Property "x" does not exist)");
  CHECK(groups[0].count == 5);
  CHECK(groups[0].first == t0);
  CHECK(groups[0].last == t0 + 4s);
  CHECK(groups[1].count == 2);
  CHECK(groups[1].object == "companies");
  auto f = all_open();
  f.connector = "zendesk";
  groups = ok(s->dead_letter_stats(f));
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].count == 1);
}

TEST_CASE("store: bulk retry re-queues the matching writes and events, bulk drop removes by filter",
          "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  fill(*s, clock);
  ok(s->dead_letter_add({retry_target::inbox, "zendesk", "", "", "zd-9", "parse", "malformed JSON", "{oops", "{}"}));

  auto f = all_open();
  f.connector = "hubspot";
  f.object = "contacts";
  auto done = ok(s->dead_letter_retry_matching(f));
  CHECK(done.requeued == 5);
  CHECK(done.not_retryable == 0);
  CHECK(ok(s->get_counts()).dead_letters == 5);
  CHECK(ok(s->get_counts()).outbox_depth == 5);
  auto w = ok(s->outbox_claim(100, 10s, {}));
  REQUIRE(w.size() == 5);
  for (const auto& it : w) {
    CHECK(it.write.connector == "hubspot");
    CHECK(it.write.payload == "{}");  // never the payload it failed with
    CHECK(it.write.profile_id == "p-1");
  }

  // Everything else: the writes and the event go back, the mapping failure has nowhere to go and stays.
  done = ok(s->dead_letter_retry_matching(all_open()));
  CHECK(done.requeued == 4);
  CHECK(done.not_retryable == 1);
  auto ev = ok(s->inbox_claim(10, 10s, {}));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].event.dedupe_key == "zd-9");
  CHECK(ok(s->get_counts()).dead_letters == 1);

  fill(*s, clock);
  f = all_open();
  f.reason = "429*";
  CHECK(ok(s->dead_letter_drop_matching(f)) == 2);
  f = all_open();
  f.stage = "write";
  CHECK(ok(s->dead_letter_drop_matching(f)) == 6);
  // The mapping failure of the second fill replaced the first one's (one open entry per record and stage).
  CHECK(ok(s->dead_letter_drop_matching(all_open())) == 1);
  CHECK(ok(s->get_counts()).dead_letters == 0);
}

TEST_CASE("store: bulk retry goes through more entries than one batch", "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  for (int i = 0; i < 2100; ++i) {
    ok(s->dead_letter_add(refused("hubspot", "contacts", "c" + std::to_string(i), "400 bad")));
    if (i % 700 == 0)
      ok(s->dead_letter_add({retry_target::none, "hubspot", "contacts", "m" + std::to_string(i), "", "mapping",
                             "bad", "{}", "{}"}));
  }
  auto done = ok(s->dead_letter_retry_matching(all_open()));
  CHECK(done.requeued == 2100);
  CHECK(done.not_retryable == 3);
  CHECK(ok(s->get_counts()).outbox_depth == 2100);
  CHECK(ok(s->get_counts()).dead_letters == 3);
}

TEST_CASE("store: a later success resolves a record's open dead letters of that stage", "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  fill(*s, clock);
  CHECK(ok(s->get_counts()).dead_letters == 9);
  CHECK(ok(s->dead_letter_resolve("hubspot", "contacts", "write", {"c0", "c1", "nope"})) == 2);
  CHECK(ok(s->dead_letter_resolve("hubspot", "contacts", "write", {"c0"})) == 0);  // already resolved
  CHECK(ok(s->dead_letter_resolve("hubspot", "contacts", "mapping", {"c2"})) == 0);  // another stage
  CHECK(ok(s->dead_letter_resolve("salesforce", "Contact", "mapping", {"003A"})) == 1);
  CHECK(ok(s->dead_letter_resolve("hubspot", "contacts", "write", {})) == 0);
  // The count (the gauge) and the default list hold only open entries; resolved ones can still be listed.
  CHECK(ok(s->get_counts()).dead_letters == 6);
  CHECK(ok(s->dead_letter_list(all_open())).items.size() == 6);
  auto f = all_open();
  f.state = dead_letter_state::resolved;
  auto resolved = ok(s->dead_letter_list(f));
  REQUIRE(resolved.items.size() == 3);
  CHECK(resolved.items[0].resolved_at == clock.now());
  f.state = dead_letter_state::any;
  CHECK(ok(s->dead_letter_list(f)).items.size() == 9);
  // A new failure of a resolved record opens a new entry; the resolved one stays as history.
  ok(s->dead_letter_add(refused("hubspot", "contacts", "c0", "400 again")));
  CHECK(ok(s->get_counts()).dead_letters == 7);
  CHECK(ok(s->dead_letter_list(f)).items.size() == 10);
  // Dropping resolved entries (the retention) leaves the open ones.
  f.state = dead_letter_state::resolved;
  CHECK(ok(s->dead_letter_drop_matching(f)) == 3);
  CHECK(ok(s->get_counts()).dead_letters == 7);
}

TEST_CASE("store: a scheduled retry re-queues the write and keeps the entry open, counting retries",
          "[store][dlq]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  auto e = refused("hubspot", "companies", "k0", "503 Service Unavailable");
  e.retryable = true;
  const auto id = ok(s->dead_letter_add(std::move(e)));
  const auto mapping = ok(s->dead_letter_add({retry_target::none, "hubspot", "companies", "k0", "", "mapping", "bad",
                                              "{}", "{}"}));
  CHECK(ok(s->dead_letter_retry_scheduled({id, mapping, 999})) == 1);
  auto got = ok(s->dead_letter_get(id));
  CHECK(got.retries == 1);
  CHECK(!got.resolved_at);
  CHECK(got.entry.retryable);
  auto w = ok(s->outbox_claim(10, 10s, {}));
  REQUIRE(w.size() == 1);
  CHECK(w[0].write.record_key == "k0");
  CHECK(w[0].write.payload == "{}");
  // It fails again: the new entry replaces the open one and keeps the count.
  clock.advance(1s);
  auto again = refused("hubspot", "companies", "k0", "503 again");
  again.retryable = true;
  const auto id2 = ok(s->dead_letter_add(std::move(again)));
  CHECK(error_of(s->dead_letter_get(id)) == errc::not_found);
  got = ok(s->dead_letter_get(id2));
  CHECK(got.retries == 1);
  CHECK(got.created_at == clock.now());
  // A resolved entry is not retried.
  ok(s->dead_letter_resolve("hubspot", "companies", "write", {"k0"}));
  CHECK(ok(s->dead_letter_retry_scheduled({id2})) == 0);
}
