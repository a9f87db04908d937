// The PostgreSQL store's statements for the append-only history (members of pg_sql.hpp's statement sets): append
// (one statement for a whole call), query (history_query.hpp), prune in batches.
#include <string_view>

#include "daemon/store/history_query.hpp"
#include "daemon/store/pg_sql.hpp"

namespace omnisync::store::pg {
namespace {

struct row {
  const result& r;
  int i;
  std::int64_t i64(int c) const { return r.i64(i, c); }
  std::string text(int c) const { return r.text(i, c); }
};

/// `{"a","b\"c"}`: a text[] parameter of one member of each row.
std::string texts(const std::vector<history_entry>& rows, std::string history_entry::*member) {
  std::string s = "{";
  for (const auto& e : rows) {
    if (s.size() > 1) s += ',';
    s += '"';
    for (char ch : std::string_view(e.*member)) {
      if (ch == '"' || ch == '\\') s += '\\';
      s += ch;
    }
    s += '"';
  }
  return s + "}";
}

}  // namespace

const char* history_query_sql(const history_filter& f) {
  return detail::history_query_sql<'$', false>(detail::history_terms_of(f));
}

void state_sql::history_insert(const std::vector<history_entry>& rows, std::int64_t t) {
  if (rows.empty()) return;
  std::string at = "{";
  for (const auto& e : rows) at += (at.size() > 1 ? "," : "") + std::to_string(e.at == timestamp{} ? t : detail::ms(e.at));
  at += "}";
  // One statement for the call; ORDER BY the position keeps the ids in the rows' order.
  c_.exec(
      "INSERT INTO history(profile, kind, subject, from_value, to_value, at, cause) "
      "SELECT profile, kind, subject, from_value, to_value, at, cause FROM unnest($1::text[], $2::text[], "
      "$3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[]) WITH ORDINALITY AS k(profile, kind, subject, "
      "from_value, to_value, at, cause, i) ORDER BY i",
      texts(rows, &history_entry::profile), texts(rows, &history_entry::kind), texts(rows, &history_entry::subject),
      texts(rows, &history_entry::from), texts(rows, &history_entry::to), at, texts(rows, &history_entry::cause));
}

std::int64_t state_sql::history_delete_before(std::int64_t before, std::size_t n) {
  return c_.exec("DELETE FROM history WHERE id IN (SELECT id FROM history WHERE at < $1 LIMIT $2 FOR UPDATE SKIP "
                 "LOCKED)",
                 before, n)
      .affected();
}

std::vector<history_entry> read_sql::history_rows(const history_filter& f, std::size_t limit) {
  param_list p;
  p.add(f.after_id);
  p.add(detail::history_from_ms(f));
  p.add(detail::history_to_ms(f));
  p.add(limit);
  for (const auto* v : detail::history_term_values(f)) p.add(*v);
  auto r = c_.exec_params(history_query_sql(f), p);
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
