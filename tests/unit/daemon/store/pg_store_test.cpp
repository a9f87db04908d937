// PostgreSQL's own store tests (built into test_store_pg only, beside the shared suite): the equivalents of the
// SQLite-only cases (schema and migrations, a held lock, error classification) and what only a shared server
// has: two store objects ("instances") on one database claiming concurrently, a lease taken over between
// instances, the server restarting mid-run.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <set>
#include <thread>

#include "daemon/store/pg_conn.hpp"
#include "tests/unit/daemon/store/pg_lock_watch.hpp"
#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using omnisync::test::pg_cluster;
using namespace std::chrono_literals;

namespace {

/// SQL on the store's own database and schema, beside the store.
std::int64_t scalar(const options& o, const std::string& sql) { return std::stoll(pg_cluster::scalar(o.dsn, sql)); }

void exec(const options& o, const std::string& sql) { pg_cluster::exec(o.dsn, sql); }

/// A raw session of our own, for holding a transaction open across store calls.
struct raw_session {
  explicit raw_session(const std::string& dsn) : c(PQconnectdb(dsn.c_str())) { REQUIRE(PQstatus(c) == CONNECTION_OK); }
  ~raw_session() { PQfinish(c); }
  void exec(const char* sql) {
    PGresult* r = PQexec(c, sql);
    INFO(sql << ": " << PQresultErrorMessage(r));
    CHECK((PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK));
    PQclear(r);
  }
  PGconn* c;
};

}  // namespace

TEST_CASE("store (postgres): a new database is migrated to the latest schema, the same versions as SQLite", "[store][pg]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  {
    auto s = open_ok(o);
    CHECK(s->kind() == "postgres");
    CHECK(s->schema_version() == latest_schema_version());
    CHECK(s->inbox_schema_version() == latest_inbox_schema_version());
    CHECK(omnisync::store::pg::state_migrations().back().version == latest_schema_version());
    CHECK(omnisync::store::pg::inbox_migrations().back().version == latest_inbox_schema_version());
    ok(s->meta_set("instance", "one"));
  }
  CHECK(scalar(o, "SELECT count(*) FROM schema_migrations WHERE db = 'state'") == latest_schema_version());
  CHECK(scalar(o, "SELECT count(*) FROM schema_migrations WHERE db = 'inbox'") == latest_inbox_schema_version());
  // Reopening keeps the data and applies nothing.
  auto s = open_ok(o);
  CHECK(ok(s->meta_get("instance")) == std::optional<std::string>("one"));
  CHECK(scalar(o, "SELECT count(*) FROM schema_migrations") == latest_schema_version() + latest_inbox_schema_version());
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store (postgres): refuses a database with a newer schema", "[store][pg][migrations]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  { open_ok(o); }
  std::string which;
  SECTION("state") { which = "state"; }
  SECTION("inbox") { which = "inbox"; }
  const int next = (which == "state" ? latest_schema_version() : latest_inbox_schema_version()) + 1;
  exec(o, "INSERT INTO schema_migrations(db, version, name, applied_at) VALUES('" + which + "', " +
              std::to_string(next) + ", 'from the future', 0)");
  std::string why;
  auto s = open_store(o, &why);
  REQUIRE_FALSE(s.has_value());
  CHECK(s.error() == omnisync::make_error_code(errc::fail));
  CHECK_THAT(why, Catch::Contains("newer than this omnisyncd knows"));
  CHECK_THAT(why, Catch::Contains("refusing to start"));
}

TEST_CASE("store (postgres): without a DSN or a reachable server it does not open, and never shows the DSN", "[store][pg]") {
  manual_clock clock;
  options o;
  o.kind = backend::postgres;
  o.clock = clock.fn();
  std::string why;
  auto none = open_store(o, &why);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error() == omnisync::make_error_code(errc::invalid_input));
  CHECK_THAT(why, Catch::Contains("DSN"));

  omnisync::test::temp_dir dir;  // no server listens here
  o.dsn = "host=" + dir.path().string() + " port=5432 user=omnisync password=hunter2-secret dbname=nowhere";
  why.clear();
  auto down = open_store(o, &why);
  REQUIRE_FALSE(down.has_value());
  CHECK(down.error() == omnisync::make_error_code(errc::retry));
  CHECK_THAT(why, Catch::Contains("cannot connect to PostgreSQL"));
  CHECK_THAT(why, !Catch::Contains("hunter2"));
}

TEST_CASE("store (postgres): SQLSTATEs are classified once", "[store][pg][errors]") {
  using omnisync::store::pg::classify;
  using omnisync::store::pg::connection_lost;
  CHECK(classify("40001") == errc::retry);
  CHECK(classify("40P01") == errc::retry);
  CHECK(classify("55P03") == errc::retry);
  CHECK(classify("08006") == errc::retry);
  CHECK(classify("57P01") == errc::retry);
  CHECK(classify("") == errc::retry);  // no SQLSTATE: the connection dropped
  CHECK(classify("23505") == errc::conflict);
  CHECK(classify("23503") == errc::conflict);
  CHECK(classify("23502") == errc::invalid_input);
  CHECK(classify("22021") == errc::invalid_input);
  CHECK(classify("22P02") == errc::invalid_input);
  CHECK(classify("53100") == errc::fail);
  CHECK(classify("XX001") == errc::fail);
  CHECK(classify("42P01") == errc::fail);
  CHECK(classify("57014") == errc::cancelled);
  CHECK(connection_lost("08006"));
  CHECK(connection_lost("57P01"));
  CHECK_FALSE(connection_lost("40001"));
}

TEST_CASE("store (postgres): a row held by another transaction answers errc::retry after lock_timeout", "[store][pg][errors]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.busy_timeout = 100ms;
  auto s = open_ok(o);
  ok(s->meta_set("k", "v0"));
  raw_session other(o.dsn);
  other.exec("BEGIN");
  other.exec("UPDATE meta SET value = 'held' WHERE key = 'k'");
  CHECK(error_of(s->meta_set("k", "v1")) == errc::retry);
  CHECK(ok(s->meta_get("k")) == std::optional<std::string>("v0"));  // readers are not blocked
  // The inbox has its own connection and tables: webhooks are stored meanwhile.
  CHECK(ok(s->inbox_append({"hubspot", "while-locked", clock.now(), "{}", "b"})) == append_outcome::inserted);
  other.exec("ROLLBACK");
  ok(s->meta_set("k", "v1"));
  CHECK(ok(s->meta_get("k")) == std::optional<std::string>("v1"));
}

TEST_CASE("store (postgres): every session is set to its synchronous_commit and lock_timeout, again after a reconnect",
          "[store][pg]") {
  using omnisync::store::pg::connection;
  using omnisync::store::pg::session_options;
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  open_ok(o);  // creates the database
  auto setting = [](connection& c, const char* q) { return c.exec(q).text(0, 0); };
  // Whatever the server's default: store.synchronous full/extra gives on, normal/off gives off (see pg_store.cpp).
  exec(o, "ALTER DATABASE " + pg_cluster::scalar(o.dsn, "SELECT current_database()") + " SET synchronous_commit = off");
  session_options durable;
  durable.lock_timeout = 250ms;
  connection full(o.dsn, "full", durable);
  CHECK(setting(full, "SELECT current_setting('synchronous_commit')") == "on");
  CHECK(setting(full, "SELECT current_setting('lock_timeout')") == "250ms");
  session_options relaxed;
  relaxed.synchronous_commit = false;
  exec(o, "ALTER DATABASE " + pg_cluster::scalar(o.dsn, "SELECT current_database()") + " SET synchronous_commit = on");
  connection normal(o.dsn, "normal", relaxed);
  CHECK(setting(normal, "SELECT current_setting('synchronous_commit')") == "off");
  CHECK(setting(normal, "SELECT current_setting('lock_timeout')") == "0");
  normal.reconnect();
  CHECK(setting(normal, "SELECT current_setting('synchronous_commit')") == "off");
  full.reconnect();
  CHECK(setting(full, "SELECT current_setting('synchronous_commit')") == "on");
}

TEST_CASE("store (postgres): bodies and dead-letter payloads are raw bytes", "[store][pg]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  std::string body("\x00\x01\xff\xfe{\"a\":1}\x00", 12);
  REQUIRE(ok(s->inbox_append({"hubspot", "bin", clock.now(), "{}", body})) == append_outcome::inserted);
  auto items = ok(s->inbox_claim(10, 1s, {}));
  REQUIRE(items.size() == 1);
  CHECK(items[0].event.body == body);
  auto id = ok(s->dead_letter_add({retry_target::inbox, "hubspot", "", "", "", "parse", "bad", body, "{}"}));
  CHECK(ok(s->dead_letter_get(id)).entry.payload == body);
  // Text columns cannot hold NUL: refused as invalid input, not stored truncated.
  CHECK(error_of(s->meta_set("k", std::string("a\0b", 3))) == errc::invalid_input);
}

TEST_CASE("store (postgres): two instances on one database never claim the same inbox event or outbox write",
          "[store][pg][cluster]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  auto a = open_ok(o);
  auto b = open_ok(o);
  constexpr int events = 400, records = 60, writes_per_record = 3;
  for (int i = 0; i < events; ++i)
    REQUIRE(ok(a->inbox_append({"zendesk", "e" + std::to_string(i), clock.now(), "{}", "b"})) ==
            append_outcome::inserted);

  // Each instance claims small batches on its own thread until the queue is empty; nothing is acknowledged
  // until the end, so a second claim of anything would show.
  std::vector<std::int64_t> got_a, got_b;
  auto drain_inbox = [](store& s, std::vector<std::int64_t>& got) {
    for (int idle = 0; idle < 3;) {
      auto r = wait(s.inbox_claim(7, 60s, {}));
      if (!r) continue;  // retry (e.g. serialization): try again
      if (r->empty()) {
        ++idle;
        continue;
      }
      for (const auto& it : *r) got.push_back(it.id);
    }
  };
  {
    std::thread ta([&] { drain_inbox(*a, got_a); });
    std::thread tb([&] { drain_inbox(*b, got_b); });
    ta.join();
    tb.join();
  }
  std::set<std::int64_t> all(got_a.begin(), got_a.end());
  for (auto id : got_b) CHECK(all.insert(id).second);  // never in both
  CHECK(all.size() == static_cast<std::size_t>(events));
  INFO("instance a claimed " << got_a.size() << ", b " << got_b.size());
  CHECK(got_a.size() + got_b.size() == static_cast<std::size_t>(events));

  // Outbox: writes for the same records keep arriving while both instances claim and "write" them; at no
  // point may two claims of one record be in flight. (Catch2 assertions stay on this thread.)
  std::mutex m;
  std::set<std::string> in_flight;
  std::atomic<int> overlaps{0}, written{0}, failures{0};
  std::atomic<bool> enqueued_all{false};
  auto drain_outbox = [&](store& s) {
    for (int idle = 0; idle < 5;) {
      auto r = wait(s.outbox_claim(5, 60s, {}));
      if (!r) {
        ++failures;
        continue;
      }
      if (r->empty()) {
        if (enqueued_all) ++idle;
        std::this_thread::sleep_for(1ms);
        continue;
      }
      idle = 0;
      {
        std::lock_guard lock(m);
        for (const auto& it : *r)
          if (!in_flight.insert(it.write.record_key).second) ++overlaps;
      }
      std::this_thread::sleep_for(1ms);  // the write to the vendor
      std::vector<std::int64_t> ids;
      {
        // Released before the ack commits (after it, the other instance may rightly claim the record at once).
        std::lock_guard lock(m);
        for (const auto& it : *r) {
          in_flight.erase(it.write.record_key);
          ids.push_back(it.id);
        }
      }
      if (wait(s.outbox_ack(ids)))
        written += static_cast<int>(ids.size());
      else
        ++failures;
    }
  };
  {
    std::thread ta([&] { drain_outbox(*a); });
    std::thread tb([&] { drain_outbox(*b); });
    for (int round = 0; round < writes_per_record; ++round) {
      std::vector<outbox_write> ws;
      for (int r = 0; r < records; ++r)
        ws.push_back(write_of("r" + std::to_string(r), "{\"round\":" + std::to_string(round) + "}"));
      // Half from each instance: enqueues race with claims on both.
      auto& s = round % 2 ? *b : *a;
      ok(s.outbox_enqueue(ws, {}));
      std::this_thread::sleep_for(5ms);
    }
    enqueued_all = true;
    ta.join();
    tb.join();
  }
  CHECK(overlaps == 0);
  CHECK(failures == 0);
  CHECK(ok(a->get_counts()).outbox_depth == 0);
  // Every record ends with its last round written (coalescing may skip middle rounds, never reorder them).
  for (int r = 0; r < records; ++r) {
    auto last = ok(a->outbox_last_written({write_of("r" + std::to_string(r), "")}));
    REQUIRE(last.size() == 1);
    CHECK(last[0] == std::optional<std::string>("{\"round\":" + std::to_string(writes_per_record - 1) + "}"));
  }
  CHECK(written >= records);
}

TEST_CASE("store (postgres): a lease taken over by another instance after expiry gets a new token, the old fence is refused",
          "[store][pg][cluster][lease]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  auto a = open_ok(o);
  auto b = open_ok(o);
  const std::string key = "poll:salesforce:Contact";
  auto la = ok(a->lease(key, "node-a", 1000ms));
  CHECK(error_of(b->lease(key, "node-b", 1000ms)) == errc::conflict);
  ok(a->append_records({"sf", "Contact", {rec("1", "{}")}, "a-1", fence{key, la.token}}));
  clock.advance(1001ms);
  auto lb = ok(b->lease(key, "node-b", 1000ms));
  CHECK(lb.token == la.token + 1);
  CHECK(error_of(a->append_records({"sf", "Contact", {rec("2", "{}")}, "a-2", fence{key, la.token}})) ==
        errc::conflict);
  CHECK(error_of(a->lease(key, "node-a", 1000ms)) == errc::conflict);
  ok(b->cursor_set("sf", "Contact", "b-1", fence{key, lb.token}));
  CHECK(ok(a->cursor_get("sf", "Contact")) == std::optional<std::string>("b-1"));
  CHECK_FALSE(ok(a->record_get("sf", "Contact", "2")).has_value());

  // Both racing for a free lease at once: exactly one wins.
  clock.advance(1001ms);
  std::atomic<int> winners{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 8; ++i)
    racers.emplace_back([&, i] {
      auto& s = i % 2 ? *a : *b;
      if (wait(s.lease(key, "racer-" + std::to_string(i), 1000ms)).has_value()) ++winners;
    });
  for (auto& t : racers) t.join();
  CHECK(winners == 1);
  auto list = ok(a->lease_list());
  REQUIRE(list.size() == 1);
  CHECK(list[0].token == lb.token + 1);
}

TEST_CASE("store (postgres): a server restart mid-run fails operations with retry, then they reconnect, nothing acknowledged is lost",
          "[store][pg][restart]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  auto s = open_ok(o);
  // Webhook-like traffic from a thread while the server crashes and comes back: each event is retried until
  // the store acknowledges it (as the vendor would redeliver an event we did not answer).
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0}, retried{0}, other_errors{0};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      for (;;) {
        auto r = wait(s->inbox_append({"hubspot", "e" + std::to_string(i), clock.now(), "{}", "b"}));
        if (r) {
          ++acknowledged;
          break;
        }
        if (r.error() == omnisync::make_error_code(errc::retry))
          ++retried;
        else
          ++other_errors;
        std::this_thread::sleep_for(5ms);
        if (stop) return;
      }
    }
  });
  while (acknowledged < 50) std::this_thread::sleep_for(1ms);
  ok(s->meta_set("before", "restart"));
  pg_cluster::shared().restart();
  const int at_restart = acknowledged;
  // Every connection of the store died with the server: each worker's next operation fails with retry and
  // the one after it reconnects.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acknowledged < at_restart + 50 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  stop = true;
  writer.join();
  CHECK(retried >= 1);
  CHECK(other_errors == 0);
  CHECK(acknowledged >= at_restart + 50);
  // The state writer and the reader reconnect too (their first use may still see the dead session).
  auto eventually_ok = [](auto make_op) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto r = wait(make_op());
      if (r) return true;
      CHECK(r.error() == omnisync::make_error_code(errc::retry));
    }
    return false;
  };
  CHECK(eventually_ok([&] { return s->meta_set("after", "restart"); }));
  CHECK(eventually_ok([&] { return s->meta_get("before"); }));
  CHECK(ok(s->meta_get("before")) == std::optional<std::string>("restart"));
  // Every acknowledged append is there.
  CHECK(ok(s->get_counts()).inbox_depth == acknowledged.load());
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store (postgres): a page of records is pipelined, in order, and a bad record fails the page alone",
          "[store][pg][records]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  // 600 records (three pipeline chunks) with a later copy of an id inside the same page: met in order.
  std::vector<source_record> page;
  for (int i = 0; i < 600; ++i) page.push_back(rec("r" + std::to_string(i), R"({"v":1})", 100));
  page.push_back(rec("r5", R"({"v":"newer"})", 200));
  page.push_back(rec("r6", R"({"v":"older"})", 50));
  auto sum = ok(s->append_records({"sf", "Contact", page, "c1", {}}));
  CHECK(sum.written == 601);
  CHECK(sum.stale == 1);
  CHECK(ok(s->record_get("sf", "Contact", "r5"))->payload == R"({"v":"newer"})");
  CHECK(ok(s->record_get("sf", "Contact", "r6"))->payload == R"({"v":1})");

  // Refused by the server in the middle of the second chunk (not UTF-8), and before sending (a NUL byte): the
  // page, its cursor and the records before the bad one are not stored, and the session goes on working.
  for (const std::string& bad : {std::string("\xff\xfe"), std::string("a\0b", 3)}) {
    std::vector<source_record> next;
    for (int i = 0; i < 400; ++i) next.push_back(rec("n" + std::to_string(i), "{}", 100));
    next[300].payload = bad;
    CHECK(error_of(s->append_records({"sf", "Contact", next, "c2", {}})) == errc::invalid_input);
    CHECK_FALSE(ok(s->record_get("sf", "Contact", "n0")).has_value());
    CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("c1"));
  }
  ok(s->append_records({"sf", "Contact", {rec("after", "{}")}, "c3", {}}));
  CHECK(ok(s->cursor_get("sf", "Contact")) == std::optional<std::string>("c3"));
  CHECK(ok(s->get_counts()).records_per_connector.at("sf") == 601);
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store (postgres): the same webhook stored by two instances at once is one event", "[store][pg][cluster]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  auto a = open_ok(o);
  auto b = open_ok(o);
  // A vendor redelivering to both instances behind a load balancer: every event arrives at each of them,
  // concurrently, in group commits on both sides.
  constexpr int events = 300;
  std::atomic<int> inserted{0}, duplicate{0}, failed{0};
  // Opposite orders, so that the two group transactions want each other's rows (deadlocks, which the store
  // must resolve itself rather than refuse webhooks).
  auto deliver_all = [&](store& s, bool reverse) {
    boost::asio::io_context io;
    for (int k = 0; k < events; ++k)
      boost::asio::co_spawn(
          io,
          [&, i = reverse ? events - 1 - k : k]() -> boost::asio::awaitable<void> {
            inbox_event ev("hubspot", "evt-" + std::to_string(i), clock.now(), "{}", "body");
            auto r = co_await s.inbox_append(std::move(ev));
            if (!r)
              ++failed;
            else if (*r == append_outcome::inserted)
              ++inserted;
            else
              ++duplicate;
          },
          boost::asio::detached);
    io.run();
  };
  std::thread ta([&] { deliver_all(*a, false); });
  std::thread tb([&] { deliver_all(*b, true); });
  ta.join();
  tb.join();
  CHECK(failed == 0);
  CHECK(inserted == events);
  CHECK(duplicate == events);
  CHECK(ok(a->get_counts()).inbox_depth == events);
  CHECK(ok(b->get_counts()).inbox_depth == events);
}

TEST_CASE("store (postgres): an append chosen as a deadlock victim runs again instead of failing",
          "[store][pg][cluster]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  boost::asio::io_context io;  // first: it outlives the store (store.hpp, lifecycle)
  auto s = open_ok(o);
  // Another instance (a raw session) stores k2, and k0 in a savepoint it will roll back.
  raw_session other(o.dsn);
  auto other_insert = [&](const char* key) {
    return std::string("INSERT INTO inbox(connector, dedupe_key, received_at, meta, body, available_at) "
                       "VALUES('hubspot', '") + key + "', 0, '{}', ''::bytea, 0) ON CONFLICT DO NOTHING";
  };
  other.exec("BEGIN");
  other.exec(other_insert("k2").c_str());
  other.exec("SAVEPOINT s");
  other.exec(other_insert("k0").c_str());

  std::vector<std::string> outcomes;
  std::mutex m;
  auto append = [&](std::string key) -> boost::asio::awaitable<void> {
    inbox_event ev("hubspot", key, clock.now(), "{}", "b");
    auto r = co_await s->inbox_append(std::move(ev));
    std::lock_guard lock(m);
    outcomes.push_back(key + (r ? "" : ":" + r.error().message()));
  };
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  // k0 waits for the other session; k1 and k2 queue behind it and become the next group.
  boost::asio::co_spawn(io, append("k0"), boost::asio::detached);
  std::this_thread::sleep_for(200ms);
  boost::asio::co_spawn(io, append("k1"), boost::asio::detached);
  boost::asio::co_spawn(io, append("k2"), boost::asio::detached);
  std::this_thread::sleep_for(100ms);
  other.exec("ROLLBACK TO SAVEPOINT s");  // k0 goes through; the group {k1, k2} takes k1 and waits for k2
  std::this_thread::sleep_for(300ms);
  // The other session now wants k1: a cycle. The store's backend has waited longer, so its deadlock check runs
  // first and its transaction is the victim.
  REQUIRE(PQsendQuery(other.c, other_insert("k1").c_str()) == 1);
  std::string other_state;
  while (PGresult* r = PQgetResult(other.c)) {
    if (const char* st = PQresultErrorField(r, PG_DIAG_SQLSTATE)) other_state = st;
    PQclear(r);
  }
  INFO("the other session's insert of k1: " << (other_state.empty() ? "done" : other_state));
  other.exec(other_state.empty() ? "COMMIT" : "ROLLBACK");
  guard.reset();
  runner.join();
  std::sort(outcomes.begin(), outcomes.end());
  CHECK(outcomes == std::vector<std::string>{"k0", "k1", "k2"});  // no append failed
  auto items = ok(s->inbox_claim(10, 1s, {}));
  std::set<std::string> keys;
  for (const auto& it : items) keys.insert(it.event.dedupe_key);
  CHECK(keys == std::set<std::string>{"k0", "k1", "k2"});
}

TEST_CASE("store (postgres): two instances storing new records of the same objects at once do not take turns or deadlock",
          "[store][pg][cluster][records]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  const auto deadlocks_before = omnisync::test::deadlocks(o.dsn);
  auto a = open_ok(o);
  auto b = open_ok(o);
  constexpr int per_instance = 200;
  std::atomic<int> failed{0};
  ok(a->meta_set("gate-a", "open"));
  ok(a->meta_set("gate-b", "open"));
  // Both instances' writers are held up by a row another session has locked, so that each queues one large
  // group and the two groups then run at the same time.
  raw_session other(o.dsn);
  other.exec("BEGIN");
  other.exec("UPDATE meta SET value = 'held' WHERE key IN ('gate-a', 'gate-b')");
  // Each instance's group inserts into both objects, in opposite orders on the two instances.
  auto store_all = [&](store& s, const std::string& tag, bool reverse) {
    boost::asio::io_context io;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          auto r = co_await s.meta_set("gate-" + tag, tag);
          if (!r) ++failed;
        },
        boost::asio::detached);
    for (int k = 0; k < per_instance; ++k)
      boost::asio::co_spawn(
          io,
          [&, k]() -> boost::asio::awaitable<void> {
            const bool first = (k % 2 == 0) != reverse;
            record_batch batch(first ? "sf" : "hs", first ? "Contact" : "contacts",
                               {rec(tag + std::to_string(k), "{}")}, std::nullopt, std::nullopt);
            auto r = co_await s.append_records(std::move(batch));
            if (!r) ++failed;
          },
          boost::asio::detached);
    io.run();
  };
  std::thread ta([&] { store_all(*a, "a", false); });
  std::thread tb([&] { store_all(*b, "b", true); });
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  other.exec("ROLLBACK");
  // While the two groups run: turns (one group waiting for the other's commit) or a deadlock (both waiting, for
  // deadlock_timeout, 1 s) would show as a session waiting for another transaction.
  omnisync::test::lock_watch watch(other.c);
  ta.join();
  tb.join();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  watch.stop();
  // What the test is about, from PostgreSQL itself rather than from the wall clock: no session waited for
  // another transaction, and no deadlock was detected. (The time it took is the machine's: on a loaded 2-core
  // host the 400 appends' round trips alone took over a second, with neither wait nor deadlock.)
  INFO("after the gate opened: " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                 << " ms, " << watch.samples() << " lock samples, waits seen:" << watch.waited_for());
  CHECK(failed == 0);
  CHECK(watch.row_waits() == 0);
  auto counts = ok(a->get_counts());
  CHECK(counts.records_per_connector.at("sf") == per_instance);
  CHECK(counts.records_per_connector.at("hs") == per_instance);
  CHECK(ok(b->integrity_check()) == "ok");
  a.reset();  // their sessions end and report their statistics
  b.reset();
  omnisync::test::wait_for_other_sessions(o.dsn, 1);  // the one left is `other`
  CHECK(omnisync::test::deadlocks(o.dsn) == deadlocks_before);
}
