// Mapping compiler, sources: paths (`a.b[0].c[*]`), `@target` references, the canonical attributes outbound
// sources name, and `when:` conditions.
#include <charconv>

#include "mapping/canonical.hpp"
#include "mapping/compiler.hpp"

namespace omnisync::mapping {
namespace {

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '$' || c == ':';
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) {
    if (!s.empty()) s += '.';
    s += k;
  }
  return s;
}

}  // namespace

/// Parses `a.b[0].c[*]`; on error returns the 0-based offset of the problem and a message.
std::optional<std::pair<std::size_t, std::string>> parse_path(std::string_view text, source_ref& out) {
  out.text = std::string(text);
  if (text.empty()) return std::make_pair(std::size_t{0}, std::string("empty path"));
  std::size_t p = 0;
  bool in_rest = false;
  auto push_key = [&](std::string k) {
    if (in_rest) {
      path_step s;
      s.key = std::move(k);
      out.rest.push_back(std::move(s));
    } else {
      out.keys.push_back(std::move(k));
    }
  };
  while (true) {
    std::size_t start = p;
    while (p < text.size() && is_key_char(text[p])) ++p;
    if (p == start) {
      if (p < text.size())
        return std::make_pair(p, "unexpected character '" + std::string(1, text[p]) + "' in path \"" +
                                     std::string(text) + "\"");
      return std::make_pair(p, "path \"" + std::string(text) + "\" ends with an empty segment");
    }
    push_key(std::string(text.substr(start, p - start)));
    while (p < text.size() && text[p] == '[') {
      std::size_t close = text.find(']', p);
      if (close == std::string_view::npos)
        return std::make_pair(p, "unclosed '[' in path \"" + std::string(text) + "\"");
      std::string_view inner = text.substr(p + 1, close - p - 1);
      path_step s;
      if (inner == "*") {
        s.k = path_step::kind::wildcard;
      } else {
        s.k = path_step::kind::index;
        auto r = std::from_chars(inner.data(), inner.data() + inner.size(), s.index);
        if (inner.empty() || r.ec != std::errc{} || r.ptr != inner.data() + inner.size())
          return std::make_pair(p + 1, "array index must be a number or *, got \"" + std::string(inner) + "\"");
      }
      out.rest.push_back(std::move(s));
      in_rest = true;
      p = close + 1;
    }
    if (p == text.size()) return std::nullopt;
    if (text[p] != '.')
      return std::make_pair(p, "unexpected character '" + std::string(1, text[p]) + "' in path \"" +
                                   std::string(text) + "\"");
    ++p;
  }
}

bool compiler::compile_source_text(const YAML::Node& n, std::string_view text, std::size_t offset,
                                   const std::string& path, source_ref& out) {
  if (!text.empty() && text[0] == '@') {
    std::string target(text.substr(1));
    out.text = std::string(text);
    out.ref_field = -2;  // resolved in order_fields
    out.keys = {target};
    return true;
  }
  if (auto bad = parse_path(text, out)) {
    error(n, path, bad->second, offset + bad->first);
    return false;
  }
  if (plan_->dir == direction::outbound) {
    // Outbound sources are canonical attributes of the profile (or _profile_id).
    std::string name = join_keys(out.keys);
    bool ok = name == "_profile_id" || find_attribute(canonical_, name);
    for (std::size_t k = out.keys.size(); !ok && k-- > 1;) {
      std::vector<std::string> prefix(out.keys.begin(), out.keys.begin() + static_cast<long>(k));
      ok = find_attribute(canonical_, join_keys(prefix)) != nullptr;
    }
    if (!ok) {
      std::string msg = "unknown canonical attribute \"" + name + "\"";
      if (auto near = closest_name(name, canonical_names())) msg += " (did you mean \"" + *near + "\"?)";
      error(n, path, msg, offset);
      return false;
    }
  }
  return true;
}

bool compiler::compile_path(const YAML::Node& n, const std::string& path, source_ref& out) {
  if (!n.IsScalar()) {
    error(n, path, "expected a path (a string like Account.Name)");
    return false;
  }
  return compile_source_text(n, n.Scalar(), 0, path, out);
}

std::optional<condition> compiler::compile_condition(const YAML::Node& n, const std::string& path) {
  condition c;
  if (n.IsScalar()) {
    if (!compile_path(n, path, c.src)) return std::nullopt;
    return c;
  }
  if (!n.IsMap()) {
    error(n, path, "expected a path or { path: ..., equals | not_equals | in | exists: ... }");
    return std::nullopt;
  }
  check_keys(n, path, {"path", "equals", "not_equals", "in", "exists"});
  if (!n["path"]) {
    error(n, path, "missing \"path\"");
    return std::nullopt;
  }
  if (!compile_path(n["path"], path + ".path", c.src)) return std::nullopt;
  int ops = 0;
  auto scalar = [&](const char* key) -> bool {
    if (!n[key]) return false;
    ++ops;
    if (!n[key].IsScalar()) error(n[key], path + "." + key, "expected a scalar");
    else c.operands.push_back(n[key].Scalar());
    return true;
  };
  if (scalar("equals")) c.o = condition::op::equals;
  if (scalar("not_equals")) c.o = condition::op::not_equals;
  if (n["in"]) {
    ++ops;
    c.o = condition::op::in;
    if (!n["in"].IsSequence()) error(n["in"], path + ".in", "expected a list of values");
    else
      for (const auto& v : n["in"]) c.operands.push_back(v.IsScalar() ? v.Scalar() : std::string());
  }
  if (n["exists"]) {
    ++ops;
    c.o = condition::op::exists;
    c.exists_expected = n["exists"].IsScalar() && n["exists"].Scalar() != "false";
  }
  if (ops > 1) error(n, path, "use only one of equals, not_equals, in, exists");
  return c;
}

}  // namespace omnisync::mapping
