// profile list/search filters: the --where / --kpi syntax (and its errors) and matching canonical records.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "daemon/profile/profile_filter.hpp"

using namespace omnisync::profile;
namespace json = boost::json;

namespace {

json::object ann() {
  return json::parse(R"({"_profile_id":"p00000000000000a1","email":"ann@acme.com","first_name":"Ann",
    "last_name":"Kowalski","tags":["vip","pilot"],"external_ids":{"salesforce":"003A","hubspot":"151"},
    "lead_score":35,"phone":null,"lifecycle_stage":"purchase","lifetime_value":1500.5,"order_count":2,
    "csat_average":null,"consent":true})").as_object();
}

bool where(const std::string& expr) {
  std::string err;
  auto c = parse_where(expr, err);
  INFO(expr << ": " << err);
  REQUIRE(c);
  profile_filter f;
  f.where.push_back(*c);
  return f.matches(ann());
}

bool kpi(const std::string& expr) {
  std::string err;
  auto c = parse_kpi(expr, err);
  INFO(expr << ": " << err);
  REQUIRE(c);
  profile_filter f;
  f.kpis.push_back(*c);
  return f.matches(ann());
}

}  // namespace

TEST_CASE("where filters: equality, contains, exists, on nested attributes and lists", "[profile][filter]") {
  CHECK(where("email=ann@acme.com"));
  CHECK(where("email=ANN@ACME.COM"));  // ASCII case ignored
  CHECK_FALSE(where("email=ann@acme.co"));
  CHECK(where("email!=bob@acme.com"));
  CHECK_FALSE(where("email!=ann@acme.com"));
  CHECK(where("email~@Acme.com"));
  CHECK_FALSE(where("email~@other"));
  CHECK(where("last_name~owal"));
  CHECK(where("external_ids.hubspot=151"));
  CHECK(where("external_ids.salesforce?"));
  CHECK(where("!external_ids.zendesk?"));
  CHECK_FALSE(where("external_ids.zendesk?"));
  CHECK(where("tags=vip"));   // a list equals an item it holds
  CHECK(where("tags~pil"));
  CHECK_FALSE(where("tags=gold"));
  CHECK(where("lead_score=35"));
  CHECK(where("lead_score=35.0"));  // numbers by value
  CHECK(where("lead_score~3"));     // contains on a number's text
  CHECK(where("consent=true"));
  CHECK(where("!phone?"));          // null has no value
  CHECK(where("phone=null"));
  CHECK(where("company!=Acme"));    // a profile without the attribute is "not equal"
  CHECK(where("  email = ann@acme.com "));  // spaces around the parts
}

TEST_CASE("kpi filters: ranges, a KPI with no value never matches", "[profile][filter]") {
  CHECK(kpi("lifetime_value>=1000"));
  CHECK(kpi("lifetime_value>1500"));
  CHECK_FALSE(kpi("lifetime_value<1500"));
  CHECK(kpi("lifetime_value<=1500.5"));
  CHECK(kpi("order_count=2"));
  CHECK(kpi("order_count==2"));
  CHECK(kpi("order_count!=3"));
  CHECK_FALSE(kpi("csat_average>=0"));
  CHECK_FALSE(kpi("csat_average<1"));
  CHECK_FALSE(kpi("nps>=0"));  // absent
}

TEST_CASE("stage and free text", "[profile][filter]") {
  profile_filter f;
  f.stage = "purchase";
  CHECK(f.matches(ann()));
  f.stage = "awareness";
  CHECK_FALSE(f.matches(ann()));
  f.stage.clear();
  f.text = "KOWAL";
  CHECK(f.matches(ann()));
  f.text = "a1";  // the profile id is text too
  CHECK(f.matches(ann()));
  f.text = "1500";  // numbers are not searched as text (search looks for words, not amounts)
  CHECK_FALSE(f.matches(ann()));
  CHECK(profile_filter{}.matches(ann()));
}

TEST_CASE("bad --where and --kpi syntax: one sentence naming the forms", "[profile][filter]") {
  std::string err;
  CHECK_FALSE(parse_where("email", err));
  CHECK(err == "--where \"email\": expected ATTR=VALUE, ATTR!=VALUE, ATTR~TEXT (contains), ATTR? (has a value) or "
               "!ATTR? (has none)");
  CHECK_FALSE(parse_where("=x", err));
  CHECK(err.find("no attribute name") != std::string::npos);
  CHECK_FALSE(parse_where("email~", err));
  CHECK(err.find("nothing to look for") != std::string::npos);
  CHECK_FALSE(parse_where("e mail=x", err));
  CHECK(err.find("is not an attribute name") != std::string::npos);
  CHECK_FALSE(parse_where("email!x", err));
  CHECK_FALSE(parse_where("?", err));

  CHECK_FALSE(parse_kpi("lifetime_value", err));
  CHECK(err.find("expected NAME>=N") != std::string::npos);
  CHECK_FALSE(parse_kpi("lifetime_valu>=3", err));
  CHECK(err.find("unknown KPI \"lifetime_valu\" (did you mean \"lifetime_value\"?)") != std::string::npos);
  CHECK_FALSE(parse_kpi("nps>=high", err));
  CHECK(err.find("\"high\" is not a number") != std::string::npos);
  CHECK_FALSE(parse_kpi("nps=>3", err));
}
