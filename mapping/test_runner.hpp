#pragma once
/// The mapping test runner (`omnisyncctl map --test DIR`, `omnisync-map --test DIR`): fixtures of input records
/// with the expected output, kept next to a mapping, run through the mapping and compared field by field.
///
/// Fixture layout (docs/mapping-language.md, "Testing mappings"): for a mapping `<rel>/<name>.yaml` under the
/// mappings directory, `<rel>/<name>.input.jsonl` and `<rel>/<name>.expected.jsonl` under the fixtures directory
/// (the same directory unless `mappings` is given), and optionally more cases as
/// `<rel>/<name>.<case>.input.jsonl` + `.expected.jsonl`. Line N of the expected file is what line N of the input
/// maps to: a JSON object (compared JSON-equal, key order ignored) or `ERROR: <the record's error>` (compared as
/// text). Blank lines are skipped in both.
///
/// Pure functions over files; no shared state, callable from any thread.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::mapping {

struct map_test_options {
  std::filesystem::path fixtures;     ///< the directory searched (recursively) for `*.input.jsonl`
  std::filesystem::path mappings;     ///< where the mappings are; empty = `fixtures` (fixtures beside mappings)
  std::filesystem::path config_file;  ///< optional omnisync.yaml whose `canonical:` is used; empty = default set
  /// Every mapping under `mappings` must have at least one fixture; one without fails the run.
  bool require_fixtures = false;
  /// Writes each fixture's actual output as its expected file instead of comparing (review the diff after).
  bool update = false;
  bool verbose = false;  ///< also print a line for each fixture that passes
};

struct map_test_summary {
  int fixtures_passed = 0, fixtures_failed = 0;
  std::uint64_t records_passed = 0, records_failed = 0;
  std::vector<std::string> untested;  ///< mappings without a fixture (relative to `mappings`)
  bool bad_mapping = false;           ///< a mapping did not compile (its fixtures count as failed)
};

/// One field-level difference between an expected and an actual mapped record.
struct field_diff {
  std::string path;      ///< dotted path of the field ("external_ids.hubspot", "_events[0].amount"); "" = the record
  std::string expected;  ///< JSON text, or empty when the field is absent from the expected record
  std::string actual;    ///< JSON text, or empty when the mapping did not produce the field
  /// "email: expected "a@b.co", got "A@b.co"" / "tags: missing (expected [...])" / "score: unexpected 3"
  std::string format() const;
};

/// Compares one expected line with one actual line (each a JSON object or `ERROR: ...` text); empty when they
/// agree. Objects are compared JSON-equal, descending into nested objects and arrays so each difference names
/// its field; numbers compare by value (`1` equals `1.0`).
std::vector<field_diff> diff_records(std::string_view expected, std::string_view actual);

/// Runs every fixture; prints a readable report on `out` (a FAIL block with each differing record and field, then
/// the counts) and problems with the files on `err`. Exit codes: 0 every fixture passed, 1 some failed (or a
/// mapping has no fixture under `require_fixtures`), 66 the fixtures directory is missing or holds no fixture,
/// 78 a mapping did not compile (its diagnostics on `err`).
int run_map_tests(const map_test_options& opts, std::ostream& out, std::ostream& err,
                  map_test_summary* summary = nullptr);
/// Same, on stdout/stderr.
int run_map_tests(const map_test_options& opts);

}  // namespace omnisync::mapping
