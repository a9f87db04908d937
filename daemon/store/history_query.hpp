#pragma once
/// Internal to daemon/store: what both backends share for the history table (sqlite_history_sql.cpp,
/// pg_history_sql.cpp): the query texts of `history_query`, the row decoder, validation, the prune batch.
///
/// A page is rows with id > after_id in id order. Each filter combination gets its own text with only the terms
/// it needs (an "x = '' OR col = x" term keeps every index out). On SQLite, whose planner has no statistics, the
/// text names the access path: one profile's rows (few) through history_profile (profile, at), sorted; anything
/// else walks the table by id from after_id (NOT INDEXED still seeks the rowid), so paging through a whole kind
/// or time range costs one pass in all. Not history_kind (kind, subject, at): it cannot give id order, so every
/// page would visit every matching row again and sort them (measured: quadratic in the rows of the range).
///
/// Parameters: 1 after_id, 2 from (ms; INT64_MIN when open), 3 to (ms, exclusive; INT64_MAX when open), 4 limit,
/// then one per set term in the order kind, subject, profile.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "daemon/store/job.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

/// Rows deleted per transaction by history_prune: a prune of millions never holds the writer for long.
inline constexpr std::size_t history_prune_batch = 5000;

enum history_term : unsigned { hterm_kind = 1, hterm_subject = 2, hterm_profile = 4, hterm_range = 8 };
inline constexpr unsigned history_term_sets = 16;

inline unsigned history_terms_of(const history_filter& f) {
  return (f.kind.empty() ? 0u : hterm_kind) | (f.subject.empty() ? 0u : hterm_subject) |
         (f.profile.empty() ? 0u : hterm_profile) | (f.from || f.to ? hterm_range : 0u);
}

/// The values of `f`'s equality terms, in parameter order (from parameter 5 on).
inline std::vector<const std::string*> history_term_values(const history_filter& f) {
  std::vector<const std::string*> out;
  for (const auto* v : {&f.kind, &f.subject, &f.profile})
    if (!v->empty()) out.push_back(v);
  return out;
}

inline std::int64_t history_from_ms(const history_filter& f) {
  return f.from ? ms(*f.from) : std::numeric_limits<std::int64_t>::min();
}
inline std::int64_t history_to_ms(const history_filter& f) {
  return f.to ? ms(*f.to) : std::numeric_limits<std::int64_t>::max();
}

inline constexpr const char* history_columns = "id, profile, kind, subject, from_value, to_value, at, cause";

inline std::string history_query_text(unsigned terms, char mark, bool sqlite_hints) {
  auto p = [mark](int n) { return std::string(1, mark) + std::to_string(n); };
  std::string sql = std::string("SELECT ") + history_columns + " FROM history";
  if (sqlite_hints) {
    if (terms & hterm_profile)
      sql += " INDEXED BY history_profile";
    else
      sql += " NOT INDEXED";
  }
  sql += " WHERE id > " + p(1) + " AND at >= " + p(2) + " AND at < " + p(3);
  int n = 5;
  if (terms & hterm_kind) sql += " AND kind = " + p(n++);
  if (terms & hterm_subject) sql += " AND subject = " + p(n++);
  if (terms & hterm_profile) sql += " AND profile = " + p(n++);
  return sql + " ORDER BY id LIMIT " + p(4);
}

/// The text for `terms`, built once per dialect: the statement caches key statements by the text's address.
template <char Mark, bool Hints>
const char* history_query_sql(unsigned terms) {
  static const auto texts = [] {
    std::array<std::string, history_term_sets> t;
    for (unsigned i = 0; i < history_term_sets; ++i) t[i] = history_query_text(i, Mark, Hints);
    return t;
  }();
  return texts[terms % history_term_sets].c_str();
}

/// Decodes a row of history_columns.
template <class Row>
history_entry read_history_entry(const Row& r) {
  history_entry e(r.text(1), r.text(2), r.text(3), r.text(4), r.text(5), from_ms(r.i64(6)), r.text(7));
  e.id = r.i64(0);
  return e;
}

inline void require_history(const history_entry& e) {
  require(!e.profile.empty() && !e.kind.empty(), "history row needs a profile and a kind");
}

}  // namespace omnisync::store::detail
