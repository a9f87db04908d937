// The settings schema framework (config/schema.hpp, validate.hpp, reference.hpp): every problem located and
// reported at once, typed values bound into structs with the declared defaults, duplicate keys found, and the
// reference table a schema writes.
#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>

#include "config/reference.hpp"
#include "config/schema.hpp"
#include "config/validate.hpp"
#include "config/value_syntax.hpp"
#include "tests/support/temp_dir.hpp"

using namespace omnisync::config;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

enum class color { red, green };

struct object_settings {
  std::vector<std::string> fields;
  std::string key;
};

struct target {
  std::int64_t page_size = 0;
  double share = 0;
  bool flag = false;
  milliseconds wait{0};
  std::optional<milliseconds> reconcile;
  std::string word;
  color paint = color::red;
  std::string url;
  std::filesystem::path file;
  secret token;
  std::vector<std::string> objects;
  std::map<std::string, std::vector<std::string>> properties;
  std::map<std::string, std::string> upsert;
  std::map<std::string, object_settings> per_object;
  unsigned nested = 0;
};

const schema& test_schema() {
  static const schema s = [] {
    schema s;
    s.list("objects", "objects").fallback(std::vector<std::string>{"Contact", "Lead"}).into(&target::objects);
    s.string("name", "a name").pattern("[a-z]+", "a lowercase name").required();
    auto& sync = s.block("sync", "sync");
    sync.integer("page_size", "page").range(1, 200).fallback(100).into(&target::page_size);
    sync.number("share", "share").range(0.01, 1).fallback(0.5).into(&target::share);
    sync.boolean("flag", "flag").fallback(true).into(&target::flag);
    sync.duration("wait", "wait").range(10ms, 1h).fallback(30s).into(&target::wait);
    sync.duration("reconcile", "reconcile").allow_off().into(&target::reconcile);
    sync.enumeration("word", {"alpha", "beta"}, "word").fallback("alpha").into(&target::word);
    sync.enumeration("paint", {"red", "green"}, "paint")
        .into(&target::paint, std::vector<std::pair<std::string, color>>{{"red", color::red}, {"green", color::green}});
    sync.url("url", "url").into(&target::url);
    sync.path("file", "file").into(&target::file);
    sync.block("deeper", "").integer("nested", "nested").range(1, 9).fallback(3).into(
        [](target& t) -> auto& { return t.nested; });
    sync.map("properties", "<object>", setting("", value_type::string_list, "").comma_list(), "props")
        .names_from("objects")
        .into(&target::properties);
    sync.map("upsert", "<object>", setting("", value_type::string, ""), "upsert").scalar_for_all().into(&target::upsert);
    auto& each = sync.each("<Object>", "per object").names_from("objects").into(&target::per_object);
    auto& obj = schema::keys_of(each);
    obj.list("fields", "fields").comma_list().pattern("[A-Za-z_.]+", "a field name").into(&object_settings::fields);
    obj.string("key", "key").into(&object_settings::key);
    s.block("auth", "").secret("token", "token").into(&target::token);
    return s;
  }();
  return s;
}

/// Validates `yaml` (the block itself) and keeps the problems.
struct checked {
  diagnostics problems;
  setting_values values;
  std::string text;
  explicit checked(const std::string& yaml, const schema& s = test_schema(), bool ignore_unknown = false) {
    validation_context ctx{"f.yaml", "/base", &problems};
    ctx.ignore_unknown_keys = ignore_unknown;
    values = validate(s, YAML::Load(yaml), "c", ctx);
    text = problems.format();
  }
  bool has(int line, int col, const std::string& path, const std::string& message) const {
    for (const auto& d : problems.items())
      if (d.where.line == line && d.where.column == col && d.path == path && d.message.find(message) != std::string::npos)
        return true;
    return false;
  }
};

}  // namespace

TEST_CASE("schema: a misspelled key at any depth is located, with the closest declared key", "[config][schema]") {
  checked c("name: x\nsync:\n  pag_size: 5\n  deeper:\n    nestd: 4\n  Contact:\n    feilds: Id\nauth:\n  tokn_file: /x\n");
  INFO(c.text);
  CHECK(c.problems.size() == 4);
  CHECK(c.has(3, 3, "c.sync.pag_size", "unknown key \"pag_size\" (did you mean \"page_size\"?)"));
  CHECK(c.has(5, 5, "c.sync.deeper.nestd", "unknown key \"nestd\" (did you mean \"nested\"?)"));
  CHECK(c.has(7, 5, "c.sync.Contact.feilds", "unknown key \"feilds\" (did you mean \"fields\"?)"));
  CHECK(c.has(9, 3, "c.auth.tokn_file", "unknown key \"tokn_file\" (did you mean \"token_file\"?)"));
  // Nothing close: no suggestion.
  checked far("name: x\nsync: { zzzzzzzz: 1 }\n");
  CHECK(far.has(2, 9, "c.sync.zzzzzzzz", "unknown key \"zzzzzzzz\""));
  CHECK(far.text.find("did you mean") == std::string::npos);
}

TEST_CASE("schema: every type's mistakes, all at once, in file order", "[config][schema]") {
  checked c(
      "name: X1\n"                       // 1: pattern
      "sync:\n"
      "  page_size: 500\n"               // 3: range
      "  share: lots\n"                  // 4: number
      "  flag: perhaps\n"                // 5: boolean
      "  wait: 5ms\n"                    // 6: duration below range
      "  reconcile: sometimes\n"         // 7: duration
      "  word: alfa\n"                   // 8: enumeration, with a suggestion
      "  url: ftp://x\n"                 // 9: URL
      "  file: ''\n"                     // 10: path
      "  deeper: [1]\n"                  // 11: block
      "  properties: [a]\n"              // 12: map
      "objects: Contact\n");             // 13: list
  INFO(c.text);
  CHECK(c.problems.size() == 12);
  CHECK(c.has(1, 7, "c.name", "expected a lowercase name, got \"X1\""));
  CHECK(c.has(3, 14, "c.sync.page_size", "expected a whole number from 1 to 200, got \"500\""));
  CHECK(c.has(4, 10, "c.sync.share", "expected a number from 0.01 to 1, got \"lots\""));
  CHECK(c.has(5, 9, "c.sync.flag", "expected true or false, got \"perhaps\""));
  CHECK(c.has(6, 9, "c.sync.wait", "from 10ms to 1h, got \"5ms\""));
  CHECK(c.has(7, 14, "c.sync.reconcile", "expected a duration like \"30s\""));
  CHECK(c.has(8, 9, "c.sync.word", "expected one of alpha, beta, got \"alfa\" (did you mean \"alpha\"?)"));
  CHECK(c.has(9, 8, "c.sync.url", "expected an http(s) URL with a host, got \"ftp://x\""));
  CHECK(c.has(10, 9, "c.sync.file", "expected a path, got an empty string"));
  CHECK(c.has(11, 11, "c.sync.deeper", "expected a mapping, got a list"));
  CHECK(c.has(12, 15, "c.sync.properties", "expected a mapping from <object> to values"));
  CHECK(c.has(13, 10, "c.objects", "expected a list of strings, got \"Contact\""));
  // Sorted by place in the file.
  CHECK(c.text.find("f.yaml:1:") < c.text.find("f.yaml:3:"));
  CHECK(c.text.find("f.yaml:12:") < c.text.find("f.yaml:13:"));
}

TEST_CASE("schema: a missing required key is named at its block", "[config][schema]") {
  checked c("sync: {}\n");
  CHECK(c.has(1, 1, "c.name", "missing required key \"name\""));
}

TEST_CASE("schema: entries of a map name one of the objects, with a suggestion", "[config][schema]") {
  checked c("name: x\nobjects: [Contact, Account]\nsync:\n  Contcat: { key: Email }\n  properties: { Lead: a }\n"
            "  Account: { fields: [Name, 'Bad Field'] }\n");
  INFO(c.text);
  CHECK(c.has(4, 3, "c.sync.Contcat", "unknown key \"Contcat\" (did you mean \"Contact\"?): not one of objects (Contact, Account)"));
  CHECK(c.has(5, 17, "c.sync.properties.Lead", "not one of objects (Contact, Account)"));
  CHECK(c.has(6, 29, "c.sync.Account.fields[1]", "expected a field name, got \"Bad Field\""));
  CHECK(c.problems.size() == 3);
  // Without `objects`, its fallback decides.
  checked d("name: x\nsync:\n  Lead: { key: Email }\n  Case: { key: Id }\n");
  CHECK(d.problems.size() == 1);
  CHECK(d.has(4, 3, "c.sync.Case", "not one of objects (Contact, Lead)"));
}

TEST_CASE("schema: values bind into the struct, declared defaults fill the rest", "[config][schema]") {
  checked c("name: x\nobjects: [Contact, Lead]\nsync:\n  page_size: 50\n  wait: 1m30s\n  reconcile: off\n  paint: green\n"
            "  file: rel/f.pem\n  properties: { Contact: 'email, phone', Lead: [a] }\n  upsert: email\n"
            "  Contact: { fields: 'Id, Email', key: Omnisync_Id__c }\n  deeper: { nested: 7 }\n"
            "auth: { token: literal-secret }\n");
  INFO(c.text);
  REQUIRE(c.problems.empty());
  target t;
  t.per_object["Lead"].fields = {"Preset"};  // set before binding: kept where the file says nothing
  bind_into(test_schema(), c.values, t);
  CHECK(t.page_size == 50);
  CHECK(t.share == 0.5);      // fallback
  CHECK(t.flag);              // fallback
  CHECK(t.wait == 90s);
  REQUIRE(t.reconcile);
  CHECK(*t.reconcile == 0ms);  // off
  CHECK(t.word == "alpha");
  CHECK(t.paint == color::green);
  CHECK(t.file == "/base/rel/f.pem");
  CHECK(t.nested == 7);
  CHECK(t.properties.at("Contact") == std::vector<std::string>{"email", "phone"});
  CHECK(t.properties.at("Lead") == std::vector<std::string>{"a"});
  CHECK(t.upsert.at("") == "email");  // one value for every object
  CHECK(t.per_object.at("Contact").fields == std::vector<std::string>{"Id", "Email"});
  CHECK(t.per_object.at("Contact").key == "Omnisync_Id__c");
  CHECK(t.per_object.at("Lead").fields == std::vector<std::string>{"Preset"});
  CHECK(t.token.reveal() == "literal-secret");
  CHECK(t.token.source() == "the config file");

  target empty;
  bind_into(test_schema(), setting_values{}, empty);
  CHECK(empty.page_size == 100);
  CHECK(empty.objects == std::vector<std::string>{"Contact", "Lead"});
  CHECK_FALSE(empty.reconcile.has_value());
  CHECK(empty.nested == 3);
}

TEST_CASE("schema: secrets from files, credentials and the environment, both spellings at once are refused",
          "[config][schema]") {
  omnisync::test::temp_dir dir;
  dir.write("token.txt", "from-file\n");
  dir.write("creds/tok", "from-credential");
  ::setenv("OMNISYNC_SCHEMA_TEST_TOKEN", "from-env", 1);
  ::setenv("CREDENTIALS_DIRECTORY", (dir.path() / "creds").c_str(), 1);
  std::vector<std::string> seen;
  auto secret_of = [&](const std::string& auth, diagnostics& problems) {
    validation_context ctx{"f.yaml", dir.path(), &problems, &seen};
    auto v = validate(test_schema(), YAML::Load("name: x\nauth: " + auth + "\n"), "c", ctx);
    target t;
    bind_into(test_schema(), v, t);
    return t.token;
  };
  diagnostics p;
  CHECK(secret_of("{ token_file: token.txt }", p).reveal() == "from-file");
  CHECK(secret_of("{ token: { credential: tok } }", p).source() == "credential " + (dir.path() / "creds/tok").string());
  CHECK(secret_of("{ token: \"${OMNISYNC_SCHEMA_TEST_TOKEN}\" }", p).source() == "env OMNISYNC_SCHEMA_TEST_TOKEN");
  CHECK(p.empty());
  CHECK(seen == std::vector<std::string>{"from-file", "from-credential", "from-env"});
  ::unsetenv("CREDENTIALS_DIRECTORY");
  ::unsetenv("OMNISYNC_SCHEMA_TEST_TOKEN");

  diagnostics bad;
  secret_of("{ token: a, token_file: token.txt }", bad);
  secret_of("{ token_file: missing.txt }", bad);
  secret_of("{ token: { credential: tok } }", bad);
  secret_of("{ token: \"${OMNISYNC_SCHEMA_TEST_TOKEN}\" }", bad);
  const auto text = bad.format();
  INFO(text);
  CHECK(bad.size() == 4);
  CHECK(text.find("c.auth.token_file: give either token or token_file, not both") != std::string::npos);
  CHECK(text.find("c.auth.token_file: cannot read secret file") != std::string::npos);
  CHECK(text.find("c.auth.token: CREDENTIALS_DIRECTORY is not set") != std::string::npos);
  CHECK(text.find("c.auth.token: environment variable OMNISYNC_SCHEMA_TEST_TOKEN is not set") != std::string::npos);
  CHECK(text.find("from-") == std::string::npos);  // no secret in any message
}

TEST_CASE("schema: keys of an unknown kind are passed over, the declared ones still checked", "[config][schema]") {
  checked c("name: x\nvendor_key: 1\nsync: { page_size: 0, vendor: 2 }\n", test_schema(), true);
  CHECK(c.problems.size() == 1);
  CHECK(c.has(3, 20, "c.sync.page_size", "expected a whole number from 1 to 200"));
}

TEST_CASE("schema: validated values compare by content, not by place", "[config][schema]") {
  checked a("name: x\nsync: { page_size: 5 }\nauth: { token: s1 }\n");
  checked b("\n\nname: x\nauth: { token: s1 }\nsync:\n  page_size: 5\n");
  checked other_secret("name: x\nsync: { page_size: 5 }\nauth: { token: s2 }\n");
  CHECK(a.values == b.values);
  CHECK_FALSE(a.values == other_secret.values);
}

TEST_CASE("schema: a refinement replaces a base key's declaration and blocks merge", "[config][schema]") {
  schema base;
  base.integer("batch_size", "base").range(1, 2000);
  base.block("sync", "").boolean("write", "write").fallback(true);
  schema vendor;
  vendor.integer("batch_size", "vendor").range(1, 2000).fallback(200);
  vendor.block("sync", "").integer("page_size", "page").range(1, 10);
  schema m = schema::merged(base, vendor);
  CHECK(m.find("batch_size")->description() == "vendor");
  REQUIRE(m.find("sync"));
  CHECK(m.find("sync")->keys()->find("write"));
  CHECK(m.find("sync")->keys()->find("page_size"));
  CHECK_FALSE(base.find("sync")->keys()->find("page_size"));  // the base is unchanged
  schema clash;
  clash.string("batch_size", "text");
  CHECK_THROWS_AS(schema::merged(base, clash), std::logic_error);
}

TEST_CASE("duplicate keys are found at any depth, with the first one's place", "[config][schema]") {
  diagnostics d;
  find_duplicate_keys("f.yaml", YAML::Load("a: 1\nconnectors:\n  sf: { kind: x }\n  hs: {}\n  sf: { kind: y, kind: z }\n"
                                           "list:\n  - { p: 1, p: 2 }\na: 2\n"),
                      d);
  const auto text = d.format();
  INFO(text);
  CHECK(d.size() == 4);
  CHECK(text.find("f.yaml:5:3: connectors.sf: duplicate key \"sf\" (first at line 3, column 3)") != std::string::npos);
  CHECK(text.find("f.yaml:5:18: connectors.sf.kind: duplicate key \"kind\" (first at line 5, column 9)") != std::string::npos);
  CHECK(text.find("f.yaml:7:13: list[0].p: duplicate key \"p\"") != std::string::npos);
  CHECK(text.find("f.yaml:8:1: a: duplicate key \"a\" (first at line 1, column 1)") != std::string::npos);
}

TEST_CASE("value syntax: durations read back what they print, suggestions only for near words", "[config][schema]") {
  for (auto d : {0ms, 250ms, 1000ms, 90000ms, 3600000ms, 86400000ms, 5400250ms})
    CHECK(parse_duration(format_duration(d)) == d);
  CHECK(format_duration(90s) == "1m30s");
  CHECK(parse_duration("1d") == std::chrono::hours(24));
  CHECK_FALSE(parse_duration("30"));
  CHECK_FALSE(parse_duration("1.5h"));
  CHECK_FALSE(parse_duration("5 minutes"));
  CHECK(closest("zendsk", {"salesforce", "zendesk"}) == "zendesk");
  CHECK(closest("xyz", {"salesforce", "zendesk"}).empty());
  CHECK(closest("a", {"b"}).empty());  // one letter is not a typo of another
}

TEST_CASE("reference: one row per key with type, default and meaning, spliced between markers", "[config][schema]") {
  const std::string table = reference_table(test_schema());
  INFO(table);
  CHECK(table.find("| `sync.page_size` | integer 1–200 | `100` | page |") != std::string::npos);
  CHECK(table.find("| `sync.wait` | duration 10ms–1h | `30s` | wait |") != std::string::npos);
  CHECK(table.find("| `sync.reconcile` | duration or `off` | — | reconcile |") != std::string::npos);
  CHECK(table.find("| `name` | string | required | a name |") != std::string::npos);
  CHECK(table.find("| `auth.token` | secret | — | token |") != std::string::npos);
  CHECK(table.find("| `sync.<Object>.fields` | list (or comma-separated) | — | fields |") != std::string::npos);
  CHECK(table.find("| `sync.upsert[.<object>]` | string | — | upsert |") != std::string::npos);

  std::string doc = "intro\n<!-- generated: t -->\nold\n<!-- end generated: t -->\noutro\n";
  REQUIRE(splice_generated(doc, "t", "new\n"));
  CHECK(doc == "intro\n<!-- generated: t -->\nnew\n<!-- end generated: t -->\noutro\n");
  CHECK_FALSE(splice_generated(doc, "other", "x"));
}
