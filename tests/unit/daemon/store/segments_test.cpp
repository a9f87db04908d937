// Segment membership and the timer queue on both backends: verdicts store a row per member and at most one timer
// per (segment, profile), and report only the memberships that changed (with when an exited membership began);
// members page by profile id; counts; timers are due by instant, move and go; a forgotten segment leaves nothing;
// large batches (read by range) and small ones (looked up one by one) end as a one-by-one model says.
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <tuple>

#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;
using namespace std::chrono_literals;

TEST_CASE("store: segment verdicts keep one row per member and report transitions", "[store][segments]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();

  auto changed = ok(s->segment_apply({segment_verdict("vip", "p2", true, t0 + 30s), segment_verdict("vip", "p1", true, std::nullopt),
                                      segment_verdict("vip", "p3", false, std::nullopt), segment_verdict("lapsed", "p1", false, t0 + 5s)},
                                     t0));
  REQUIRE(changed.size() == 2);
  CHECK(changed[0].segment == "vip");
  CHECK(changed[0].profile == "p2");
  CHECK(changed[0].entered);
  CHECK(changed[0].since == t0);
  CHECK(changed[1].profile == "p1");
  CHECK(ok(s->segment_count("vip")) == 2);
  CHECK(ok(s->segment_count("lapsed")) == 0);

  // The same verdicts again change nothing (idempotent: a repeated page).
  changed = ok(s->segment_apply({segment_verdict("vip", "p2", true, t0 + 30s), segment_verdict("vip", "p1", true, std::nullopt)}, t0 + 1s));
  CHECK(changed.empty());
  auto members = ok(s->segment_members("vip", "", 10));
  REQUIRE(members.size() == 2);
  CHECK(members[0].profile == "p1");
  CHECK(members[0].since == t0);  // unchanged by the repeat
  CHECK(members[1].profile == "p2");
  // Paging by profile id.
  members = ok(s->segment_members("vip", "p1", 1));
  REQUIRE(members.size() == 1);
  CHECK(members[0].profile == "p2");
  CHECK(ok(s->segment_members("vip", "p2", 10)).empty());

  // Timers: due by instant, earliest first; one per (segment, profile) — a new verdict moves it.
  auto next = ok(s->segment_next_timer());
  REQUIRE(next);
  CHECK(*next == t0 + 5s);
  CHECK(ok(s->segment_timers_due(t0 + 4s, 10)).empty());
  auto due = ok(s->segment_timers_due(t0 + 30s, 10));
  REQUIRE(due.size() == 2);
  CHECK(due[0].segment == "lapsed");
  CHECK(due[0].due_at == t0 + 5s);
  CHECK(due[1].profile == "p2");
  ok(s->segment_apply({segment_verdict("lapsed", "p1", false, t0 + 60s)}, t0 + 5s));
  due = ok(s->segment_timers_due(t0 + 30s, 10));
  REQUIRE(due.size() == 1);
  CHECK(due[0].profile == "p2");

  // An exit reports when the membership began; its timer goes with a verdict that has none.
  clock.advance(30s);
  changed = ok(s->segment_apply({segment_verdict("vip", "p2", false, std::nullopt)}, t0 + 30s));
  REQUIRE(changed.size() == 1);
  CHECK_FALSE(changed[0].entered);
  CHECK(changed[0].since == t0);
  CHECK(ok(s->segment_count("vip")) == 1);
  CHECK(ok(s->segment_timers_due(t0 + 40s, 10)).empty());

  // A verdict without a segment or profile is refused, and nothing of its batch is stored.
  CHECK(error_of(s->segment_apply({segment_verdict("vip", "p9", true, std::nullopt), segment_verdict("", "p1", true, std::nullopt)}, t0)) ==
        omnisync::errc::invalid_input);
  CHECK(ok(s->segment_count("vip")) == 1);

  // Forgetting a segment removes its members and timers only.
  CHECK(ok(s->segment_forget("lapsed")) == 0);
  CHECK_FALSE(ok(s->segment_next_timer()));
  CHECK(ok(s->segment_forget("vip")) == 1);
  CHECK(ok(s->segment_count("vip")) == 0);
}

TEST_CASE("store: a transition's history row commits with its membership, with the describer's cause", "[store][segments]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  segment_verdict a("vip", "p1", true, std::nullopt), b("vip", "p2", false, std::nullopt);
  a.cause = R"({"source":"hs/contacts"})";
  // The describer is asked only for the verdicts that change the membership, with their direction.
  int asked = 0;
  segment_describer describe = [&asked](const segment_verdict& v, bool entered) {
    ++asked;
    return std::string(R"({"term":")") + (entered ? "in:" : "out:") + v.profile + "\"}";
  };
  auto changed = ok(s->segment_apply({a, b}, t0, describe));
  REQUIRE(changed.size() == 1);
  CHECK(asked == 1);
  CHECK(changed[0].cause == R"({"term":"in:p1"})");
  auto rows = ok(s->history_query(history_filter("segment")));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].profile == "p1");
  CHECK(rows[0].subject == "vip");
  CHECK(rows[0].from == "out");
  CHECK(rows[0].to == "in");
  CHECK(rows[0].at == t0);
  CHECK(rows[0].cause == R"({"term":"in:p1"})");

  // Without a describer the verdict's own cause is the row's; a repeat writes no row.
  clock.advance(5s);
  segment_verdict out("vip", "p1", false, std::nullopt);
  out.cause = R"({"timer":true})";
  CHECK(ok(s->segment_apply({out}, t0 + 5s)).size() == 1);
  CHECK(ok(s->segment_apply({out}, t0 + 6s)).empty());
  rows = ok(s->history_query(history_filter("segment")));
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].to == "out");
  CHECK(rows[1].cause == R"({"timer":true})");

  // A refused batch stores neither membership nor history.
  CHECK(error_of(s->segment_apply({segment_verdict("vip", "p7", true, std::nullopt), segment_verdict("", "p1", true, std::nullopt)}, t0)) ==
        omnisync::errc::invalid_input);
  CHECK(ok(s->history_query(history_filter("segment"))).size() == 2);
  CHECK(ok(s->segment_count("vip")) == 0);
}

TEST_CASE("store: the segments with stored members or timers are listed", "[store][segments]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  CHECK(ok(s->segment_keys()).empty());
  ok(s->segment_apply({segment_verdict("vip", "p1", true, std::nullopt), segment_verdict("vip", "p2", true, std::nullopt),
                       segment_verdict("lapsed", "p1", false, t0 + 5s), segment_verdict("new", "p3", true, std::nullopt)},
                      t0));
  CHECK(ok(s->segment_keys()) == std::vector<std::string>{"lapsed", "new", "vip"});
  ok(s->segment_forget("lapsed"));
  CHECK(ok(s->segment_keys()) == std::vector<std::string>{"new", "vip"});
}

TEST_CASE("store: segment verdicts in large batches (a backfill's chunk) and small ones end as a one-by-one model says",
          "[store][segments]") {
  // A backfill's chunk (many verdicts of one segment over a narrow range of profiles) is applied from one range
  // read of what is stored; small or widely spread batches are looked up verdict by verdict. Both must give the
  // same transitions and the same stored members and timers as applying each verdict in order to a model.
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  std::map<std::pair<std::string, std::string>, timestamp> members, timers;  // the model
  std::mt19937 rng(20261207);
  auto profile = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "p%03d", i);
    return std::string(b);
  };
  const std::vector<std::string> keys{"a", "b", "c"};
  for (int round = 0; round < 60; ++round) {
    const auto at = t0 + std::chrono::seconds(round);
    std::vector<segment_verdict> batch;
    auto verdict = [&](const std::string& seg, int p) {
      const bool member = rng() % 2 == 0;
      std::optional<timestamp> next;
      if (rng() % 3 == 0) next = t0 + std::chrono::seconds(1000 + rng() % 4);  // often the same instant again
      batch.emplace_back(seg, profile(p), member, next);
    };
    const auto kind = round % 3;
    if (kind == 0) {  // a backfill's chunk: one segment, 40 consecutive profiles in order, one of them twice
      const auto& seg = keys[rng() % keys.size()];
      const int first = static_cast<int>(rng() % 160);
      for (int p = first; p < first + 40; ++p) verdict(seg, p);
      verdict(seg, first + 7);
    } else if (kind == 1) {  // one profile changed: a few segments each
      const int p = static_cast<int>(rng() % 200);
      for (const auto& seg : keys)
        if (rng() % 2 == 0) verdict(seg, p);
    } else {  // 20 profiles of one segment spread over all 200: a range holding far more rows than verdicts
      const auto& seg = keys[rng() % keys.size()];
      for (int j = 0; j < 20; ++j) verdict(seg, static_cast<int>(rng() % 200));
    }
    // The model: each verdict in order.
    std::vector<std::tuple<std::string, std::string, bool, timestamp>> expected;
    for (const auto& v : batch) {
      const auto k = std::make_pair(v.segment, v.profile);
      auto m = members.find(k);
      if (v.member && m == members.end()) {
        members.emplace(k, at);
        expected.emplace_back(v.segment, v.profile, true, at);
      } else if (!v.member && m != members.end()) {
        expected.emplace_back(v.segment, v.profile, false, m->second);
        members.erase(m);
      }
      if (v.next_flip) timers.insert_or_assign(k, *v.next_flip);
      else timers.erase(k);
    }
    INFO("round " << round);
    const auto changed = ok(s->segment_apply(batch, at));
    REQUIRE(changed.size() == expected.size());
    for (std::size_t i = 0; i < changed.size(); ++i) {
      CHECK(changed[i].segment == std::get<0>(expected[i]));
      CHECK(changed[i].profile == std::get<1>(expected[i]));
      CHECK(changed[i].entered == std::get<2>(expected[i]));
      CHECK(changed[i].since == std::get<3>(expected[i]));
    }
  }
  std::map<std::pair<std::string, std::string>, timestamp> stored_members, stored_timers;
  for (const auto& seg : keys)
    for (const auto& m : ok(s->segment_members(seg, "", 10000))) stored_members.emplace(std::make_pair(seg, m.profile), m.since);
  for (const auto& t : ok(s->segment_timers_due(t0 + std::chrono::hours(1), 10000)))
    stored_timers.emplace(std::make_pair(t.segment, t.profile), t.due_at);
  CHECK(stored_members == members);
  CHECK(stored_timers == timers);
  CHECK(members.size() > 50);  // the rounds left a real mix behind
  CHECK(timers.size() > 20);
}
