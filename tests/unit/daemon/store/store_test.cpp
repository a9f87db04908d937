// Unit tests of the store through its public interface (and raw SQLite where a test must reach under it:
// building old schema versions, corrupting versions, holding locks). Built twice: test_store (SQLite) and
// test_store_pg (PostgreSQL, see store_fixture.hpp), which leaves out the cases tagged [sqlite];
// pg_store_test.cpp has PostgreSQL's equivalents of those. The migration case runs on both, reaching under the
// store through state_exec/state_scalar.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <set>
#include <thread>

#include "daemon/store/sqlite_db.hpp"
#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

namespace {

/// A raw SQLite handle on a store file, for what the public interface deliberately cannot do.
struct raw_db {
  explicit raw_db(const std::filesystem::path& p) { REQUIRE(sqlite3_open(p.c_str(), &db) == SQLITE_OK); }
  ~raw_db() { sqlite3_close(db); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    INFO(sql << ": " << msg);
    REQUIRE(rc == SQLITE_OK);
  }
  std::int64_t scalar(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    auto v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }
  sqlite3* db = nullptr;
};

/// SQL on the state database behind `o`, outside the store (rows as an older release wrote them).
void state_exec(const options& o, const std::string& sql) {
#ifdef OMNISYNC_STORE_PG
  omnisync::test::pg_cluster::exec(o.dsn, sql);
#else
  raw_db(o.state_dir / "state.db").exec(sql);
#endif
}

std::int64_t state_scalar(const options& o, const std::string& sql) {
#ifdef OMNISYNC_STORE_PG
  return std::stoll(omnisync::test::pg_cluster::scalar(o.dsn, sql));
#else
  return raw_db(o.state_dir / "state.db").scalar(sql);
#endif
}

}  // namespace

TEST_CASE("store: a new state dir is created and migrated to the latest schema", "[store][migrations][sqlite]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto sub = dir.path() / "a" / "b";
  {
    auto s = open_ok(make_options(sub, clock));
    CHECK(s->kind() == "sqlite");
    CHECK(s->schema_version() == latest_schema_version());
    CHECK(s->inbox_schema_version() == latest_inbox_schema_version());
    CHECK(latest_schema_version() >= 3);
    CHECK_FALSE(ok(s->meta_get("instance")).has_value());
    ok(s->meta_set("instance", "one"));
    ok(s->meta_set("instance", "two"));
    CHECK(ok(s->meta_get("instance")) == std::optional<std::string>("two"));
    CHECK(error_of(s->meta_set("", "x")) == errc::invalid_input);
  }
  REQUIRE(std::filesystem::exists(sub / "state.db"));
  REQUIRE(std::filesystem::exists(sub / "inbox.db"));
  {
    raw_db raw(sub / "state.db");
    CHECK(raw.scalar("PRAGMA user_version") == latest_schema_version());
    CHECK(raw.scalar("SELECT count(*) FROM schema_migrations") == latest_schema_version());
    raw_db inbox(sub / "inbox.db");
    CHECK(inbox.scalar("PRAGMA user_version") == latest_inbox_schema_version());
  }
  // Reopening keeps the data and applies nothing.
  auto s = open_ok(make_options(sub, clock));
  CHECK(ok(s->meta_get("instance")) == std::optional<std::string>("two"));
}

TEST_CASE("store: migrates from every earlier schema version", "[store][migrations]") {
  const int latest = std::max(latest_schema_version(), latest_inbox_schema_version());
  for (int n = 0; n < latest; ++n) {
    DYNAMIC_SECTION("from version " << n) {
      omnisync::test::temp_dir dir;
      manual_clock clock;
      auto o = make_options(dir.path(), clock);
      o.migrate_to = n;
      {
        auto s = open_ok(o);
        CHECK(s->schema_version() == std::min(n, latest_schema_version()));
        CHECK(s->inbox_schema_version() == std::min(n, latest_inbox_schema_version()));
        // Data written at the old version must survive the upgrade.
        if (n >= 1) {
          ok(s->meta_set("written_at", std::to_string(n)));
          if (n >= 6) ok(s->append_records({"sf", "Contact", {rec("003A", R"({"v":1})")}, "c1", {}}));
          ok(s->inbox_append({"hubspot", "ev-1", clock.now(), "{}", "body"}));
        }
      }
      if (n >= 1 && n < 6) {
        // The code writes today's columns: a record written by an older release goes in as that release did.
        state_exec(o, n < 5 ? "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at) "
                              "VALUES('sf', 'Contact', '003A', '{\"v\":1}', 1, false, 1234)"
                            : "INSERT INTO records(connector, object, id, payload, source_ts, deleted, stored_at, "
                              "first_seen) VALUES('sf', 'Contact', '003A', '{\"v\":1}', 1, false, 1234, 1234)");
        state_exec(o, "INSERT INTO cursors(connector, object, value, updated_at) VALUES('sf', 'Contact', 'c1', 1)");
      }
#ifndef OMNISYNC_STORE_PG
      CHECK(state_scalar(o, "PRAGMA user_version") == std::min(n, latest_schema_version()));
#endif
      o.migrate_to.reset();
      auto s = open_ok(o);
      CHECK(s->schema_version() == latest_schema_version());
      CHECK(s->inbox_schema_version() == latest_inbox_schema_version());
      if (n >= 1) {
        CHECK(ok(s->meta_get("written_at")) == std::optional<std::string>(std::to_string(n)));
        CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("c1"));
        CHECK(ok(s->inbox_append({"hubspot", "ev-1", clock.now(), "{}", "body"})) == append_outcome::duplicate);
        CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 1);
        auto r = ok(s->record_get("sf", "Contact", "003A"));
        REQUIRE(r.has_value());
        // first_seen: migrated from stored_at for rows of older releases; kept by later copies. Facts: none yet.
        if (n < 6) CHECK(r->first_seen.time_since_epoch().count() == 1234);
        CHECK(r->facts.empty());
        ok(s->append_records({"sf", "Contact", {rec("003A", R"({"v":2})")}, "c2", {}}));
        auto again = ok(s->record_get("sf", "Contact", "003A"));
        REQUIRE(again.has_value());
        CHECK(again->first_seen == r->first_seen);
        CHECK(again->payload == R"({"v":2})");
      }
      // Every feature works on the migrated database.
      CHECK(ok(s->outbox_enqueue({write_of("k", "{}")}, {})).inserted == 1);
      CHECK(ok(s->lease("poll:sf", "me", 1s)).token == 1);
      CHECK(ok(s->dead_letter_add({retry_target::none, "sf", "Contact", "1", "", "mapping", "bad", "{}", "{}"})) > 0);
      CHECK(ok(s->integrity_check()) == "ok");
#ifdef OMNISYNC_STORE_PG
      CHECK(state_scalar(o, "SELECT count(*) FROM schema_migrations WHERE db = 'state'") == latest_schema_version());
#else
      CHECK(state_scalar(o, "SELECT count(*) FROM schema_migrations") == latest_schema_version());
#endif
    }
  }
}

TEST_CASE("store: refuses a database with a newer schema", "[store][migrations][sqlite]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  { open_ok(make_options(dir.path(), clock)); }
  SECTION("state.db") {
    raw_db(dir / "state.db").exec("PRAGMA user_version=" + std::to_string(latest_schema_version() + 1));
  }
  SECTION("inbox.db") {
    raw_db(dir / "inbox.db").exec("PRAGMA user_version=" + std::to_string(latest_inbox_schema_version() + 1));
  }
  std::string why;
  auto s = open_store(make_options(dir.path(), clock), &why);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error() == omnisync::make_error_code(errc::fail));
  CHECK_THAT(why, Catch::Contains("newer than this omnisyncd knows"));
  CHECK_THAT(why, Catch::Contains("refusing to start"));
}

TEST_CASE("store: a file that is not a database fails to open with errc::fail", "[store][sqlite]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  dir.write("state.db", std::string(8192, 'x'));
  std::string why;
  auto s = open_store(make_options(dir.path(), clock), &why);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error() == omnisync::make_error_code(errc::fail));
  CHECK_FALSE(why.empty());
}

TEST_CASE("store: records and cursor advance together or not at all", "[store][records]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  boost::asio::io_context io;  // first: it outlives the store (store.hpp, lifecycle)
  auto s = open_ok(make_options(dir.path(), clock));

  auto sum = ok(s->append_records({"sf", "Contact", {rec("1", R"({"n":"a"})", 100), rec("2", R"({"n":"b"})", 100)},
                                   "cur-1", {}}));
  CHECK(sum.written == 2);
  CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("cur-1"));

  SECTION("a failing batch leaves records and cursor unchanged") {
    // Record "3" is valid and written first; the record without an id fails the whole batch.
    auto e = error_of(s->append_records({"sf", "Contact", {rec("3", "{}", 200), rec("", "{}", 200)}, "cur-2", {}}));
    CHECK(e == errc::invalid_input);
    CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("cur-1"));
    CHECK_FALSE(ok(s->record_get("sf", "Contact", "3")).has_value());
    CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 2);
  }

  SECTION("a failing batch in the same group commit does not disturb the others") {
    std::vector<errc> results(3, errc::cancelled);
    auto run = [&](int i, record_batch b) -> boost::asio::awaitable<void> {
      auto r = co_await s->append_records(std::move(b));
      results[static_cast<std::size_t>(i)] = r ? errc::ok : static_cast<errc>(r.error().value());
    };
    boost::asio::co_spawn(io, run(0, {"sf", "Contact", {rec("10", "{}")}, "cur-a", {}}), boost::asio::detached);
    boost::asio::co_spawn(io, run(1, {"zd", "User", {rec("11", "{}"), rec("", "{}")}, "cur-b", {}}),
                          boost::asio::detached);
    boost::asio::co_spawn(io, run(2, {"ic", "Contact", {rec("12", "{}")}, "cur-c", {}}), boost::asio::detached);
    io.run();
    CHECK(results == std::vector<errc>{errc::ok, errc::invalid_input, errc::ok});
    CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("cur-a"));
    CHECK_FALSE(ok(s->cursor_get("zd", "User")).has_value());
    CHECK_FALSE(ok(s->record_get("zd", "User", "11")).has_value());
    CHECK(ok(s->cursor_get("ic", "Contact")) == std::optional<std::string>("cur-c"));
    CHECK(ok(s->record_get("ic", "Contact", "12")).has_value());
  }

  SECTION("an older copy does not replace a newer one; deletes are stored") {
    auto r = ok(s->append_records({"sf", "Contact", {rec("1", R"({"n":"old"})", 50), rec("2", "{}", 300, true)},
                                   std::nullopt, {}}));
    CHECK(r.written == 1);
    CHECK(r.stale == 1);
    auto one = ok(s->record_get("sf", "Contact", "1"));
    REQUIRE(one);
    CHECK(one->payload == R"({"n":"a"})");
    auto two = ok(s->record_get("sf", "Contact", "2"));
    REQUIRE(two);
    CHECK(two->deleted);
    CHECK(two->source_updated_at == timestamp(300ms));
    CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("cur-1"));  // nullopt: unchanged
    auto cursors = ok(s->cursor_list());
    REQUIRE(cursors.size() == 1);
    CHECK(cursors[0].connector == "sf");
    CHECK(cursors[0].value == "cur-1");
  }
}

TEST_CASE("store: records are scanned in pages by id", "[store][records]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  std::vector<source_record> recs;
  for (int i = 0; i < 25; ++i) recs.push_back(rec("id" + std::to_string(100 + i), "{}"));
  ok(s->append_records({"sf", "Contact", recs, "c", {}}));
  ok(s->append_records({"sf", "Account", {rec("other", "{}")}, "c", {}}));
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    auto page = ok(s->record_scan("sf", "Contact", after, 10));
    if (page.empty()) break;
    CHECK(page.size() <= 10);
    for (const auto& r : page) {
      CHECK(r.object == "Contact");
      seen.push_back(r.id);
    }
    after = page.back().id;
  }
  REQUIRE(seen.size() == 25);
  CHECK(seen.front() == "id100");
  CHECK(seen.back() == "id124");
  CHECK(std::is_sorted(seen.begin(), seen.end()));
}

TEST_CASE("store: inbox de-duplicates on (connector, dedupe key)", "[store][inbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  inbox_event ev{"hubspot", "evt-1", clock.now(), R"({"x-hubspot-signature-v3":"..."})", "[{\"eventId\":1}]"};
  CHECK(ok(s->inbox_append(ev)) == append_outcome::inserted);
  CHECK(ok(s->inbox_append(ev)) == append_outcome::duplicate);
  auto other = ev;
  other.connector = "hubspot-eu";
  CHECK(ok(s->inbox_append(other)) == append_outcome::inserted);
  CHECK(ok(s->get_counts()).inbox_depth == 2);
  CHECK(error_of(s->inbox_append({"hubspot", "", clock.now(), "{}", "x"})) == errc::invalid_input);

  // Processed events stay duplicates (vendors redeliver) until pruned.
  auto items = ok(s->inbox_claim(10, 1s, std::string("hubspot")));
  REQUIRE(items.size() == 1);
  CHECK(items[0].event.body == ev.body);
  CHECK(items[0].event.meta == ev.meta);
  ok(s->inbox_ack({items[0].id}));
  CHECK(ok(s->inbox_append(ev)) == append_outcome::duplicate);
  CHECK(ok(s->get_counts()).inbox_depth == 1);
  CHECK(ok(s->inbox_prune(clock.now())) == 0);  // received_at == now is not before now
  clock.advance(1ms);
  CHECK(ok(s->inbox_prune(clock.now())) == 1);  // only the acknowledged one
  CHECK(ok(s->inbox_append(ev)) == append_outcome::inserted);
}

TEST_CASE("store: concurrent inbox appends share transactions (group commit)", "[store][inbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  boost::asio::io_context io;  // first: it outlives the store (store.hpp, lifecycle)
  auto s = open_ok(make_options(dir.path(), clock));  // synchronous=FULL
  const auto before = s->stats();
  constexpr int n = 200;
  int inserted = 0, failed = 0;
  for (int i = 0; i < n; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          // A braced argument inside the co_await expression: safe because inbox_event is not an aggregate
          // (GCC 12 corrupts aggregates here; see README). The ASan build of this test catches a regression.
          auto r = co_await s->inbox_append({"zendesk", "e" + std::to_string(i), clock.now(), "{}", "b"});
          if (r && *r == append_outcome::inserted)
            ++inserted;
          else
            ++failed;
        },
        boost::asio::detached);
  }
  io.run();
  CHECK(inserted == n);
  CHECK(failed == 0);
  const auto after = s->stats();
  const auto commits = after.inbox_commits - before.inbox_commits;
  INFO("inbox commits for " << n << " appends: " << commits);
  CHECK(after.inbox_appends - before.inbox_appends == n);
  CHECK(commits >= 1);
  CHECK(commits <= n / 4);
  CHECK(ok(s->get_counts()).inbox_depth == n);
}

TEST_CASE("store: max_group bounds how many operations share a transaction", "[store][inbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.max_group = 1;
  boost::asio::io_context io;  // first: it outlives the store (store.hpp, lifecycle)
  auto s = open_ok(o);
  const auto before = s->stats().inbox_commits;
  int inserted = 0;
  for (int i = 0; i < 30; ++i)
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          auto r = co_await s->inbox_append({"zendesk", "e" + std::to_string(i), clock.now(), "{}", "b"});
          if (r && *r == append_outcome::inserted) ++inserted;
        },
        boost::asio::detached);
  io.run();
  CHECK(inserted == 30);
  CHECK(s->stats().inbox_commits - before == 30);
}

TEST_CASE("store: inbox claim, ack, nack and expired claims", "[store][inbox]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  for (int i = 1; i <= 3; ++i)
    REQUIRE(ok(s->inbox_append({"intercom", "e" + std::to_string(i), clock.now(), "{}", "b" + std::to_string(i)})) ==
            append_outcome::inserted);

  auto first = ok(s->inbox_claim(2, 1000ms, {}));
  REQUIRE(first.size() == 2);
  CHECK(first[0].event.dedupe_key == "e1");
  CHECK(first[1].event.dedupe_key == "e2");
  CHECK(first[0].attempts == 1);
  auto second = ok(s->inbox_claim(10, 1000ms, {}));
  REQUIRE(second.size() == 1);
  CHECK(second[0].event.dedupe_key == "e3");
  CHECK(ok(s->inbox_claim(10, 1000ms, {})).empty());  // everything is claimed
  CHECK(ok(s->inbox_claim(10, 1000ms, std::string("other"))).empty());

  ok(s->inbox_ack({first[0].id}));
  ok(s->inbox_nack({first[1].id}, "mapping: no email", clock.now() + 5000ms));
  CHECK(ok(s->get_counts()).inbox_depth == 2);

  clock.advance(999ms);
  CHECK(ok(s->inbox_claim(10, 1000ms, {})).empty());
  clock.advance(2ms);  // e3's claim ran out: it is back; e2 waits for its retry time
  auto back = ok(s->inbox_claim(10, 60000ms, {}));
  REQUIRE(back.size() == 1);
  CHECK(back[0].event.dedupe_key == "e3");
  CHECK(back[0].attempts == 2);
  clock.advance(4000ms);
  auto retried = ok(s->inbox_claim(10, 1000ms, {}));
  REQUIRE(retried.size() == 1);
  CHECK(retried[0].event.dedupe_key == "e2");
  CHECK(retried[0].event.body == "b2");
  CHECK(retried[0].attempts == 2);
  CHECK(retried[0].last_error == "mapping: no email");
  ok(s->inbox_ack({retried[0].id, back[0].id}));
  CHECK(ok(s->get_counts()).inbox_depth == 0);
  CHECK(error_of(s->inbox_claim(1, 0ms, {})) == errc::invalid_input);
}

TEST_CASE("store: counts, file sizes and integrity check for status", "[store][status]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->append_records({"sf", "Contact", {rec("1", "{}"), rec("2", "{}")}, "c", {}}));
  ok(s->append_records({"sf", "Account", {rec("1", "{}")}, "c", {}}));
  ok(s->append_records({"hubspot", "contact", {rec("1", "{}")}, "c", {}}));
  ok(s->append_records({"sf", "Contact", {rec("1", "{}", 2000)}, "c", {}}));  // update: no new row
  ok(s->inbox_append({"hubspot", "e", clock.now(), "{}", "b"}));
  ok(s->outbox_enqueue({write_of("k", "{}")}, {}));
  ok(s->inbox_append({"zendesk", "e", clock.now(), "{}", "b"}));
  ok(s->inbox_append({"zendesk", "f", clock.now(), "{}", "b"}));
  auto c = ok(s->get_counts());
  CHECK(c.records_per_connector == std::map<std::string, std::int64_t>{{"hubspot", 1}, {"sf", 3}});
  CHECK(c.inbox_depth_per_connector == std::map<std::string, std::int64_t>{{"hubspot", 1}, {"zendesk", 2}});
  CHECK(c.outbox_depth_per_connector == std::map<std::string, std::int64_t>{{"hubspot", 1}});
  CHECK(c.inbox_depth == 3);
  CHECK(c.outbox_depth == 1);
  CHECK(c.dead_letters == 0);
  CHECK(c.state_db_bytes > 0);
  CHECK(c.inbox_db_bytes > 0);
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store: a locked database answers errc::retry", "[store][errors][sqlite]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.busy_timeout = 50ms;
  boost::asio::io_context io;  // first: it outlives the store (store.hpp, lifecycle)
  auto s = open_ok(o);
  raw_db other(dir / "state.db");
  other.exec("BEGIN IMMEDIATE");
  other.exec("INSERT INTO meta(key, value) VALUES('held', 'by another process')");
  CHECK(error_of(s->meta_set("k", "v")) == errc::retry);
  CHECK_FALSE(ok(s->meta_get("k")).has_value());  // readers are not blocked by the writer
  // Operations queued together while the lock is held all fail with retry, none succeeds half-way.
  std::vector<errc> results;
  for (int i = 0; i < 5; ++i)
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          auto r = co_await s->meta_set("q" + std::to_string(i), "v");
          results.push_back(r ? errc::ok : static_cast<errc>(r.error().value()));
        },
        boost::asio::detached);
  io.run();
  CHECK(results == std::vector<errc>(5, errc::retry));
  CHECK_FALSE(ok(s->meta_get("q0")).has_value());
  other.exec("COMMIT");
  ok(s->meta_set("k", "v"));
  CHECK(ok(s->meta_get("held")) == std::optional<std::string>("by another process"));
}

TEST_CASE("store: inbox appends do not wait for a write lock on state.db", "[store][inbox][sqlite]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.busy_timeout = 100ms;
  auto s = open_ok(o);
  raw_db poller(dir / "state.db");  // stands in for a long poll transaction holding state.db's write lock
  poller.exec("BEGIN IMMEDIATE");
  CHECK(ok(s->inbox_append({"hubspot", "while-locked", clock.now(), "{}", "b"})) == append_outcome::inserted);
  CHECK(error_of(s->meta_set("k", "v")) == errc::retry);  // the state writer does wait, and gives up
  poller.exec("ROLLBACK");
  CHECK(ok(s->get_counts()).inbox_depth == 1);
}

TEST_CASE("store: a full database answers errc::fail and stays consistent", "[store][errors][sqlite]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.max_db_bytes = 256 * 1024;  // stands in for a full disk
  auto s = open_ok(o);
  ok(s->append_records({"sf", "Contact", {rec("first", "{}")}, "c-1", {}}));
  std::vector<source_record> big;
  for (int i = 0; i < 400; ++i) big.push_back(rec("r" + std::to_string(i), std::string(1000, 'x')));
  CHECK(error_of(s->append_records({"sf", "Contact", big, "c-2", {}})) == errc::fail);
  CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("c-1"));
  CHECK_FALSE(ok(s->record_get("sf", "Contact", "r0")).has_value());
  CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 1);
  // Small writes still fit, and the inbox (its own file) is unaffected.
  ok(s->append_records({"sf", "Contact", {rec("second", "{}")}, "c-3", {}}));
  CHECK(ok(s->inbox_append({"hubspot", "e", clock.now(), "{}", "b"})) == append_outcome::inserted);
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store: SQLite result codes are classified once", "[store][errors][sqlite]") {
  using omnisync::store::sqlite::classify;
  CHECK(classify(SQLITE_BUSY) == errc::retry);
  CHECK(classify(SQLITE_BUSY_SNAPSHOT) == errc::retry);
  CHECK(classify(SQLITE_LOCKED) == errc::retry);
  CHECK(classify(SQLITE_CONSTRAINT_UNIQUE) == errc::conflict);
  CHECK(classify(SQLITE_CONSTRAINT_PRIMARYKEY) == errc::conflict);
  CHECK(classify(SQLITE_CONSTRAINT_FOREIGNKEY) == errc::conflict);
  CHECK(classify(SQLITE_CONSTRAINT_NOTNULL) == errc::invalid_input);
  CHECK(classify(SQLITE_CONSTRAINT_CHECK) == errc::invalid_input);
  CHECK(classify(SQLITE_TOOBIG) == errc::invalid_input);
  CHECK(classify(SQLITE_FULL) == errc::fail);
  CHECK(classify(SQLITE_CORRUPT) == errc::fail);
  CHECK(classify(SQLITE_NOTADB) == errc::fail);
  CHECK(classify(SQLITE_IOERR_FSYNC) == errc::fail);
  CHECK(classify(SQLITE_INTERRUPT) == errc::cancelled);
}

TEST_CASE("store: operations resume on the caller's executor", "[store]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  boost::asio::io_context io;  // first: it outlives the store (store.hpp, lifecycle)
  auto s = open_ok(make_options(dir.path(), clock));
  std::thread::id resumed_on;
  bool done = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        auto r = co_await s->meta_set("k", "v");
        resumed_on = std::this_thread::get_id();
        auto v = co_await s->meta_get("k");
        done = r.has_value() && v.has_value() && *v == std::optional<std::string>("v");
      },
      boost::asio::detached);
  io.run();
  CHECK(done);
  CHECK(resumed_on == std::this_thread::get_id());
}
