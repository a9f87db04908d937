// Acknowledged segment membership on both backends (built into test_store and test_store_pg): members recorded
// per (segment, connector), known ones picked out of a list with their membership row ids, counted, listed,
// forgotten when removed; recording a member twice keeps one row (its first added_at, the newer row id, the stored
// profile id when none is given); other segments and connectors are apart.
#include "tests/unit/daemon/store/store_fixture.hpp"

using namespace omnisync::store;
using namespace omnisync::store::testing;

TEST_CASE("store: acknowledged segment membership is recorded, queried and forgotten", "[store][segments]") {
  omnisync::test::temp_dir dir;
  manual_clock clock;
  auto s = open_ok(make_options(dir.path(), clock));

  ok(s->membership_record("vip", "hubspot", {{"101", "p1"}, {"102", "p2"}, {"103", "p3"}}, {}));
  ok(s->membership_record("vip", "salesforce", {{"003A", "p1", "00v1"}, {"003B", "p2", "00v2"}}, {}));
  ok(s->membership_record("churn", "hubspot", {{"101", "p1"}}, {}));
  ok(s->membership_record("vip", "hubspot", {{"101", "p9"}}, {}));  // again: still one row

  CHECK(ok(s->membership_size("vip", "hubspot")) == 3);
  CHECK(ok(s->membership_size("vip", "salesforce")) == 2);
  CHECK(ok(s->membership_size("vip", "zendesk")) == 0);
  auto known = ok(s->membership_known("vip", "hubspot", {"101", "104", "103"}));
  using known_rows = std::vector<std::pair<std::string, std::string>>;  // member id, row id
  CHECK(known == known_rows{{"101", ""}, {"103", ""}});                  // HubSpot lists have no row ids
  CHECK(ok(s->membership_known("churn", "hubspot", {"102"})).empty());
  CHECK(ok(s->membership_known("vip", "salesforce", {"003B", "003A", "003C"})) ==
        known_rows{{"003B", "00v2"}, {"003A", "00v1"}});
  // Acknowledged again: the newer row id (an empty one too: a recreated campaign's old rows are gone), the stored
  // profile id when the new acknowledgement names none (a member re-added to a recreated list).
  ok(s->membership_record("vip", "salesforce", {{"003A", "", "00v9"}, {"003B", "p2", ""}}, {}));
  CHECK(ok(s->membership_known("vip", "salesforce", {"003A", "003B"})) == known_rows{{"003A", "00v9"}, {"003B", ""}});
  CHECK(ok(s->membership_members("vip", "salesforce")) ==
        std::vector<std::pair<std::string, std::string>>{{"003A", "p1"}, {"003B", "p2"}});

  auto all = ok(s->membership_members("vip", "hubspot"));
  REQUIRE(all.size() == 3);
  CHECK(all[0] == std::pair<std::string, std::string>{"101", "p9"});  // the newer profile id
  CHECK(all[1].first == "102");

  ok(s->membership_record("vip", "hubspot", {{"104", "p4"}}, {"101", "102", "999"}));  // added and removed at once
  CHECK(ok(s->membership_members("vip", "hubspot")) ==
        std::vector<std::pair<std::string, std::string>>{{"103", "p3"}, {"104", "p4"}});
  CHECK(ok(s->membership_size("churn", "hubspot")) == 1);  // another segment is untouched
}
