// The PostgreSQL store's statements for the append-only history (members of pg_sql.hpp's statement sets): append
// (one statement for a whole call), query (history_query.hpp), prune in batches.
#include "daemon/store/history_query.hpp"
#include "daemon/store/pg_sql.hpp"

namespace omnisync::store::pg {
const char* history_query_sql(const history_filter& f) {
  return detail::history_query_sql<'$', false>(detail::history_terms_of(f));
}

void state_sql::history_insert(const std::vector<history_entry>& rows, std::int64_t t) {
  if (rows.empty()) return;
  // One statement for the call; ORDER BY the position keeps the ids in the rows' order.
  c_.exec(
      "INSERT INTO history(profile, kind, subject, from_value, to_value, at, cause) "
      "SELECT profile, kind, subject, from_value, to_value, at, cause FROM unnest($1::text[], $2::text[], "
      "$3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[]) WITH ORDINALITY AS k(profile, kind, subject, "
      "from_value, to_value, at, cause, i) ORDER BY i",
      text_array(rows, &history_entry::profile), text_array(rows, &history_entry::kind),
      text_array(rows, &history_entry::subject), text_array(rows, &history_entry::from),
      text_array(rows, &history_entry::to),
      number_array(rows, [t](const history_entry& e) { return e.at == timestamp{} ? t : detail::ms(e.at); }),
      text_array(rows, &history_entry::cause));
}

std::int64_t state_sql::history_delete_before(std::int64_t before, std::size_t n) {
  return c_.exec("DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < $1 LIMIT $2 FOR UPDATE SKIP "
                 "LOCKED)",
                 before, n)
      .affected();
}

std::vector<history_entry> read_sql::history_rows(const history_filter& f, std::size_t limit) {
  auto r = exec_list(c_, history_query_sql(f), detail::history_query_params(f, limit));
  std::vector<history_entry> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_history_entry(row{r, i}));
  return out;
}

std::optional<std::int64_t> read_sql::history_nth_newest_at(std::size_t n) {
  auto r = c_.exec("SELECT at FROM history ORDER BY at DESC LIMIT 1 OFFSET $1", n);
  if (r.rows() == 0) return std::nullopt;
  return r.i64(0, 0);
}

}  // namespace omnisync::store::pg
