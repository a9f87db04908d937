#pragma once
/// Evaluating one typed expression (check.hpp) against a profile at an instant, and the next instant its value
/// changes with no new data. Internal to daemon/segments: segment_set (segment_set.hpp) is the public entry.
///
/// Values are piecewise constant in time: an event counts from its occurred_at on, leaves a `within: D` window
/// at occurred_at + D, enters and leaves a `between: [a, b]` window at occurred_at + b and occurred_at + a;
/// `days_since(x)` steps at x + k days. `next_change` returns the first such instant after `now` where the
/// expression's value may differ; comparisons of `days_since` or an aggregate with a constant jump straight to
/// the instant the comparison changes (no daily steps). Pure functions; thread-safe on const inputs.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/segments/ast.hpp"
#include "daemon/segments/facts.hpp"

namespace omnisync::segments {

/// A value during evaluation. `missing` when an attribute, KPI or field has no value (every comparison with a
/// missing value is false; `exists` tests for it).
struct eval_value {
  enum class kind : std::uint8_t { missing, boolean, number, string, datetime, list } k = kind::missing;
  bool b = false;
  double n = 0;
  std::int64_t t = 0;  ///< datetime, ms
  std::string s;
  std::vector<std::string> items;  ///< string_list
  /// For messages and `explain`: true, 3, "text", 2026-01-01T00:00:00Z, missing.
  std::string text() const;
};

/// How member_of reaches the other segments (segment_set provides it).
struct segment_hooks {
  std::function<bool(int segment, std::int64_t at)> member;
  std::function<std::optional<std::int64_t>(int segment, std::int64_t after)> next_change;
};

eval_value evaluate(const node& n, const profile_facts& p, std::int64_t now, const segment_hooks& hooks);
/// The first instant > now at which `n`'s value may change with no new data, or nullopt.
std::optional<std::int64_t> next_change(const node& n, const profile_facts& p, std::int64_t now,
                                        const segment_hooks& hooks);

/// One term of `explain`: a comparison, test, aggregate or member_of, its source text and value.
struct term_value {
  std::string text;    ///< the term as written
  std::string value;   ///< true / false
  std::string detail;  ///< the measured side where there is one: "count = 2", "days_since = 31", "kpi.x = 5"
};
/// The terms of `n` (the leaves under &&, || and !), in source order.
void collect_terms(const node& n, std::string_view source, const profile_facts& p, std::int64_t now,
                   const segment_hooks& hooks, std::vector<term_value>& out);

}  // namespace omnisync::segments
