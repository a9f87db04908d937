#pragma once
/// The sync engine's test harness: `fake_connector` (a vendor in memory) and `harness` (a store, an engine with
/// the given connectors and its loops on a thread, all on a manual clock). Shared by the engine's unit tests.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "daemon/store/blocking.hpp"
#include "daemon/sync/engine.hpp"
#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
using namespace omnisync;
using namespace std::chrono_literals;

namespace engine_test {

/// A vendor in memory: records by id (JSON text), an "updated" counter as the cursor, pages of `page_size`.
class fake_connector : public adapters::connector {
 public:
  fake_connector(std::string name, std::string kind, std::string object)
      : name_(std::move(name)), kind_(std::move(kind)), object_(std::move(object)) {}

  void put(const std::string& id, const std::string& json) {
    std::lock_guard lk(mu);
    records.push_back({++clock_, id, json});
  }

  const std::string& name() const noexcept override { return name_; }
  std::string_view kind() const noexcept override { return kind_; }
  std::vector<std::string> objects() const override { return {object_}; }

  adapters::task<adapters::page> poll(adapters::page_request req) override {
    std::lock_guard lk(mu);
    ++polls;
    if (req.mode == adapters::poll_mode::full) ++full_polls;
    if (throw_next > 0) {  // a page the adapter cannot handle: a defect that escapes as an exception
      --throw_next;
      throw std::runtime_error("unexpected page");
    }
    if (fail_next > 0) {
      --fail_next;
      co_return make_error_code(errc::retry);
    }
    const std::uint64_t after = req.cursor ? std::stoull(*req.cursor) : 0;
    adapters::page p;
    if (hold) {  // still reading: a page with nothing new yet, and more to come
      p.cursor = std::to_string(after);
      p.more = true;
      co_return p;
    }
    if (page_size == 0) co_return p;  // this vendor is only heard through webhooks
    std::uint64_t last = after;
    for (const auto& r : records) {
      if (r.stamp <= after) continue;
      if (p.records.size() == page_size) {
        p.more = true;
        break;
      }
      p.records.emplace_back(r.id, r.json);
      last = r.stamp;
    }
    p.cursor = std::to_string(last);
    co_return p;
  }
  adapters::task<std::vector<store::source_record>> fetch(std::string, std::vector<std::string> ids) override {
    std::lock_guard lk(mu);
    ++fetches;
    fetched_ids += ids.size();
    if (fail_fetches > 0) {
      --fail_fetches;
      co_return make_error_code(errc::retry);
    }
    std::vector<store::source_record> out;
    for (const auto& id : ids)
      for (const auto& r : records)
        if (r.id == id) out.emplace_back(r.id, r.json);
    co_return out;
  }
  adapters::task<adapters::id_page> list_ids(std::string, std::optional<std::string>) override {
    std::lock_guard lk(mu);
    adapters::id_page p;
    for (const auto& r : records) p.ids.push_back(r.id);
    co_return p;
  }
  adapters::task<std::vector<store::source_record>> find_by_email(std::string, std::string) override {
    co_return std::vector<store::source_record>{};
  }
  std::size_t max_batch(std::string_view) const override { return 2; }
  adapters::task<std::vector<adapters::write_result>> write(std::string object, std::vector<adapters::write_item> items) override {
    std::lock_guard lk(mu);
    ++write_calls;
    max_seen_batch = std::max(max_seen_batch, items.size());
    std::vector<adapters::write_result> out;
    for (auto& it : items) {
      adapters::write_result r;
      r.outbox_id = it.outbox_id;
      if (it.payload.find("reject-me") != std::string::npos) {
        r.status = adapters::write_result::outcome::rejected;
        r.error = "INVALID_EMAIL_ADDRESS: bad";
      } else {
        written.push_back(it.record_key + " " + it.payload);
        if (apply_writes) {  // the vendor now holds what we wrote: its next poll reads it back (an echo)
          std::string id = "w-" + it.record_key;
          std::string json = "{\"id\":\"" + id + "\"," + it.payload.substr(1);
          records.push_back({++clock_, id, json});
        }
      }
      out.push_back(std::move(r));
    }
    co_return out;
  }
  omnisync::result<adapters::event_records> parse_event(const store::inbox_event& e) const override {
    if (e.body.empty() || e.body.front() != '{') return make_error_code(errc::invalid_input);
    adapters::event_records out;
    out.refetch.emplace_back(object_, e.body.substr(1, e.body.find('}') - 1));
    return out;
  }
  adapters::task<adapters::object_schema> describe(std::string object) override {
    co_return adapters::object_schema{object, {}};
  }
  adapters::connector_usage usage() const override { return {}; }

  struct rec {
    std::uint64_t stamp;
    std::string id, json;
  };
  mutable std::mutex mu;
  std::vector<rec> records;
  std::size_t page_size = 100;
  int polls = 0, full_polls = 0, write_calls = 0, fail_next = 0, fetches = 0, fail_fetches = 0;
  int throw_next = 0;  // polls that throw instead of answering
  std::size_t fetched_ids = 0;  // ids asked for by fetch, summed over the calls
  bool apply_writes = false;
  bool hold = false;  // polls answer "more to come" without records: the object is never read to the end
  std::size_t max_seen_batch = 0;
  std::vector<std::string> written;

 private:
  std::string name_, kind_, object_;
  std::uint64_t clock_ = 0;
};

inline std::string hubspot_contact(int i, const std::string& email) {
  return R"({"id":")" + std::to_string(i) + R"(","properties":{"email":")" + email + R"(","firstname":"F)" +
         std::to_string(i) + R"(","lastname":"L","lastmodifieddate":"2026-05-01T10:00:00.000Z"},"updatedAt":"2026-05-01T10:00:00.000Z"})";
}

inline std::vector<std::shared_ptr<const mapping::plan>> shipped_plans() {
  config::diagnostics diags;
  auto plans = mapping::load_mapping_dir(OMNISYNC_SOURCE_DIR "/config/mappings", mapping::default_canonical_attributes(), diags);
  REQUIRE(diags.empty());
  return plans;
}

inline config::connector_common cfg_of(const std::string& name, const std::string& kind) {
  config::connector_common c;
  c.name = name;
  c.kind = kind;
  c.poll_interval = 50ms;
  c.reconcile_interval = std::chrono::milliseconds(0);  // off
  return c;
}

/// A store, an engine with the given connectors, and an io_context running its loops on a thread — all on a
/// manual clock: time passes only when the test moves it (`eventually`, `run_for`), in small steps, each
/// followed by letting the loops run what became due, store operations included (`settle`), so that clock time
/// is spent only where the engine waits for the clock, however slow the machine. No test sleeps.
struct harness {
  omnisync::test::temp_dir dir;
  // The io_context first: it outlives the store (store.hpp, lifecycle) and the clock, whose sleepers' channels
  // lock the io_context's channel service when they are destroyed (ThreadSanitizer: a destroyed mutex).
  asio::io_context ioc;
  omnisync::manual_clock clk;
  std::unique_ptr<store::store> db;
  std::unique_ptr<sync::engine> eng;
  std::thread runner;
  std::vector<fake_connector*> fakes;
  static constexpr auto step = 5ms;

  harness() {
    store::options o;
    o.state_dir = dir.path();
    o.synchronous = store::synchronous_mode::normal;
    o.clock = [this] { return clk.now(); };
    db = std::move(*store::open_store(o));
    sync::engine_options eo;
    eo.queue_idle = 20ms;
    eo.error_pause = 20ms;
    eo.task_restart_pause = 40ms;
    eo.task_restart_cap = 320ms;
    eo.write_retry = 20ms;
    eng = std::make_unique<sync::engine>(ioc.get_executor(), *db, eo, nullptr, clk);
    eng->set_mappings(shipped_plans());
  }
  fake_connector& add(const std::string& name, const std::string& kind, const std::string& object,
                      std::optional<std::chrono::milliseconds> reconcile_interval = std::nullopt) {
    auto c = std::make_unique<fake_connector>(name, kind, object);
    auto* raw = c.get();
    auto cfg = cfg_of(name, kind);
    if (reconcile_interval) cfg.reconcile_interval = reconcile_interval;
    eng->add(std::move(c), cfg);
    fakes.push_back(raw);
    return *raw;
  }
  void start() {
    for (auto& [name, fn] : eng->tasks()) asio::co_spawn(ioc, fn(), asio::detached);
    runner = std::thread([this] { ioc.run(); });
  }
  ~harness() {
    ioc.stop();
    if (runner.joinable()) runner.join();
    db.reset();  // finishes queued operations (their completions go to the stopped io_context)
    eng.reset();
  }
  /// Returns once the loops have run every handler queued so far (twice: what those queued too).
  void drain() {
    for (int i = 0; i < 2; ++i) {
      std::promise<void> done;
      asio::post(ioc, [&] { done.set_value(); });
      done.get_future().wait();
    }
  }
  /// Store round trips `settle` waits for at one clock instant at most: far more than any chain of the engine's
  /// (a poll, its page, the run's rows, the writes), so only a loop that never waits for the clock (a connector
  /// on `hold` reads on and on) reaches it — and time moves on for the rest.
  static constexpr int max_settle_rounds = 32;
  /// Returns once the loops have done what they can at the current clock time: every handler queued ran
  /// (`drain`) and every store operation they started was answered and its caller resumed, over and over while
  /// that started more. Without it the clock ran on while the store's threads worked (slowly on a loaded
  /// machine), so a limit in clock time was in truth one in real time. The wait for the store's threads is
  /// polled (their progress, not a duration, ends it).
  void settle() {
    for (int round = 0; round < max_settle_rounds; ++round) {
      const auto before = db->stats();
      drain();
      const auto after = db->stats();
      // Nothing in flight when the drain began (every answer posted before it ran in it) and nothing started
      // during it: the loops wait for the clock, or for each other.
      if (before.jobs_finished == before.jobs_queued && after.jobs_queued == before.jobs_queued) return;
      // A store that never answers would hang here: after a minute of real time (store jobs of these tests take
      // milliseconds, loaded or not) the test fails saying so, instead of waiting for ctest's timeout.
      const auto hung = std::chrono::steady_clock::now() + std::chrono::minutes(1);
      while (db->stats().jobs_finished < after.jobs_queued) {
        if (std::chrono::steady_clock::now() > hung) FAIL("the store has not answered for a minute");
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    }
  }
  /// Moves the clock in small steps until `p` holds (true) or `limit` of clock time passed (false).
  template <class Pred>
  bool eventually(Pred p, std::chrono::milliseconds limit = 120s) {
    for (std::chrono::milliseconds t{0}; t < limit; t += step) {
      if (p()) return true;
      clk.advance(step);
      settle();
    }
    return p();
  }
  /// Lets `d` of clock time pass (what is due in it runs).
  void run_for(std::chrono::milliseconds d) {
    for (std::chrono::milliseconds t{0}; t < d; t += step) {
      clk.advance(step);
      settle();
    }
  }
  std::int64_t stored(const std::string& connector) {
    auto k = store::wait(db->get_counts());
    auto it = k->records_per_connector.find(connector);
    return it == k->records_per_connector.end() ? 0 : it->second;
  }
};

}  // namespace engine_test
