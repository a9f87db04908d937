// The mapping test runner: fixture discovery, the field-level diff of a failing fixture, counts and exit codes.
#include <filesystem>
#include <sstream>

#include "helpers.hpp"
#include "mapping/test_runner.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnisync::mapping;

namespace {
const std::string k_mapping = testing::header() +
                              "  email: { from: Email, transform: [email] }\n"
                              "  first_name: FirstName\n"
                              "  tags: { from: Tags, type: string_list }\n"
                              "  lead_score: { from: Score, type: number, default: 0 }\n";
}  // namespace

TEST_CASE("diff_records names each differing field", "[mapping][test_runner]") {
  CHECK(diff_records(R"({"a":1,"b":{"c":"x"}})", R"({"b":{"c":"x"},"a":1.0})").empty());  // key order, 1 == 1.0
  const auto d = diff_records(R"({"email":"a@b.co","first_name":"Ann","tags":["x","y"],"external_ids":{"sf":"1"}})",
                              R"({"email":"A@b.co","tags":["x"],"external_ids":{"sf":"2"},"lead_score":0})");
  REQUIRE(d.size() == 5);
  CHECK(d[0].format() == R"(email: expected "a@b.co", got "A@b.co")");
  CHECK(d[1].format() == R"(external_ids.sf: expected "1", got "2")");
  CHECK(d[2].format() == R"(first_name: missing (expected "Ann"))");
  CHECK(d[3].format() == R"(tags[1]: missing (expected "y"))");
  CHECK(d[4].format() == "lead_score: unexpected 0");
  // a type change is a difference; null is a value
  CHECK(diff_records(R"({"a":"1"})", R"({"a":1})").size() == 1);
  CHECK(diff_records(R"({"a":null})", R"({})").front().format() == "a: missing (expected null)");
  // error lines compare as text, and against a record
  CHECK(diff_records("ERROR: m.yaml:5: email: bad", "ERROR: m.yaml:5: email: bad").empty());
  CHECK(diff_records("ERROR: m.yaml:5: email: bad", R"({"email":"x"})").front().format() ==
        R"(record: expected ERROR: m.yaml:5: email: bad, got {"email":"x"})");
}

TEST_CASE("a passing and a failing fixture: report, counts, exit code", "[mapping][test_runner]") {
  omnisync::test::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "salesforce");
  dir.write("salesforce/Contact.in.yaml", k_mapping);
  // the main fixture passes (one record, one error line)
  dir.write("salesforce/Contact.in.input.jsonl",
            "{\"Email\":\"A@B.CO\",\"FirstName\":\"Ann\",\"Score\":\"3\"}\n\n{\"Email\":\"nope\"}\n");
  dir.write("salesforce/Contact.in.expected.jsonl",
            "{\"first_name\":\"Ann\",\"email\":\"a@b.co\",\"lead_score\":3}\n"
            "ERROR: salesforce/Contact.in.yaml:5: email: transform email: not an e-mail address (source Email, "
            "value \"nope\")\n");
  // a second case of the same mapping fails on two fields of its second record
  dir.write("salesforce/Contact.in.tags.input.jsonl",
            "{\"Email\":\"c@d.eu\"}\n{\"Email\":\"e@f.eu\",\"Tags\":[\"a\",\"b\"]}\n");
  dir.write("salesforce/Contact.in.tags.expected.jsonl",
            "{\"email\":\"c@d.eu\",\"lead_score\":0}\n{\"email\":\"e@f.eu\",\"tags\":[\"a\",\"c\"],\"lead_score\":1}\n");

  map_test_options o;
  o.fixtures = dir.path();
  std::ostringstream out, err;
  map_test_summary sum;
  CHECK(run_map_tests(o, out, err, &sum) == 1);
  INFO(out.str() << err.str());
  CHECK(err.str().empty());
  CHECK(sum.fixtures_passed == 1);
  CHECK(sum.fixtures_failed == 1);
  CHECK(sum.records_passed == 3);
  CHECK(sum.records_failed == 1);
  CHECK(out.str() ==
        "FAIL salesforce/Contact.in.tags (salesforce/Contact.in.yaml): 1 of 2 records differ\n"
        "  record 2 (input line 2, expected line 2):\n"
        "    lead_score: expected 1, got 0\n"
        "    tags[1]: expected \"c\", got \"b\"\n"
        "1 passed, 1 failed (3 records matched, 1 differed)\n");

  // --update writes the actual output; then everything passes
  o.update = true;
  out.str("");
  CHECK(run_map_tests(o, out, err) == 0);
  o.update = false;
  o.verbose = true;
  out.str("");
  CHECK(run_map_tests(o, out, err) == 0);
  CHECK(out.str() ==
        "ok   salesforce/Contact.in (2 records)\n"
        "ok   salesforce/Contact.in.tags (2 records)\n"
        "2 passed, 0 failed (4 records matched, 0 differed)\n");
}

TEST_CASE("test runner: missing pieces and bad mappings", "[mapping][test_runner]") {
  omnisync::test::temp_dir dir;
  map_test_options o;
  std::ostringstream out, err;

  o.fixtures = dir.path() / "nowhere";
  CHECK(run_map_tests(o, out, err) == 66);
  o.fixtures = dir.path();
  CHECK(run_map_tests(o, out, err) == 66);  // no fixture at all

  // more expected lines than input records, and a fixture without an expected file
  dir.write("Contact.in.yaml", k_mapping);
  dir.write("Contact.in.input.jsonl", "{\"Email\":\"a@b.co\"}\n");
  dir.write("Contact.in.expected.jsonl", "{\"email\":\"a@b.co\",\"lead_score\":0}\n{\"email\":\"x@y.z\"}\n");
  dir.write("Lead.in.yaml", k_mapping);
  dir.write("Lead.in.input.jsonl", "{}\n");
  out.str("");
  CHECK(run_map_tests(o, out, err) == 1);
  CHECK(out.str().find("FAIL Contact.in (Contact.in.yaml): 1 of 2 records differ\n"
                       "  expected line 2: no input record for it\n") != std::string::npos);
  CHECK(out.str().find("FAIL Lead.in: no expected output") != std::string::npos);

  // a mapping without a fixture fails only under require_fixtures
  std::filesystem::remove(dir.path() / "Lead.in.input.jsonl");
  dir.write("Contact.in.expected.jsonl", "{\"email\":\"a@b.co\",\"lead_score\":0}\n");
  CHECK(run_map_tests(o, out, err) == 0);
  o.require_fixtures = true;
  out.str("");
  map_test_summary sum;
  CHECK(run_map_tests(o, out, err, &sum) == 1);
  CHECK(sum.untested == std::vector<std::string>{"Lead.in.yaml"});
  CHECK(out.str() == "FAIL Lead.in.yaml: no fixture\n1 passed, 1 failed (1 records matched, 0 differed)\n");

  // a fixture whose mapping does not compile: 78, diagnostics on err
  o.require_fixtures = false;
  dir.write("Contact.in.yaml", testing::header() + "  email: { from: Email, transform: [lowr] }\n");
  err.str("");
  CHECK(run_map_tests(o, out, err) == 78);
  CHECK(err.str().find("unknown transform \"lowr\"") != std::string::npos);

  // a fixture with no mapping beside it
  dir.write("Contact.in.yaml", k_mapping);
  dir.write("Orphan.in.input.jsonl", "{}\n");
  err.str("");
  CHECK(run_map_tests(o, out, err) == 1);
  CHECK(err.str().find("Orphan.in.input.jsonl: no mapping Orphan.in.yaml") != std::string::npos);
}
