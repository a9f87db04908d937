// The audit log on both backends: appended in order, listed newest first, every filter narrowing, paged; pruned
// by age and by count in bounded batches; and each filter's query walks an index instead of scanning the log
// (the query plan, read from the database itself).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "daemon/store/audit_query.hpp"
#include "tests/unit/daemon/store/store_fixture.hpp"
#ifdef OMNISYNC_STORE_PG
#include <libpq-fe.h>

#include "daemon/store/pg_sql.hpp"
#else
#include "daemon/store/sqlite_sql.hpp"
#endif

using namespace omnisync::store;
using namespace omnisync::store::testing;
using omnisync::errc;
using namespace std::chrono_literals;

namespace {

audit_entry entry(std::string connector, std::string object, std::string record, std::string field,
                  std::string profile, std::string source, timestamp at = {}) {
  audit_entry e;
  e.at = at;
  e.connector = std::move(connector);
  e.object = std::move(object);
  e.record_id = std::move(record);
  e.field = std::move(field);
  e.before = R"("old")";
  e.after = R"("new")";
  e.attribute = "email";
  e.rule = "survivorship";
  e.source = std::move(source);
  e.source_ts = timestamp(1234ms);
  e.profile_id = std::move(profile);
  e.request_id = "req-1";
  e.outcome = "written";
  e.answer = "200";
  return e;
}

std::vector<std::string> fields_of(const audit_page& p) {
  std::vector<std::string> out;
  for (const auto& e : p.items) out.push_back(e.field);
  return out;
}

/// Every entry `f` selects, following the pages.
std::vector<audit_entry> list_all(store& s, audit_filter f) {
  std::vector<audit_entry> out;
  for (;;) {
    auto page = ok(s.audit_list(f));
    for (auto& e : page.items) out.push_back(std::move(e));
    if (page.next_before_id == 0) return out;
    f.before_id = page.next_before_id;
  }
}

/// The query plan of the store's audit_list statement for `f`, one line per plan row.
std::vector<std::string> audit_plan(const options& o, const audit_filter& f) {
  std::vector<std::string> lines;
#ifdef OMNISYNC_STORE_PG
  PGconn* c = PQconnectdb(o.dsn.c_str());
  REQUIRE(PQstatus(c) == CONNECTION_OK);
  const std::string sql = std::string("EXPLAIN ") + pg::audit_list_sql(f);
  std::vector<std::string> values{"0", "9223372036854775807", "9223372036854775807", "50"};
  for (const auto* v : detail::audit_term_values(f)) values.push_back(*v);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  PGresult* r = PQexecParams(c, sql.c_str(), static_cast<int>(ptrs.size()), nullptr, ptrs.data(), nullptr, nullptr, 0);
  INFO(PQresultErrorMessage(r));
  REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
  for (int i = 0; i < PQntuples(r); ++i) lines.emplace_back(PQgetvalue(r, i, 0));
  PQclear(r);
  PQfinish(c);
#else
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((o.state_dir / "state.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string sql = std::string("EXPLAIN QUERY PLAN ") + sqlite::audit_list_sql(f);
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) lines.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 3)));
  sqlite3_finalize(st);
  sqlite3_close(db);
#endif
  return lines;
}

}  // namespace

TEST_CASE("store: audit entries are listed newest first, every filter narrows, pages follow each other",
          "[store][audit]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  // Appended in one call: ids in order. Entry times: the caller's, or now when unset.
  ok(s->audit_append({entry("hubspot", "contact", "1", "email", "P1", "salesforce:Contact:003A", t0),
                      entry("hubspot", "contact", "1", "phone", "P1", "zendesk:user:9", t0 + 1s),
                      entry("hubspot", "contact", "2", "email", "P2", "salesforce:Contact:003B", t0 + 2s),
                      entry("zendesk", "user", "9", "email", "P1", "salesforce:Contact:003A", t0 + 3s),
                      entry("hubspot", "deal", "1", "amount", "P3", "salesforce:Opportunity:6", t0 + 4s)}));
  clock.advance(10s);
  ok(s->audit_append({entry("salesforce", "Contact", "003A", "Phone", "P1", "hubspot:contact:1")}));

  auto all = ok(s->audit_list({}));
  REQUIRE(all.items.size() == 6);
  CHECK(all.next_before_id == 0);
  CHECK(fields_of(all) == std::vector<std::string>{"Phone", "amount", "email", "email", "phone", "email"});
  CHECK(all.items[0].at == t0 + 10s);  // stamped by the store
  for (std::size_t i = 1; i < all.items.size(); ++i) CHECK(all.items[i - 1].id > all.items[i].id);
  const auto& e = all.items.back();
  CHECK(e.connector == "hubspot");
  CHECK(e.object == "contact");
  CHECK(e.record_id == "1");
  CHECK(e.before == R"("old")");
  CHECK(e.after == R"("new")");
  CHECK(e.attribute == "email");
  CHECK(e.rule == "survivorship");
  CHECK(e.source == "salesforce:Contact:003A");
  CHECK(e.source_ts == timestamp(1234ms));
  CHECK(e.profile_id == "P1");
  CHECK(e.request_id == "req-1");
  CHECK(e.outcome == "written");
  CHECK(e.answer == "200");

  auto count = [&](audit_filter f) { return list_all(*s, std::move(f)).size(); };
  audit_filter f;
  f.profile_id = "P1";
  CHECK(count(f) == 4);
  f.connector = "hubspot";
  CHECK(count(f) == 2);
  f.field = "phone";
  CHECK(count(f) == 1);
  f = {};
  f.connector = "hubspot";
  CHECK(count(f) == 4);
  f.object = "contact";
  CHECK(count(f) == 3);
  f.record_id = "1";
  CHECK(count(f) == 2);
  f.since = t0 + 1s;
  CHECK(count(f) == 1);
  f = {};
  f.source = "salesforce:Contact:003A";
  CHECK(count(f) == 2);
  f.since = t0 + 3s;
  CHECK(count(f) == 1);
  f = {};
  f.field = "email";
  CHECK(count(f) == 3);
  f = {};
  f.since = t0 + 4s;
  CHECK(count(f) == 2);
  f = {};
  f.profile_id = "nobody";
  CHECK(count(f) == 0);

  // Pages of 2: each page continues where the last one stopped, until next_before_id is 0.
  audit_filter paged;
  paged.limit = 2;
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    auto page = ok(s->audit_list(paged));
    ++pages;
    for (const auto& x : fields_of(page)) seen.push_back(x);
    if (!page.next_before_id) break;
    paged.before_id = page.next_before_id;
  }
  CHECK(pages == 3);
  CHECK(seen == fields_of(all));

  // A filter naming an object without its connector (or a record without its object) is not a filter.
  audit_filter bad;
  bad.object = "contact";
  CHECK(error_of(s->audit_list(bad)) == errc::invalid_input);
  bad = {};
  bad.connector = "hubspot";
  bad.record_id = "1";
  CHECK(error_of(s->audit_list(bad)) == errc::invalid_input);
  CHECK(error_of(s->audit_append({entry("", "contact", "1", "email", "P", "s")})) == errc::invalid_input);
  CHECK(ok(s->audit_list({})).items.size() == 6);  // nothing of a refused call was appended
}

TEST_CASE("store: entries in the log's order are listed by time even when appended out of order", "[store][audit]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  ok(s->audit_append({entry("hubspot", "contact", "1", "late", "P", "s", t0 + 5s)}));
  ok(s->audit_append({entry("hubspot", "contact", "1", "early", "P", "s", t0 + 1s)}));
  ok(s->audit_append({entry("hubspot", "contact", "1", "middle", "P", "s", t0 + 3s)}));
  audit_filter f;
  f.limit = 1;
  std::vector<std::string> order;
  for (;;) {
    auto page = ok(s->audit_list(f));
    for (const auto& x : fields_of(page)) order.push_back(x);
    if (!page.next_before_id) break;
    f.before_id = page.next_before_id;
  }
  CHECK(order == std::vector<std::string>{"late", "middle", "early"});
  f = {};
  f.since = t0 + 2s;
  CHECK(fields_of(ok(s->audit_list(f))) == std::vector<std::string>{"late", "middle"});
}

TEST_CASE("store: audit_prune removes old entries, then the oldest beyond the bound, in bounded batches",
          "[store][audit]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));
  const auto t0 = clock.now();
  // 12,000 entries, one per 10 ms: more than two prune batches.
  constexpr int n = 12000;
  std::vector<audit_entry> entries;
  for (int i = 0; i < n; ++i)
    entries.push_back(entry("hubspot", "contact", std::to_string(i % 50), "f" + std::to_string(i), "P", "s",
                            t0 + std::chrono::milliseconds(10 * i)));
  ok(s->audit_append(std::move(entries)));

  CHECK(ok(s->audit_prune(t0, 1'000'000)) == 0);
  const auto commits = s->stats().state_commits;
  // Older than entry 11,000: 11,000 go, in three transactions (two full batches and the rest).
  CHECK(ok(s->audit_prune(t0 + std::chrono::milliseconds(10 * 11000), 1'000'000)) == 11000);
  CHECK(s->stats().state_commits - commits >= 3);
  auto rest = list_all(*s, {});
  REQUIRE(rest.size() == 1000);
  CHECK(rest.back().field == "f11000");
  CHECK(rest.front().field == "f11999");

  // Then at most 300: the oldest go.
  CHECK(ok(s->audit_prune(t0, 300)) == 700);
  rest = list_all(*s, {});
  REQUIRE(rest.size() == 300);
  CHECK(rest.back().field == "f11700");
  CHECK(ok(s->audit_prune(t0, 300)) == 0);
  CHECK(ok(s->audit_prune(t0, std::numeric_limits<std::size_t>::max())) == 0);  // no bound by count
  CHECK(ok(s->audit_prune(t0, 0)) == 300);
  CHECK(ok(s->audit_list({})).items.empty());
  CHECK(ok(s->integrity_check()) == "ok");
}

TEST_CASE("store: every audit filter walks an index in the list's order, never the whole log", "[store][audit]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto o = make_options(dir.path(), clock);
  auto s = open_ok(o);
  // A log of a realistic shape (many records, profiles, fields and sources), so that PostgreSQL's planner has
  // statistics that make a scan of everything expensive, as it is in a log of millions.
  constexpr int n = 40000;
  const auto t0 = clock.now();
  std::vector<audit_entry> entries;
  entries.reserve(n);
  for (int i = 0; i < n; ++i)
    entries.push_back(entry(i % 3 ? "hubspot" : "zendesk", i % 5 ? "contact" : "deal", std::to_string(i % 4000),
                            "field" + std::to_string(i % 40), "P" + std::to_string(i % 3000),
                            "salesforce:Contact:" + std::to_string(i % 3500), t0 + std::chrono::milliseconds(i)));
  ok(s->audit_append(std::move(entries)));
#ifdef OMNISYNC_STORE_PG
  omnisync::test::pg_cluster::exec(o.dsn, "ANALYZE audit");
#endif
  // Every combination of filters the command offers.
  std::vector<audit_filter> filters;
  for (unsigned terms = 0; terms < detail::audit_term_sets; ++terms) {
    if ((terms & detail::term_object) && !(terms & detail::term_connector)) continue;
    if ((terms & detail::term_record) && !(terms & detail::term_object)) continue;
    audit_filter f;
    if (terms & detail::term_connector) f.connector = "hubspot";
    if (terms & detail::term_object) f.object = "contact";
    if (terms & detail::term_record) f.record_id = "17";
    if (terms & detail::term_profile) f.profile_id = "P17";
    if (terms & detail::term_source) f.source = "salesforce:Contact:17";
    if (terms & detail::term_field) f.field = "field17";
    filters.push_back(f);
    f.since = t0 + 20s;
    filters.push_back(f);
  }
  for (const auto& f : filters) {
    const auto plan = audit_plan(o, f);
    std::string text;
    for (const auto& line : plan) text += line + "\n";
    INFO("terms " << detail::audit_terms_of(f) << (f.since ? " since" : "") << ":\n" << text);
#ifdef OMNISYNC_STORE_PG
    CHECK(text.find("Index") != std::string::npos);
    CHECK(text.find("Seq Scan on audit") == std::string::npos);
    // Either the index gives the order (the LIMIT stops the walk), or the planner expects so few matching rows
    // of a selective index (one profile, source or record) that sorting them is cheaper: never a sort of a
    // large part of the log.
    for (const auto& line : plan)
      if (auto at = line.find("Sort  (cost="); at != std::string::npos) {
        const auto rows = std::stol(line.substr(line.find("rows=", at) + 5));
        CHECK(rows <= 100);
      }
#else
    CHECK(text.find(std::string("USING INDEX ") + detail::audit_index_for(detail::audit_terms_of(f))) !=
          std::string::npos);
    CHECK(text.find("TEMP B-TREE") == std::string::npos);
    // The range is bounded by the index (at, and the equality terms before it), not filtered after a scan.
    CHECK(text.find("at>?") != std::string::npos);
#endif
  }
  // And they answer as filters should, quickly.
  const auto started = std::chrono::steady_clock::now();
  for (const auto& f : filters) {
    auto page = ok(s->audit_list(f));
    for (const auto& x : page.items) {
      if (f.connector) CHECK(x.connector == *f.connector);
      if (f.profile_id) CHECK(x.profile_id == *f.profile_id);
      if (f.since) CHECK(x.at >= *f.since);
    }
  }
  WARN(filters.size() << " audit_list calls on " << n << " entries: "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                               started)
                             .count()
                      << " ms");
}
