// The SQLite store's statements for dead letters (members of sqlite_sql.hpp's statement sets): add and replace,
// list and group by a filter (queue_logic.hpp's dead_letter_where), resolve, remove, count scheduled retries.
#include <algorithm>
#include <string>

#include "daemon/store/rows.hpp"
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {
namespace {

/// The filter's terms, parameters ?1 to ?10 (bound by `bind_where`). The statements below are built once and
/// live for the process: the connection caches statements by the address of their text.
const std::string where_terms =
    " WHERE id > ?1 AND (?2 IS NULL OR connector = ?2) AND (?3 IS NULL OR stage = ?3) "
    "AND (?4 IS NULL OR object = ?4) AND (?5 = '' OR reason LIKE ?5 ESCAPE '\\') AND created_at >= ?6 "
    "AND created_at < ?7 AND (?8 = 2 OR (?8 = 0) = (resolved_at IS NULL)) AND (?9 = 0 OR retryable = 1) "
    "AND (?10 < 0 OR target = ?10)";

query& bind_where(query& q, const detail::dead_letter_where& w) {
  return q.i64(1, w.after_id)
      .opt_text(2, w.connector)
      .opt_text(3, w.stage)
      .opt_text(4, w.object)
      .text(5, w.like)
      .i64(6, w.since)
      .i64(7, w.until)
      .i64(8, w.state)
      .i64(9, w.retryable_only)
      .i64(10, w.target);
}

const std::string select_where =
    std::string("SELECT ") + detail::dead_letter_columns + " FROM dead_letters" + where_terms + " ORDER BY id LIMIT ?11";

std::vector<dead_letter> select(connection& c, const detail::dead_letter_where& w, std::size_t limit) {
  std::vector<dead_letter> out;
  auto q = c.prepare(select_where.c_str());
  bind_where(q, w).i64(11, static_cast<std::int64_t>(limit));
  while (q.step()) out.push_back(detail::read_dead_letter(row{q}));
  return out;
}

}  // namespace

std::int64_t state_sql::dead_letter_insert(const dead_letter_entry& e, std::int64_t t, std::int64_t retries) {
  auto q = c_.prepare(
      "INSERT INTO dead_letters(target, connector, object, record_id, event_id, stage, reason, payload, meta, "
      "created_at, retries, retryable) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id");
  q.i64(1, static_cast<std::int64_t>(e.target))
      .text(2, e.connector)
      .text(3, e.object)
      .text(4, e.record_id)
      .text(5, e.event_id)
      .text(6, e.stage)
      .text(7, e.reason)
      .blob(8, e.payload)
      .text(9, e.meta)
      .i64(10, t)
      .i64(11, retries)
      .i64(12, e.retryable ? 1 : 0);
  if (!q.step()) raise(omnisync::errc::fail, "dead letter insert returned no id");
  auto id = q.col_i64(0);
  q.run();
  return id;
}

std::int64_t state_sql::dead_letters_of_record_replace(const dead_letter_entry& e) {
  auto q = c_.prepare(
      "DELETE FROM dead_letters WHERE resolved_at IS NULL AND connector = ?1 AND object = ?2 AND stage = ?3 "
      "AND record_id = ?4 RETURNING retries");
  q.text(1, e.connector).text(2, e.object).text(3, e.stage).text(4, e.record_id);
  std::int64_t most = 0;
  while (q.step()) most = std::max(most, q.col_i64(0));
  return most;
}

bool state_sql::dead_letter_delete(std::int64_t id) {
  c_.prepare("DELETE FROM dead_letters WHERE id = ?1").i64(1, id).run();
  return c_.changes() > 0;
}

std::vector<dead_letter> state_sql::dead_letters_where(const detail::dead_letter_where& w, std::size_t limit) {
  return select(c_, w, limit);
}

std::int64_t state_sql::dead_letters_delete_where(const detail::dead_letter_where& w) {
  static const std::string sql = "DELETE FROM dead_letters" + where_terms;
  auto q = c_.prepare(sql.c_str());
  bind_where(q, w).run();
  return c_.changes();
}

std::int64_t state_sql::dead_letters_resolve(const std::string& connector, const std::string& object,
                                             const std::string& stage, const std::vector<std::string>& record_ids,
                                             std::int64_t t) {
  std::int64_t n = 0;
  for (const auto& id : record_ids) {
    c_.prepare(
          "UPDATE dead_letters SET resolved_at = ?5 WHERE resolved_at IS NULL AND connector = ?1 AND object = ?2 "
          "AND stage = ?3 AND record_id = ?4")
        .text(1, connector)
        .text(2, object)
        .text(3, stage)
        .text(4, id)
        .i64(5, t)
        .run();
    n += c_.changes();
  }
  return n;
}

std::optional<dead_letter> state_sql::dead_letter_open(std::int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + detail::dead_letter_columns + " FROM dead_letters WHERE id = ?1 AND resolved_at IS NULL";
  auto q = c_.prepare(sql.c_str());
  q.i64(1, id);
  if (!q.step()) return std::nullopt;
  return detail::read_dead_letter(row{q});
}

void state_sql::dead_letter_count_retry(std::int64_t id) {
  c_.prepare("UPDATE dead_letters SET retries = retries + 1 WHERE id = ?1").i64(1, id).run();
}

std::vector<dead_letter> read_sql::dead_letters(const detail::dead_letter_where& w, std::size_t limit) {
  return select(r_.state, w, limit);
}

std::optional<dead_letter> read_sql::dead_letter_by_id(std::int64_t id) {
  static const std::string sql = std::string("SELECT ") + detail::dead_letter_columns + " FROM dead_letters WHERE id = ?1";
  auto q = r_.state.prepare(sql.c_str());
  q.i64(1, id);
  if (!q.step()) return std::nullopt;
  return detail::read_dead_letter(row{q});
}

std::vector<dead_letter_group> read_sql::dead_letter_groups(const detail::dead_letter_where& w, std::size_t limit) {
  static const std::string sql =
      "SELECT connector, object, stage, reason, count(*), min(created_at), max(created_at) FROM dead_letters" +
      where_terms + " GROUP BY connector, object, stage, reason ORDER BY count(*) DESC, connector, object, stage, "
      "reason LIMIT ?11";
  auto q = r_.state.prepare(sql.c_str());
  bind_where(q, w).i64(11, static_cast<std::int64_t>(limit));
  std::vector<dead_letter_group> out;
  while (q.step()) {
    dead_letter_group g;
    g.connector = q.col_text(0);
    g.object = q.col_text(1);
    g.stage = q.col_text(2);
    g.reason = q.col_text(3);
    g.count = q.col_i64(4);
    g.first = detail::from_ms(q.col_i64(5));
    g.last = detail::from_ms(q.col_i64(6));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace omnisync::store::sqlite
