#include "mapping/value.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace omnisync::mapping {

const value* value::member(std::string_view name) const noexcept {
  if (k != kind::object) return nullptr;
  for (std::size_t n = keys.size(); n-- > 0;)  // last duplicate wins, as when parsing
    if (keys[n] == name) return &items[n];
  return nullptr;
}

std::string_view kind_name(value::kind k) noexcept {
  switch (k) {
    case value::kind::missing: return "missing";
    case value::kind::null: return "null";
    case value::kind::boolean: return "boolean";
    case value::kind::integer: return "integer";
    case value::kind::number: return "number";
    case value::kind::string: return "string";
    case value::kind::array: return "array";
    case value::kind::object: return "object";
  }
  return "?";
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;
  for (std::size_t n = 0; n < s.size(); ++n) {
    const unsigned char c = static_cast<unsigned char>(s[n]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, n - run);
    run = n + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char b[8];
        std::snprintf(b, sizeof b, "\\u%04x", c);
        out += b;
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

static void append_number(std::string& out, double d) {
  char b[32];
  if (std::isfinite(d) && std::fabs(d) < 9007199254740992.0 && d == std::floor(d)) {
    auto r = std::to_chars(b, b + sizeof b, static_cast<long long>(d));
    out.append(b, r.ptr);
    return;
  }
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  auto r = std::to_chars(b, b + sizeof b, d);
  out.append(b, r.ptr);
}

void append_json(std::string& out, const value& v) {
  switch (v.k) {
    case value::kind::missing:
    case value::kind::null: out += "null"; return;
    case value::kind::boolean: out += v.b ? "true" : "false"; return;
    case value::kind::integer: {
      char b[24];
      auto r = std::to_chars(b, b + sizeof b, v.i);
      out.append(b, r.ptr);
      return;
    }
    case value::kind::number: append_number(out, v.d); return;
    case value::kind::string: append_json_string(out, v.s); return;
    case value::kind::array:
      out += '[';
      for (std::size_t n = 0; n < v.items.size(); ++n) {
        if (n) out += ',';
        append_json(out, v.items[n]);
      }
      out += ']';
      return;
    case value::kind::object:
      out += '{';
      for (std::size_t n = 0; n < v.items.size(); ++n) {
        if (n) out += ',';
        append_json_string(out, v.keys[n]);
        out += ':';
        append_json(out, v.items[n]);
      }
      out += '}';
      return;
  }
}

std::string preview(const value& v) {
  if (v.k == value::kind::missing) return "(missing)";
  std::string s;
  append_json(s, v);
  if (s.size() > 80) {
    std::size_t cut = 77;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
    s.resize(cut);
    s += "...";
  }
  return s;
}

}  // namespace omnisync::mapping
