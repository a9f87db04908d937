#include "core/json_text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace omnisync {

void append_json_text(std::string& out, const boost::json::value& v) {
  namespace json = boost::json;
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, x] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(k));
        out += ':';
        append_json_text(out, x);
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& x : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_json_text(out, x);
      }
      out += ']';
      return;
    }
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      char buf[32];
      // Integral values below 2^53 without a fraction (what jq and JavaScript write); else the shortest text that
      // reads back as the same double.
      auto r = std::fabs(d) < 9007199254740992.0 && d == std::trunc(d)
                   ? std::to_chars(buf, buf + sizeof buf, static_cast<long long>(d))
                   : std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      return;
    }
    default: out += json::serialize(v); return;
  }
}

std::string to_json_text(const boost::json::value& v) {
  std::string out;
  append_json_text(out, v);
  return out;
}

boost::json::value json_or_text(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  return ec ? boost::json::value(text) : v;
}

}  // namespace omnisync
