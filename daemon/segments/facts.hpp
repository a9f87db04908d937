#pragma once
/// What a segment reads of one profile: golden values, KPIs, the lifecycle stage and the timeline. The engine
/// fills it from the profile book (`facts_of` in segment_set.hpp takes a book's canonical view); tests build it
/// by hand. Plain data.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "daemon/profile/kpis.hpp"
#include "mapping/value.hpp"

namespace omnisync::segments {

struct profile_facts {
  std::string profile_id;                                          ///< "p0123…" (holdout hashes it)
  std::map<std::string, mapping::value, std::less<>> attributes;   ///< golden values by canonical name
  std::map<std::string, mapping::value, std::less<>> kpis;         ///< kpi_values::to_attributes()
  std::string stage;                                               ///< lifecycle stage
  std::vector<profile::event> events;                              ///< the timeline, oldest first
  /// The profile's segment transitions as events (type `segment_entered` / `segment_exited`, subject = the
  /// segment key, occurred_at = the transition), oldest first. Apart from `events`: only a predicate that pins
  /// e.type to these types reads them, and they never feed the KPIs.
  std::vector<profile::event> segment_events;
};

/// What differs between two states of one profile, as segment_set::affected reads it (the engine takes the
/// profile's facts before and after a page). Declared in segment_set.hpp.
struct profile_change;
/// The attributes, KPIs, stage and event types whose values differ between `before` and `after` (segment events
/// are not compared: transitions are reported by the engine as they are stored).
profile_change diff_facts(const profile_facts& before, const profile_facts& after);

}  // namespace omnisync::segments
