// Golden tests: each shipped mapping config/mappings/<kind>/<Object>.<in|out>.yaml is applied to
// tests/golden/<kind>/<Object>.<in|out>.input.jsonl and must give exactly .expected.jsonl (one mapped record or
// "ERROR: <per-record error>" per input line). A shipped mapping without a golden pair fails.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

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
  const fs::path root = OMNISYNC_SOURCE_DIR;
  const fs::path mappings = root / "config" / "mappings";
  const fs::path golden = root / "tests" / "golden";
  const bool update = std::getenv("OMNISYNC_UPDATE_GOLDEN") != nullptr;
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(mappings))
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 17);

  // The whole directory also loads as a set (file names agree with system/object/direction).
  omnisync::config::diagnostics all;
  auto plans = load_mapping_dir(mappings, default_canonical_attributes(), all);
  INFO(all.format());
  CHECK(all.empty());
  CHECK(plans.size() == files.size());

  for (const auto& file : files) {
    const std::string rel = fs::relative(file, mappings).string();  // e.g. salesforce/Contact.in.yaml
    DYNAMIC_SECTION(rel) {
      omnisync::config::diagnostics d;
      auto p = compile_mapping(slurp(file), rel, default_canonical_attributes(), d);
      INFO(d.format());
      REQUIRE(p != nullptr);
      const fs::path base = golden / fs::relative(file, mappings).replace_extension();
      const fs::path input = base.string() + ".input.jsonl", expected = base.string() + ".expected.jsonl";
      INFO("golden input " << input);
      REQUIRE(fs::exists(input));
      evaluator ev(p);
      std::istringstream lines(slurp(input));
      std::string line, actual;
      int count = 0;
      while (std::getline(lines, line)) {
        if (line.empty()) continue;
        ++count;
        record_error err;
        const mapped_record* r = ev.apply(line, err);
        actual += r ? r->to_json(*p) : "ERROR: " + err.format();
        actual += '\n';
      }
      CHECK(count >= 1);
      if (update) {
        std::ofstream(expected, std::ios::binary) << actual;
      }
      REQUIRE(fs::exists(expected));
      CHECK(actual == slurp(expected));
    }
  }
}
