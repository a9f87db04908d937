#pragma once
/// The value types of the store's segment membership operations (store.hpp: segment_apply, segment_members,
/// segment_timers_due): kept apart so store.hpp stays within the size limit. Plain data; constructors on purpose
/// (GCC 12, see store.hpp).
#include <optional>
#include <string>
#include <utility>

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
};

/// A membership that changed in `segment_apply`.
struct segment_transition {
  segment_transition() = default;
  segment_transition(std::string seg, std::string prof, bool in, timestamp s)
      : segment(std::move(seg)), profile(std::move(prof)), entered(in), since(s) {}
  std::string segment, profile;
  bool entered = false;                 ///< true: out -> in; false: in -> out
  timestamp since{};                    ///< entered: the instant applied; exited: when the membership had begun
};

/// A current member of a segment.
struct segment_member {
  segment_member() = default;
  segment_member(std::string p, timestamp s) : profile(std::move(p)), since(s) {}
  std::string profile;
  timestamp since{};                    ///< when it entered
};

/// A due flip of the timer queue.
struct segment_timer {
  segment_timer() = default;
  segment_timer(std::string seg, std::string prof, timestamp due) : segment(std::move(seg)), profile(std::move(prof)), due_at(due) {}
  std::string segment, profile;
  timestamp due_at{};
};

}  // namespace omnisync::store
