#pragma once
/// Internal to daemon/store: the one builder of the filtered, paged queries over the logs (`audit_list` in
/// audit_query.hpp, `history_query` in history_query.hpp), for both backends' dialects. A log can hold millions of
/// rows, so each combination of equality filters ("terms") gets its own text with only the terms it needs (an
/// "x IS NULL OR col = x" term would keep every index out), built once per dialect.
///
/// Parameters, the same for every log: 1 to 3 bound the page (the paging cursor and the time range, as the log's
/// `bounds` uses them), 4 the LIMIT, then one per set term in bit order (`list_params`).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::store::detail {

/// What a log's list query is made of.
struct list_query_shape {
  const char* columns;  // the SELECT list, in the log's row decoder's order
  const char* table;
  /// The WHERE clause's fixed part: the page's bounds, in SQLite's marks (?1 to ?3).
  const char* bounds;
  /// Equality term i (bit 1 << i) compares `terms[i]` to its value.
  std::span<const char* const> terms;
  const char* order;  // "ORDER BY ..."
};

/// The text for the term set `terms`; `mark` is the dialect's parameter mark ('?' SQLite, '$' PostgreSQL),
/// `access` what follows the table's name (SQLite's INDEXED BY / NOT INDEXED; empty on PostgreSQL, whose planner
/// has statistics to choose by).
inline std::string list_query_text(const list_query_shape& s, unsigned terms, char mark, std::string_view access) {
  auto p = [mark](int n) { return std::string(1, mark) + std::to_string(n); };
  std::string sql = std::string("SELECT ") + s.columns + " FROM " + s.table;
  sql += access;
  sql += " WHERE ";
  for (const char* c = s.bounds; *c; ++c) sql += *c == '?' ? mark : *c;
  int next = 5;
  for (std::size_t i = 0; i < s.terms.size(); ++i)
    if (terms & (1u << i)) sql += std::string(" AND ") + s.terms[i] + " = " + p(next++);
  return sql + " " + s.order + " LIMIT " + p(4);
}

/// Every term set's text of `Log` in one dialect, built once; the pointers stay valid for the process's life (the
/// backends' statement caches key statements by the text's address). `Log` has `shape` (a list_query_shape) and
/// `access(terms)`, the text's SQLite access path, used where `Hints`.
template <class Log, char Mark, bool Hints>
const char* list_query_sql(unsigned terms) {
  static const auto texts = [] {
    std::array<std::string, std::size_t{1} << Log::shape.terms.size()> t;
    for (unsigned i = 0; i < t.size(); ++i) t[i] = list_query_text(Log::shape, i, Mark, Hints ? Log::access(i) : "");
    return t;
  }();
  return texts.at(terms).c_str();
}

/// A filter's equality terms in bit order: the value of each set one, nullptr for the others.
template <std::size_t N>
using term_list = std::array<const std::string*, N>;

inline const std::string* term_value(const std::optional<std::string>& v) { return v ? &*v : nullptr; }
/// An empty string is no filter.
inline const std::string* term_value(const std::string& v) { return v.empty() ? nullptr : &v; }

template <std::size_t N>
unsigned term_bits(const term_list<N>& t) {
  unsigned bits = 0;
  for (std::size_t i = 0; i < N; ++i)
    if (t[i]) bits |= 1u << i;
  return bits;
}

/// The set terms' values, in parameter order (from parameter 5 on).
template <std::size_t N>
std::vector<const std::string*> term_values(const term_list<N>& t) {
  std::vector<const std::string*> out;
  for (const auto* v : t)
    if (v) out.push_back(v);
  return out;
}

/// A list query's parameters, as each backend binds them (`bind_list`).
struct list_params {
  std::array<std::int64_t, 3> bounds;  // parameters 1 to 3
  std::int64_t limit;                  // parameter 4
  std::vector<const std::string*> terms;
};

}  // namespace omnisync::store::detail
