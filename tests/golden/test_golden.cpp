// Golden tests: each shipped mapping config/mappings/<kind>/<Object>.<in|out>.yaml is applied to
// tests/golden/<kind>/<Object>.<in|out>.input.jsonl by the mapping test runner and must give .expected.jsonl (one
// mapped record, JSON-equal, or "ERROR: <per-record error>" per input line). A shipped mapping without a golden
// pair fails.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"
#include "mapping/test_runner.hpp"

namespace fs = std::filesystem;
using namespace omnisync::mapping;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("every shipped mapping matches its golden output", "[mapping][golden]") {
  // The goldens run through the mapping test runner (`omnisyncctl map --test`), the fixtures apart from the
  // mappings: every shipped mapping must have a fixture, and every fixture must match field for field.
  const fs::path root = OMNISYNC_SOURCE_DIR;
  const fs::path mappings = root / "config" / "mappings";
  const fs::path golden = root / "tests" / "golden";

  // The whole directory also loads as a set (file names agree with system/object/direction).
  omnisync::config::diagnostics all;
  auto plans = load_mapping_dir(mappings, default_canonical_attributes(), all);
  INFO(all.format());
  CHECK(all.empty());
  CHECK(plans.size() >= 17);

  map_test_options o;
  o.fixtures = golden;
  o.mappings = mappings;
  o.require_fixtures = true;
  o.update = std::getenv("OMNISYNC_UPDATE_GOLDEN") != nullptr;
  std::ostringstream out, err;
  map_test_summary sum;
  const int code = run_map_tests(o, out, err, &sum);
  INFO(out.str() << err.str());
  CHECK(code == 0);
  CHECK(sum.untested.empty());
  CHECK(sum.fixtures_failed == 0);
  CHECK(sum.fixtures_passed == static_cast<int>(plans.size()));
  CHECK(sum.records_passed >= 40);
}

namespace {

namespace bj = boost::json;

/// Every string in `v` replaced by "" (what HubSpot sends for an empty property), except the values of keys in
/// `keep` (record ids: without them a record cannot be mapped at all, as it should not be).
void blank_strings(bj::value& v, const std::vector<std::string>& keep, const std::string& key = "") {
  if (v.is_string()) {
    if (std::find(keep.begin(), keep.end(), key) == keep.end()) v = "";
  } else if (v.is_object()) {
    for (auto& [k, x] : v.as_object()) blank_strings(x, keep, std::string(k));
  } else if (v.is_array()) {
    for (auto& x : v.as_array()) blank_strings(x, keep, key);
  }
}

/// Whether the mapped record holds an empty string anywhere.
bool holds_empty_string(const bj::value& v) {
  if (v.is_string()) return v.as_string().empty();
  if (v.is_object())
    for (const auto& [k, x] : v.as_object())
      if (holds_empty_string(x)) return true;
  if (v.is_array())
    for (const auto& x : v.as_array())
      if (holds_empty_string(x)) return true;
  return false;
}

}  // namespace

TEST_CASE("every shipped mapping reads HubSpot-style empty strings as no value", "[mapping][golden][empty]") {
  // The golden inputs with every string value "" (ids kept, then blanked too): no record goes to quarantine for
  // an empty value — typed and defaulted fields take no value or their default — and no mapped record, identity
  // key or event holds "". Only a required id that is itself "" fails the record, as a missing one does.
  const fs::path root = OMNISYNC_SOURCE_DIR;
  const fs::path mappings = root / "config" / "mappings";
  const fs::path golden = root / "tests" / "golden";
  int files = 0, records = 0;
  for (const auto& e : fs::recursive_directory_iterator(mappings)) {
    if (!e.is_regular_file() || e.path().extension() != ".yaml") continue;
    const std::string rel = fs::relative(e.path(), mappings).string();
    if (rel.find(".in.") == std::string::npos) continue;  // outbound sources are golden values, never vendor ""
    ++files;
    omnisync::config::diagnostics d;
    auto p = compile_mapping(slurp(e.path()), rel, default_canonical_attributes(), d);
    REQUIRE(p != nullptr);
    evaluator ev(p);
    const fs::path input = (golden / fs::relative(e.path(), mappings).replace_extension()).string() + ".input.jsonl";
    std::istringstream lines(slurp(input));
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      for (const bool keep_ids : {true, false}) {
        bj::value rec = bj::parse(line);
        blank_strings(rec, keep_ids ? std::vector<std::string>{"id", "Id", "ticket_id", "contact"} : std::vector<std::string>{});
        const std::string blanked = bj::serialize(rec);
        INFO(rel << ": " << blanked);
        ++records;
        record_error err;
        const mapped_record* r = ev.apply(blanked, err);
        if (!r) {
          INFO(err.format());
          CHECK(err.rule == "required: no value");
          continue;
        }
        const std::string out = r->to_json(*p);
        INFO(out);
        CHECK_FALSE(holds_empty_string(bj::parse(out)));
        for (const auto& [attr, v] : r->identity_keys(*p)) CHECK_FALSE((v->k == value::kind::string && v->s.empty()));
      }
    }
  }
  CHECK(files >= 14);
  CHECK(records > 50);
}
