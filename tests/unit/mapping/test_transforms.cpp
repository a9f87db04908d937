#include <cstdio>
#include <yaml-cpp/yaml.h>

#include "helpers.hpp"
#include "mapping/transforms.hpp"

using namespace omnisync::mapping;

namespace {
/// Runs transform `name` (with YAML args, "" for none) on a string; returns the result or "!error".
std::string run(const std::string& name, const std::string& input, const std::string& args = "") {
  const transform_def* def = transform_registry::builtins().find(name);
  REQUIRE(def != nullptr);
  std::string err;
  YAML::Node a = args.empty() ? YAML::Node() : YAML::Load(args);
  auto fn = def->make(a, err);
  REQUIRE(fn.has_value());
  value v;
  v.set_string(input);
  if (!(*fn)(v, err)) return "!" + err;
  std::string out;
  if (v.k == value::kind::string) return v.s;
  append_json(out, v);
  return out;
}
}  // namespace

TEST_CASE("trim, lower, upper, collapse_spaces handle unicode and empty strings", "[mapping][transforms]") {
  CHECK(run("trim", "  a b \t\n") == "a b");
  CHECK(run("trim", "   ") == "");
  CHECK(run("trim", "") == "");
  CHECK(run("lower", "ÀÉÎÕÜ ŁÓDŹ ΑΒΓ ПРИВЕТ Zoë") == "àéîõü łódź αβγ привет zoë");
  CHECK(run("upper", "straße łódź αβγ привет") == "STRAßE ŁÓDŹ ΑΒΓ ПРИВЕТ");
  CHECK(run("lower", "日本語") == "日本語");
  CHECK(run("collapse_spaces", "  Anna \t\n  Maria   Kowalska ") == "Anna Maria Kowalska");
  CHECK(run("collapse_spaces", "") == "");
}

TEST_CASE("digits, email, sha256", "[mapping][transforms]") {
  CHECK(run("digits", "(415) 555-0132") == "4155550132");
  CHECK(run("digits", "none") == "");
  CHECK(run("email", "  Ann.Kowalska@Example.COM ") == "ann.kowalska@example.com");
  CHECK(run("email", "ann@@example.com") == "!not an e-mail address");
  CHECK(run("email", "no-at-sign") == "!not an e-mail address");
  CHECK(run("email", "a b@example.com") == "!not an e-mail address");
  CHECK(run("email", "") == "!not an e-mail address");
  CHECK(run("sha256", "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(run("sha256", "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("e164 with a default region", "[mapping][transforms]") {
  CHECK(run("e164", "(415) 555-0132", "{region: US}") == "+14155550132");
  CHECK(run("e164", "+48 22 123 45 67", "{region: US}") == "+48221234567");
  CHECK(run("e164", "22 123 45 67", "PL") == "+48221234567");
  CHECK(run("e164", "not a phone", "{region: US}") == "!not a valid phone number");
  CHECK(run("e164", "", "{region: US}") == "!not a valid phone number");
  CHECK(run("e164", std::string(5000, '5'), "{region: US}") == "!not a valid phone number");
  std::string err;
  auto bad = transform_registry::builtins().find("e164")->make(YAML::Load("{region: usa}"), err);
  CHECK_FALSE(bad.has_value());
  CHECK(err.find("two-letter") != std::string::npos);
}

TEST_CASE("e164 answers the same when a number comes again, per region, past its memo's capacity",
          "[mapping][transforms]") {
  // The same text in two regions is two numbers: the remembered answer must be the region's own.
  CHECK(to_e164("22 123 45 67", "PL") == "+48221234567");
  CHECK(to_e164("22 123 45 67", "PL") == "+48221234567");
  CHECK(to_e164("(415) 555-0132", "US") == "+14155550132");
  CHECK_FALSE(to_e164("not a phone", "US"));
  CHECK_FALSE(to_e164("not a phone", "US"));  // a refusal is remembered as one
  // More distinct numbers than the memo holds: it empties itself and goes on answering correctly.
  for (int i = 0; i < 20000; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "(415) 5%02d-%04d", i / 10000 + 50, i % 10000);
    const auto want = std::string("+14155") + std::string(buf).substr(7, 2) + std::string(buf).substr(10, 4);
    REQUIRE(to_e164(buf, "US") == want);
  }
  CHECK(to_e164("22 123 45 67", "PL") == "+48221234567");
}

TEST_CASE("datetime parsing of each vendor's format to UTC", "[mapping][transforms]") {
  CHECK(run("datetime", "2026-01-01T00:00:00.000+0000") == "2026-01-01T00:00:00.000Z");  // Salesforce
  CHECK(run("datetime", "2026-01-01T02:30:00.000+0230") == "2026-01-01T00:00:00.000Z");
  CHECK(run("datetime", "2025-12-31T23:00:00-01:00") == "2026-01-01T00:00:00.000Z");      // ISO with offset
  CHECK(run("datetime", "2026-03-04T05:06:07Z") == "2026-03-04T05:06:07.000Z");          // Zendesk
  CHECK(run("datetime", "2026-03-04T05:06:07.123456Z") == "2026-03-04T05:06:07.123Z");
  CHECK(run("datetime", "1767225600000") == "2026-01-01T00:00:00.000Z");                 // HubSpot epoch ms
  CHECK(run("datetime", "2024-02-29") == "2024-02-29T00:00:00.000Z");
  CHECK(run("datetime", "1969-12-31T23:59:59.999Z") == "1969-12-31T23:59:59.999Z");
  CHECK(run("datetime", "2023-02-29").rfind("!", 0) == 0);
  CHECK(run("datetime", "2026-13-01").rfind("!", 0) == 0);
  CHECK(run("datetime", "2026-01-01T25:00:00Z").rfind("!", 0) == 0);
  CHECK(run("datetime", "yesterday").rfind("!", 0) == 0);
  CHECK(run("datetime", "").rfind("!", 0) == 0);
  CHECK(run("datetime", "2026-01-01T00:00:00Zjunk").rfind("!", 0) == 0);
  value ms;
  ms.set_int(1767225600000);
  std::string err;
  REQUIRE(coerce(ms, "datetime", err));
  CHECK(ms.s == "2026-01-01T00:00:00.000Z");
}

TEST_CASE("number, integer, boolean coercion with wrong types and huge values", "[mapping][transforms]") {
  CHECK(run("number", " 42 ") == "42");
  CHECK(run("number", "4.5") == "4.5");
  CHECK(run("number", "1e400").rfind("!", 0) == 0);
  CHECK(run("number", "12abc").rfind("!", 0) == 0);
  CHECK(run("number", "").rfind("!", 0) == 0);
  CHECK(run("integer", "4.5").rfind("!", 0) == 0);
  CHECK(run("integer", "99999999999999999999").rfind("!", 0) == 0);
  CHECK(run("integer", "-7") == "-7");
  CHECK(run("boolean", "Yes") == "true");
  CHECK(run("boolean", "0") == "false");
  CHECK(run("boolean", "maybe").rfind("!", 0) == 0);
  CHECK(run("not", "true") == "false");
  value obj;
  obj.k = value::kind::object;
  std::string err;
  CHECK_FALSE(coerce(obj, "string", err));
  CHECK(err == "expected a string, got object");
  value b;
  b.set_bool(true);
  CHECK_FALSE(coerce(b, "number", err));
  value n;
  n.set_null();
  CHECK(coerce(n, "number", err));  // null stays null
  CHECK(n.k == value::kind::null);
}

TEST_CASE("split, join, truncate, prepend, append", "[mapping][transforms]") {
  CHECK(run("split", "a; b;;c ", "\";\"") == R"(["a","b","c"])");
  CHECK(run("split", "", "\";\"") == "[]");
  CHECK(run("truncate", "Zoë Kowalska", "3") == "Zoë");          // code points, not bytes
  CHECK(run("truncate", "日本語テキスト", "{length: 2}") == "日本");
  CHECK(run("truncate", "ab", "5") == "ab");
  CHECK(run("prepend", "123", "\"+\"") == "+123");
  CHECK(run("append", "x", "{text: \"!\"}") == "x!");
  const transform_def* join = transform_registry::builtins().find("join");
  std::string err;
  auto fn = join->make(YAML::Load("\", \""), err);
  REQUIRE(fn.has_value());
  value list;
  list.k = value::kind::array;
  list.items.resize(3);
  list.items[0].set_string("a");
  list.items[1].set_null();
  list.items[2].set_int(3);
  REQUIRE((*fn)(list, err));
  CHECK(list.s == "a, 3");
  auto bad = transform_registry::builtins().find("truncate")->make(YAML::Load("-1"), err);
  CHECK_FALSE(bad.has_value());
}

TEST_CASE("a C++ transform is added with one registration line", "[mapping][transforms]") {
  transform_registry reg = transform_registry::builtins();
  reg.add("reverse", static_type::string, static_type::string, [](value& v, std::string&) {
    v.s.assign(v.s.rbegin(), v.s.rend());
    return true;
  });
  omnisync::config::diagnostics d;
  auto p = compile_mapping(omnisync::mapping::testing::header() + "  first_name: { from: F, transform: [reverse] }\n",
                           "m.yaml", default_canonical_attributes(), d, reg);
  REQUIRE(p != nullptr);
  evaluator ev(p);
  CHECK(omnisync::mapping::testing::map_one(ev, R"({"F":"abc"})") == R"({"first_name":"cba"})");
}
