// Evaluating segments: values and flip times of windows and days_since, member_of, holdout, priority groups,
// explain; and the property that incremental membership (re-evaluate on change, fire at flip times) equals a
// full recomputation at every instant, over random event streams on a test clock.
#include "tests/unit/daemon/segments/segments_fixture.hpp"

#include <map>
#include <set>
#include <random>

using namespace seg_test;
using omnisync::profile::event;

namespace {

profile_facts person(std::string id = "p1") {
  profile_facts p;
  p.profile_id = std::move(id);
  return p;
}

void set_kpis(profile_facts& p) {
  static const auto rules = omnisync::profile::kpi_rules::defaults();
  const auto k = omnisync::profile::timeline::compute(rules, p.events);
  p.kpis.clear();
  for (auto& [name, v] : k.to_attributes())
    if (name != "lifecycle_stage") p.kpis.emplace(name, v);
  p.stage = k.lifecycle_stage;
}

}  // namespace

TEST_CASE("a ticket window: member while an unsolved ticket is under 30 days old, flip at its end", "[segments]") {
  auto set = compile_ok({def("open_ticket", "count(events, e.type == \"ticket\" && e.status != \"solved\", within: 30d) >= 1")});
  auto p = person();
  const auto t0 = at("2026-03-01T10:00:00Z");
  p.events.push_back(ev("ticket", t0, "open"));
  auto m = set.evaluate(0, p, t0 - 1);
  CHECK_FALSE(m.member);
  REQUIRE(m.flips_at);
  CHECK(*m.flips_at == t0);  // the event counts from its occurred_at on
  m = set.evaluate(0, p, t0 + 5 * day);
  CHECK(m.member);
  REQUIRE(m.flips_at);
  CHECK(*m.flips_at == t0 + 30 * day);
  CHECK_FALSE(set.member(0, p, t0 + 30 * day));
  CHECK(set.member(0, p, t0 + 30 * day - 1));
  // The ticket is solved: out at once, and nothing left to flip.
  p.events[0].status = "solved";
  m = set.evaluate(0, p, t0 + 5 * day);
  CHECK_FALSE(m.member);
  CHECK_FALSE(m.flips_at);
}

TEST_CASE("flip time is the oldest qualifying event + window only when it changes the result", "[segments]") {
  auto set = compile_ok({def("s", "count(events, e.type == \"ticket\", within: 10d) >= 2")});
  auto p = person();
  const auto t0 = at("2026-01-01T00:00:00Z");
  p.events = {ev("ticket", t0), ev("ticket", t0 + 3 * day), ev("ticket", t0 + 4 * day)};
  // At t0+5d three count; the first leaves at t0+10d (still two), the second at t0+13d: the flip.
  auto m = set.evaluate(0, p, t0 + 5 * day);
  CHECK(m.member);
  REQUIRE(m.flips_at);
  CHECK(*m.flips_at == t0 + 13 * day);
}

TEST_CASE("days_since thresholds jump to the exact day, both directions", "[segments]") {
  auto set = compile_ok({def("old", "days_since(updated_at) > 30"), def("new", "days_since(updated_at) <= 7"),
                         def("band", "days_since(updated_at) >= 10 && days_since(updated_at) < 20")});
  auto p = person();
  const auto c = at("2026-01-01T08:00:00Z");
  p.attributes["updated_at"].set_string("2026-01-01T08:00:00Z");
  auto m = set.evaluate(*set.index_of("old"), p, c + day);
  CHECK_FALSE(m.member);
  REQUIRE(m.flips_at);
  CHECK(*m.flips_at == c + 31 * day);
  m = set.evaluate(*set.index_of("new"), p, c + day);
  CHECK(m.member);
  CHECK(*m.flips_at == c + 8 * day);
  m = set.evaluate(*set.index_of("band"), p, c);
  CHECK(*m.flips_at == c + 10 * day);
  m = set.evaluate(*set.index_of("band"), p, c + 12 * day);
  CHECK(*m.flips_at == c + 20 * day);
  CHECK_FALSE(m.recheck);
  // No updated_at: never a member, never a flip.
  p.attributes.clear();
  m = set.evaluate(*set.index_of("old"), p, c);
  CHECK_FALSE(m.member);
  CHECK_FALSE(m.flips_at);
}

TEST_CASE("days_since against a threshold no instant reaches: no flip, and an answer at once", "[segments]") {
  // Found by fuzz_segments: with k = 4e49, stepping a double day by day around k never moved, so evaluation hung.
  auto set = compile_ok({def("far", "days_since(updated_at) > 39999999999999999999999999999999999999999999999990"),
                         def("always", "days_since(updated_at) < 99999999999999999999999999999999999999999")});
  auto p = person();
  const auto c = at("2026-01-01T08:00:00Z");
  p.attributes["updated_at"].set_string("2026-01-01T08:00:00Z");
  auto m = set.evaluate(*set.index_of("far"), p, c + day);
  CHECK_FALSE(m.member);
  CHECK_FALSE(m.flips_at);
  m = set.evaluate(*set.index_of("always"), p, c + day);
  CHECK(m.member);
  CHECK_FALSE(m.flips_at);
}

TEST_CASE("between windows and sums", "[segments]") {
  auto set = compile_ok({def("s", "sum(events, e.amount, e.type == \"deal_won\", between: [60d, 30d]) >= 100")});
  auto p = person();
  const auto t0 = at("2026-01-01T00:00:00Z");
  p.events = {ev("deal_won", t0, "", 60.0), ev("deal_won", t0 + day, "", 50.0), ev("deal_lost", t0, "", 500.0)};
  CHECK_FALSE(set.member(0, p, t0 + 29 * day));
  auto m = set.evaluate(0, p, t0 + 29 * day);
  CHECK(*m.flips_at == t0 + 31 * day);  // the second deal reaches 30 days
  CHECK(set.member(0, p, t0 + 31 * day));
  m = set.evaluate(0, p, t0 + 31 * day);
  CHECK(*m.flips_at == t0 + 60 * day);  // the first leaves the window
}

TEST_CASE("member_of, holdout and priority groups", "[segments]") {
  auto set = compile_ok({def("gold", "kpi.lifetime_value >= 1000", "tier"), def("silver", "kpi.lifetime_value >= 100", "tier"),
                         def("buyers", "kpi.order_count >= 1"), def("silver_buyers", "member_of(\"silver\") && member_of(\"buyers\")"),
                         def("control", "kpi.order_count >= 1", "", 50)});
  auto p = person();
  p.events = {ev("deal_won", at("2026-01-01"), "", 2000.0)};
  set_kpis(p);
  const auto now = at("2026-02-01");
  CHECK(set.member(*set.index_of("gold"), p, now));
  auto silver = set.evaluate(*set.index_of("silver"), p, now);
  CHECK_FALSE(silver.member);
  CHECK(silver.matches);
  CHECK(silver.outranked_by == "gold");
  CHECK_FALSE(set.member(*set.index_of("silver_buyers"), p, now));
  p.events[0].amount = 200.0;
  set_kpis(p);
  CHECK_FALSE(set.member(*set.index_of("gold"), p, now));
  CHECK(set.member(*set.index_of("silver"), p, now));
  CHECK(set.member(*set.index_of("silver_buyers"), p, now));
  // Holdout: deterministic by profile id and key, about the declared share.
  const int ctl = *set.index_of("control");
  int held = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string id = "p" + std::to_string(i);
    CHECK(set.held_out(ctl, id) == set.held_out(ctl, id));
    held += set.held_out(ctl, id) ? 1 : 0;
  }
  CHECK(held > 850);
  CHECK(held < 1150);
  p.profile_id = "p0";
  for (int i = 0; set.held_out(ctl, p.profile_id); ++i) p.profile_id = "q" + std::to_string(i);
  CHECK(set.member(ctl, p, now));
  for (int i = 0; !set.held_out(ctl, p.profile_id); ++i) p.profile_id = "r" + std::to_string(i);
  const auto m = set.evaluate(ctl, p, now);
  CHECK_FALSE(m.member);
  CHECK(m.held_out);
}

TEST_CASE("explain gives each term's value and the measured side", "[segments]") {
  auto set = compile_ok({def("s", "kpi.order_count >= 1 && count(events, e.type == \"ticket\", within: 30d) >= 1 && "
                                  "!exists(phone) && email ends_with \"@acme.com\"")});
  auto p = person();
  p.events = {ev("deal_won", at("2026-01-01"), "", 10.0), ev("ticket", at("2026-01-20"))};
  set_kpis(p);
  p.attributes["email"].set_string("ann@acme.com");
  const auto terms = set.explain(0, p, at("2026-01-25"));
  REQUIRE(terms.size() == 4);
  CHECK(terms[0].text == "kpi.order_count >= 1");
  CHECK(terms[0].value == "true");
  CHECK(terms[0].detail == "kpi.order_count = 1");
  CHECK(terms[1].text == "count(events, e.type == \"ticket\", within: 30d) >= 1");
  CHECK(terms[1].detail == "count(events, e.type == \"ticket\", within: 30d) = 1");
  CHECK(terms[2].text == "exists(phone)");
  CHECK(terms[2].value == "false");
  CHECK(terms[3].value == "true");
}

TEST_CASE("property: incremental membership equals a full recomputation at every instant", "[segments][property]") {
  auto set = compile_ok({
      def("open_ticket", "count(events, e.type == \"ticket\" && e.status != \"solved\", within: 30d) >= 1"),
      def("no_recent_deal", "none(events, e.type == \"deal_won\", within: 90d)"),
      def("churn_risk", "member_of(\"open_ticket\") && member_of(\"no_recent_deal\")"),
      def("dormant", "days_since(updated_at) > 10 && !any(events, between: [20d, 5d])"),
      def("gold", "sum(events, e.amount, e.type == \"deal_won\", within: 60d) >= 500", "tier"),
      def("silver", "any(events, e.type == \"deal_won\", within: 60d)", "tier"),
      def("engaged", "count(events, within: 15d) >= 2 || kpi.order_count >= 3", "", 30),
      def("newly_open", "any(events, e.type == \"segment_entered\" && e.segment == \"open_ticket\", within: 10d) && "
                        "none(events, e.type == \"segment_exited\" && e.segment == \"churn_risk\", within: 3d)"),
  });
  const int n = static_cast<int>(set.segments().size());
  const char* types[] = {"ticket", "deal_won", "deal_lost", "conversation", "ticket"};
  const auto origin = at("2026-01-01T00:00:00Z");
  std::uint64_t checks = 0, timer_fires = 0, changes = 0;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&rng](std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng); };
    profile_facts p = person("p" + std::to_string(seed));
    std::vector<bool> member(static_cast<std::size_t>(n), false);
    std::vector<std::optional<std::int64_t>> due(static_cast<std::size_t>(n));
    std::int64_t now = origin;
    // A transition is a segment event of the profile at that instant (as the daemon stores it); the segments
    // reading it are evaluated again (affected by segment_events), until nothing more flips.
    std::set<std::string, std::less<>> flipped;
    auto reevaluate = [&](int s) {
      const auto m = set.evaluate(s, p, now);
      if (m.member != member[static_cast<std::size_t>(s)]) {
        event e;
        e.type = m.member ? "segment_entered" : "segment_exited";
        e.subject = set.segments()[static_cast<std::size_t>(s)].def.key;
        e.occurred_at = now;
        p.segment_events.push_back(e);
        flipped.insert(e.subject);
      }
      member[static_cast<std::size_t>(s)] = m.member;
      due[static_cast<std::size_t>(s)] = m.flips_at;
    };
    auto settle = [&] {
      while (!flipped.empty()) {
        profile_change c;
        c.segment_events = std::move(flipped);
        flipped.clear();
        for (int s : set.affected(c)) reevaluate(s);
      }
    };
    for (int s = 0; s < n; ++s) reevaluate(s);
    settle();
    std::int64_t next_arrival = now + pick(0, 6 * day);
    for (int step = 0; step < 120; ++step) {
      std::optional<std::int64_t> timer;
      for (const auto& d : due)
        if (d && (!timer || *d < *timer)) timer = d;
      const std::int64_t next = timer && *timer <= next_arrival ? *timer : next_arrival;
      // Between two steps nothing happens: the full recomputation at any instant there must agree.
      for (int k = 0; k < 2; ++k) {
        const std::int64_t x = next > now ? pick(now, next - 1) : now;
        for (int s = 0; s < n; ++s) {
          INFO("seed " << seed << " step " << step << " segment " << set.segments()[static_cast<std::size_t>(s)].def.key
                       << " at " << (x - origin) << "ms");
          REQUIRE(set.member(s, p, x) == member[static_cast<std::size_t>(s)]);
          ++checks;
        }
      }
      now = next;
      if (timer && *timer <= next_arrival) {
        for (int s = 0; s < n; ++s)
          if (due[static_cast<std::size_t>(s)] && *due[static_cast<std::size_t>(s)] <= now) reevaluate(s), ++timer_fires;
        settle();
      } else {
        // A change: a new event (sometimes dated in the past or the near future), a ticket solved, or a new
        // updated_at. Only the affected segments are evaluated again.
        ++changes;
        profile_change c;
        const auto before = p.kpis;
        const profile_facts was = p;
        const auto kind = pick(0, 9);
        if (kind <= 6) {
          const char* type = types[pick(0, 4)];
          p.events.push_back(ev(type, now + pick(-25 * day, 2 * day), pick(0, 2) ? "open" : "solved",
                                static_cast<double>(pick(0, 400)), "s:" + std::to_string(step)));
          std::sort(p.events.begin(), p.events.end(),
                    [](const event& a, const event& b) { return a.occurred_at < b.occurred_at; });
          c.event_types.insert(type);
        } else if (kind <= 8 && !p.events.empty()) {
          auto& e = p.events[static_cast<std::size_t>(pick(0, static_cast<std::int64_t>(p.events.size()) - 1))];
          e.status = "solved";
          c.event_types.insert(e.type);
        } else {
          p.attributes["updated_at"].set_string(omnisync::format_iso8601(omnisync::from_epoch_ms(now - pick(0, 30 * day))));
          c.attributes.insert("updated_at");
        }
        set_kpis(p);
        for (const auto& [k, v] : p.kpis) {
          auto it = before.find(k);
          std::string a, b;
          omnisync::mapping::append_json(a, v);
          if (it != before.end()) omnisync::mapping::append_json(b, it->second);
          if (a != b) c.kpis.insert(k);
        }
        // The daemon's way: what differs between the facts before and after (diff_facts) decides; it names at
        // least what the change itself says.
        const auto d = diff_facts(was, p);
        for (const auto& t : c.event_types) CHECK((d.event_types.count(t) || kind > 6));
        for (const auto& k : c.kpis) CHECK(d.kpis.count(k));
        for (int s : set.affected(d)) reevaluate(s);
        settle();
        next_arrival = now + pick(0, 6 * day);
      }
      for (int s = 0; s < n; ++s) {
        INFO("seed " << seed << " step " << step << " after processing, segment " << s);
        REQUIRE(set.member(s, p, now) == member[static_cast<std::size_t>(s)]);
      }
    }
  }
  CHECK(timer_fires > 100);
  CHECK(changes > 1000);
  CHECK(checks > 10000);
}

TEST_CASE("segment events: a window over another segment's entry with its flip, the timeline never sees them",
          "[segments]") {
  auto set = compile_ok({def("vip", "kpi.lifetime_value >= 5000"),
                         def("new_vip", "any(events, e.type == \"segment_entered\" && e.segment == \"vip\", within: 7d)"),
                         def("quiet", "count(events) == 0")});
  const int nv = *set.index_of("new_vip"), quiet = *set.index_of("quiet");
  profile_facts p;
  p.profile_id = "p1";
  const auto t0 = at("2026-03-01T10:00:00Z");
  CHECK_FALSE(set.evaluate(nv, p, t0).member);
  omnisync::profile::event e;
  e.type = "segment_entered";
  e.subject = "vip";
  e.occurred_at = t0;
  p.segment_events.push_back(e);
  auto m = set.evaluate(nv, p, t0 + day);
  CHECK(m.member);
  REQUIRE(m.flips_at);
  CHECK(*m.flips_at == t0 + 7 * day);  // the entry leaves the window
  CHECK_FALSE(set.evaluate(nv, p, t0 + 7 * day).member);
  CHECK(set.evaluate(quiet, p, t0 + day).member);  // a transition is not a timeline event
  e.subject = "other";
  p.segment_events = {e};
  CHECK_FALSE(set.evaluate(nv, p, t0 + day).member);
  // explain shows the term.
  p.segment_events[0].subject = "vip";
  auto terms = set.explain(nv, p, t0 + day);
  REQUIRE(terms.size() == 1);
  CHECK(terms[0].value == "true");
}
