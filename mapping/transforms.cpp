#include "mapping/transforms.hpp"

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>

#include "core/time.hpp"

namespace omnisync::mapping {

std::string_view static_type_name(static_type t) noexcept {
  switch (t) {
    case static_type::any: return "any";
    case static_type::string: return "string";
    case static_type::number: return "number";
    case static_type::integer: return "integer";
    case static_type::boolean: return "boolean";
    case static_type::datetime: return "datetime";
    case static_type::list: return "list";
  }
  return "?";
}

// ---- text helpers ---------------------------------------------------------------------------------------------
static bool is_space(unsigned char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

static void trim_in_place(std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && is_space(static_cast<unsigned char>(s[e - 1]))) --e;
  if (e != s.size()) s.resize(e);
  if (b) s.erase(0, b);
}

// Lower/upper case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (two-byte UTF-8); other text unchanged.
static void change_case(std::string& s, bool to_lower) {
  for (std::size_t n = 0; n < s.size(); ++n) {
    unsigned char c = static_cast<unsigned char>(s[n]);
    if (c < 0x80) {
      if (to_lower && c >= 'A' && c <= 'Z') s[n] = static_cast<char>(c + 32);
      if (!to_lower && c >= 'a' && c <= 'z') s[n] = static_cast<char>(c - 32);
      continue;
    }
    if ((c & 0xE0) != 0xC0 || n + 1 >= s.size()) continue;
    unsigned char c2 = static_cast<unsigned char>(s[n + 1]);
    if ((c2 & 0xC0) != 0x80) continue;
    unsigned cp = ((c & 0x1Fu) << 6) | (c2 & 0x3Fu), out = cp;
    if (to_lower) {
      if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)) out = cp + 0x20;
      else if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x138 && cp != 0x149 && cp != 0x17F) {
        bool odd_is_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
        if ((cp % 2 == 0) != odd_is_upper) out = cp + 1;
      } else if (cp >= 0x410 && cp <= 0x42F) out = cp + 0x20;
      else if (cp >= 0x400 && cp <= 0x40F) out = cp + 0x50;
    } else {
      if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7) || (cp >= 0x3B1 && cp <= 0x3CB && cp != 0x3C2)) out = cp - 0x20;
      else if (cp >= 0x100 && cp <= 0x17F && cp != 0x131 && cp != 0x138 && cp != 0x149 && cp != 0x17F) {
        bool odd_is_upper = (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E);
        if ((cp % 2 == 1) != odd_is_upper) out = cp - 1;
      } else if (cp >= 0x430 && cp <= 0x44F) out = cp - 0x20;
      else if (cp >= 0x450 && cp <= 0x45F) out = cp - 0x50;
    }
    if (out != cp && out < 0x800) {  // stays a two-byte sequence
      s[n] = static_cast<char>(0xC0 | (out >> 6));
      s[n + 1] = static_cast<char>(0x80 | (out & 0x3F));
    }
    ++n;
  }
}

// Cuts to at most `limit` code points without splitting a UTF-8 sequence.
static void truncate_code_points(std::string& s, std::size_t limit) {
  std::size_t count = 0;
  for (std::size_t n = 0; n < s.size(); ++n) {
    if ((static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) continue;
    if (count == limit) {
      s.resize(n);
      return;
    }
    ++count;
  }
}

std::size_t code_points(std::string_view s);
std::size_t code_points(std::string_view s) {
  std::size_t count = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  return count;
}

static bool to_string_value(value& v, std::string& error) {
  switch (v.k) {
    case value::kind::string: return true;
    case value::kind::boolean: v.set_string(v.b ? "true" : "false"); return true;
    case value::kind::integer:
    case value::kind::number: {
      std::string s;
      append_json(s, v);
      v.set_string(s);
      return true;
    }
    default: error = "expected a string, got " + std::string(kind_name(v.k)); return false;
  }
}

static bool parse_number_text(std::string_view t, value& v) {
  while (!t.empty() && is_space(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && is_space(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  if (t.empty()) return false;
  std::string_view u = t[0] == '+' ? t.substr(1) : t;
  std::int64_t i;
  auto ri = std::from_chars(u.data(), u.data() + u.size(), i);
  if (ri.ec == std::errc{} && ri.ptr == u.data() + u.size()) {
    v.set_int(i);
    return true;
  }
  double d;
  auto rd = std::from_chars(u.data(), u.data() + u.size(), d);
  if (rd.ec != std::errc{} || rd.ptr != u.data() + u.size() || !std::isfinite(d)) return false;
  v.set_number(d);
  return true;
}

bool coerce(value& v, std::string_view type, std::string& error) {
  if (v.is_null_or_missing()) return true;
  if (type == "string" || type.empty()) return type.empty() || to_string_value(v, error);
  if (type == "number" || type == "integer") {
    if (v.k == value::kind::string && !parse_number_text(v.s, v)) {
      error = "expected a number";
      return false;
    }
    if (v.k != value::kind::integer && v.k != value::kind::number) {
      error = "expected a number, got " + std::string(kind_name(v.k));
      return false;
    }
    if (type == "integer" && v.k == value::kind::number) {
      if (v.d != std::floor(v.d) || std::fabs(v.d) > 9.2e18) {
        error = "expected an integer";
        return false;
      }
      v.set_int(static_cast<std::int64_t>(v.d));
    }
    return true;
  }
  if (type == "boolean") {
    if (v.k == value::kind::boolean) return true;
    if (v.k == value::kind::integer && (v.i == 0 || v.i == 1)) {
      v.set_bool(v.i == 1);
      return true;
    }
    if (v.k == value::kind::string) {
      std::string t = v.s;
      trim_in_place(t);
      change_case(t, true);
      if (t == "true" || t == "yes" || t == "1" || t == "on") { v.set_bool(true); return true; }
      if (t == "false" || t == "no" || t == "0" || t == "off") { v.set_bool(false); return true; }
    }
    error = "expected a boolean (true/false, yes/no, 1/0)";
    return false;
  }
  if (type == "datetime") {
    std::optional<std::int64_t> ms;
    if (v.k == value::kind::string) {
      // The vendors' forms: ISO 8601 (any offset spelling, a fraction or none, a bare date) or epoch ms text.
      if (auto t = parse_vendor_time(v.s)) ms = to_epoch_ms(*t);
    } else if (v.k == value::kind::integer) ms = v.i;
    else if (v.k == value::kind::number && v.d == std::floor(v.d) && std::fabs(v.d) < 9e15)
      ms = static_cast<std::int64_t>(v.d);
    if (!ms) {
      error = "expected a date-time (ISO 8601 or epoch milliseconds)";
      return false;
    }
    v.set_string(format_iso8601_ms(from_epoch_ms(*ms)));
    return true;
  }
  if (type == "string_list") {
    if (v.k == value::kind::array) {
      for (auto& item : v.items)
        if (!item.is_null_or_missing() && !to_string_value(item, error)) return false;
      return true;
    }
    if (!to_string_value(v, error)) return false;
    value item;
    item.set_string(v.s);
    v.k = value::kind::array;
    v.items.assign(1, std::move(item));
    return true;
  }
  if (type == "object") {
    if (v.k == value::kind::object) return true;
    error = "expected an object, got " + std::string(kind_name(v.k));
    return false;
  }
  error = "unknown type " + std::string(type);
  return false;
}

// ---- registry -------------------------------------------------------------------------------------------------
void transform_registry::add(std::string name, static_type input, static_type output, transform_fn fn) {
  transform_def def;
  def.input = input;
  def.output = output;
  def.make = [fn = std::move(fn)](const YAML::Node&, std::string&) -> std::optional<transform_fn> { return fn; };
  defs_[std::move(name)] = std::move(def);
}

void transform_registry::add(std::string name, transform_def def) { defs_[std::move(name)] = std::move(def); }

const transform_def* transform_registry::find(std::string_view name) const {
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : &it->second;
}

std::vector<std::string> transform_registry::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : defs_) out.push_back(k);
  return out;
}

static bool need_string(value& v, std::string& error) {
  if (v.k == value::kind::string) return true;
  error = "expected a string, got " + std::string(kind_name(v.k));
  return false;
}

// Reads a scalar argument: `{ name: X }` or `{ name: { key: X } }`.
static std::optional<std::string> scalar_arg(const YAML::Node& args, const char* key, std::string& error) {
  if (args && args.IsScalar()) return args.Scalar();
  if (args && args.IsMap() && args[key] && args[key].IsScalar()) return args[key].Scalar();
  error = std::string("needs an argument '") + key + "'";
  return std::nullopt;
}

static transform_def with_args(static_type in, static_type out,
                               std::function<std::optional<transform_fn>(const YAML::Node&, std::string&)> make) {
  transform_def d;
  d.input = in;
  d.output = out;
  d.takes_args = true;
  d.make = std::move(make);
  return d;
}

static transform_registry make_builtins() {
  transform_registry r;
  using st = static_type;
  r.add("trim", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    trim_in_place(v.s);
    return true;
  });
  r.add("lower", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    change_case(v.s, true);
    return true;
  });
  r.add("upper", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    change_case(v.s, false);
    return true;
  });
  r.add("collapse_spaces", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    std::string& s = v.s;
    std::size_t w = 0;
    bool in_space = true;  // drops leading spaces
    for (std::size_t n = 0; n < s.size(); ++n) {
      if (is_space(static_cast<unsigned char>(s[n]))) {
        if (!in_space) s[w++] = ' ';
        in_space = true;
      } else {
        s[w++] = s[n];
        in_space = false;
      }
    }
    if (w > 0 && s[w - 1] == ' ') --w;
    s.resize(w);
    return true;
  });
  // A full name ("Mary Ann Smith") split at its last space: given names ("Mary Ann") and family name ("Smith"),
  // for vendors with a single name field (Zendesk, Intercom). A one-word name is a given name only.
  r.add("given_name", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    auto cut = v.s.find_last_of(' ');
    if (cut != std::string::npos) v.s.resize(cut);
    return true;
  });
  r.add("family_name", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    auto cut = v.s.find_last_of(' ');
    if (cut == std::string::npos) v.set_null();
    else v.s.erase(0, cut + 1);
    return true;
  });
  r.add("digits", st::string, st::string, [](value& v, std::string& e) {
    if (v.k == value::kind::integer && v.i >= 0) {
      v.set_string(std::to_string(v.i));
      return true;
    }
    if (!need_string(v, e)) return false;
    std::size_t w = 0;
    for (char c : v.s)
      if (c >= '0' && c <= '9') v.s[w++] = c;
    v.s.resize(w);
    return true;
  });
  r.add("email", st::string, st::string, [](value& v, std::string& e) {
    if (!need_string(v, e)) return false;
    trim_in_place(v.s);
    change_case(v.s, true);
    const std::string& s = v.s;
    const auto at = s.find('@');
    bool ok = at != std::string::npos && at > 0 && s.find('@', at + 1) == std::string::npos &&
              s.find('.', at) != std::string::npos && s.back() != '.' && s[at + 1] != '.';
    for (char c : s)
      if (is_space(static_cast<unsigned char>(c)) || c == ',' || c == '<' || c == '>') ok = false;
    if (!ok) e = "not an e-mail address";
    return ok;
  });
  r.add("not", st::boolean, st::boolean, [](value& v, std::string& e) {
    if (v.k != value::kind::boolean && !coerce(v, "boolean", e)) return false;
    v.b = !v.b;
    return true;
  });
  r.add("sha256", st::string, st::string, [](value& v, std::string& e) {
    if (!to_string_value(v, e)) return false;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(v.s.data(), v.s.size(), md, &len, EVP_sha256(), nullptr) != 1) {
      e = "sha256 failed";
      return false;
    }
    static constexpr char hex[] = "0123456789abcdef";
    v.s.resize(len * 2);
    for (unsigned n = 0; n < len; ++n) {
      v.s[2 * n] = hex[md[n] >> 4];
      v.s[2 * n + 1] = hex[md[n] & 15];
    }
    return true;
  });
  // Intercom and Stripe write Unix seconds; datetime treats bare numbers as milliseconds (HubSpot).
  r.add("epoch_seconds", st::number, st::integer, [](value& v, std::string& e) {
    if (!coerce(v, "number", e)) return false;
    const double secs = v.k == value::kind::integer ? static_cast<double>(v.i) : v.d;
    if (std::fabs(secs) > 9e12) {
      e = "out of range for Unix seconds";
      return false;
    }
    v.set_int(static_cast<std::int64_t>(std::llround(secs * 1000)));
    return true;
  });
  for (const char* t : {"string", "number", "integer", "boolean", "datetime"}) {
    st out = std::string_view(t) == "string"    ? st::string
             : std::string_view(t) == "number"  ? st::number
             : std::string_view(t) == "integer" ? st::integer
             : std::string_view(t) == "boolean" ? st::boolean
                                                : st::datetime;
    std::string type = t;
    r.add(t, st::any, out, [type](value& v, std::string& e) { return coerce(v, type, e); });
  }
  r.add("e164", with_args(st::string, st::string, [](const YAML::Node& args, std::string& error)
                              -> std::optional<transform_fn> {
          std::string region = "ZZ";
          if (args) {
            auto reg = scalar_arg(args, "region", error);
            if (!reg) return std::nullopt;
            region = *reg;
            if (region.size() != 2 || !std::isupper(static_cast<unsigned char>(region[0])) ||
                !std::isupper(static_cast<unsigned char>(region[1]))) {
              error = "region must be a two-letter country code like US, got \"" + region + "\"";
              return std::nullopt;
            }
          }
          return transform_fn([region](value& v, std::string& e) {
            if (!to_string_value(v, e)) return false;
            auto out = to_e164(v.s, region);
            if (!out) {
              e = "not a valid phone number";
              return false;
            }
            v.s = std::move(*out);
            return true;
          });
        }));
  r.add("truncate", with_args(st::string, st::string, [](const YAML::Node& args, std::string& error)
                                  -> std::optional<transform_fn> {
          auto n = scalar_arg(args, "length", error);
          std::size_t len = 0;
          if (!n) return std::nullopt;
          auto res = std::from_chars(n->data(), n->data() + n->size(), len);
          if (res.ec != std::errc{} || res.ptr != n->data() + n->size() || len == 0) {
            error = "length must be a positive integer, got \"" + *n + "\"";
            return std::nullopt;
          }
          return transform_fn([len](value& v, std::string& e) {
            if (!to_string_value(v, e)) return false;
            truncate_code_points(v.s, len);
            return true;
          });
        }));
  r.add("split", with_args(st::string, st::list, [](const YAML::Node& args, std::string& error)
                               -> std::optional<transform_fn> {
          auto sep = scalar_arg(args, "separator", error);
          if (!sep) return std::nullopt;
          if (sep->empty()) {
            error = "separator must not be empty";
            return std::nullopt;
          }
          return transform_fn([sep = *sep](value& v, std::string& e) {
            if (!need_string(v, e)) return false;
            std::string s = std::move(v.s);
            v.k = value::kind::array;
            v.items.clear();
            std::size_t start = 0;
            while (true) {
              auto pos = s.find(sep, start);
              std::string part = s.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
              trim_in_place(part);
              if (!part.empty()) {
                value item;
                item.set_string(part);
                v.items.push_back(std::move(item));
              }
              if (pos == std::string::npos) break;
              start = pos + sep.size();
            }
            return true;
          });
        }));
  r.add("join", with_args(st::list, st::string, [](const YAML::Node& args, std::string& error)
                              -> std::optional<transform_fn> {
          auto sep = scalar_arg(args, "separator", error);
          if (!sep) return std::nullopt;
          return transform_fn([sep = *sep](value& v, std::string& e) {
            if (v.k != value::kind::array) return to_string_value(v, e);
            std::string out;
            bool first = true;
            for (auto& item : v.items) {
              if (item.is_null_or_missing()) continue;
              if (!to_string_value(item, e)) return false;
              if (!first) out += sep;
              out += item.s;
              first = false;
            }
            v.set_string(out);
            return true;
          });
        }));
  for (bool front : {true, false}) {
    r.add(front ? "prepend" : "append",
          with_args(st::string, st::string,
                    [front](const YAML::Node& args, std::string& error) -> std::optional<transform_fn> {
                      auto text = scalar_arg(args, "text", error);
                      if (!text) return std::nullopt;
                      return transform_fn([front, text = *text](value& v, std::string& e) {
                        if (!to_string_value(v, e)) return false;
                        if (front) v.s.insert(0, text);
                        else v.s += text;
                        return true;
                      });
                    }));
  }
  return r;
}

const transform_registry& transform_registry::builtins() {
  static const transform_registry r = make_builtins();
  return r;
}

}  // namespace omnisync::mapping
