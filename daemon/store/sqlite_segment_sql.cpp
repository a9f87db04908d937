// The SQLite store's statements for segment membership and the timer queue (members of sqlite_sql.hpp's
// statement sets). One row per member and at most one timer per (segment, profile): every statement is a
// primary-key lookup or a range of it, and "due now" reads the segment_timers_due index.
#include "daemon/store/rows.hpp"
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {

std::optional<std::int64_t> state_sql::segment_member_since(const std::string& segment, const std::string& profile) {
  auto q = c_.prepare("SELECT since FROM segment_members WHERE segment = ?1 AND profile = ?2");
  q.text(1, segment).text(2, profile);
  if (!q.step()) return std::nullopt;
  return q.col_i64(0);
}

void state_sql::segment_member_put(const std::string& segment, const std::string& profile, std::int64_t since) {
  c_.prepare("INSERT INTO segment_members(segment, profile, since) VALUES(?1, ?2, ?3) ON CONFLICT DO NOTHING")
      .text(1, segment)
      .text(2, profile)
      .i64(3, since)
      .run();
}

void state_sql::segment_member_delete(const std::string& segment, const std::string& profile) {
  c_.prepare("DELETE FROM segment_members WHERE segment = ?1 AND profile = ?2").text(1, segment).text(2, profile).run();
}

void state_sql::segment_timer_put(const std::string& segment, const std::string& profile, std::int64_t due_at) {
  c_.prepare(
        "INSERT INTO segment_timers(segment, profile, due_at) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(segment, profile) DO UPDATE SET due_at = excluded.due_at")
      .text(1, segment)
      .text(2, profile)
      .i64(3, due_at)
      .run();
}

void state_sql::segment_timer_delete(const std::string& segment, const std::string& profile) {
  c_.prepare("DELETE FROM segment_timers WHERE segment = ?1 AND profile = ?2").text(1, segment).text(2, profile).run();
}

namespace {

/// (profile, value) rows of a range read that asked for limit + 1: nullopt when it found more than `limit`.
std::optional<std::vector<std::pair<std::string, std::int64_t>>> bounded_rows(query& q, std::size_t limit) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (q.step()) {
    if (out.size() == limit) return std::nullopt;
    out.emplace_back(q.col_text(0), q.col_i64(1));
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::int64_t>>> state_sql::segment_members_between(
    const std::string& segment, const std::string& lo, const std::string& hi, std::size_t limit) {
  auto q = c_.prepare(
      "SELECT profile, since FROM segment_members WHERE segment = ?1 AND profile BETWEEN ?2 AND ?3 LIMIT ?4");
  q.text(1, segment).text(2, lo).text(3, hi).i64(4, static_cast<std::int64_t>(limit) + 1);
  return bounded_rows(q, limit);
}

std::optional<std::vector<std::pair<std::string, std::int64_t>>> state_sql::segment_timers_between(
    const std::string& segment, const std::string& lo, const std::string& hi, std::size_t limit) {
  auto q = c_.prepare(
      "SELECT profile, due_at FROM segment_timers WHERE segment = ?1 AND profile BETWEEN ?2 AND ?3 LIMIT ?4");
  q.text(1, segment).text(2, lo).text(3, hi).i64(4, static_cast<std::int64_t>(limit) + 1);
  return bounded_rows(q, limit);
}

std::int64_t state_sql::segment_delete_all(const std::string& segment) {
  c_.prepare("DELETE FROM segment_timers WHERE segment = ?1").text(1, segment).run();
  c_.prepare("DELETE FROM segment_members WHERE segment = ?1").text(1, segment).run();
  return c_.changes();
}

std::vector<segment_member> read_sql::segment_members(const std::string& segment, const std::string& after,
                                                      std::size_t limit) {
  auto q = r_.state.prepare(
      "SELECT profile, since FROM segment_members WHERE segment = ?1 AND profile > ?2 ORDER BY profile LIMIT ?3");
  q.text(1, segment).text(2, after).i64(3, static_cast<std::int64_t>(limit));
  std::vector<segment_member> out;
  while (q.step()) out.emplace_back(q.col_text(0), detail::from_ms(q.col_i64(1)));
  return out;
}

std::int64_t read_sql::segment_count(const std::string& segment) {
  auto q = r_.state.prepare("SELECT count(*) FROM segment_members WHERE segment = ?1");
  q.text(1, segment);
  return q.step() ? q.col_i64(0) : 0;
}

std::vector<segment_timer> read_sql::segment_timers_due(std::int64_t until, std::size_t limit) {
  auto q = r_.state.prepare(
      "SELECT segment, profile, due_at FROM segment_timers WHERE due_at <= ?1 ORDER BY due_at LIMIT ?2");
  q.i64(1, until).i64(2, static_cast<std::int64_t>(limit));
  std::vector<segment_timer> out;
  while (q.step()) out.emplace_back(q.col_text(0), q.col_text(1), detail::from_ms(q.col_i64(2)));
  return out;
}

std::optional<std::int64_t> read_sql::segment_next_timer() {
  auto q = r_.state.prepare("SELECT min(due_at) FROM segment_timers");
  if (!q.step() || q.col_null(0)) return std::nullopt;
  return q.col_i64(0);
}

std::vector<std::string> read_sql::segment_keys() {
  // Distinct keys by skipping along the primary keys (segment, profile): one seek per key, not a scan.
  auto q = r_.state.prepare(
      "WITH RECURSIVE m(k) AS (SELECT min(segment) FROM segment_members UNION ALL "
      "SELECT (SELECT min(segment) FROM segment_members WHERE segment > m.k) FROM m WHERE m.k IS NOT NULL), "
      "t(k) AS (SELECT min(segment) FROM segment_timers UNION ALL "
      "SELECT (SELECT min(segment) FROM segment_timers WHERE segment > t.k) FROM t WHERE t.k IS NOT NULL) "
      "SELECT k FROM m WHERE k IS NOT NULL UNION SELECT k FROM t WHERE k IS NOT NULL ORDER BY 1");
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.col_text(0));
  return out;
}

}  // namespace omnisync::store::sqlite
