// kill -9 of a process in the middle of store writes leaves a usable, consistent store: integrity check
// passes, every batch is either fully stored or absent, the cursor matches the batches stored, and every
// write that was acknowledged before the kill is there.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <csignal>
#include <map>

#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnisync::store;
using namespace std::chrono_literals;

namespace {

constexpr int batch_size = 200;  // ~110 KB per transaction: the kill often lands inside one

/// Batch number -> records stored, straight from the file (the test checks what is on disk).
std::map<long, long> batches_on_disk(const std::filesystem::path& db) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT json_extract(payload, '$.batch'), count(*) FROM records GROUP BY 1", -1,
                             &st, nullptr) == SQLITE_OK);
  std::map<long, long> out;
  while (sqlite3_step(st) == SQLITE_ROW) out[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

}  // namespace

TEST_CASE("store: a write interrupted by kill -9 leaves a usable store", "[store][crash]") {
  omnisync::test::temp_dir dir;
  long acknowledged = 0;
  // Five kills at different points; each restart continues from the stored cursor.
  for (int round = 0; round < 5; ++round) {
    omnisync::test::process writer({omnisync::test::binary("store_crash_writer"), dir.path().string(),
                                    std::to_string(batch_size)});
    auto ready = writer.read_stdout_line(10s);
    INFO(writer.stderr_text());
    REQUIRE(ready);
    REQUIRE(*ready == "ready " + std::to_string(acknowledged + 1));  // nothing acknowledged was lost
    const long run_for = 3 + 7 * round;
    long seen = 0;
    while (seen < run_for) {
      auto line = writer.read_stdout_line(10s);
      REQUIRE(line);
      REQUIRE(line->rfind("committed ", 0) == 0);
      seen = std::stol(line->substr(10)) - acknowledged;
    }
    acknowledged += seen;
    writer.signal(SIGKILL);
    auto code = writer.wait(10s);
    REQUIRE(code);
    CHECK(*code == 128 + SIGKILL);
    // Lines printed after the last one we read are acknowledged too.
    for (const auto& rest : {writer.stdout_text()}) {
      std::size_t pos = 0;
      while ((pos = rest.find("committed ", pos)) != std::string::npos) {
        acknowledged = std::max(acknowledged, std::stol(rest.substr(pos + 10)));
        pos += 10;
      }
    }

    options o;
    o.state_dir = dir.path();
    std::string why;
    auto opened = open_store(o, &why);
    INFO(why);
    REQUIRE(opened.has_value());
    auto& s = **opened;
    CHECK(wait(s.integrity_check()).value() == "ok");
    auto cursor = wait(s.cursor_get("crm", "contact")).value();
    REQUIRE(cursor);
    const long c = std::stol(*cursor);
    // The batch in flight at the kill may have committed without being acknowledged, never more.
    CHECK(c >= acknowledged);
    CHECK(c <= acknowledged + 1);
    auto on_disk = batches_on_disk(dir / "state.db");
    CHECK(static_cast<long>(on_disk.size()) == c);
    for (const auto& [batch, n] : on_disk) {
      INFO("batch " << batch);
      CHECK(batch >= 1);
      CHECK(batch <= c);
      CHECK(n == batch_size);
    }
    auto counts = wait(s.get_counts()).value();
    CHECK(counts.records_per_connector["crm"] == c * batch_size);
    // Every acknowledged inbox event is there (a duplicate now), in order.
    for (long b = 1; b <= acknowledged; ++b) {
      auto r = wait(s.inbox_append({"crm", "e" + std::to_string(b), {}, "{}", "x"}));
      REQUIRE(r.has_value());
      if (*r != append_outcome::duplicate) FAIL("acknowledged event e" << b << " is missing");
    }
    // Restart from where the store says the writer is; the duplicate appends above did not add events.
    CHECK(counts.inbox_depth >= acknowledged);
    CHECK(counts.inbox_depth <= c);
    // The batch in flight at the kill may have committed its records (the cursor says c) but not yet its event,
    // which is appended after them in another file. The next writer starts after the cursor and never appends
    // that event, so it is stored here as the writer would have: then every event up to c is there, as the next
    // round's check expects of everything before its writer's first batch.
    for (long b = acknowledged + 1; b <= c; ++b)
      REQUIRE(wait(s.inbox_append({"crm", "e" + std::to_string(b), {}, "{}", "x"})).has_value());
    acknowledged = c;  // the next writer continues after the stored cursor
  }
}
