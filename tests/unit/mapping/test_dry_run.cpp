#include <sstream>

#include "helpers.hpp"
#include "mapping/dry_run.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnisync::mapping;

TEST_CASE("dry run: exit codes 0, 1, 65, 66, 78 and the output streams", "[mapping][dry_run]") {
  omnisync::test::temp_dir dir;
  const auto mapping = dir.write("Contact.in.yaml", testing::header() + "  email: { from: Email, transform: [email] }\n");
  map_command_options o;
  o.mapping = mapping;
  std::ostringstream out, err;

  o.input = dir.write("good.jsonl", "{\"Email\":\"A@B.CO\"}\n\n{\"Email\":\"c@d.eu\"}");  // no final newline
  CHECK(run_map_command(o, out, err) == 0);
  CHECK(out.str() == "{\"email\":\"a@b.co\"}\n{\"email\":\"c@d.eu\"}\n");
  CHECK(err.str().empty());

  out.str("");
  o.input = dir.write("some_bad.jsonl", "{\"Email\":\"nope\"}\r\n{\"Email\":\"x@y.io\"}\n");
  CHECK(run_map_command(o, out, err) == 1);
  CHECK(out.str() == "{\"email\":\"x@y.io\"}\n");
  CHECK(err.str().find("line 1: " + mapping.string() + ":5: email: transform email: not an e-mail address") != std::string::npos);

  out.str("");
  err.str("");
  o.input = dir.write("not_json.jsonl", "{\"Email\":\"x@y.io\"}\nthis is not json\n");
  CHECK(run_map_command(o, out, err) == 65);
  CHECK(out.str() == "{\"email\":\"x@y.io\"}\n");
  CHECK(err.str().find("line 2: bad input: ") != std::string::npos);

  o.input = dir.path() / "missing.jsonl";
  CHECK(run_map_command(o, out, err) == 66);

  err.str("");
  o.mapping = dir.write("bad.yaml", testing::header() + "  email: { from: Email, transform: [lowr] }\n");
  o.input = dir.write("one.jsonl", "{}\n");
  CHECK(run_map_command(o, out, err) == 78);
  CHECK(err.str().find("bad.yaml:5:37: fields.email.transform[0]: unknown transform \"lowr\" (did you mean \"lower\"?)") !=
        std::string::npos);
}

TEST_CASE("dry run streams lines longer than its read buffer", "[mapping][dry_run]") {
  omnisync::test::temp_dir dir;
  map_command_options o;
  o.mapping = dir.write("m.yaml", testing::header() + "  first_name: F\n");
  const std::string big(3 << 20, 'y');
  std::string input;
  for (int n = 0; n < 3; ++n) input += "{\"F\":\"" + big + "\"}\n";
  o.input = dir.write("big.jsonl", input);
  std::ostringstream out, err;
  CHECK(run_map_command(o, out, err) == 0);
  CHECK(out.str().size() == 3 * (big.size() + 18));
}

TEST_CASE("dry run reads canonical attributes from omnisync.yaml", "[mapping][dry_run]") {
  omnisync::test::temp_dir dir;
  map_command_options o;
  o.config_file = dir.write("omnisync.yaml", "canonical:\n  - { name: shoe_size, type: integer }\n");
  o.mapping = dir.write("m.yaml", testing::header() + "  shoe_size: S\n");
  o.input = dir.write("in.jsonl", "{\"S\":\"42\"}\n");
  std::ostringstream out, err;
  CHECK(run_map_command(o, out, err) == 0);
  CHECK(out.str() == "{\"shoe_size\":42}\n");
  o.mapping = dir.write("m2.yaml", testing::header() + "  email: E\n");
  CHECK(run_map_command(o, out, err) == 78);
}

TEST_CASE("omnisync-map: stdin, usage errors exit 2", "[mapping][dry_run]") {
  omnisync::test::temp_dir dir;
  const auto mapping = dir.write("m.yaml", testing::header() + "  email: { from: E, transform: [trim, lower] }\n");
  const std::string prog = omnisync::test::binary("omnisync-map");
  auto ok = omnisync::test::run({prog, "--mapping", mapping.string()}, "{\"E\":\" A@B.C \"}\n{\"E\":null}\n");
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "{\"email\":\"a@b.c\"}\n{\"email\":null}\n");
  auto usage = omnisync::test::run({prog, "--bogus"});
  CHECK(usage.exit_code == 2);
  auto no_mapping = omnisync::test::run({prog});
  CHECK(no_mapping.exit_code == 2);
}

TEST_CASE("load_mapping_dir checks file names against system/object/direction", "[mapping][dry_run]") {
  omnisync::test::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "salesforce");
  dir.write("salesforce/Contact.in.yaml", testing::header() + "  email: E\n");
  dir.write("salesforce/Lead.in.yaml", testing::header() + "  email: E\n");           // says object: Contact
  dir.write("salesforce/Contact.out.yaml", testing::header() + "  emial: E\n");       // compile error
  omnisync::config::diagnostics d;
  auto plans = load_mapping_dir(dir.path(), default_canonical_attributes(), d);
  CHECK(plans.size() == 1);
  const std::string all = d.format();
  CHECK_THAT(all, Catch::Matchers::Contains("Lead.in.yaml: file name must be salesforce/Contact.in.yaml"));
  CHECK_THAT(all, Catch::Matchers::Contains("Contact.out.yaml:5:3: fields.emial: unknown canonical attribute"));
}
