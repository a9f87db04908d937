#pragma once
/// How segment membership is kept at each destination (`segments.<key>.sync[]` in omnisync.yaml): the safety
/// brake and what to do when the destination's list/tag/campaign was deleted outside omnisync. Plain data,
/// built from the compiled segments (`policies_of`) and handed to the engine on start-up and reload.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

/// What brings one destination's acknowledged membership to the segment's members: `desired` (profile ids,
/// sorted) against `acked` (member id, profile id — what the destination acknowledged), each desired profile
/// resolved to its member there by `member_of` ("" when it links no record there). A desired profile already
/// acknowledged, or whose member is (under another profile id: a merge), needs nothing; the others are adds, or
/// `unresolved` when they link no record there yet (their adds wait for one). An acknowledged member neither
/// desired nor kept is a removal. `segment preview` shows it; `segment resume` queues it.
struct membership_change {
  std::string profile, member;  ///< member "" for an unresolved add
};
struct membership_plan {
  std::vector<membership_change> adds, removes, unresolved;
};
membership_plan plan_membership(const std::vector<std::string>& desired,
                                const std::vector<std::pair<std::string, std::string>>& acked,
                                const std::function<std::string(const std::string&)>& member_of);

}  // namespace omnisync::sync
