// PostgreSQL round trips per operation on 1,000 outbox writes (built into test_store_pg only). Every round trip
// waits for the server: across a network they, not the SQL, bound the writers' throughput. The bounds below are
// what the store does today; a change that sends more fails here.
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

std::vector<std::int64_t> ids_of(const std::vector<outbox_item>& items) {
  std::vector<std::int64_t> out;
  for (const auto& it : items) out.push_back(it.id);
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
  // Each write that is queued is one upsert (the answer says inserted or coalesced); everything else is one
  // statement per call, plus the group's BEGIN, SAVEPOINT, RELEASE and COMMIT.
  CHECK(enqueue_new <= n + 6);
  CHECK(enqueue_same <= 6);
  CHECK(claim <= 6);
  CHECK(ack <= 6);
  CHECK(last_written <= 6);
  CHECK(nack <= 7);
}
