// The SQLite store's statements for the append-only history (members of sqlite_sql.hpp's statement sets):
// append, query (history_query.hpp), prune in batches.
#include "daemon/store/history_query.hpp"
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {
const char* history_query_sql(const history_filter& f) {
  return detail::history_query_sql<'?', true>(detail::history_terms_of(f));
}

void state_sql::history_insert(const std::vector<history_entry>& rows, std::int64_t t) {
  for (const auto& e : rows)
    c_.prepare(
          "INSERT INTO history(profile, kind, subject, from_value, to_value, at, cause) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .text(1, e.profile)
        .text(2, e.kind)
        .text(3, e.subject)
        .text(4, e.from)
        .text(5, e.to)
        .i64(6, e.at == timestamp{} ? t : detail::ms(e.at))
        .text(7, e.cause)
        .run();
}

std::int64_t state_sql::history_delete_before(std::int64_t before, std::size_t n) {
  c_.prepare("DELETE FROM history WHERE id IN (SELECT id FROM history INDEXED BY history_at WHERE at < ?1 LIMIT ?2)")
      .i64(1, before)
      .i64(2, static_cast<std::int64_t>(n))
      .run();
  return c_.changes();
}

std::vector<history_entry> read_sql::history_rows(const history_filter& f, std::size_t limit) {
  auto q = r_.state.prepare(history_query_sql(f));
  bind_list(q, detail::history_query_params(f, limit));
  std::vector<history_entry> out;
  while (q.step()) out.push_back(detail::read_history_entry(row{q}));
  return out;
}

std::optional<std::int64_t> read_sql::history_nth_newest_at(std::size_t n) {
  auto q = r_.state.prepare("SELECT at FROM history INDEXED BY history_at ORDER BY at DESC LIMIT 1 OFFSET ?1");
  q.i64(1, static_cast<std::int64_t>(n));
  if (!q.step()) return std::nullopt;
  return q.col_i64(0);
}

}  // namespace omnisync::store::sqlite
