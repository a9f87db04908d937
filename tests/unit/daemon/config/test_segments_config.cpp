// `segments:` in omnisync.yaml: definitions compiled with the config, errors inside an expression located at
// their exact line and column (plain, quoted and block scalars), holdout / sync checks, and a reload refused when
// a segment names an attribute the new config removed.
#include <catch2/catch.hpp>

#include "daemon/config/loader.hpp"
#include "daemon/segments/segment_set.hpp"
#include "tests/support/temp_dir.hpp"

using omnisync::app::load_daemon_config;
using omnisync::test::temp_dir;

namespace {

struct loaded_segments {
  temp_dir dir;
  omnisync::app::loaded_config result;
  std::string file, text;
  explicit loaded_segments(const std::string& yaml) {
    file = dir.write("omnisync.yaml", yaml).string();
    result = load_daemon_config(file, {});
    text = result.problems.format();
  }
  bool has(int line, int col, const std::string& path, const std::string& message) const {
    for (const auto& d : result.problems.items())
      if (d.where.line == line && d.where.column == col && d.path == path && d.message.find(message) != std::string::npos)
        return true;
    return false;
  }
};

}  // namespace

TEST_CASE("segments config: definitions compile with the config", "[config][segments]") {
  loaded_segments l(
      "segments:\n"
      "  churn_risk:\n"
      "    description: open tickets, no recent deal\n"
      "    where: |\n"
      "      count(events, e.type == \"ticket\" && e.status != \"solved\", within: 30d) >= 1\n"
      "      && none(events, e.type == \"deal_won\", within: 90d)\n"
      "    holdout: 10%\n"
      "  gold: { where: \"kpi.lifetime_value >= 5000\", priority_group: tier }\n"
      "  silver: { where: kpi.lifetime_value >= 500, priority_group: tier }\n");
  INFO(l.text);
  REQUIRE(l.result.ok());
  REQUIRE(l.result.segments);
  const auto& set = *l.result.segments;
  REQUIRE(set.segments().size() == 3);
  const auto& churn = set.segments()[static_cast<std::size_t>(*set.index_of("churn_risk"))];
  CHECK(churn.def.holdout_percent == 10);
  CHECK(set.segments()[static_cast<std::size_t>(*set.index_of("silver"))].def.priority_group == "tier");
}

TEST_CASE("segments config: an unknown name is located inside the expression", "[config][segments]") {
  SECTION("plain scalar") {
    loaded_segments l("segments:\n  a:\n    where: kpi.nps >= 9 && emial == \"x\"\n");
    INFO(l.text);
    CHECK(l.has(3, 28, "segments.a.where", "unknown attribute \"emial\" (did you mean \"email\"?)"));
    CHECK_FALSE(l.result.ok());
  }
  SECTION("quoted scalar") {
    loaded_segments l("segments:\n  a:\n    where: \"kpi.lifetime_valeu > 3\"\n");
    INFO(l.text);
    CHECK(l.has(3, 13, "segments.a.where", "unknown KPI \"lifetime_valeu\" (did you mean \"lifetime_value\"?)"));
  }
  SECTION("literal block, second line") {
    loaded_segments l("segments:\n  a:\n    where: |\n      stage == \"purchase\"\n        && any(events, e.type == \"tiket\")\n");
    INFO(l.text);
    CHECK(l.has(5, 34, "segments.a.where", "unknown event type \"tiket\" (did you mean \"ticket\"?)"));
  }
  SECTION("folded block, second line") {
    loaded_segments l("segments:\n  a:\n    where: >-\n      stage == \"purchase\" &&\n      stage == \"purchse\"\n");
    INFO(l.text);
    CHECK(l.has(5, 16, "segments.a.where", "unknown stage \"purchse\" (did you mean \"purchase\"?)"));
  }
}

TEST_CASE("segments config: keys, holdout, sync destinations and cycles are checked", "[config][segments]") {
  loaded_segments l(
      "connectors:\n"
      "  zd: { kind: zendesk, enabled: false, subdomain: acme }\n"
      "segments:\n"
      "  Bad Key: { where: \"true\" }\n"
      "  a:\n"
      "    where: member_of(\"b\")\n"
      "    holdout: 150%\n"
      "    sync: [{ connector: hubspott, list: x }, { connector: zd, list: y }]\n"
      "    colour: red\n"
      "  b: { where: member_of(\"a\") }\n");
  INFO(l.text);
  CHECK_FALSE(l.result.ok());
  CHECK(l.has(4, 3, "segments.Bad Key", "a segment key is 1 to 64 of a-z"));
  CHECK(l.has(7, 14, "segments.a.holdout", "expected a share of profiles from 0% to 99%"));
  CHECK(l.text.find("segments.a.sync[0].connector: no connector named \"hubspott\"") != std::string::npos);
  CHECK(l.text.find("segments.a.sync[1].connector: segment membership can be kept in hubspot, activecampaign or "
                    "salesforce connectors, not zendesk") != std::string::npos);
  CHECK(l.has(9, 5, "segments.a.colour", "unknown key \"colour\""));
}

TEST_CASE("segments config: member_of cycles name the cycle", "[config][segments]") {
  loaded_segments l("segments:\n  a: { where: member_of(\"b\") }\n  b: { where: member_of(\"a\") }\n");
  INFO(l.text);
  CHECK(l.text.find("member_of forms a cycle: a -> b -> a") != std::string::npos);
}

TEST_CASE("segments config: a reload that removes an attribute a segment reads is refused", "[config][segments]") {
  temp_dir d;
  d.write("mappings/.keep", "");
  const std::string segments = "segments:\n  pro:\n    where: plan == \"pro\" && kpi.order_count >= 1\n";
  auto file = d.write("omnisync.yaml", "canonical:\n  email: string\n  plan: string\n" + segments);
  auto before = load_daemon_config(file, {});
  INFO(before.problems.format());
  REQUIRE(before.ok());
  // The new file drops `plan`: the config is refused (a reload keeps the old one), with the segment's place.
  d.write("omnisync.yaml", "canonical:\n  email: string\n" + segments);
  auto after = load_daemon_config(file, {});
  CHECK_FALSE(after.ok());
  const auto text = after.problems.format();
  INFO(text);
  CHECK(text.find("omnisync.yaml:5:12: segments.pro.where: unknown attribute \"plan\"") != std::string::npos);
}
