#pragma once
/// The append-only history's row and filter types (store.hpp includes this; see its history_* operations).
///
/// One history, many readers: lifecycle-stage transitions, KPI changes and segment entries/exits of every profile
/// go to one table with the same columns, written by the sync pipeline and the segments, read by the analytics
/// reports, the segments (`member_of`, events) and `profile explain`. Rows are never changed; retention removes
/// the oldest (history_prune). Plain value types: copy them freely between threads.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "core/time.hpp"

namespace omnisync::store {

// Constructors on purpose, so these are not aggregates (GCC 12 and brace-initialised aggregates holding
// std::string inside a co_await expression: see store.hpp and README.md).

/// One row of the append-only history (SEAMS.md "One history, many readers").
struct history_entry {
  history_entry() = default;
  history_entry(std::string profile_, std::string kind_, std::string subject_, std::string from_, std::string to_,
                omnisync::timestamp at_, std::string cause_)
      : profile(std::move(profile_)),
        kind(std::move(kind_)),
        subject(std::move(subject_)),
        from(std::move(from_)),
        to(std::move(to_)),
        at(at_),
        cause(std::move(cause_)) {}
  std::int64_t id = 0;       ///< assigned by the store, increasing
  std::string profile;       ///< the profile id as `profile get` shows it
  std::string kind;          ///< "stage" | "kpi" | "segment"
  std::string subject;       ///< "" for stage; the KPI name for kpi; the segment key for segment
  std::string from, to;      ///< stage names; KPI values as text ("" = none); "out"/"in" for segment
  omnisync::timestamp at{};  ///< when it happened (event time, not insert time)
  std::string cause;         ///< JSON object text: {"record":"sf:Contact/003..","run":"..","term":".."} (fields optional)
};

/// Which history rows `history_query` returns: ascending id, `limit` at a time after `after_id`. Every non-empty
/// member narrows the rows.
struct history_filter {
  history_filter() = default;
  history_filter(std::string kind_, std::string subject_ = {}, std::string profile_ = {},
                 std::optional<omnisync::timestamp> from_ = std::nullopt,
                 std::optional<omnisync::timestamp> to_ = std::nullopt, std::int64_t after = 0, std::size_t n = 1000)
      : kind(std::move(kind_)),
        subject(std::move(subject_)),
        profile(std::move(profile_)),
        from(from_),
        to(to_),
        after_id(after),
        limit(n) {}
  std::string kind, subject, profile;           ///< empty = any
  std::optional<omnisync::timestamp> from, to;  ///< at in [from, to)
  std::int64_t after_id = 0;                    ///< paging: rows with id > after_id, ascending id
  std::size_t limit = 1000;                     ///< at most this many (1..10000)
};

}  // namespace omnisync::store
