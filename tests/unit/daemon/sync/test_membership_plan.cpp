// sync::plan_membership: a destination's acknowledged membership against the segment's members — what
// `segment preview` shows per destination and `segment resume` queues.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "daemon/sync/membership_policy.hpp"

using omnisync::sync::membership_change;
using omnisync::sync::plan_membership;

namespace {

std::vector<std::string> profiles_of(const std::vector<membership_change>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.profile + "=" + c.member);
  return out;
}

}  // namespace

TEST_CASE("plan_membership: adds the members not acknowledged, removes the acknowledged ones who left",
          "[sync][segments]") {
  // p1 stays, p2 left, p3 and p4 came; p4 links no record there yet.
  const std::map<std::string, std::string> members{{"p1", "m1"}, {"p2", "m2"}, {"p3", "m3"}};
  std::function<std::string(const std::string&)> member_of = [&](const std::string& p) {
    auto it = members.find(p);
    return it == members.end() ? std::string() : it->second;
  };
  const auto plan = plan_membership({"p1", "p3", "p4"}, {{"m1", "p1"}, {"m2", "p2"}}, member_of);
  CHECK(profiles_of(plan.adds) == std::vector<std::string>{"p3=m3"});
  CHECK(profiles_of(plan.unresolved) == std::vector<std::string>{"p4="});
  CHECK(profiles_of(plan.removes) == std::vector<std::string>{"p2=m2"});
}

TEST_CASE("plan_membership: a member acknowledged under a profile id a merge retired is neither added nor removed",
          "[sync][segments]") {
  // p9 merged into p1: the destination acknowledged m1 under p9; p1 resolves to m1.
  std::function<std::string(const std::string&)> member_of = [](const std::string& p) {
    return p == "p1" ? std::string("m1") : std::string();
  };
  const auto plan = plan_membership({"p1"}, {{"m1", "p9"}}, member_of);
  CHECK(plan.adds.empty());
  CHECK(plan.removes.empty());
  CHECK(plan.unresolved.empty());
  // Nothing desired, nothing acknowledged: nothing to do.
  const auto none = plan_membership({}, {}, member_of);
  CHECK((none.adds.empty() && none.removes.empty() && none.unresolved.empty()));
}
