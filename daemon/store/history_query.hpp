#pragma once
/// Internal to daemon/store: what both backends share for the history table (sqlite_history_sql.cpp,
/// pg_history_sql.cpp): `history_query`'s query (list_query.hpp builds the texts), the row decoder, validation,
/// the prune batch.
///
/// A page is rows with id > after_id in id order. On SQLite, whose planner has no statistics, the text names the
/// access path: one profile's rows (few) through history_profile (profile, at), sorted; anything else walks the
/// table by id from after_id (NOT INDEXED still seeks the rowid), so paging through a whole kind or time range
/// costs one pass in all. Not history_kind (kind, subject, at): it cannot give id order, so every page would visit
/// every matching row again and sort them (measured: quadratic in the rows of the range).
///
/// Parameters: 1 after_id, 2 from (ms; INT64_MIN when open), 3 to (ms, exclusive; INT64_MAX when open), 4 limit,
/// then one per set term in the order kind, subject, profile.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "daemon/store/job.hpp"
#include "daemon/store/list_query.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

/// Rows deleted per transaction by history_prune: a prune of millions never holds the writer for long.
inline constexpr std::size_t history_prune_batch = 5000;

enum history_term : unsigned { hterm_kind = 1, hterm_subject = 2, hterm_profile = 4 };

inline term_list<3> history_terms(const history_filter& f) {
  return {term_value(f.kind), term_value(f.subject), term_value(f.profile)};
}
inline unsigned history_terms_of(const history_filter& f) { return term_bits(history_terms(f)); }

inline constexpr const char* history_columns = "id, profile, kind, subject, from_value, to_value, at, cause";
/// The column each term compares, by bit.
inline constexpr const char* history_term_columns[] = {"kind", "subject", "profile"};

/// history_query's query, for list_query_sql.
struct history_log {
  static constexpr list_query_shape shape{history_columns, "history", "id > ?1 AND at >= ?2 AND at < ?3",
                                          history_term_columns, "ORDER BY id"};
  static std::string access(unsigned terms) {
    return terms & hterm_profile ? " INDEXED BY history_profile" : " NOT INDEXED";
  }
};

/// The text for `terms` in the dialect of `Mark` ('?' SQLite, with the access path; '$' PostgreSQL).
template <char Mark, bool Hints>
const char* history_query_sql(unsigned terms) {
  return list_query_sql<history_log, Mark, Hints>(terms);
}

/// history_query's parameters for `f`, a page of at most `limit` rows.
inline list_params history_query_params(const history_filter& f, std::size_t limit) {
  return {{f.after_id, f.from ? ms(*f.from) : std::numeric_limits<std::int64_t>::min(),
           f.to ? ms(*f.to) : std::numeric_limits<std::int64_t>::max()},
          static_cast<std::int64_t>(limit),
          term_values(history_terms(f))};
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
