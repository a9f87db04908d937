#pragma once
/// The segments of a running config, compiled: each segment's typed expression, what it reads, the segments it
/// depends on (member_of, and the earlier segments of its priority group), in an order where dependencies come
/// first. Answers membership of a profile at an instant, each term's value (explain), the next instant the
/// membership flips with no new data, and which segments a change touches.
///
/// Membership of segment S at instant t: S's `where` holds, the profile is not in S's holdout (a deterministic
/// `holdout` percent of profiles by hash of profile id and key: the control group, never a member), and no
/// earlier segment of S's `priority_group` (declaration order) holds the profile. `member_of("K")` reads K's
/// membership.
///
/// Built by `compile` at config load (start-up, --check-config, reload) and immutable afterwards: share it
/// through a shared_ptr<const segment_set>; every method is const and thread-safe.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/segments/ast.hpp"
#include "daemon/segments/check.hpp"
#include "daemon/segments/evaluate.hpp"
#include "daemon/segments/facts.hpp"
#include "daemon/segments/schema.hpp"

namespace omnisync::segments {

/// One destination a segment's membership is to be kept in (`sync:` in omnisync.yaml). Parsed and validated
/// now; membership sync to the vendors is the next step of this feature, so nothing acts on it yet.
struct sync_target {
  std::string connector;  ///< connector name
  std::string list;       ///< HubSpot list name, ActiveCampaign tag, Salesforce campaign (by kind)
  bool resubscribe = false;
  /// Safety brake: most removals one batch of this segment's membership changes may send; more pause the
  /// segment's sync at this destination with an alert instead (0: no limit).
  std::int64_t max_churn_per_run = 0;
  /// Safety brake: removals that would leave fewer members than this are held the same way (0: none).
  std::int64_t min_size = 0;
  /// A list/tag/campaign deleted outside omnisync: recreated (`on_missing_list: recreate`, the default) or
  /// reported (`report`: the changes are dead-lettered and an alert raised).
  bool recreate_missing = true;
};

/// A segment as declared (what daemon/config reads).
struct segment_def {
  std::string key;
  std::string where;
  int holdout_percent = 0;  ///< 0..99
  std::string priority_group;
  std::vector<sync_target> sync;
  /// Where the `where:` text is in the config file, for errors inside it: line and column (1-based) of its
  /// first character. Lines after the first start at the same column unless `lines` says otherwise.
  std::string file;
  int line = 0, column = 0;
  /// The file lines that hold the text, in order (block and multi-line scalars): each line's number, the column
  /// of its first character of text, and how many bytes of the text it holds (a line break between two of them
  /// is one byte of the text: a newline, or a space where YAML folds). Empty: `line`/`column` as above.
  struct text_line {
    int line = 0, column = 0;
    std::size_t length = 0;
  };
  std::vector<text_line> lines;
};

/// A located problem from `compile` (the caller adds it to its diagnostics).
struct segment_error {
  std::string key;      ///< the segment
  std::string file;
  int line = 0, column = 0;
  std::string message;
};

struct compiled_segment {
  segment_def def;
  node root;
  segment_inputs inputs;              ///< its own expression's reads
  /// member_of targets, segments whose transitions it reads as events, and earlier members of its priority group
  std::vector<int> depends;
};

/// What changed in a profile (the engine diffs the canonical record before and after).
struct profile_change {
  std::set<std::string, std::less<>> attributes, kpis, event_types;
  /// Segments whose membership of the profile changed (a stored transition): the segments reading their
  /// `segment_entered` / `segment_exited` events are touched.
  std::set<std::string, std::less<>> segment_events;
  bool stage = false;
  bool all = false;  ///< a new or rebuilt profile: every segment
};

/// The result for one segment and profile at an instant.
struct membership {
  bool member = false;
  bool matches = false;                  ///< `where` holds (before holdout and priority group)
  bool held_out = false;
  std::string outranked_by;              ///< the earlier segment of its priority group that holds the profile
  std::optional<std::int64_t> flips_at;  ///< the next instant `member` changes with no new data
  /// True when the search for a flip gave up after many candidate instants: `flips_at` is then an instant to
  /// evaluate again, not a flip.
  bool recheck = false;
};

class segment_set {
 public:
  /// Compiles every definition; problems (syntax, unknown names, types, member_of cycles, duplicate keys)
  /// go to `errors` with their place in the file. The set holds only the segments that compiled.
  static segment_set compile(std::vector<segment_def> defs, const profile_schema& schema,
                             std::vector<segment_error>& errors);

  const std::vector<compiled_segment>& segments() const noexcept { return segments_; }
  std::optional<int> index_of(std::string_view key) const;
  bool empty() const noexcept { return segments_.empty(); }

  /// Membership of segment `i` at `now`, with the next flip.
  membership evaluate(int i, const profile_facts& p, std::int64_t now) const;
  /// Only the membership bit (no flip search).
  bool member(int i, const profile_facts& p, std::int64_t now) const;
  /// Each term of `where` with its value at `now`.
  std::vector<term_value> explain(int i, const profile_facts& p, std::int64_t now) const;
  /// The segments a change can alter (by what they read, transitively through their dependencies), in
  /// dependency order.
  std::vector<int> affected(const profile_change& c) const;
  /// Whether the profile is in segment `i`'s holdout.
  bool held_out(int i, std::string_view profile_id) const;

 private:
  std::optional<std::int64_t> next_change(int i, const profile_facts& p, std::int64_t now, int depth) const;
  segment_hooks hooks(const profile_facts& p, int depth) const;

  std::vector<compiled_segment> segments_;  ///< dependencies before dependents
};

}  // namespace omnisync::segments
