// Restarting sync loops that end with an exception: the backoff policy (restart_policy) alone, then the engine
// restarting a poll loop whose adapter throws, counting it and showing it in status.
#include "daemon/sync/restart_policy.hpp"
#include "tests/unit/daemon/sync/engine_harness.hpp"

using namespace engine_test;
using omnisync::sync::restart_options;
using omnisync::sync::restart_policy;

namespace {
restart_options policy_options() {
  restart_options o;
  o.initial = 100ms;
  o.cap = 1000ms;
  o.healthy_after = 5000ms;
  o.jitter = 0.2;
  return o;
}
}  // namespace

TEST_CASE("restart policy: the pause doubles per failure in a row, capped, jittered downwards, never zero",
          "[restart]") {
  restart_policy p(policy_options(), 42);
  CHECK(p.base_pause(1) == 100ms);
  CHECK(p.base_pause(2) == 200ms);
  CHECK(p.base_pause(4) == 800ms);
  CHECK(p.base_pause(5) == 1000ms);    // capped
  CHECK(p.base_pause(200) == 1000ms);  // no overflow however many
  std::chrono::steady_clock::time_point t{};
  t += 1h;
  std::vector<std::chrono::milliseconds> pauses;
  for (int i = 0; i < 8; ++i) {
    p.started(t);
    t += 10ms;  // fails at once, every time
    pauses.push_back(p.failed(t));
    t += pauses.back();
  }
  CHECK(p.consecutive() == 8);
  for (std::size_t i = 0; i < pauses.size(); ++i) {
    const auto base = p.base_pause(unsigned(i + 1));
    INFO("failure " << i + 1 << ": " << pauses[i].count() << " ms of " << base.count());
    CHECK(pauses[i] <= base);                  // jitter only shortens
    CHECK(pauses[i] >= base * 8 / 10);         // by at most 20 %
  }
  CHECK(pauses.back() > 700ms);  // at the cap now
  // The same seed gives the same pauses; another seed different ones (tasks failing together spread out).
  restart_policy same(policy_options(), 42), other(policy_options(), 43);
  std::chrono::steady_clock::time_point u{};
  u += 1h;
  same.started(u);
  other.started(u);
  CHECK(same.failed(u + 10ms) == pauses[0]);
  bool differs = false;
  restart_policy a(policy_options(), 1), b(policy_options(), 2);
  for (int i = 0; i < 5; ++i) differs = differs || a.failed(u) != b.failed(u);
  CHECK(differs);
}

TEST_CASE("restart policy: a run longer than healthy_after starts the backoff over", "[restart]") {
  restart_policy p(policy_options(), 7);
  std::chrono::steady_clock::time_point t{};
  t += 1h;
  for (int i = 0; i < 4; ++i) {
    p.started(t);
    (void)p.failed(t + 1ms);
  }
  REQUIRE(p.consecutive() == 4);
  p.started(t);
  const auto pause = p.failed(t + 4999ms);  // not quite healthy: the backoff goes on
  CHECK(p.consecutive() == 5);
  CHECK(pause >= 800ms);
  p.started(t);
  const auto after_healthy = p.failed(t + 5000ms);
  CHECK(p.consecutive() == 1);
  CHECK(after_healthy <= 100ms);
  CHECK(after_healthy >= 80ms);
}

TEST_CASE("restart policy: a zero or negative initial pause still pauses (no spin)", "[restart]") {
  restart_options o;
  o.initial = 0ms;
  o.cap = 0ms;
  o.jitter = 5.0;  // clamped
  restart_policy p(o, 3);
  std::chrono::steady_clock::time_point t{};
  for (int i = 0; i < 20; ++i) CHECK(p.failed(t) >= 1ms);
}

TEST_CASE("engine: a poll loop that ends with an exception is restarted with backoff, counted and shown",
          "[engine][restart]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  for (int i = 1; i <= 3; ++i) hs.put(std::to_string(i), hubspot_contact(i, "p" + std::to_string(i) + "@example.com"));
  hs.throw_next = 3;
  h.start();
  // Three failures in a row: pauses of about 40, 80 and 160 ms (jittered down by up to 20 %), then it reads on.
  REQUIRE(h.eventually([&] { return h.stored("hs") == 3; }, 5s));
  const auto st = h.eng->status();
  REQUIRE(st.size() == 1);
  CHECK(st[0].task_restarts == 3);
  CHECK(st[0].last_task_failure == "hs contacts: unexpected page");
  CHECK(st[0].last_task_failure_at != store::timestamp{});
  // The loop polled again after each pause, not in a spin: four polls for three failures and the page, plus
  // the idle polls of the time since (one per 50 ms poll interval).
  CHECK(hs.polls >= 4);
  // Once it runs again the object is healthy: the error it showed is gone with the first good page.
  REQUIRE(h.eventually([&] { return h.eng->status()[0].objects[0].last_error.empty(); }, 2s));
  hs.put("4", hubspot_contact(4, "p4@example.com"));
  REQUIRE(h.eventually([&] { return h.stored("hs") == 4; }, 2s));
}

TEST_CASE("engine: a failing poll loop never spins — its restarts are spaced by the capped backoff",
          "[engine][restart]") {
  harness h;
  auto& hs = h.add("hs", "hubspot", "contacts");
  hs.throw_next = 1'000'000;
  h.start();
  // Pauses of 40, 80, 160, 320, 320, ... ms, each jittered down by at most 20 %: from the first failure to the
  // sixth at least 0.8 × (40 + 80 + 160 + 320 + 320) ms = 736 ms of clock pass; a spin would take none. At most
  // 920 ms, plus up to one 5 ms step per pause for the harness to reach each wake-up: the clock moves only once
  // the loop's work at an instant is done, its store operations included (harness::settle), so nothing but the
  // pauses takes clock time, on a loaded machine too. An uncapped backoff (640 ms for the fifth) would take more.
  const auto restarts = [&] { return h.eng->status()[0].task_restarts; };
  REQUIRE(h.eventually([&] { return restarts() >= 1; }, 10s));
  const auto first = h.clk.now();
  REQUIRE(h.eventually([&] { return restarts() >= 6; }, 10s));
  const auto between = std::chrono::duration_cast<std::chrono::milliseconds>(h.clk.now() - first);
  INFO("clock from the first failure to the sixth: " << between.count() << " ms, polls " << hs.polls);
  CHECK(between >= 736ms);
  CHECK(between <= 920ms + 5 * harness::step);
  CHECK(hs.polls <= restarts() + 1);  // one poll per attempt: nothing retried in between
  hs.throw_next = 0;  // the fault is cleared: it reads on after the current pause
  hs.put("1", hubspot_contact(1, "a@example.com"));
  REQUIRE(h.eventually([&] { return h.stored("hs") == 1; }, 2s));
}
