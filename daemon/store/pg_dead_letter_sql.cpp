// The PostgreSQL store's statements for dead letters (members of pg_sql.hpp's statement sets): add and replace,
// list and group by a filter (queue_logic.hpp's dead_letter_where), resolve (one statement per call), remove,
// count scheduled retries.
#include <algorithm>
#include <string>
#include <string_view>

#include "daemon/store/pg_sql.hpp"
#include "daemon/store/rows.hpp"

namespace omnisync::store::pg {
namespace {

/// The filter's terms, parameters $1 to $10 in dead_letter_where's order. The statements below are built once
/// and live for the process: the connection prepares statements once, keyed by the address of their text.
const std::string where_terms =
    " WHERE id > $1 AND ($2::text IS NULL OR connector = $2) AND ($3::text IS NULL OR stage = $3) "
    "AND ($4::text IS NULL OR object = $4) AND ($5::text = '' OR reason ILIKE $5 ESCAPE '\\') "
    "AND created_at >= $6::bigint AND created_at < $7::bigint "
    "AND ($8::int = 2 OR ($8::int = 0) = (resolved_at IS NULL)) AND ($9::int = 0 OR retryable = 1) "
    "AND ($10::int < 0 OR target = $10::int)";

const std::string select_where = std::string("SELECT ") + detail::dead_letter_columns + " FROM dead_letters" +
                                 where_terms + " ORDER BY id LIMIT $11";

template <class... More>
result exec_where(connection& c, const std::string& sql, const detail::dead_letter_where& w, const More&... more) {
  return c.exec(sql.c_str(), w.after_id, w.connector, w.stage, w.object, w.like, w.since, w.until, w.state,
                w.retryable_only, w.target, more...);
}

std::vector<dead_letter> select(connection& c, const detail::dead_letter_where& w, std::size_t limit) {
  auto r = exec_where(c, select_where, w, limit);
  std::vector<dead_letter> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_dead_letter(row{r, i}));
  return out;
}

}  // namespace

std::int64_t state_sql::dead_letter_insert(const dead_letter_entry& e, std::int64_t t, std::int64_t retries) {
  auto r = c_.exec(
      "INSERT INTO dead_letters(target, connector, object, record_id, event_id, stage, reason, payload, meta, "
      "created_at, retries, retryable) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
      static_cast<int>(e.target), e.connector, e.object, e.record_id, e.event_id, e.stage, e.reason,
      bytea{e.payload}, e.meta, t, retries, e.retryable ? 1 : 0);
  if (r.rows() == 0) raise(omnisync::errc::fail, "dead letter insert returned no id");
  return r.i64(0, 0);
}

std::int64_t state_sql::dead_letters_of_record_replace(const dead_letter_entry& e) {
  auto r = c_.exec(
      "DELETE FROM dead_letters WHERE resolved_at IS NULL AND connector = $1 AND object = $2 AND stage = $3 "
      "AND record_id = $4 RETURNING retries",
      e.connector, e.object, e.stage, e.record_id);
  std::int64_t most = 0;
  for (int i = 0; i < r.rows(); ++i) most = std::max(most, r.i64(i, 0));
  return most;
}

bool state_sql::dead_letter_delete(std::int64_t id) {
  return c_.exec("DELETE FROM dead_letters WHERE id = $1", id).affected() > 0;
}

std::optional<dead_letter> state_sql::dead_letter_take(std::int64_t id) {
  static const std::string sql =
      std::string("DELETE FROM dead_letters WHERE id = $1 RETURNING ") + detail::dead_letter_columns;
  auto r = c_.exec(sql.c_str(), id);
  if (r.rows() == 0) return std::nullopt;
  return detail::read_dead_letter(row{r, 0});
}

std::vector<dead_letter> state_sql::dead_letters_where(const detail::dead_letter_where& w, std::size_t limit) {
  return select(c_, w, limit);
}

std::int64_t state_sql::dead_letters_delete_where(const detail::dead_letter_where& w) {
  static const std::string sql = "DELETE FROM dead_letters" + where_terms;
  return exec_where(c_, sql, w).affected();
}

std::int64_t state_sql::dead_letters_resolve(const std::string& connector, const std::string& object,
                                             const std::string& stage, const std::vector<std::string>& record_ids,
                                             std::int64_t t) {
  return c_
      .exec("UPDATE dead_letters SET resolved_at = $5 WHERE resolved_at IS NULL AND connector = $1 AND object = $2 "
            "AND stage = $3 AND record_id = ANY($4::text[])",
            connector, object, stage, text_array(record_ids, std::identity{}), t)
      .affected();
}

std::optional<dead_letter> state_sql::dead_letter_open(std::int64_t id) {
  static const std::string sql = std::string("SELECT ") + detail::dead_letter_columns +
                                 " FROM dead_letters WHERE id = $1 AND resolved_at IS NULL FOR UPDATE";
  auto r = c_.exec(sql.c_str(), id);
  if (r.rows() == 0) return std::nullopt;
  return detail::read_dead_letter(row{r, 0});
}

void state_sql::dead_letter_count_retry(std::int64_t id) {
  c_.exec("UPDATE dead_letters SET retries = retries + 1 WHERE id = $1", id);
}

std::vector<dead_letter> read_sql::dead_letters(const detail::dead_letter_where& w, std::size_t limit) {
  return select(c_, w, limit);
}

std::optional<dead_letter> read_sql::dead_letter_by_id(std::int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + detail::dead_letter_columns + " FROM dead_letters WHERE id = $1";
  auto r = c_.exec(sql.c_str(), id);
  if (r.rows() == 0) return std::nullopt;
  return detail::read_dead_letter(row{r, 0});
}

std::vector<dead_letter_group> read_sql::dead_letter_groups(const detail::dead_letter_where& w, std::size_t limit) {
  static const std::string sql =
      "SELECT connector, object, stage, reason, count(*), min(created_at), max(created_at) FROM dead_letters" +
      where_terms + " GROUP BY connector, object, stage, reason ORDER BY count(*) DESC, connector, object, stage, "
      "reason LIMIT $11";
  auto r = exec_where(c_, sql, w, limit);
  std::vector<dead_letter_group> out;
  for (int i = 0; i < r.rows(); ++i) {
    dead_letter_group g;
    g.connector = r.text(i, 0);
    g.object = r.text(i, 1);
    g.stage = r.text(i, 2);
    g.reason = r.text(i, 3);
    g.count = r.i64(i, 4);
    g.first = detail::from_ms(r.i64(i, 5));
    g.last = detail::from_ms(r.i64(i, 6));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace omnisync::store::pg
