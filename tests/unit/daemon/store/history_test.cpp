// The append-only history on both backends: rows appended in one call get increasing ids in order and come back as
// written; every filter (kind, subject, profile, time range) narrows; pages by id follow each other without gaps
// or repeats; a refused call appends nothing; prune removes exactly the rows older than the bound (in batches) and
// ids keep increasing after it; the row cap's bound keeps at most the cap; a store at the version before the history upgrades and keeps its data.
#include <chrono>
#include <set>

#include "daemon/store/history_query.hpp"
#include "daemon/store/migrate.hpp"
#include "tests/unit/daemon/store/store_fixture.hpp"
#ifndef OMNISYNC_STORE_PG
#include "daemon/store/sqlite_sql.hpp"
#endif

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

namespace {

omnisync::timestamp at_ms(std::int64_t v) { return omnisync::timestamp(std::chrono::milliseconds(v)); }

history_entry stage(std::string profile, std::string from, std::string to, std::int64_t at) {
  return history_entry(std::move(profile), "stage", "", std::move(from), std::move(to), at_ms(at),
                       R"({"record":"sf:Contact/003A","run":"7"})");
}

std::vector<history_entry> query_all(store& s, history_filter f) {
  std::vector<history_entry> out;
  f.limit = 2;
  for (;;) {
    auto page = ok(s.history_query(f));
    if (page.empty()) break;
    f.after_id = page.back().id;
    for (auto& e : page) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST_CASE("store: history rows append in order, every filter narrows, pages follow each other", "[store][history]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));

  ok(s->history_append({stage("P1", "", "awareness", 1000), stage("P1", "awareness", "purchase", 5000),
                        history_entry("P1", "kpi", "lifetime_value", "", "120.5", at_ms(5000), "{}"),
                        stage("P2", "", "awareness", 2000)}));
  ok(s->history_append({history_entry("P2", "segment", "vip", "out", "in", at_ms(3000), R"({"term":"ltv"})"),
                        history_entry("P3", "kpi", "nps", "", "9", {}, "")}));  // {}: stamped now

  auto all = ok(s->history_query({}));
  REQUIRE(all.size() == 6);
  for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i].id > all[i - 1].id);
  CHECK(all[1].profile == "P1");
  CHECK(all[1].kind == "stage");
  CHECK(all[1].subject.empty());
  CHECK(all[1].from == "awareness");
  CHECK(all[1].to == "purchase");
  CHECK(all[1].at == at_ms(5000));
  CHECK(all[1].cause == R"({"record":"sf:Contact/003A","run":"7"})");
  CHECK(all[2].subject == "lifetime_value");
  CHECK(all[2].to == "120.5");
  CHECK(all[4].kind == "segment");
  CHECK(all[4].to == "in");
  CHECK(all[5].at == clock.now());

  auto count = [&](history_filter f) { return query_all(*s, std::move(f)).size(); };
  CHECK(count(history_filter("stage")) == 3);
  CHECK(count(history_filter("kpi")) == 2);
  CHECK(count(history_filter("kpi", "nps")) == 1);
  CHECK(count(history_filter("", "", "P1")) == 3);
  CHECK(count(history_filter("stage", "", "P1")) == 2);
  CHECK(count(history_filter("", "", "P9")) == 0);
  CHECK(count(history_filter("", "", "", at_ms(2000), at_ms(5000))) == 2);  // [from, to): 2000 and 3000
  CHECK(count(history_filter("stage", "", "", at_ms(1000), std::nullopt)) == 3);
  CHECK(count(history_filter("stage", "", "", std::nullopt, at_ms(2000))) == 1);
  CHECK(count(history_filter("segment", "vip", "", at_ms(0), at_ms(10000))) == 1);
  CHECK(count(history_filter("", "lifetime_value")) == 1);  // a subject without a kind

  // Pages of 2 by id: every row once, in order.
  auto paged = query_all(*s, {});
  REQUIRE(paged.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) CHECK(paged[i].id == all[i].id);
  history_filter one;
  one.limit = 1;
  one.after_id = all[2].id;
  auto next = ok(s->history_query(one));
  REQUIRE(next.size() == 1);
  CHECK(next[0].id == all[3].id);

  // A row without a profile or a kind refuses the whole call.
  CHECK(error_of(s->history_append({stage("P4", "", "awareness", 1), history_entry("", "stage", "", "", "x", at_ms(1), "")})) ==
        errc::invalid_input);
  CHECK(error_of(s->history_append({history_entry("P4", "", "", "", "x", at_ms(1), "")})) == errc::invalid_input);
  CHECK(ok(s->history_query({})).size() == 6);
}

TEST_CASE("store: history prune removes the rows older than the bound, in batches, and ids keep increasing",
          "[store][history]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  // More old rows than one prune batch, so the prune takes several transactions.
  const std::size_t old_rows = detail::history_prune_batch + 7;
  std::vector<history_entry> rows;
  for (std::size_t i = 0; i < old_rows; ++i) rows.push_back(stage("P" + std::to_string(i), "", "awareness", 1000 + i % 50));
  ok(s->history_append(std::move(rows)));
  ok(s->history_append({stage("Q1", "", "purchase", 100'000), stage("Q2", "", "purchase", 200'000)}));
  const auto last_before = ok(s->history_query(history_filter("", "", "Q2"))).at(0).id;

  CHECK(ok(s->history_prune(at_ms(1000))) == 0);  // nothing is older than 1000
  CHECK(ok(s->history_prune(at_ms(100'000))) == old_rows);
  auto left = ok(s->history_query({}));
  REQUIRE(left.size() == 2);
  CHECK(left[0].profile == "Q1");
  CHECK(ok(s->history_prune(at_ms(300'000))) == 2);
  CHECK(ok(s->history_query({})).empty());
  ok(s->history_append({stage("R1", "", "awareness", 1)}));
  CHECK(ok(s->history_query({})).at(0).id > last_before);  // a reader paging by id misses nothing
}

TEST_CASE("store: the history row cap gives the bound that keeps at most that many rows", "[store][history]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  CHECK(!ok(s->history_cap_bound(0)));  // no rows: nothing to cut
  // Times 10, 20, 20, 30, 40 (inserted out of time order): keeping 3 cuts at 20 and both rows of that time go.
  ok(s->history_append({stage("A", "", "awareness", 30), stage("B", "", "awareness", 20), stage("C", "", "awareness", 10),
                        stage("D", "", "awareness", 40), stage("E", "", "awareness", 20)}));
  CHECK(!ok(s->history_cap_bound(5)));
  CHECK(!ok(s->history_cap_bound(6)));
  const auto bound = ok(s->history_cap_bound(3));
  REQUIRE(bound);
  CHECK(*bound == at_ms(21));
  CHECK(ok(s->history_prune(*bound)) == 3);
  CHECK(ok(s->history_query({})).size() == 2);
  CHECK(*ok(s->history_cap_bound(1)) == at_ms(31));
}

TEST_CASE("store: a store at the version before the history upgrades and keeps its data", "[store][history][migrations]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  o.migrate_to = detail::history_version - 1;
  {
    auto s = open_ok(o);
    CHECK(s->schema_version() == detail::history_version - 1);
    ok(s->meta_set("kept", "yes"));
    ok(s->append_records({"sf", "Contact", {rec("003A", R"({"v":1})")}, "c1", {}}));
    ok(s->run_begin(run_record("poll", "sf", "Contact")));
  }
  o.migrate_to.reset();
  auto s = open_ok(o);
  CHECK(s->schema_version() == latest_schema_version());
  CHECK(latest_schema_version() >= detail::history_version);
  CHECK(ok(s->meta_get("kept")) == std::optional<std::string>("yes"));
  CHECK(ok(s->record_get("sf", "Contact", "003A")).has_value());
  CHECK(ok(s->run_list({})).items.size() == 1);
  ok(s->history_append({stage("P1", "", "awareness", 10)}));
  CHECK(ok(s->history_query(history_filter("stage"))).size() == 1);
  CHECK(ok(s->integrity_check()) == "ok");
}

#ifndef OMNISYNC_STORE_PG
TEST_CASE("store: history queries take the index their filter needs", "[store][history][sqlite]") {
  // One profile: history_profile; otherwise the table by id (a kind index cannot give id order: each page would
  // visit and sort the whole range again).
  CHECK(std::string(sqlite::history_query_sql(history_filter("", "", "P1"))).find("INDEXED BY history_profile") !=
        std::string::npos);
  CHECK(std::string(sqlite::history_query_sql(history_filter("stage", "", "", at_ms(1), at_ms(2))))
            .find("NOT INDEXED") != std::string::npos);
  CHECK(std::string(sqlite::history_query_sql(history_filter("stage"))).find("NOT INDEXED") != std::string::npos);
}
#endif
