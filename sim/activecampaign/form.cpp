#include "sim/activecampaign/form.hpp"

#include <boost/json.hpp>

namespace omnisync::sim::activecampaign {
namespace {

void flatten_into(const boost::json::value& value, const std::string& key, form_fields& out) {
  switch (value.kind()) {
    case boost::json::kind::object:
      for (const auto& member : value.get_object()) {
        flatten_into(member.value(), key + "[" + std::string(member.key()) + "]", out);
      }
      break;
    case boost::json::kind::array: {
      std::size_t i = 0;
      for (const auto& element : value.get_array()) flatten_into(element, key + "[" + std::to_string(i++) + "]", out);
      break;
    }
    case boost::json::kind::string:
      out.emplace_back(key, std::string(value.get_string()));
      break;
    case boost::json::kind::null:
      out.emplace_back(key, std::string());
      break;
    default:
      out.emplace_back(key, boost::json::serialize(value));
      break;
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() &&
               hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

form_fields flatten(const boost::json::object& object) {
  form_fields out;
  for (const auto& member : object) flatten_into(member.value(), std::string(member.key()), out);
  return out;
}

std::string form_escape(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(ch);
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0x0f]);
    }
  }
  return out;
}

std::string form_encode(const form_fields& fields) {
  std::string out;
  for (const auto& [key, value] : fields) {
    if (!out.empty()) out.push_back('&');
    out.append(form_escape(key)).push_back('=');
    out.append(form_escape(value));
  }
  return out;
}

form_fields form_decode(std::string_view body) {
  form_fields out;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(unescape(pair), std::string());
    } else {
      out.emplace_back(unescape(pair.substr(0, eq)), unescape(pair.substr(eq + 1)));
    }
  }
  return out;
}

}  // namespace omnisync::sim::activecampaign
