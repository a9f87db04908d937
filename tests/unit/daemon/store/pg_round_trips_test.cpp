// PostgreSQL round trips per operation (built into test_store_pg only). Every round trip waits for the server:
// across a network they, not the SQL, bound the writers' throughput. The bounds below are what the store does
// today; a change that sends more fails here.
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/store/pg_conn.hpp"
#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using namespace std::chrono_literals;

namespace {

std::vector<outbox_write> writes_of(int n, const std::string& payload) {
  std::vector<outbox_write> out;
  for (int i = 0; i < n; ++i) out.emplace_back("hubspot", "contact", "r" + std::to_string(i), payload);
  return out;
}

/// Round trips `op` took (the store's other connections are idle meanwhile).
template <class F>
std::uint64_t round_trips_of(F op) {
  const auto before = pg::round_trips();
  op();
  return pg::round_trips() - before;
}

}  // namespace

TEST_CASE("store (postgres): round trips per thousand outbox writes", "[store][pg]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  constexpr int n = 1000;
  // Every statement used below is prepared once per connection: a first pass of one write each.
  {
    auto one = writes_of(1, "{}");
    one[0].record_key = "warm-up";
    ok(s->outbox_enqueue(one, {}));
    ok(s->outbox_last_written(one));
    ok(s->outbox_ack(ids_of(ok(s->outbox_claim(1, 1s, {})))));
    one[0].payload = "{\"v\":0}";
    ok(s->outbox_enqueue(one, {}));
    ok(s->outbox_nack(ids_of(ok(s->outbox_claim(1, 1s, {}))), "warm", clock.now()));
    clock.advance(1s);
    ok(s->outbox_ack(ids_of(ok(s->outbox_claim(1, 1s, {})))));
  }
  const auto v1 = writes_of(n, "{\"v\":1}");
  const auto v2 = writes_of(n, "{\"v\":2}");
  std::vector<outbox_item> claimed;

  const auto enqueue_new = round_trips_of([&] { CHECK(ok(s->outbox_enqueue(v1, {})).inserted == n); });
  const auto enqueue_same = round_trips_of([&] { CHECK(ok(s->outbox_enqueue(v1, {})).unchanged == n); });
  const auto claim = round_trips_of([&] { claimed = ok(s->outbox_claim(n, 10s, {})); });
  REQUIRE(claimed.size() == n);
  const auto ack = round_trips_of([&] { ok(s->outbox_ack(ids_of(claimed))); });
  const auto last_written = round_trips_of([&] { CHECK(ok(s->outbox_last_written(v1)).back() == "{\"v\":1}"); });
  ok(s->outbox_enqueue(v2, {}));
  claimed = ok(s->outbox_claim(n, 10s, {}));
  REQUIRE(claimed.size() == n);
  const auto nack = round_trips_of([&] { ok(s->outbox_nack(ids_of(claimed), "busy", clock.now())); });
  CHECK(ok(s->get_counts()).outbox_depth == n);

  WARN("round trips for 1,000 writes: enqueue new " << enqueue_new << ", enqueue unchanged " << enqueue_same
                                                    << ", claim " << claim << ", ack " << ack << ", last written "
                                                    << last_written << ", nack " << nack);
  // The queued writes' upserts are pipelined (one round trip per 256); everything else is one statement per
  // call; BEGIN, SAVEPOINT and RELEASE travel with the statements, so the group adds one round trip (COMMIT).
  CHECK(enqueue_new <= 7);
  CHECK(enqueue_same <= 3);
  CHECK(claim <= 3);
  CHECK(ack <= 3);
  CHECK(last_written <= 3);
  CHECK(nack <= 4);
}

TEST_CASE("store (postgres): transaction control travels with the statements, a lease renewal is one round trip",
          "[store][pg]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  ok(s->meta_set("k", "v0"));  // statements prepared
  ok(s->lease("pipeline", "node1", 5s));

  // A lone write: BEGIN and SAVEPOINT go with its statement, RELEASE with the COMMIT.
  CHECK(round_trips_of([&] { ok(s->meta_set("k", "v1")); }) == 2);
  CHECK(ok(s->meta_get("k")) == std::optional<std::string>("v1"));

  // A renewal commits by itself (autocommit): one round trip, the token kept, the new expiry durable.
  const auto before = ok(s->lease("pipeline", "node1", 5s));
  clock.advance(1s);
  lease_grant renewed;
  CHECK(round_trips_of([&] { renewed = ok(s->lease("pipeline", "node1", 5s)); }) == 1);
  CHECK(renewed.token == before.token);
  CHECK(renewed.expires_at == before.expires_at + 1s);
  // Held by another: refused, and the holder's lease is as it was.
  CHECK(error_of(s->lease("pipeline", "node2", 5s)) == omnisync::errc::conflict);
  const auto leases = ok(s->lease_list());
  REQUIRE(leases.size() == 1);
  CHECK(leases[0].owner == "node1");
  CHECK(leases[0].expires_at == renewed.expires_at);

  // Refused before any SQL: nothing reaches the server (the deferred BEGIN is dropped), and the writer's next
  // transaction is a fresh one.
  CHECK(round_trips_of([&] {
          CHECK(error_of(s->outbox_enqueue({outbox_write("", "contact", "r", "{}")}, {})) ==
                omnisync::errc::invalid_input);
        }) == 0);
  ok(s->meta_set("k", "v2"));
  CHECK(ok(s->meta_get("k")) == std::optional<std::string>("v2"));
}
