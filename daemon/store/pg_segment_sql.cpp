// The PostgreSQL store's statements for segment membership and the timer queue (members of pg_sql.hpp's
// statement sets); the same as sqlite_segment_sql.cpp in PostgreSQL's dialect.
#include "daemon/store/pg_sql.hpp"
#include "daemon/store/rows.hpp"

namespace omnisync::store::pg {

std::optional<std::int64_t> state_sql::segment_member_since(const std::string& segment, const std::string& profile) {
  auto r = c_.exec("SELECT since FROM segment_members WHERE segment = $1 AND profile = $2", segment, profile);
  if (r.rows() == 0) return std::nullopt;
  return r.i64(0, 0);
}

void state_sql::segment_member_put(const std::string& segment, const std::string& profile, std::int64_t since) {
  c_.exec("INSERT INTO segment_members(segment, profile, since) VALUES($1, $2, $3) ON CONFLICT DO NOTHING", segment,
          profile, since);
}

void state_sql::segment_member_delete(const std::string& segment, const std::string& profile) {
  c_.exec("DELETE FROM segment_members WHERE segment = $1 AND profile = $2", segment, profile);
}

void state_sql::segment_timer_put(const std::string& segment, const std::string& profile, std::int64_t due_at) {
  c_.exec("INSERT INTO segment_timers(segment, profile, due_at) VALUES($1, $2, $3) "
          "ON CONFLICT(segment, profile) DO UPDATE SET due_at = excluded.due_at",
          segment, profile, due_at);
}

void state_sql::segment_timer_delete(const std::string& segment, const std::string& profile) {
  c_.exec("DELETE FROM segment_timers WHERE segment = $1 AND profile = $2", segment, profile);
}

namespace {

/// (profile, value) rows of a range read that asked for limit + 1: nullopt when it found more than `limit`.
template <class Result>
std::optional<std::vector<std::pair<std::string, std::int64_t>>> bounded_rows(const Result& r, std::size_t limit) {
  if (static_cast<std::size_t>(r.rows()) > limit) return std::nullopt;
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.i64(i, 1));
  return out;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::int64_t>>> state_sql::segment_members_between(
    const std::string& segment, const std::string& lo, const std::string& hi, std::size_t limit) {
  return bounded_rows(c_.exec("SELECT profile, since FROM segment_members WHERE segment = $1 AND profile BETWEEN $2 "
                              "AND $3 LIMIT $4",
                              segment, lo, hi, static_cast<std::int64_t>(limit) + 1),
                      limit);
}

std::optional<std::vector<std::pair<std::string, std::int64_t>>> state_sql::segment_timers_between(
    const std::string& segment, const std::string& lo, const std::string& hi, std::size_t limit) {
  return bounded_rows(c_.exec("SELECT profile, due_at FROM segment_timers WHERE segment = $1 AND profile BETWEEN $2 "
                              "AND $3 LIMIT $4",
                              segment, lo, hi, static_cast<std::int64_t>(limit) + 1),
                      limit);
}

std::int64_t state_sql::segment_delete_all(const std::string& segment) {
  c_.exec("DELETE FROM segment_timers WHERE segment = $1", segment);
  return c_.exec("DELETE FROM segment_members WHERE segment = $1", segment).affected();
}

std::vector<segment_member> read_sql::segment_members(const std::string& segment, const std::string& after,
                                                      std::size_t limit) {
  auto r = c_.exec("SELECT profile, since FROM segment_members WHERE segment = $1 AND profile > $2 ORDER BY profile "
                   "LIMIT $3",
                   segment, after, static_cast<std::int64_t>(limit));
  std::vector<segment_member> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), detail::from_ms(r.i64(i, 1)));
  return out;
}

std::int64_t read_sql::segment_count(const std::string& segment) {
  auto r = c_.exec("SELECT count(*) FROM segment_members WHERE segment = $1", segment);
  return r.rows() > 0 ? r.i64(0, 0) : 0;
}

std::vector<segment_timer> read_sql::segment_timers_due(std::int64_t until, std::size_t limit) {
  auto r = c_.exec("SELECT segment, profile, due_at FROM segment_timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
                   until, static_cast<std::int64_t>(limit));
  std::vector<segment_timer> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.text(i, 1), detail::from_ms(r.i64(i, 2)));
  return out;
}

std::optional<std::int64_t> read_sql::segment_next_timer() {
  auto r = c_.exec("SELECT min(due_at) FROM segment_timers");
  if (r.rows() == 0 || r.is_null(0, 0)) return std::nullopt;
  return r.i64(0, 0);
}

std::vector<std::string> read_sql::segment_keys() {
  // Distinct keys by skipping along the primary keys (segment, profile): one index probe per key, not a scan.
  auto r = c_.exec(
      "WITH RECURSIVE m(k) AS (SELECT min(segment) FROM segment_members UNION ALL "
      "SELECT (SELECT min(segment) FROM segment_members WHERE segment > m.k) FROM m WHERE m.k IS NOT NULL), "
      "t(k) AS (SELECT min(segment) FROM segment_timers UNION ALL "
      "SELECT (SELECT min(segment) FROM segment_timers WHERE segment > t.k) FROM t WHERE t.k IS NOT NULL) "
      "SELECT k FROM m WHERE k IS NOT NULL UNION SELECT k FROM t WHERE k IS NOT NULL ORDER BY 1");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

}  // namespace omnisync::store::pg
