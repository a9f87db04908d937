#pragma once
// Shared helpers for the store tests: a store in a temp dir with an injected clock, and blocking calls. The same
// tests run on both backends: built with OMNISYNC_STORE_PG (test_store_pg), make_options() gives every temp
// dir its own PostgreSQL database instead. Cases that only make sense for SQLite carry the tag [sqlite].
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "tests/support/temp_dir.hpp"
#ifdef OMNISYNC_STORE_PG
#include "tests/support/pg_cluster.hpp"
#endif

namespace omnisync::store::testing {

/// A clock the test moves by hand: leases and claims expire without sleeping.
struct manual_clock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);
  timestamp now() const { return timestamp(std::chrono::milliseconds(ms->load())); }
  void advance(std::chrono::milliseconds d) { ms->fetch_add(d.count()); }
  clock_fn fn() const {
    auto p = ms;
    return [p] { return timestamp(std::chrono::milliseconds(p->load())); };
  }
};

#ifdef OMNISYNC_STORE_PG
/// A fresh, empty schema (its own tables, as good as a database for the store) of the process's test cluster
/// per store directory: a test that reopens the store on the same directory gets the same one back, as with
/// SQLite's files.
inline std::string pg_dsn_for(const std::filesystem::path& dir) {
  static std::mutex m;
  static std::map<std::string, std::string> dsns;
  static int next = 0;
  std::lock_guard lock(m);
  auto& dsn = dsns[dir.string()];
  if (dsn.empty())
    dsn = omnisync::test::pg_cluster::shared().create_schema("store_tests", "t" + std::to_string(next++));
  return dsn;
}
#endif

inline options make_options(const std::filesystem::path& dir, const manual_clock& clock) {
  options o;
  o.state_dir = dir;
  o.clock = clock.fn();
#ifdef OMNISYNC_STORE_PG
  o.kind = backend::postgres;
  o.dsn = pg_dsn_for(dir);
#endif
  return o;
}

inline std::unique_ptr<store> open_ok(const options& o) {
  std::string why;
  auto s = open_store(o, &why);
  INFO(why);
  REQUIRE(s.has_value());
  return std::move(*s);
}

/// Runs a store operation to completion and requires success.
template <class T>
T ok(task<T> op) {
  auto r = wait(std::move(op));
  if (!r) FAIL("store operation failed: " << r.error().message());
  if constexpr (!std::is_void_v<T>) return std::move(*r);
}

/// Runs a store operation and returns its error class (errc::ok on success).
template <class T>
omnisync::errc error_of(task<T> op) {
  auto r = wait(std::move(op));
  if (r) return omnisync::errc::ok;
  REQUIRE(r.error().category() == omnisync::error_category());
  return static_cast<omnisync::errc>(r.error().value());
}

inline source_record rec(std::string id, std::string payload, std::int64_t ts = 1000, bool deleted = false) {
  return {std::move(id), std::move(payload), timestamp(std::chrono::milliseconds(ts)), deleted};
}

/// A HubSpot contact write with this key and payload.
inline outbox_write write_of(std::string key, std::string payload) {
  return {"hubspot", "contact", std::move(key), std::move(payload)};
}

/// The ids of claimed writes, for acknowledging them.
inline std::vector<std::int64_t> ids_of(const std::vector<outbox_item>& items) {
  std::vector<std::int64_t> out;
  for (const auto& it : items) out.push_back(it.id);
  return out;
}

}  // namespace omnisync::store::testing
