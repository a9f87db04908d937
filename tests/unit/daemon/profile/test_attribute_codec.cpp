// The profile book's compact attribute encoding: every kind of value comes back exactly, repeated values are
// interned once, unique ones are written inline, and a packed record costs far less than the decoded form.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "daemon/profile/attribute_codec.hpp"
#include "mapping/value.hpp"

using omnisync::profile::attribute_codec;
using omnisync::mapping::value;

namespace {

value str(std::string s) {
  value v;
  v.set_string(s);
  return v;
}

std::string json_of(const attribute_codec::attributes& a) {
  std::string out;
  for (const auto& [name, v] : a) {
    out += name;
    out += '=';
    omnisync::mapping::append_json(out, v);
    out += ' ';
    out += omnisync::mapping::kind_name(v.k);
    out += ';';
  }
  return out;
}

}  // namespace

TEST_CASE("attribute codec: every kind of value round-trips", "[profile][codec]") {
  attribute_codec c;
  attribute_codec::attributes in;
  value missing, null, t, f, i, neg, big, d, arr, obj;
  null.set_null();
  t.set_bool(true);
  f.set_bool(false);
  i.set_int(42);
  neg.set_int(-7);
  big.set_int(INT64_MIN);
  d.set_number(73.25);
  arr.k = value::kind::array;
  arr.items = {str("vip"), i, null};
  obj.k = value::kind::object;
  obj.keys = {"street", "city", std::string(5000, 'k')};
  obj.items = {str("1 Main St"), str("Springfield"), arr};
  in = {{"missing", missing}, {"null", null},   {"yes", t},       {"no", f},
        {"n", i},             {"neg", neg},     {"min", big},     {"score", d},
        {"tags", arr},        {"address", obj}, {"empty", str("")}, {std::string(5000, 'a'), str("long name")}};
  const auto packed = c.encode(in);
  const auto out = c.decode(packed);
  REQUIRE(out.size() == in.size());
  CHECK(json_of(out) == json_of(in));
  CHECK(out[1].second.k == value::kind::null);
  CHECK(out[0].second.k == value::kind::missing);
  CHECK(out[6].second.i == INT64_MIN);
  CHECK(out[9].second.keys[2] == std::string(5000, 'k'));
  CHECK(c.decode(c.encode({})).empty());
}

TEST_CASE("attribute codec: repeated values are interned, unique ones inline", "[profile][codec]") {
  attribute_codec c;
  const int n = 3 * attribute_codec::window;
  std::size_t bytes = 0;
  for (int k = 0; k < n; ++k) {
    attribute_codec::attributes a{{"country", str(k % 2 ? "United States of America" : "Deutschland")},
                                  {"email", str("person" + std::to_string(k) + "@example.com")}};
    const auto p = c.encode(a);
    if (k >= static_cast<int>(attribute_codec::window)) bytes += c.size(p);
    REQUIRE(c.decode(p)[1].second.s == "person" + std::to_string(k) + "@example.com");
    REQUIRE(c.decode(p)[0].second.s == (k % 2 ? "United States of America" : "Deutschland"));
  }
  // After the first window the e-mails (all distinct) are written inline and the countries stay interned: the
  // table holds the first window's e-mails and the two countries, and a country costs 2 bytes instead of up to 26.
  CHECK(c.interned_values() == attribute_codec::window + 2);
  const std::size_t email = std::string("person10000@example.com").size();
  CHECK(bytes / (n - attribute_codec::window) <= 2 + 2 + 2 + 2 + email + 1);
}

TEST_CASE("attribute codec: values shared by records stay interned", "[profile][codec]") {
  attribute_codec c;
  // Each e-mail held by three records (one person in three systems): interning saves more than it costs.
  for (int k = 0; k < 3 * 3 * static_cast<int>(attribute_codec::window); ++k)
    c.encode({{"email", str("person" + std::to_string(k / 3) + "@example.com")}});
  CHECK(c.interned_values() == 3 * attribute_codec::window);
}

namespace {

// Strings held elsewhere, as the profile book passes the identity graph's identifiers.
struct fake_shared final : omnisync::profile::shared_strings {
  std::vector<std::pair<std::string, std::string>> held;  // (attribute, value); the id is the index
  std::uint32_t find(std::string_view attribute, std::string_view value) const override {
    for (std::size_t i = 0; i < held.size(); ++i)
      if (held[i].first == attribute && held[i].second == value) return static_cast<std::uint32_t>(i);
    return npos;
  }
  std::string_view view(std::uint32_t id) const override { return held[id].second; }
};

}  // namespace

TEST_CASE("attribute codec: values held as shared strings are referred to, not copied", "[profile][codec]") {
  fake_shared shared;
  shared.held = {{"email", "ann@example.com"}, {"phone", "+14155550132"}};
  attribute_codec plain, sharing;
  sharing.share(&shared);
  // The same e-mail under another attribute, or in another spelling, is not the identifier: written as itself.
  const attribute_codec::attributes in = {{"email", str("ann@example.com")},
                                          {"phone", str("+14155550132")},
                                          {"secondary_email", str("ann@example.com")},
                                          {"first_name", str("Ann")}};
  const auto a = plain.encode(in);
  const auto b = sharing.encode(in);
  CHECK(json_of(sharing.decode(b)) == json_of(in));
  CHECK(json_of(plain.decode(a)) == json_of(in));
  // Without sharing the codec interns the e-mail (once for both attributes), the phone and "Ann"; with it, only
  // "Ann" and the secondary e-mail (the same text under another attribute is not the identifier).
  CHECK(plain.interned_values() == 3);
  CHECK(sharing.interned_values() == 2);
  CHECK(plain.memory_bytes() > 0);
  // Another spelling is not the identifier either: written (here interned) as itself.
  const attribute_codec::attributes other = {{"email", str("Ann@Example.com")}};
  const auto c = sharing.encode(other);
  CHECK(json_of(sharing.decode(c)) == json_of(other));
  CHECK(sharing.interned_values() == 3);
}

TEST_CASE("released blocks are reused: re-encoding records does not grow the arena", "[profile][codec]") {
  // The book re-encodes a record each time it changes: its old block goes back to the arena and the next block
  // of that size takes it, so memory follows the records held, not the changes made.
  attribute_codec c;
  std::vector<omnisync::profile::packed_attributes> held(2000);
  auto attrs = [](int k, int version) {
    return attribute_codec::attributes{{"email", str("person" + std::to_string(k) + "@example.com")},
                                       {"score", str("v" + std::to_string(version % 10))}};
  };
  for (int k = 0; k < 2000; ++k) held[static_cast<std::size_t>(k)] = c.encode(attrs(k, 0));
  const std::size_t after_first = c.arena_bytes();
  CHECK(after_first > 0);
  for (int version = 1; version <= 20; ++version)
    for (int k = 0; k < 2000; ++k) {
      auto& p = held[static_cast<std::size_t>(k)];
      c.release(p);
      CHECK(p.empty());
      p = c.encode(attrs(k, version));
    }
  CHECK(c.arena_bytes() == after_first);
  for (int k = 0; k < 2000; ++k) {
    const auto back = c.decode(held[static_cast<std::size_t>(k)]);
    REQUIRE(back.size() == 2);
    CHECK(back[0].second.s == "person" + std::to_string(k) + "@example.com");
    CHECK(back[1].second.s == "v0");  // version 20
  }
  // A block larger than a quarter of a chunk gets a chunk of its own and decodes whole.
  const std::string big(400'000, 'x');
  auto p = c.encode({{"note", str(big)}});
  CHECK(c.size(p) > big.size());
  CHECK(c.decode(p)[0].second.s == big);
}
