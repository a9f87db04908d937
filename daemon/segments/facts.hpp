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
};

}  // namespace omnisync::segments
