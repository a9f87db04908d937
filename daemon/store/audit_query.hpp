#pragma once
/// Internal to daemon/store: the text of `audit_list`'s query, for both backends' dialects (sqlite_audit_sql.cpp,
/// pg_audit_sql.cpp). The audit log can hold millions of rows, so a page is one index range walked backwards to
/// its LIMIT: each filter combination gets its own text with only the terms it needs (an "x IS NULL OR col = x"
/// term would keep every index out), and every filter's index ends in (at, id), the list's order, so `since` and
/// the paging cursor bound that range instead of filtering rows after a scan (see the migrations).
///
/// Parameters: 1 since (ms), 2 the cursor's `at` when no entry has the cursor's id (INT64_MAX without a cursor: all
/// rows; INT64_MIN for an entry pruned since: none), 3 before_id (INT64_MAX without a cursor), 4 limit, then one per
/// filter term in the order of `audit_term` below.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

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

inline unsigned audit_terms_of(const audit_filter& f) {
  return (f.connector ? term_connector : 0u) | (f.object ? term_object : 0u) | (f.record_id ? term_record : 0u) |
         (f.profile_id ? term_profile : 0u) | (f.source ? term_source : 0u) | (f.field ? term_field : 0u);
}

/// The values of `f`'s terms, in parameter order (from parameter 5 on).
inline std::vector<const std::string*> audit_term_values(const audit_filter& f) {
  std::vector<const std::string*> out;
  for (const auto* v : {&f.connector, &f.object, &f.record_id, &f.profile_id, &f.source, &f.field})
    if (*v) out.push_back(&**v);
  return out;
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

/// The query for `terms`; `mark` is the dialect's parameter mark ('?' SQLite, '$' PostgreSQL). `index_hint` names
/// audit_index_for(terms) in an `INDEXED BY` (SQLite: its planner has no statistics to choose by; PostgreSQL's
/// has, and no hints).
inline std::string audit_list_text(unsigned terms, char mark, bool index_hint) {
  auto p = [mark](int n) { return std::string(1, mark) + std::to_string(n); };
  std::string sql =
      "SELECT id, at, connector, object, record_id, field, value_before, value_after, attribute, rule, source, "
      "source_ts, profile_id, request_id, outcome, answer FROM audit";
  if (index_hint) sql += std::string(" INDEXED BY ") + audit_index_for(terms);
  sql += " WHERE at >= " + p(1) + " AND (at, id) < (coalesce((SELECT c.at FROM audit c WHERE c.id = " + p(3) +
         "), " + p(2) + "), " + p(3) + ")";
  int next = 5;
  const std::array<std::pair<audit_term, const char*>, 6> columns{{{term_connector, "connector"},
                                                                   {term_object, "object"},
                                                                   {term_record, "record_id"},
                                                                   {term_profile, "profile_id"},
                                                                   {term_source, "source"},
                                                                   {term_field, "field"}}};
  for (const auto& [term, column] : columns)
    if (terms & term) sql += std::string(" AND ") + column + " = " + p(next++);
  sql += " ORDER BY at DESC, id DESC LIMIT " + p(4);
  return sql;
}

/// Every term set's text, built once per dialect; the pointers stay valid for the process's life (the backends'
/// statement caches key statements by the text's address).
template <char Mark, bool IndexHint>
const char* audit_list_sql(unsigned terms) {
  static const auto texts = [] {
    std::array<std::string, audit_term_sets> t;
    for (unsigned i = 0; i < audit_term_sets; ++i) t[i] = audit_list_text(i, Mark, IndexHint);
    return t;
  }();
  return texts.at(terms).c_str();
}

}  // namespace omnisync::store::detail
