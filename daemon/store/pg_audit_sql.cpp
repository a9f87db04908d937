// The PostgreSQL store's statements for the audit log (members of pg_sql.hpp's statement sets): append (one
// statement for a whole call), list (audit_query.hpp), prune in batches that several instances can run at once.
#include "daemon/store/audit_query.hpp"
#include "daemon/store/pg_sql.hpp"
#include "daemon/store/rows.hpp"

namespace omnisync::store::pg {
const char* audit_list_sql(const audit_filter& f) {
  return detail::audit_list_sql<'$', false>(detail::audit_terms_of(f));
}

void state_sql::audit_insert(const std::vector<audit_entry>& entries, std::int64_t t) {
  if (entries.empty()) return;
  // One statement for the call; ORDER BY the position keeps the ids in the entries' order.
  c_.exec(
      "INSERT INTO audit(at, connector, object, record_id, field, value_before, value_after, attribute, rule, "
      "source, source_ts, profile_id, request_id, outcome, answer) "
      "SELECT at, connector, object, record_id, field, value_before, value_after, attribute, rule, source, "
      "source_ts, profile_id, request_id, outcome, answer FROM unnest($1::bigint[], $2::text[], $3::text[], "
      "$4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], "
      "$12::text[], $13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS k(at, connector, object, record_id, "
      "field, value_before, value_after, attribute, rule, source, source_ts, profile_id, request_id, outcome, "
      "answer, i) ORDER BY i",
      number_array(entries, [t](const audit_entry& e) { return e.at == timestamp{} ? t : detail::ms(e.at); }),
      text_array(entries, &audit_entry::connector), text_array(entries, &audit_entry::object),
      text_array(entries, &audit_entry::record_id), text_array(entries, &audit_entry::field),
      text_array(entries, &audit_entry::before), text_array(entries, &audit_entry::after),
      text_array(entries, &audit_entry::attribute), text_array(entries, &audit_entry::rule),
      text_array(entries, &audit_entry::source),
      number_array(entries, [](const audit_entry& e) { return detail::ms(e.source_ts); }),
      text_array(entries, &audit_entry::profile_id), text_array(entries, &audit_entry::request_id),
      text_array(entries, &audit_entry::outcome), text_array(entries, &audit_entry::answer));
}

// SKIP LOCKED: two instances pruning at once delete different rows instead of waiting for (or deadlocking
// with) each other.
std::int64_t state_sql::audit_delete_before(std::int64_t before, std::size_t n) {
  return c_.exec("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY at, id LIMIT $2 "
                 "FOR UPDATE SKIP LOCKED)",
                 before, n)
      .affected();
}

std::int64_t state_sql::audit_delete_through(detail::audit_key last, std::size_t n) {
  return c_.exec("DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE (at, id) <= ($1, $2) ORDER BY at, id "
                 "LIMIT $3 FOR UPDATE SKIP LOCKED)",
                 last.at, last.id, n)
      .affected();
}

std::vector<audit_entry> read_sql::audit_entries(const audit_filter& f, std::size_t limit) {
  auto r = exec_list(c_, audit_list_sql(f), detail::audit_list_params(f, limit));
  std::vector<audit_entry> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(detail::read_audit_entry(row{r, i}));
  return out;
}

std::optional<detail::audit_key> read_sql::audit_nth_newest(std::size_t n) {
  auto r = c_.exec("SELECT at, id FROM audit ORDER BY at DESC, id DESC LIMIT 1 OFFSET $1", n);
  if (r.rows() == 0) return std::nullopt;
  return detail::audit_key{r.i64(0, 0), r.i64(0, 1)};
}

}  // namespace omnisync::store::pg
