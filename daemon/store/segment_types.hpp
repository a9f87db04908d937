#pragma once
/// The store's segment operations and their value types: current membership and the timer queue
/// (segment_apply, segment_members, segment_timers_due, ...) and what each destination acknowledged
/// (membership_*). `segment_operations` is a base of store.hpp's `store`, kept here so store.hpp stays within the
/// size limit. Value types have constructors on purpose (GCC 12, see store.hpp).
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/time.hpp"

namespace omnisync::store {

using omnisync::timestamp;

/// One segment's verdict on one profile, as the daemon computed it: whether the profile is a member now, and the
/// instant it will flip with no new data (the timer). `segment_apply` stores it and says whether it changed.
struct segment_verdict {
  segment_verdict() = default;
  segment_verdict(std::string seg, std::string prof, bool m, std::optional<timestamp> next)
      : segment(std::move(seg)), profile(std::move(prof)), member(m), next_flip(next) {}
  std::string segment;                  ///< the segment key
  std::string profile;                  ///< the profile id as `profile get` shows it
  bool member = false;
  std::optional<timestamp> next_flip;   ///< the timer to keep for (segment, profile); nullopt: none
  /// The history row's cause should this verdict change the membership (JSON object text; "" → "{}").
  std::string cause;
};

/// Gives the history cause (JSON object text) of a verdict that changes the membership (`entered`: out -> in),
/// inside segment_apply's transaction, on a store thread: it must be thread-safe and must not wait on the store.
/// Lets the caller compute what only transitions need (the term that flipped) without paying it for every verdict.
using segment_describer = std::function<std::string(const segment_verdict&, bool entered)>;

/// A membership that changed in `segment_apply`.
struct segment_transition {
  segment_transition() = default;
  segment_transition(std::string seg, std::string prof, bool in, timestamp s)
      : segment(std::move(seg)), profile(std::move(prof)), entered(in), since(s) {}
  std::string segment, profile;
  bool entered = false;                 ///< true: out -> in; false: in -> out
  timestamp since{};                    ///< entered: the instant applied; exited: when the membership had begun
  std::string cause;                    ///< the cause its history row holds
};

/// A current member of a segment.
struct segment_member {
  segment_member() = default;
  segment_member(std::string p, timestamp s) : profile(std::move(p)), since(s) {}
  std::string profile;
  timestamp since{};                    ///< when it entered
};

/// A member a destination acknowledged: its record id there, the profile it was added for, and the id of the
/// membership row the vendor made (Salesforce CampaignMember, ActiveCampaign contactTag; "" when none was given).
struct acked_member {
  acked_member() = default;
  acked_member(std::string m, std::string p, std::string r = {})
      : member(std::move(m)), profile(std::move(p)), row(std::move(r)) {}
  std::string member, profile, row;
};

/// A due flip of the timer queue.
struct segment_timer {
  segment_timer() = default;
  segment_timer(std::string seg, std::string prof, timestamp due) : segment(std::move(seg)), profile(std::move(prof)), due_at(due) {}
  std::string segment, profile;
  timestamp due_at{};
};

/// The store's segment operations (a base of `store`, store.hpp: the same rules — asynchronous, on the store's
/// threads, both backends): current membership and the timer queue the daemon computes, and the membership each
/// destination acknowledged.
class segment_operations {
 public:
  template <class T>
  using task = boost::asio::awaitable<omnisync::result<T>>;
  virtual ~segment_operations() = default;

  // segment membership (one row per member, at most one timer per (segment, profile))
  /// Stores each verdict in one transaction: the member row (inserted with since = `at`, or removed), the
  /// (segment, profile) timer (set, moved or removed), and for each membership that changed its history row
  /// (kind "segment", subject the key, from/to "out"/"in", at `at`, cause from `describe` or the verdict's
  /// `cause`) — a crash keeps both or neither. Returns the memberships that changed, in input order.
  virtual task<std::vector<segment_transition>> segment_apply(std::vector<segment_verdict> verdicts, timestamp at,
                                                              segment_describer describe) = 0;
  task<std::vector<segment_transition>> segment_apply(std::vector<segment_verdict> verdicts, timestamp at) {
    return segment_apply(std::move(verdicts), at, segment_describer{});
  }
  /// Members of `segment` after profile id `after` (byte order), at most `limit` (paging).
  virtual task<std::vector<segment_member>> segment_members(std::string segment, std::string after,
                                                            std::size_t limit) = 0;
  virtual task<std::int64_t> segment_count(std::string segment) = 0;
  /// Timers due at or before `until`, earliest first, at most `limit`.
  virtual task<std::vector<segment_timer>> segment_timers_due(timestamp until, std::size_t limit) = 0;
  /// The earliest timer, if any (the timer loop sleeps until it).
  virtual task<std::optional<timestamp>> segment_next_timer() = 0;
  /// The segments with stored members or timers (a reload forgets those no longer configured).
  virtual task<std::vector<std::string>> segment_keys() = 0;
  /// Removes a segment's members and timers (a segment no longer configured); returns how many members went.
  virtual task<std::int64_t> segment_forget(std::string segment) = 0;
  // segment membership a destination acknowledged (managed membership: omnisync removes only members it added)
  /// Records `added` as acknowledged members of `segment` at `connector` and forgets `removed` (member ids), in
  /// one transaction. A member acknowledged again keeps its first added_at and takes the newer row id (an
  /// empty one too: the old row may be gone with a recreated list); an empty profile id keeps the stored one.
  virtual task<void> membership_record(std::string segment, std::string connector, std::vector<acked_member> added,
                                       std::vector<std::string> removed) = 0;
  /// Of `member_ids`, those recorded for `segment` at `connector`, each with its membership row id ("" when the
  /// vendor gave none); their count; all of them as (member id, profile id) by member id (a list deleted outside
  /// omnisync is recreated with them).
  virtual task<std::vector<std::pair<std::string, std::string>>> membership_known(std::string segment,
                                                                                  std::string connector,
                                                                                  std::vector<std::string> member_ids) = 0;
  virtual task<std::int64_t> membership_size(std::string segment, std::string connector) = 0;
  virtual task<std::vector<std::pair<std::string, std::string>>> membership_members(std::string segment,
                                                                                    std::string connector) = 0;
};

}  // namespace omnisync::store
