#pragma once
/// The segment language's checker: resolves every name of a parsed expression against the profile schema
/// (schema.hpp), gives every node its type, and reports unknown names and type mismatches with the offset in
/// the expression and a "did you mean". It also records what the expression reads (`inputs`), so that only the
/// segments a change touches are evaluated again. Pure functions; thread-safe.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/segments/ast.hpp"
#include "daemon/segments/parser.hpp"
#include "daemon/segments/schema.hpp"

namespace omnisync::segments {

/// What a segment's expression reads (its own expression only; segment_set adds the segments it depends on).
struct segment_inputs {
  std::set<std::string, std::less<>> attributes;
  std::set<std::string, std::less<>> kpis;
  bool stage = false;
  std::set<std::string, std::less<>> event_types;  ///< the types its event predicates can match
  bool any_event = false;                          ///< a predicate that does not pin e.type: every event type
  std::set<std::string, std::less<>> segments;     ///< member_of keys
  /// The segments whose transitions it reads as events (`e.type == "segment_entered" && e.segment == "K"`):
  /// dependencies like member_of.
  std::set<std::string, std::less<>> segment_events;
  /// The value can change with time alone (windows, days_since): flip times are computed for it.
  bool clocked = false;
};

/// Types `n` in place and fills `in`. `segment_index` resolves a member_of key (nullopt: unknown; the checker
/// reports it with a suggestion from `segment_keys`). Returns every problem found (empty: the tree is valid and
/// boolean at the root).
std::vector<expr_error> check_expression(node& n, const profile_schema& schema, segment_inputs& in,
                                         const std::function<std::optional<int>(std::string_view)>& segment_index,
                                         const std::vector<std::string>& segment_keys);

}  // namespace omnisync::segments
