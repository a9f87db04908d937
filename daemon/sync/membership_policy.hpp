#pragma once
/// How segment membership is kept at each destination (`segments.<key>.sync[]` in omnisync.yaml): the safety
/// brake and what to do when the destination's list/tag/campaign was deleted outside omnisync. Plain data,
/// built from the compiled segments (`policies_of`) and handed to the engine on start-up and reload.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace omnisync::segments {
class segment_set;
}
namespace omnisync::profile {
struct profile_view;
}

namespace omnisync::sync {

struct membership_policy {
  std::int64_t max_churn_per_run = 0;  ///< most removals one batch may send; more trip the brake (0: no limit)
  std::int64_t min_size = 0;           ///< removals that would leave fewer members trip the brake (0: none)
  bool recreate_missing = true;        ///< on_missing_list: recreate (true) or report (false)
};

/// By (segment key, connector name).
using membership_policies = std::map<std::pair<std::string, std::string>, membership_policy>;

/// The policies of every `sync:` destination of `set`.
membership_policies policies_of(const segments::segment_set& set);

/// The person's record id at connector `connector` as a membership member: a contact (HubSpot, ActiveCampaign),
/// else a Salesforce Contact, else a Lead; "" when the profile links none there. The writer's membership sync
/// resolves the members it sends with it, and `segment preview` plans with it, so the two agree.
std::string membership_member_id(const profile::profile_view& view, std::string_view connector);

}  // namespace omnisync::sync
