// The SQLite store's statements for the run history (members of sqlite_sql.hpp's statement sets): begin, add to
// the counts, per-destination write counts, finish, idle cycles, list, prune. The table stays small (pruned by
// runs.retention, and idle poll cycles add no rows), so the list's optional filters are plain "?n IS NULL OR" terms.
#include <limits>

#include "daemon/store/rows.hpp"
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {
namespace {

// The texts are static: the connection's statement cache keys statements by the text's address.
const std::string& list_sql() {
  static const std::string s = std::string("SELECT ") + detail::run_columns +
                               " FROM runs WHERE (?1 IS NULL OR connector = ?1) AND (?2 IS NULL OR kind = ?2) "
                               "AND id < ?3 ORDER BY id DESC LIMIT ?4";
  return s;
}
const std::string& get_sql() {
  static const std::string s = std::string("SELECT ") + detail::run_columns + " FROM runs WHERE id = ?1";
  return s;
}

}  // namespace

std::int64_t state_sql::run_insert(const run_record& r, std::int64_t t) {
  auto q = c_.prepare(
      "INSERT INTO runs(kind, connector, objects, started_at, outcome, error, records_read, records_stored, "
      "records_mapped, records_failed, api_calls, quota_used) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12) RETURNING id");
  q.text(1, r.kind)
      .text(2, r.connector)
      .text(3, r.objects)
      .i64(4, r.started_at == timestamp{} ? t : detail::ms(r.started_at))
      .text(5, r.outcome.empty() ? std::string("running") : r.outcome)
      .text(6, r.error)
      .i64(7, r.counts.read)
      .i64(8, r.counts.stored)
      .i64(9, r.counts.mapped)
      .i64(10, r.counts.failed)
      .i64(11, r.counts.api_calls)
      .i64(12, r.counts.quota_used);
  if (!q.step()) raise(omnisync::errc::fail, "run insert returned no id");
  auto id = q.col_i64(0);
  q.run();
  return id;
}

bool state_sql::run_add(std::int64_t id, const run_counts& d) {
  c_.prepare(
        "UPDATE runs SET records_read = records_read + ?2, records_stored = records_stored + ?3, "
        "records_mapped = records_mapped + ?4, records_failed = records_failed + ?5, api_calls = api_calls + ?6, "
        "quota_used = quota_used + ?7 WHERE id = ?1")
      .i64(1, id)
      .i64(2, d.read)
      .i64(3, d.stored)
      .i64(4, d.mapped)
      .i64(5, d.failed)
      .i64(6, d.api_calls)
      .i64(7, d.quota_used)
      .run();
  return c_.changes() > 0;
}

void state_sql::run_writes_add(std::int64_t id, const run_writes& w) {
  c_.prepare(
        "INSERT INTO run_writes(run_id, destination, queued, written, refused, unchanged) "
        "SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1) "
        "ON CONFLICT(run_id, destination) DO UPDATE SET queued = queued + excluded.queued, "
        "written = written + excluded.written, refused = refused + excluded.refused, "
        "unchanged = unchanged + excluded.unchanged")
      .i64(1, id)
      .text(2, w.destination)
      .i64(3, w.queued)
      .i64(4, w.written)
      .i64(5, w.refused)
      .i64(6, w.unchanged)
      .run();
  if (w.refused > 0)
    c_.prepare("UPDATE runs SET outcome = 'partial' WHERE id = ?1 AND outcome = 'ok'").i64(1, id).run();
}

bool state_sql::run_finish(std::int64_t id, const std::string& outcome, const std::string& error, std::int64_t t) {
  c_.prepare(
        "UPDATE runs SET ended_at = ?2, error = ?4, outcome = CASE WHEN ?3 = 'ok' AND (records_failed > 0 OR "
        "EXISTS (SELECT 1 FROM run_writes w WHERE w.run_id = runs.id AND w.refused > 0)) THEN 'partial' ELSE ?3 END "
        "WHERE id = ?1")
      .i64(1, id)
      .i64(2, t)
      .text(3, outcome)
      .text(4, error)
      .run();
  return c_.changes() > 0;
}

bool state_sql::run_idle(const std::string& connector, const std::string& object, std::int64_t t) {
  c_.prepare(
        "UPDATE runs SET idle_cycles = idle_cycles + 1, last_idle_at = ?3 WHERE id = (SELECT max(id) FROM runs "
        "WHERE kind = 'poll' AND connector = ?1 AND objects = ?2)")
      .text(1, connector)
      .text(2, object)
      .i64(3, t)
      .run();
  return c_.changes() > 0;
}

std::int64_t state_sql::runs_delete_ended_before(std::int64_t before) {
  c_.prepare("DELETE FROM run_writes WHERE run_id IN (SELECT id FROM runs WHERE ended_at < ?1)").i64(1, before).run();
  c_.prepare("DELETE FROM runs WHERE ended_at < ?1").i64(1, before).run();
  return c_.changes();
}

std::vector<run_record> read_sql::runs(const run_filter& f, std::size_t limit) {
  std::vector<run_record> out;
  {
    auto q = r_.state.prepare(list_sql().c_str());
    q.opt_text(1, f.connector)
        .opt_text(2, f.kind)
        .i64(3, f.after_id > 0 ? f.after_id : std::numeric_limits<std::int64_t>::max())
        .i64(4, static_cast<std::int64_t>(limit));
    while (q.step()) out.push_back(detail::read_run(row{q}));
  }
  for (auto& r : out) r.writes = run_writes_of(r.id);
  return out;
}

std::optional<run_record> read_sql::run(std::int64_t id) {
  std::optional<run_record> out;
  {
    auto q = r_.state.prepare(get_sql().c_str());
    q.i64(1, id);
    if (q.step()) out = detail::read_run(row{q});
  }
  if (out) out->writes = run_writes_of(id);
  return out;
}

std::vector<run_writes> read_sql::run_writes_of(std::int64_t id) {
  auto q = r_.state.prepare(
      "SELECT destination, queued, written, refused, unchanged FROM run_writes WHERE run_id = ?1 ORDER BY destination");
  q.i64(1, id);
  std::vector<run_writes> out;
  while (q.step()) out.emplace_back(q.col_text(0), q.col_i64(1), q.col_i64(2), q.col_i64(3), q.col_i64(4));
  return out;
}

std::int64_t read_sql::outbox_of_run(std::int64_t id) {
  auto q = r_.state.prepare("SELECT count(*) FROM outbox WHERE run_id = ?1");
  q.i64(1, id);
  return q.step() ? q.col_i64(0) : 0;
}

}  // namespace omnisync::store::sqlite
