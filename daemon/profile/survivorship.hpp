#pragma once
/// Survivorship: the golden value of each attribute of a profile, chosen among the values its source records
/// hold by a rule declared per attribute, returned with the provenance of the winner.
///
/// Pure functions over candidates; deterministic for any order of the candidates (every tie is broken by the
/// rule's source priority, then the record key). Thread-safe: rules are immutable once built.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mapping/mapping.hpp"
#include "mapping/value.hpp"

namespace omnisync::profile {

/// How one attribute's golden value is chosen.
enum class strategy : std::uint8_t {
  source_priority,  ///< the first system in `priority` holding a value (unlisted systems after, most recent first)
  most_recent,      ///< the value with the newest source timestamp
  first_non_null,   ///< the value with the oldest source timestamp: the first value known sticks
  union_all,        ///< every distinct value (list items flattened), sorted: emails, tags
  max,              ///< the largest (numbers numerically; else text, which orders ISO UTC datetimes; false < true)
  min,              ///< the smallest (as max); e.g. email_opt_in: any system's opt-out wins
  sum,              ///< the sum of the numeric values
};
/// "source_priority", "most_recent", "first_non_null", "union", "max", "min", "sum".
std::optional<strategy> parse_strategy(std::string_view name) noexcept;
std::string_view to_string(strategy s) noexcept;

/// The rule for one attribute (or a family such as "external_ids.*").
struct attribute_rule {
  std::string attribute;
  strategy how = strategy::most_recent;
  std::vector<std::string> priority;  ///< systems (connector names), most trusted first; also breaks ties
  std::string owner;                  ///< when set, this system's non-null value always wins
  bool null_wins = false;             ///< most_recent: a newer explicit null clears the value (else nulls never win)
};

/// All survivorship rules of a deployment.
struct survivorship_rules {
  std::vector<attribute_rule> attributes;
  attribute_rule fallback;  ///< attributes no rule names: most recent
  /// The rule for `attribute`: an exact entry, else a family entry, else the fallback.
  const attribute_rule& rule_for(std::string_view attribute) const;
  /// The shipped defaults: tags union, lead_score max, email_opt_in min, updated_at max, others most recent.
  static survivorship_rules defaults();
  /// Applies an inbound mapping's `merge:` / `owner: true` hints for connector `system`. Returns problems
  /// (unknown strategy, two owners, two different strategies); the rules are changed only where there is none.
  std::vector<std::string> apply_hints(std::string_view system, const std::vector<mapping::attribute_hint>& hints);
};

/// One record's value of the attribute. Views: valid for the call only.
struct candidate {
  std::string_view system;              ///< connector name
  std::string_view record;              ///< record key "system:object:id"
  /// When the information this value represents dates from (ms since epoch): the record's modification time,
  /// or older — a value omnisync copied there keeps its source's time, an unchanged value the time it appeared.
  std::int64_t source_ts = 0;
  const mapping::value* value = nullptr;///< missing (or nullptr): the record says nothing; null: it has no value
  /// The record held a value and a change removed it: for most_recent this null competes with its time (a newer
  /// clear wins and empties the golden value); a null that never held a value does not.
  bool cleared = false;
};

/// Where a golden value came from.
struct provenance {
  std::string system, record;
  std::int64_t source_ts = 0;
  friend bool operator==(const provenance&, const provenance&) = default;
};

struct golden_value {
  mapping::value value;          ///< missing when no record has a value
  std::vector<provenance> from;  ///< the winner; every contributor for union and sum
  std::string decided_by;        ///< "owner" or the strategy's name
  /// The value is null because the newest information is a source clearing it (not because nobody has one):
  /// destinations whose `sync.write_nulls` allows it are cleared too.
  bool cleared = false;
};

/// The golden value of one attribute.
golden_value survive(const attribute_rule& rule, std::span<const candidate> candidates);

/// What is known about one attribute of a record beyond its value (index into attribute_source::attributes).
struct attribute_state {
  std::uint32_t index = 0;  ///< which attribute
  std::int64_t as_of = 0;   ///< the information's time (see candidate::source_ts); 0: the record's source_ts
  bool cleared = false;     ///< see candidate::cleared
};

/// One source record's mapped attributes (canonical name -> value), for golden_record.
struct attribute_source {
  std::string_view system, record;
  std::int64_t source_ts = 0;
  std::span<const std::pair<std::string, mapping::value>> attributes;
  std::span<const attribute_state> states = {};  ///< sparse, any order; attributes not named have the defaults
};

/// The golden value of every attribute any source holds, by attribute name (sorted).
std::vector<std::pair<std::string, golden_value>> golden_record(const survivorship_rules& rules,
                                                                std::span<const attribute_source> sources);

}  // namespace omnisync::profile
