#pragma once
/// The segment expression language's syntax tree: what the parser (parser.hpp) builds and the checker
/// (check.hpp) types and resolves. One `node` type with a kind and the payload that kind uses keeps the tree a
/// plain value (copied into each compiled segment; no ownership puzzles). Plain data, not thread-safe to write.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace omnisync::segments {

/// The types an expression can have. `integer` and `number` canonical attributes are both `number` here.
enum class value_type : std::uint8_t { unknown, boolean, number, string, datetime, string_list, duration, list };

/// "boolean", "number", ... for messages.
const char* type_name(value_type t) noexcept;

enum class node_kind : std::uint8_t {
  boolean,     ///< true / false
  number,      ///< 42, 4.5
  string,      ///< "text" (compared with a datetime it is read as ISO 8601)
  duration,    ///< 30d, 12h, 90m, 15s, 500ms, 2w
  list,        ///< [a, b, ...] of literals (the right side of `in`)
  attribute,   ///< a golden attribute by canonical name: email, address.city
  kpi,         ///< kpi.<name>
  stage,       ///< the lifecycle stage
  event_field, ///< e.<field> inside an event predicate
  logical_not, ///< !x
  logical_and, ///< a && b
  logical_or,  ///< a || b
  compare,     ///< a OP b
  in,          ///< a in [..]
  exists,      ///< exists(attr): the value is present and not null
  string_test, ///< a starts_with|ends_with|contains b
  aggregate,   ///< count/any/none/sum(events, ..., within:|between:)
  days_since,  ///< days_since(datetime)
  member_of,   ///< member_of("key")
};

enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge };
enum class string_op : std::uint8_t { starts_with, ends_with, contains };
enum class aggregate_op : std::uint8_t { count, any, none, sum };
/// An aggregate's time window. `within: D` counts events with occurred_at in (now - D, now]; `between: [a, b]`
/// with durations (a > b) counts events from a ago to b ago, [now - a, now - b); with ISO 8601 instants,
/// [a, b). With no window every event up to now counts. Events later than now never count.
enum class window_kind : std::uint8_t { none, within, between_ago, between_dates };

struct node {
  node_kind kind = node_kind::boolean;
  std::size_t offset = 0, length = 0;  ///< the node's text in the expression (for errors and `explain`)
  value_type type = value_type::unknown;
  bool flag = false;                   ///< boolean literal
  double number = 0;                   ///< number literal
  std::int64_t ms = 0;                 ///< duration literal
  std::string text;                    ///< string literal; attribute / KPI / event field / segment name
  compare_op cmp = compare_op::eq;
  string_op sop = string_op::contains;
  aggregate_op agg = aggregate_op::count;
  window_kind window = window_kind::none;
  std::int64_t window_a = 0, window_b = 0;  ///< within: a; between: a, b (durations or epoch ms)
  /// Operands. aggregate: [predicate] (count/any/none, optional) or [value, predicate] (sum; predicate optional);
  /// `has_predicate` says whether the predicate is there.
  std::vector<node> children;
  bool has_predicate = false;
  int segment = -1;                    ///< member_of: the index of the segment it names (after checking)
  /// aggregate: which events it reads (after checking): bit 1 the timeline, bit 2 the segment transitions
  /// (a predicate pinning e.type to segment_entered / segment_exited). 0 (unchecked) reads the timeline.
  std::uint8_t reads = 0;
};

}  // namespace omnisync::segments
