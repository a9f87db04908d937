// The SQLite store's statements for the audit log (members of sqlite_sql.hpp's statement sets): append, list
// (audit_query.hpp), prune in batches.
#include "daemon/store/audit_query.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/sqlite_sql.hpp"

namespace omnisync::store::sqlite {
const char* audit_list_sql(const audit_filter& f) {
  return detail::audit_list_sql<'?', true>(detail::audit_terms_of(f));
}

void state_sql::audit_insert(const std::vector<audit_entry>& entries, std::int64_t t) {
  for (const auto& e : entries)
    c_.prepare(
          "INSERT INTO audit(at, connector, object, record_id, field, value_before, value_after, attribute, rule, "
          "source, source_ts, profile_id, request_id, outcome, answer) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")
        .i64(1, e.at == timestamp{} ? t : detail::ms(e.at))
        .text(2, e.connector)
        .text(3, e.object)
        .text(4, e.record_id)
        .text(5, e.field)
        .text(6, e.before)
        .text(7, e.after)
        .text(8, e.attribute)
        .text(9, e.rule)
        .text(10, e.source)
        .i64(11, detail::ms(e.source_ts))
        .text(12, e.profile_id)
        .text(13, e.request_id)
        .text(14, e.outcome)
        .text(15, e.answer)
        .run();
}

std::int64_t state_sql::audit_delete_before(std::int64_t before, std::size_t n) {
  c_.prepare("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1 ORDER BY at, id LIMIT ?2)")
      .i64(1, before)
      .i64(2, static_cast<std::int64_t>(n))
      .run();
  return c_.changes();
}

std::int64_t state_sql::audit_delete_through(detail::audit_key last, std::size_t n) {
  c_.prepare(
        "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE (at, id) <= (?1, ?2) ORDER BY at, id LIMIT ?3)")
      .i64(1, last.at)
      .i64(2, last.id)
      .i64(3, static_cast<std::int64_t>(n))
      .run();
  return c_.changes();
}

std::vector<audit_entry> read_sql::audit_entries(const audit_filter& f, std::size_t limit) {
  auto q = r_.state.prepare(audit_list_sql(f));
  bind_list(q, detail::audit_list_params(f, limit));
  std::vector<audit_entry> out;
  while (q.step()) out.push_back(detail::read_audit_entry(row{q}));
  return out;
}

std::optional<detail::audit_key> read_sql::audit_nth_newest(std::size_t n) {
  auto q = r_.state.prepare("SELECT at, id FROM audit ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?1");
  q.i64(1, static_cast<std::int64_t>(n));
  if (!q.step()) return std::nullopt;
  return detail::audit_key{q.col_i64(0), q.col_i64(1)};
}

}  // namespace omnisync::store::sqlite
