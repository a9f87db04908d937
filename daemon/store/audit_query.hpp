#pragma once
/// Internal to daemon/store: `audit_list`'s query (list_query.hpp builds the texts, for both backends' dialects:
/// sqlite_audit_sql.cpp, pg_audit_sql.cpp). Every filter's index ends in (at, id), the list's order, so `since` and
/// the paging cursor bound that index range, walked backwards to the LIMIT, instead of filtering rows after a scan
/// (see the migrations).
///
/// Parameters: 1 since (ms), 2 the cursor's `at` when no entry has the cursor's id (INT64_MAX without a cursor: all
/// rows; INT64_MIN for an entry pruned since: none), 3 before_id (INT64_MAX without a cursor), 4 limit, then one per
/// filter term in the order of `audit_term` below.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "daemon/store/list_query.hpp"
#include "daemon/store/rows.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::detail {

/// audit_list's equality terms, one bit each, in parameter order.
enum audit_term : unsigned {
  term_connector = 1,
  term_object = 2,
  term_record = 4,
  term_profile = 8,
  term_source = 16,
  term_field = 32,
};
inline constexpr unsigned audit_term_sets = 64;

inline term_list<6> audit_terms(const audit_filter& f) {
  return {term_value(f.connector), term_value(f.object),  term_value(f.record_id),
          term_value(f.profile_id), term_value(f.source), term_value(f.field)};
}
inline unsigned audit_terms_of(const audit_filter& f) { return term_bits(audit_terms(f)); }
/// The values of `f`'s terms, in parameter order (from parameter 5 on).
inline std::vector<const std::string*> audit_term_values(const audit_filter& f) {
  return term_values(audit_terms(f));
}

/// The index that serves a term set best: the most selective term's (record, profile, source, connector, field),
/// else the log's own order (audit_at).
inline const char* audit_index_for(unsigned terms) {
  if (terms & term_record) return "audit_record";
  if (terms & term_profile) return "audit_profile";
  if (terms & term_source) return "audit_source";
  if (terms & term_connector) return "audit_connector";
  if (terms & term_field) return "audit_field";
  return "audit_at";
}

/// The column each term compares, by bit.
inline constexpr const char* audit_term_columns[] = {"connector", "object", "record_id", "profile_id", "source", "field"};

/// audit_list's query, for list_query_sql.
struct audit_log {
  static constexpr list_query_shape shape{
      "id, at, connector, object, record_id, field, value_before, value_after, attribute, rule, source, source_ts, "
      "profile_id, request_id, outcome, answer",
      "audit",
      "at >= ?1 AND (at, id) < (coalesce((SELECT c.at FROM audit c WHERE c.id = ?3), ?2), ?3)",
      audit_term_columns,
      "ORDER BY at DESC, id DESC"};
  /// SQLite's planner has no statistics to choose by: the text names audit_index_for(terms).
  static std::string access(unsigned terms) { return std::string(" INDEXED BY ") + audit_index_for(terms); }
};

/// The text for `terms` in the dialect of `Mark` ('?' SQLite, with the index named; '$' PostgreSQL).
template <char Mark, bool IndexHint>
const char* audit_list_sql(unsigned terms) {
  return list_query_sql<audit_log, Mark, IndexHint>(terms);
}

/// audit_list's parameters for `f`, a page of at most `limit` entries.
inline list_params audit_list_params(const audit_filter& f, std::size_t limit) {
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  return {{f.since ? ms(*f.since) : min, f.before_id > 0 ? min : max, f.before_id > 0 ? f.before_id : max},
          static_cast<std::int64_t>(limit),
          audit_term_values(f)};
}

}  // namespace omnisync::store::detail
