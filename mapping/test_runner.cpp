#include "mapping/test_runner.hpp"

#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace fs = std::filesystem;

namespace omnisync::mapping {

namespace {

constexpr std::string_view k_input_suffix = ".input.jsonl";
constexpr std::string_view k_expected_suffix = ".expected.jsonl";
constexpr std::string_view k_error_prefix = "ERROR: ";

std::string text_of(simdjson::dom::element e) { return simdjson::minify(e); }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool is_number(simdjson::dom::element_type t) {
  using et = simdjson::dom::element_type;
  return t == et::INT64 || t == et::UINT64 || t == et::DOUBLE;
}

double number_of(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64: return static_cast<double>(int64_t(e));
    case simdjson::dom::element_type::UINT64: return static_cast<double>(uint64_t(e));
    default: return double(e);
  }
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

/// Appends the differences between two JSON values at `path`.
void diff_values(const std::string& path, simdjson::dom::element exp, simdjson::dom::element act,
                 std::vector<field_diff>& out) {
  using et = simdjson::dom::element_type;
  const et te = exp.type(), ta = act.type();
  if (te == et::OBJECT && ta == et::OBJECT) {
    std::map<std::string_view, simdjson::dom::element> e, a;
    for (auto [k, v] : simdjson::dom::object(exp)) e.emplace(k, v);
    for (auto [k, v] : simdjson::dom::object(act)) a.emplace(k, v);
    for (const auto& [k, v] : e) {
      auto it = a.find(k);
      if (it == a.end())
        out.push_back({join(path, k), text_of(v), ""});
      else
        diff_values(join(path, k), v, it->second, out);
    }
    for (const auto& [k, v] : a)
      if (!e.count(k)) out.push_back({join(path, k), "", text_of(v)});
    return;
  }
  if (te == et::ARRAY && ta == et::ARRAY) {
    std::vector<simdjson::dom::element> e, a;
    for (auto v : simdjson::dom::array(exp)) e.push_back(v);
    for (auto v : simdjson::dom::array(act)) a.push_back(v);
    for (std::size_t i = 0; i < std::max(e.size(), a.size()); ++i) {
      const std::string p = path + "[" + std::to_string(i) + "]";
      if (i >= a.size())
        out.push_back({p, text_of(e[i]), ""});
      else if (i >= e.size())
        out.push_back({p, "", text_of(a[i])});
      else
        diff_values(p, e[i], a[i], out);
    }
    return;
  }
  if (is_number(te) && is_number(ta)) {
    if (number_of(exp) != number_of(act)) out.push_back({path, text_of(exp), text_of(act)});
    return;
  }
  if (te != ta || text_of(exp) != text_of(act)) out.push_back({path, text_of(exp), text_of(act)});
}

std::string slurp(const fs::path& p, bool& ok) {
  std::ifstream in(p, std::ios::binary);
  ok = static_cast<bool>(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The non-blank lines of `text`, each with its 1-based line number.
std::vector<std::pair<int, std::string>> lines_of(const std::string& text) {
  std::vector<std::pair<int, std::string>> out;
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const auto t = trim(line);
    if (!t.empty()) out.emplace_back(n, std::string(t));
  }
  return out;
}

/// One fixture: its input file and the mapping it tests (relative to the mappings directory).
struct fixture {
  std::string name;  ///< relative input path without `.input.jsonl`, e.g. "hubspot/contacts.in"
  fs::path input, expected;
  fs::path mapping;         ///< absolute
  std::string mapping_rel;  ///< e.g. "hubspot/contacts.in.yaml": how error lines name it
};

/// The mapping a fixture named `<rel>/<name>[.<case>]` tests: `<rel>/<name>.yaml`, or with the last dotted part
/// (the case name) left out.
std::optional<std::string> mapping_of(const std::string& name, const fs::path& mappings) {
  if (fs::is_regular_file(mappings / (name + ".yaml"))) return name + ".yaml";
  const auto slash = name.rfind('/');
  const auto dot = name.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash) &&
      fs::is_regular_file(mappings / (name.substr(0, dot) + ".yaml")))
    return name.substr(0, dot) + ".yaml";
  return std::nullopt;
}

/// Maps every input line; the actual output lines ("ERROR: ..." for a record that fails).
std::vector<std::string> actual_lines(const std::shared_ptr<const plan>& p,
                                      const std::vector<std::pair<int, std::string>>& inputs) {
  evaluator ev(p);
  std::vector<std::string> out;
  out.reserve(inputs.size());
  for (const auto& [n, line] : inputs) {
    record_error err;
    const mapped_record* r = ev.apply(line, err);
    out.push_back(r ? r->to_json(*p) : std::string(k_error_prefix) + err.format());
  }
  return out;
}

}  // namespace

std::string field_diff::format() const {
  const std::string where = path.empty() ? "record" : path;
  if (expected.empty()) return where + ": unexpected " + actual;
  if (actual.empty()) return where + ": missing (expected " + expected + ")";
  return where + ": expected " + expected + ", got " + actual;
}

std::vector<field_diff> diff_records(std::string_view expected, std::string_view actual) {
  expected = trim(expected);
  actual = trim(actual);
  std::vector<field_diff> out;
  const bool exp_error = expected.substr(0, k_error_prefix.size()) == k_error_prefix;
  const bool act_error = actual.substr(0, k_error_prefix.size()) == k_error_prefix;
  if (exp_error || act_error) {
    if (expected != actual) out.push_back({"", std::string(expected), std::string(actual)});
    return out;
  }
  simdjson::dom::parser pe, pa;
  auto e = pe.parse(simdjson::padded_string(expected));
  auto a = pa.parse(simdjson::padded_string(actual));
  if (e.error() || a.error()) {
    if (expected != actual)
      out.push_back({"", e.error() ? "(not JSON) " + std::string(expected) : std::string(expected),
                     a.error() ? "(not JSON) " + std::string(actual) : std::string(actual)});
    return out;
  }
  diff_values("", e.value(), a.value(), out);
  return out;
}

int run_map_tests(const map_test_options& opts, std::ostream& out, std::ostream& err, map_test_summary* summary) {
  map_test_summary local;
  map_test_summary& sum = summary ? *summary : local;
  const fs::path mappings = opts.mappings.empty() ? opts.fixtures : opts.mappings;
  std::error_code ec;
  if (!fs::is_directory(opts.fixtures, ec)) {
    err << opts.fixtures.string() << ": not a directory\n";
    return 66;
  }
  if (!fs::is_directory(mappings, ec)) {
    err << mappings.string() << ": not a directory\n";
    return 66;
  }
  config::diagnostics diags;
  const std::vector<config::attribute_decl> canonical =
      opts.config_file.empty() ? default_canonical_attributes() : read_canonical_attributes(opts.config_file, diags);
  if (!diags.empty()) {
    err << diags.format();
    return 78;
  }

  std::vector<fixture> fixtures;
  int exit = 0;
  for (const auto& e : fs::recursive_directory_iterator(opts.fixtures)) {
    const std::string file = e.path().filename().string();
    if (!e.is_regular_file() || !ends_with(file, k_input_suffix)) continue;
    fixture f;
    f.name = fs::relative(e.path(), opts.fixtures).generic_string();
    f.name.resize(f.name.size() - k_input_suffix.size());
    f.input = e.path();
    f.expected = e.path().parent_path() / (file.substr(0, file.size() - k_input_suffix.size()) +
                                           std::string(k_expected_suffix));
    const auto rel = mapping_of(f.name, mappings);
    if (!rel) {
      err << f.input.string() << ": no mapping " << f.name << ".yaml under " << mappings.string() << '\n';
      ++sum.fixtures_failed;
      exit = 1;
      continue;
    }
    f.mapping_rel = *rel;
    f.mapping = mappings / *rel;
    fixtures.push_back(std::move(f));
  }
  std::sort(fixtures.begin(), fixtures.end(), [](const fixture& a, const fixture& b) { return a.name < b.name; });

  if (opts.require_fixtures) {
    std::set<std::string> tested;
    for (const auto& f : fixtures) tested.insert(f.mapping_rel);
    for (const auto& e : fs::recursive_directory_iterator(mappings)) {
      if (!e.is_regular_file() || e.path().extension() != ".yaml") continue;
      const std::string rel = fs::relative(e.path(), mappings).generic_string();
      if (!tested.count(rel)) sum.untested.push_back(rel);
    }
    std::sort(sum.untested.begin(), sum.untested.end());
  }
  if (fixtures.empty() && sum.fixtures_failed == 0 && sum.untested.empty()) {
    err << opts.fixtures.string() << ": no fixtures (<mapping name>.input.jsonl with .expected.jsonl)\n";
    return 66;
  }

  std::map<std::string, std::shared_ptr<const plan>> plans;  // a mapping's fixtures share its plan
  std::set<std::string> broken;                               // mappings that did not compile (reported once)
  for (const auto& f : fixtures) {
    if (broken.count(f.mapping_rel)) {
      out << "FAIL " << f.name << ": mapping " << f.mapping_rel << " does not compile\n";
      ++sum.fixtures_failed;
      continue;
    }
    auto& p = plans[f.mapping_rel];
    if (!p) {
      bool ok = false;
      const std::string yaml = slurp(f.mapping, ok);
      config::diagnostics d;
      if (ok) p = compile_mapping(yaml, f.mapping_rel, canonical, d);
      if (!p) {
        if (!ok) err << f.mapping.string() << ": cannot read\n";
        err << d.format();
        out << "FAIL " << f.name << ": mapping " << f.mapping_rel << " does not compile\n";
        ++sum.fixtures_failed;
        sum.bad_mapping = true;
        broken.insert(f.mapping_rel);
        plans.erase(f.mapping_rel);
        continue;
      }
    }
    bool ok = false;
    const auto inputs = lines_of(slurp(f.input, ok));
    const auto actual = actual_lines(p, inputs);
    if (opts.update) {
      std::string text;
      for (const auto& a : actual) text += a + '\n';
      std::ofstream(f.expected, std::ios::binary) << text;
      out << "updated " << f.name << " (" << actual.size() << " records)\n";
      ++sum.fixtures_passed;
      sum.records_passed += actual.size();
      continue;
    }
    if (!fs::exists(f.expected)) {
      out << "FAIL " << f.name << ": no expected output " << f.expected.string()
          << " (--update writes it from the current mapping)\n";
      ++sum.fixtures_failed;
      sum.records_failed += actual.size();
      continue;
    }
    const auto expected = lines_of(slurp(f.expected, ok));
    std::ostringstream report;
    std::uint64_t failed = 0;
    for (std::size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
      if (i >= expected.size()) {
        report << "  record " << i + 1 << " (input line " << inputs[i].first << "): no expected line; got "
               << actual[i] << '\n';
        ++failed;
        continue;
      }
      if (i >= actual.size()) {
        report << "  expected line " << expected[i].first << ": no input record for it\n";
        ++failed;
        continue;
      }
      const auto diffs = diff_records(expected[i].second, actual[i]);
      if (diffs.empty()) {
        ++sum.records_passed;
        continue;
      }
      ++failed;
      report << "  record " << i + 1 << " (input line " << inputs[i].first << ", expected line "
             << expected[i].first << "):\n";
      for (const auto& d : diffs) report << "    " << d.format() << '\n';
    }
    sum.records_failed += failed;
    if (failed) {
      ++sum.fixtures_failed;
      out << "FAIL " << f.name << " (" << f.mapping_rel << "): " << failed << " of "
          << std::max(actual.size(), expected.size()) << " records differ\n"
          << report.str();
    } else {
      ++sum.fixtures_passed;
      if (opts.verbose) out << "ok   " << f.name << " (" << actual.size() << " records)\n";
    }
  }
  for (const auto& u : sum.untested) out << "FAIL " << u << ": no fixture\n";
  const int failed_fixtures = sum.fixtures_failed + static_cast<int>(sum.untested.size());
  out << sum.fixtures_passed << " passed, " << failed_fixtures << " failed (" << sum.records_passed
      << " records matched, " << sum.records_failed << " differed)\n";
  if (sum.bad_mapping) return 78;
  if (failed_fixtures) return 1;
  return exit;
}

int run_map_tests(const map_test_options& opts) { return run_map_tests(opts, std::cout, std::cerr); }

}  // namespace omnisync::mapping
