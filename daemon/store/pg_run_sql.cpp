// The PostgreSQL store's statements for the run history (members of pg_sql.hpp's statement sets); the same as
// sqlite_run_sql.cpp in PostgreSQL's dialect. Counts are added with one UPDATE each (col = col + $n), so two
// loops (or instances) counting into one run never lose each other's figures.
#include <limits>

#include "daemon/store/pg_sql.hpp"
#include "daemon/store/rows.hpp"

namespace omnisync::store::pg {
namespace {

const std::string& list_sql() {
  static const std::string s = std::string("SELECT ") + detail::run_columns +
                               " FROM runs WHERE ($1::text IS NULL OR connector = $1) AND ($2::text IS NULL OR "
                               "kind = $2) AND id < $3 ORDER BY id DESC LIMIT $4";
  return s;
}
const std::string& get_sql() {
  static const std::string s = std::string("SELECT ") + detail::run_columns + " FROM runs WHERE id = $1";
  return s;
}

}  // namespace

std::int64_t state_sql::run_insert(const run_record& r, std::int64_t t) {
  auto res = c_.exec(
      "INSERT INTO runs(kind, connector, objects, started_at, outcome, error, records_read, records_stored, "
      "records_mapped, records_failed, api_calls, quota_used) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
      "$12) RETURNING id",
      r.kind, r.connector, r.objects, r.started_at == timestamp{} ? t : detail::ms(r.started_at),
      r.outcome.empty() ? std::string("running") : r.outcome, r.error, r.counts.read, r.counts.stored,
      r.counts.mapped, r.counts.failed, r.counts.api_calls, r.counts.quota_used);
  if (res.rows() == 0) raise(omnisync::errc::fail, "run insert returned no id");
  return res.i64(0, 0);
}

bool state_sql::run_add(std::int64_t id, const run_counts& d) {
  return c_.exec("UPDATE runs SET records_read = records_read + $2, records_stored = records_stored + $3, "
                 "records_mapped = records_mapped + $4, records_failed = records_failed + $5, "
                 "api_calls = api_calls + $6, quota_used = quota_used + $7 WHERE id = $1",
                 id, d.read, d.stored, d.mapped, d.failed, d.api_calls, d.quota_used)
             .affected() > 0;
}

void state_sql::run_writes_add(std::int64_t id, const run_writes& w) {
  c_.exec("INSERT INTO run_writes(run_id, destination, queued, written, refused, unchanged) "
          "SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM runs WHERE id = $1) "
          "ON CONFLICT(run_id, destination) DO UPDATE SET queued = run_writes.queued + excluded.queued, "
          "written = run_writes.written + excluded.written, refused = run_writes.refused + excluded.refused, "
          "unchanged = run_writes.unchanged + excluded.unchanged",
          id, w.destination, w.queued, w.written, w.refused, w.unchanged);
  if (w.refused > 0) c_.exec("UPDATE runs SET outcome = 'partial' WHERE id = $1 AND outcome = 'ok'", id);
}

bool state_sql::run_finish(std::int64_t id, const std::string& outcome, const std::string& error, std::int64_t t) {
  return c_.exec("UPDATE runs SET ended_at = $2, error = $4, outcome = CASE WHEN $3::text = 'ok' AND "
                 "(records_failed > 0 OR EXISTS (SELECT 1 FROM run_writes w WHERE w.run_id = runs.id AND "
                 "w.refused > 0)) THEN 'partial' ELSE $3::text END WHERE id = $1",
                 id, t, outcome, error)
             .affected() > 0;
}

bool state_sql::run_idle(const std::string& connector, const std::string& object, std::int64_t t) {
  return c_.exec("UPDATE runs SET idle_cycles = idle_cycles + 1, last_idle_at = $3 WHERE id = (SELECT max(id) FROM "
                 "runs WHERE kind = 'poll' AND connector = $1 AND objects = $2)",
                 connector, object, t)
             .affected() > 0;
}

std::int64_t state_sql::runs_delete_ended_before(std::int64_t before) {
  c_.exec("DELETE FROM run_writes WHERE run_id IN (SELECT id FROM runs WHERE ended_at < $1)", before);
  return c_.exec("DELETE FROM runs WHERE ended_at < $1", before).affected();
}

std::vector<run_record> read_sql::runs(const run_filter& f, std::size_t limit) {
  auto r = c_.exec(list_sql().c_str(), f.connector, f.kind,
                   f.after_id > 0 ? f.after_id : std::numeric_limits<std::int64_t>::max(), limit);
  std::vector<run_record> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_run(row{r, i}));
  for (auto& run : out) run.writes = run_writes_of(run.id);
  return out;
}

std::optional<run_record> read_sql::run(std::int64_t id) {
  auto r = c_.exec(get_sql().c_str(), id);
  if (r.rows() == 0) return std::nullopt;
  auto out = detail::read_run(row{r, 0});
  out.writes = run_writes_of(id);
  return out;
}

std::vector<run_writes> read_sql::run_writes_of(std::int64_t id) {
  auto r = c_.exec(
      "SELECT destination, queued, written, refused, unchanged FROM run_writes WHERE run_id = $1 ORDER BY destination",
      id);
  std::vector<run_writes> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.i64(i, 1), r.i64(i, 2), r.i64(i, 3), r.i64(i, 4));
  return out;
}

std::int64_t read_sql::outbox_of_run(std::int64_t id) {
  auto r = c_.exec("SELECT count(*) FROM outbox WHERE run_id = $1", id);
  return r.rows() > 0 ? r.i64(0, 0) : 0;
}

}  // namespace omnisync::store::pg
