// core/json_text.hpp: JSON as people and scripts read it — numbers plainly, everything else as Boost.JSON writes.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "core/json_text.hpp"

using omnisync::to_json_text;
namespace json = boost::json;

TEST_CASE("to_json_text writes numbers plainly", "[core][json]") {
  CHECK(to_json_text(json::value(1.017064645)) == "1.017064645");
  CHECK(to_json_text(json::value(1.02)) == "1.02");
  CHECK(to_json_text(json::value(0.0)) == "0");
  CHECK(to_json_text(json::value(73.0)) == "73");
  CHECK(to_json_text(json::value(-0.5)) == "-0.5");
  CHECK(to_json_text(json::value(1e300)) == "1e+300");
  CHECK(to_json_text(json::value(std::numeric_limits<double>::infinity())) == "null");
  const json::value v = json::parse(R"({"a":[1,2.5,"x\"y",null,true],"b":{"c":0.1,"d":-7}})");
  CHECK(to_json_text(v) == R"({"a":[1,2.5,"x\"y",null,true],"b":{"c":0.1,"d":-7}})");
  CHECK(json::parse(to_json_text(v)) == v);  // reads back to the same values
}
