// Compiles mapping YAML into a plan: every problem is reported with file:line:col, all at once.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "mapping/canonical.hpp"
#include "mapping/plan_impl.hpp"

namespace omnisync::mapping {

std::size_t code_points(std::string_view s);  // transforms.cpp

namespace {

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '$' || c == ':';
}

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

std::string join_keys(const std::vector<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) {
    if (!s.empty()) s += '.';
    s += k;
  }
  return s;
}

static_type type_of_name(std::string_view t) {
  if (t == "string") return static_type::string;
  if (t == "number") return static_type::number;
  if (t == "integer") return static_type::integer;
  if (t == "boolean") return static_type::boolean;
  if (t == "datetime") return static_type::datetime;
  if (t == "string_list") return static_type::list;
  return static_type::any;
}

bool accepts(static_type in, static_type cur) {
  if (in == static_type::any || cur == static_type::any || in == cur) return true;
  switch (in) {
    case static_type::string:
      return cur == static_type::number || cur == static_type::integer || cur == static_type::datetime;
    case static_type::boolean: return cur == static_type::string;
    case static_type::number: return cur == static_type::integer || cur == static_type::string;
    case static_type::integer: return cur == static_type::number || cur == static_type::string;
    case static_type::datetime:
      return cur == static_type::string || cur == static_type::number || cur == static_type::integer;
    case static_type::list: return cur == static_type::string;  // a single value becomes a one-item list
    default: return false;
  }
}

const std::set<std::string> k_types = {"string", "number", "integer", "boolean", "datetime", "string_list", "object"};

class compiler {
 public:
  compiler(std::string file, const std::vector<config::attribute_decl>& canonical, config::diagnostics& diags,
           const transform_registry& transforms)
      : file_(std::move(file)), canonical_(canonical), diags_(diags), transforms_(transforms) {}

  std::unique_ptr<plan_impl> run(const YAML::Node& root);

 private:
  void error(const YAML::Node& n, const std::string& path, const std::string& msg, std::size_t col_offset = 0) {
    auto where = config::location_of(file_, n);
    if (where.line > 0 && col_offset > 0)
      where.column += static_cast<int>(col_offset) + (n.IsScalar() && n.Tag() == "!" ? 1 : 0);
    diags_.add(std::move(where), path, msg);
  }
  void check_keys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed);
  bool compile_path(const YAML::Node& n, const std::string& path, source_ref& out);
  bool compile_source_text(const YAML::Node& n, std::string_view text, std::size_t offset, const std::string& path,
                           source_ref& out);
  void compile_field(const std::string& target, const YAML::Node& spec, const std::string& path, field_spec& f);
  std::optional<condition> compile_condition(const YAML::Node& n, const std::string& path);
  void compile_events(const YAML::Node& n);
  void finalize(plan_impl& p);
  void order_fields(plan_impl& p);

  std::string file_;
  const std::vector<config::attribute_decl>& canonical_;
  config::diagnostics& diags_;
  const transform_registry& transforms_;
  plan_impl* plan_ = nullptr;
  std::map<std::string, int> target_index_;
  std::vector<std::pair<const YAML::Node, std::string>> pending_refs_;
  std::vector<int> field_lines_;
  std::vector<std::vector<std::string>> field_refs_;  // referenced targets per field
  std::vector<std::string>* current_refs_ = nullptr;
  std::vector<std::string> canonical_names() const {
    std::vector<std::string> v;
    for (const auto& a : canonical_) v.push_back(a.name);
    return v;
  }
};

void compiler::check_keys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string k = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string msg = "unknown key \"" + k + "\"";
    if (auto near = closest_name(k, allowed)) msg += " (did you mean \"" + *near + "\"?)";
    error(it->first, path.empty() ? k : path + "." + k, msg);
  }
}

bool compiler::compile_source_text(const YAML::Node& n, std::string_view text, std::size_t offset,
                                   const std::string& path, source_ref& out) {
  if (!text.empty() && text[0] == '@') {
    std::string target(text.substr(1));
    out.text = std::string(text);
    if (current_refs_) current_refs_->push_back(target);
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

void compiler::compile_field(const std::string& target, const YAML::Node& spec, const std::string& path,
                             field_spec& f) {
  f.target = target;
  f.line = config::location_of(file_, spec).line;
  YAML::Node built(YAML::NodeType::Map);
  if (spec.IsScalar() || spec.IsSequence()) built.force_insert("from", spec);
  const YAML::Node n = spec.IsMap() ? spec : built;
  if (!spec.IsMap() && !spec.IsScalar() && !spec.IsSequence()) {
    error(spec, path, "expected a source path or a map with from/value/template");
    return;
  }
  const bool outbound = plan_->dir == direction::outbound;
  std::vector<std::string> allowed = {"from", "value", "template", "transform", "map", "default", "type", "required",
                                      "when", "on_error", "merge", "owner", "description"};
  if (outbound) allowed.push_back("max_length");
  if (spec.IsMap()) check_keys(spec, path, allowed);
  auto at = [&](const char* k) { return n[k]; };

  // Source.
  int kinds = (n["from"] ? 1 : 0) + (n["value"] ? 1 : 0) + (n["template"] ? 1 : 0);
  if (kinds != 1) {
    error(spec, path, kinds == 0 ? "needs one of from, value or template" : "use only one of from, value, template");
    return;
  }
  static_type cur = static_type::any;
  if (YAML::Node from = n["from"]) {
    f.src = field_spec::source_kind::path;
    const std::string from_path = spec.IsMap() ? path + ".from" : path;  // `email: Email` reports fields.email
    if (from.IsSequence()) {
      if (from.size() == 0) error(from, from_path, "empty list of paths");
      for (std::size_t k = 0; k < from.size(); ++k) {
        source_ref r;
        if (compile_path(from[k], from_path + "[" + std::to_string(k) + "]", r)) f.sources.push_back(std::move(r));
      }
    } else {
      source_ref r;
      if (compile_path(from, from_path, r)) f.sources.push_back(std::move(r));
    }
    for (const auto& r : f.sources) {
      if (!f.source_text.empty()) f.source_text += ", ";
      f.source_text += r.text;
      for (const auto& s : r.rest)
        if (s.k == path_step::kind::wildcard) cur = static_type::list;
    }
  } else if (YAML::Node v = n["value"]) {
    f.src = field_spec::source_kind::constant;
    if (!v.IsScalar()) error(v, path + ".value", "expected a scalar constant");
    else {
      f.constant.set_string(v.Scalar());
      cur = static_type::string;
      if (v.Tag() != "!" && (v.Scalar() == "true" || v.Scalar() == "false")) {
        f.constant.set_bool(v.Scalar() == "true");
        cur = static_type::boolean;
      } else if (v.Tag() != "!") {
        value num;
        std::string ignored;
        num.set_string(v.Scalar());
        if (coerce(num, "number", ignored)) {
          f.constant = num;
          cur = static_type::number;
        }
      }
    }
  } else {
    YAML::Node t = n["template"];
    f.src = field_spec::source_kind::templ;
    cur = static_type::string;
    f.source_text = t.IsScalar() ? t.Scalar() : "";
    if (!t.IsScalar()) error(t, path + ".template", "expected a string like \"{FirstName} {LastName}\"");
    else {
      const std::string& s = t.Scalar();
      std::string lit;
      for (std::size_t p = 0; p < s.size(); ++p) {
        if (s[p] == '{' && p + 1 < s.size() && s[p + 1] == '{') { lit += '{'; ++p; continue; }
        if (s[p] == '}' && p + 1 < s.size() && s[p + 1] == '}') { lit += '}'; ++p; continue; }
        if (s[p] == '}') { error(t, path + ".template", "unmatched '}' (write }} for a literal brace)", p); break; }
        if (s[p] != '{') { lit += s[p]; continue; }
        std::size_t close = s.find('}', p);
        if (close == std::string::npos) { error(t, path + ".template", "unclosed '{' in template", p); break; }
        if (!lit.empty()) { template_part part; part.literal = std::move(lit); f.parts.push_back(std::move(part)); lit.clear(); }
        template_part part;
        source_ref r;
        if (compile_source_text(t, std::string_view(s).substr(p + 1, close - p - 1), p + 1, path + ".template", r))
          part.ref = std::move(r);
        f.parts.push_back(std::move(part));
        p = close;
      }
      if (!lit.empty()) { template_part part; part.literal = std::move(lit); f.parts.push_back(std::move(part)); }
    }
  }

  // Transforms.
  if (YAML::Node tr = at("transform")) {
    if (!tr.IsSequence()) error(tr, path + ".transform", "expected a list of transforms");
    for (std::size_t k = 0; tr.IsSequence() && k < tr.size(); ++k) {
      const YAML::Node t = tr[k];
      const std::string tpath = path + ".transform[" + std::to_string(k) + "]";
      // (yaml-cpp: assigning to an existing Node rebinds the document node, so these are built once)
      if (!t.IsScalar() && !(t.IsMap() && t.size() == 1)) {
        error(t, tpath, "expected a transform name or { name: arguments }");
        continue;
      }
      const YAML::Node name_node = t.IsScalar() ? t : t.begin()->first;
      const YAML::Node args = t.IsScalar() ? YAML::Node() : t.begin()->second;
      const std::string name = name_node.Scalar();
      const transform_def* def = transforms_.find(name);
      if (!def) {
        std::string msg = "unknown transform \"" + name + "\"";
        if (auto near = closest_name(name, transforms_.names())) msg += " (did you mean \"" + *near + "\"?)";
        error(name_node, tpath, msg);
        continue;
      }
      if (!accepts(def->input, cur)) {
        error(name_node, tpath, "type mismatch: transform \"" + name + "\" takes a " +
                                    std::string(static_type_name(def->input)) + " but gets a " +
                                    std::string(static_type_name(cur)));
      }
      std::string err;
      auto fn = def->make(args, err);
      if (!fn) {
        error(args ? args : name_node, tpath, "transform \"" + name + "\": " + err);
        continue;
      }
      if (outbound && name == "truncate" && n["max_length"] && n["max_length"].IsScalar()) {
        std::size_t lim = 0, want = 0;
        const std::string& ml = n["max_length"].Scalar();
        std::from_chars(ml.data(), ml.data() + ml.size(), lim);
        std::string a = args.IsScalar() ? args.Scalar() : (args["length"] ? args["length"].Scalar() : "0");
        std::from_chars(a.data(), a.data() + a.size(), want);
        if (lim > 0 && want > lim)
          error(args, tpath, "truncate to " + std::to_string(want) + " is longer than the destination allows (max_length " +
                                 std::to_string(lim) + ")");
      }
      f.transforms.push_back(std::move(*fn));
      f.transform_names.push_back(name);
      if (def->output != static_type::any) cur = def->output;
    }
  }

  // Types.
  if (!outbound) {
    if (const auto* a = find_attribute(canonical_, target)) f.target_type = a->type;
  }
  if (YAML::Node t = at("type")) {
    if (!t.IsScalar() || !k_types.count(t.Scalar())) {
      error(t, path + ".type", "unknown type \"" + (t.IsScalar() ? t.Scalar() : std::string("?")) +
                                   "\" (string, number, integer, boolean, datetime, string_list, object)");
    } else {
      f.field_type = t.Scalar();
      if (!f.target_type.empty() && f.field_type != f.target_type && f.target_type != "string" &&
          !(f.field_type == "integer" && f.target_type == "number") &&
          !(f.field_type == "string" && f.target_type != "boolean" && f.target_type != "object")) {
        error(t, path + ".type", "type mismatch: declared " + f.field_type + " but attribute \"" + target +
                                     "\" is " + f.target_type);
      }
      if (!accepts(type_of_name(f.field_type), cur) && f.field_type != "string")
        error(t, path + ".type", "type mismatch: cannot convert a " + std::string(static_type_name(cur)) + " to " +
                                     f.field_type);
      cur = type_of_name(f.field_type);
    }
  }
  const std::string final_type = !f.target_type.empty() ? f.target_type : f.field_type;
  auto check_constant = [&](value& v, const YAML::Node& node, const std::string& p) {
    std::string err;
    if (!f.field_type.empty() && !coerce(v, f.field_type, err)) error(node, p, "type mismatch: " + err);
    else if (!f.target_type.empty() && !coerce(v, f.target_type, err)) error(node, p, "type mismatch: " + err);
    if (n["max_length"] && n["max_length"].IsScalar() && v.k == value::kind::string) {
      std::size_t lim = 0;
      const std::string& ml = n["max_length"].Scalar();
      std::from_chars(ml.data(), ml.data() + ml.size(), lim);
      if (lim > 0 && code_points(v.s) > lim)
        error(node, p, "value \"" + v.s + "\" is longer than the destination allows (max_length " +
                           std::to_string(lim) + ")");
    }
  };

  // Value map.
  if (YAML::Node m = at("map")) {
    f.has_map = true;
    if (!m.IsMap()) error(m, path + ".map", "expected a map of source value -> target value");
    for (auto it = m.begin(); m.IsMap() && it != m.end(); ++it) {
      value v;
      if (it->second.IsNull()) {
        v.set_null();
        f.map.emplace(it->first.Scalar(), std::move(v));
        continue;
      }
      if (!it->second.IsScalar()) {
        error(it->second, path + ".map." + it->first.Scalar(), "expected a scalar");
        continue;
      }
      v.set_string(it->second.Scalar());
      if (final_type.empty() && it->second.Tag() != "!" && (v.s == "true" || v.s == "false")) v.set_bool(v.s == "true");
      check_constant(v, it->second, path + ".map." + it->first.Scalar());
      if (!f.map.emplace(it->first.Scalar(), std::move(v)).second)
        error(it->first, path + ".map." + it->first.Scalar(), "duplicate key \"" + it->first.Scalar() + "\"");
    }
    cur = type_of_name(final_type);
  }
  if (f.src == field_spec::source_kind::constant) check_constant(f.constant, n["value"], path + ".value");
  if (YAML::Node d = at("default")) {
    f.has_default = true;
    if (d.IsNull()) f.default_value.set_null();
    else if (!d.IsScalar()) error(d, path + ".default", "expected a scalar");
    else {
      f.default_value.set_string(d.Scalar());
      if (final_type.empty() && d.Tag() != "!" && (d.Scalar() == "true" || d.Scalar() == "false"))
        f.default_value.set_bool(d.Scalar() == "true");
      check_constant(f.default_value, d, path + ".default");
    }
  }
  if (!f.target_type.empty() && f.field_type.empty() && !accepts(type_of_name(f.target_type), cur) &&
      f.target_type != "string") {
    error(spec, path, "type mismatch: produces a " + std::string(static_type_name(cur)) + " but attribute \"" +
                          target + "\" is " + f.target_type);
  }
  if (f.target_type == "string" && (cur == static_type::list))
    error(spec, path, "type mismatch: produces a list but attribute \"" + target + "\" is a string (add a join)");

  if (YAML::Node r = at("required")) f.required = r.IsScalar() && r.Scalar() == "true";
  if (YAML::Node w = at("when")) f.when = compile_condition(w, path + ".when");
  if (YAML::Node e = at("on_error")) {
    const std::string s = e.IsNull() ? "null" : e.IsScalar() ? e.Scalar() : "";
    if (s == "fail") f.error_policy = field_spec::on_error::fail;
    else if (s == "null") f.error_policy = field_spec::on_error::null;
    else if (s == "omit") f.error_policy = field_spec::on_error::omit;
    else error(e, path + ".on_error", "expected fail, null or omit");
  }
  if (YAML::Node ml = at("max_length")) {
    std::size_t lim = 0;
    const std::string s = ml.IsScalar() ? ml.Scalar() : "";
    auto r = std::from_chars(s.data(), s.data() + s.size(), lim);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || lim == 0)
      error(ml, path + ".max_length", "expected a positive integer");
    f.max_length = lim;
  }
  if (!outbound && (at("merge") || at("owner"))) {
    attribute_hint h;
    h.attribute = target;
    if (YAML::Node m = at("merge")) h.merge = m.IsScalar() ? m.Scalar() : "";
    if (YAML::Node o = at("owner")) h.owner = o.IsScalar() && o.Scalar() == "true";
    plan_->hints.push_back(std::move(h));
  }
}

void compiler::compile_events(const YAML::Node& evs) {
  if (!evs.IsSequence()) {
    error(evs, "events", "expected a list of events");
    return;
  }
  if (plan_->dir != direction::inbound) error(evs, "events", "timeline events come from inbound mappings only");
  for (std::size_t k = 0; k < evs.size(); ++k) {
    const YAML::Node e = evs[k];
    const std::string path = "events[" + std::to_string(k) + "]";
    if (!e.IsMap()) {
      error(e, path, "expected a map");
      continue;
    }
    check_keys(e, path, {"type", "when", "id", "occurred_at", "person", "amount", "currency", "status", "score"});
    event_spec ev;
    ev.line = config::location_of(file_, e).line;
    if (!e["type"] || !e["type"].IsScalar()) error(e, path, "needs a type (e.g. ticket_created)");
    else ev.type = e["type"].Scalar();
    if (!e["id"]) error(e, path, "needs id (the source record's id, for the subject)");
    else compile_field(path + ".id", e["id"], path + ".id", ev.id);
    if (!e["occurred_at"]) error(e, path, "needs occurred_at");
    else {
      compile_field(path + ".occurred_at", e["occurred_at"], path + ".occurred_at", ev.occurred_at);
      ev.occurred_at.target_type = "datetime";
    }
    auto opt = [&](const char* key, field_spec& f, bool& has, const char* type) {
      if (!e[key]) return;
      has = true;
      compile_field(path + "." + key, e[key], path + "." + key, f);
      f.target_type = type;
    };
    opt("amount", ev.amount, ev.has_amount, "number");
    opt("currency", ev.currency, ev.has_currency, "string");
    opt("status", ev.status, ev.has_status, "string");
    opt("score", ev.score, ev.has_score, "number");
    if (YAML::Node w = e["when"]) ev.when = compile_condition(w, path + ".when");
    if (YAML::Node p = e["person"]) {
      if (!p.IsMap()) error(p, path + ".person", "expected a map of identity attribute -> source");
      for (auto it = p.begin(); p.IsMap() && it != p.end(); ++it) {
        const std::string attr = it->first.Scalar();
        if (!find_attribute(canonical_, attr)) {
          std::string msg = "unknown canonical attribute \"" + attr + "\"";
          if (auto near = closest_name(attr, canonical_names())) msg += " (did you mean \"" + *near + "\"?)";
          error(it->first, path + ".person." + attr, msg);
          continue;
        }
        field_spec f;
        compile_field(attr, it->second, path + ".person." + attr, f);
        ev.person.emplace_back(attr, std::move(f));
      }
    } else {
      error(e, path, "needs person (how the event links to a person, e.g. { external_ids.zendesk: requester_id })");
    }
    plan_->events.push_back(std::move(ev));
  }
}

// Collects every source_ref of the plan.
void for_each_ref(plan_impl& p, const std::function<void(source_ref&)>& fn) {
  auto field = [&](field_spec& f) {
    for (auto& r : f.sources) fn(r);
    for (auto& part : f.parts)
      if (part.ref) fn(*part.ref);
    if (f.when) fn(f.when->src);
  };
  for (auto& f : p.fields) field(f);
  for (auto& e : p.events) {
    for (field_spec* f : {&e.id, &e.occurred_at, &e.amount, &e.currency, &e.status, &e.score}) field(*f);
    for (auto& [a, f] : e.person) field(f);
    if (e.when) fn(e.when->src);
  }
}

void compiler::order_fields(plan_impl& p) {
  // Resolve @target references, then a depth-first topological order; a cycle is reported once per field in it.
  const int n = static_cast<int>(p.fields.size());
  std::vector<std::vector<int>> deps(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    auto& f = p.fields[static_cast<std::size_t>(k)];
    auto visit = [&](source_ref& r) {
      if (r.ref_field != -2) return;
      auto it = target_index_.find(r.keys.empty() ? "" : r.keys[0]);
      if (it == target_index_.end()) {
        diags_.add(config::location{file_, f.line, 0}, "fields." + f.target,
                   "reference \"" + r.text + "\" names no field of this mapping");
        r.ref_field = -1;
        return;
      }
      r.ref_field = it->second;
      r.keys.clear();
      deps[static_cast<std::size_t>(k)].push_back(it->second);
    };
    for (auto& r : f.sources) visit(r);
    for (auto& part : f.parts)
      if (part.ref) visit(*part.ref);
    if (f.when) visit(f.when->src);
  }
  // Event sources may reference fields too (computed before events).
  for_each_ref(p, [&](source_ref& r) {
    if (r.ref_field != -2) return;
    auto it = target_index_.find(r.keys.empty() ? "" : r.keys[0]);
    r.ref_field = it == target_index_.end() ? -1 : it->second;
    r.keys.clear();
  });
  std::vector<int> state(static_cast<std::size_t>(n), 0);  // 0 new, 1 visiting, 2 done
  std::vector<int> stack;
  std::set<int> reported;
  std::function<void(int)> dfs = [&](int k) {
    state[static_cast<std::size_t>(k)] = 1;
    stack.push_back(k);
    for (int d : deps[static_cast<std::size_t>(k)]) {
      if (state[static_cast<std::size_t>(d)] == 1) {
        auto from = std::find(stack.begin(), stack.end(), d);
        std::string cycle;
        for (auto it = from; it != stack.end(); ++it) cycle += p.fields[static_cast<std::size_t>(*it)].target + " -> ";
        cycle += p.fields[static_cast<std::size_t>(d)].target;
        if (reported.insert(d).second)
          diags_.add(config::location{file_, p.fields[static_cast<std::size_t>(d)].line, 0},
                     "fields." + p.fields[static_cast<std::size_t>(d)].target, "cycle: " + cycle);
      } else if (state[static_cast<std::size_t>(d)] == 0) {
        dfs(d);
      }
    }
    stack.pop_back();
    state[static_cast<std::size_t>(k)] = 2;
    p.order.push_back(k);
  };
  for (int k = 0; k < n; ++k)
    if (state[static_cast<std::size_t>(k)] == 0) dfs(k);
}

void compiler::finalize(plan_impl& p) {
  // Extraction prefixes: a path whose leading keys extend another extracted path reads below that one's value.
  std::set<std::vector<std::string>> prefixes;
  for_each_ref(p, [&](source_ref& r) {
    if (r.ref_field < 0 && !r.keys.empty()) prefixes.insert(r.keys);
  });
  std::map<std::vector<std::string>, int> slots;
  for (const auto& pre : prefixes) {
    bool covered = false;
    for (std::size_t len = 1; len < pre.size() && !covered; ++len)
      covered = prefixes.count(std::vector<std::string>(pre.begin(), pre.begin() + static_cast<long>(len))) > 0;
    if (covered) continue;
    const int slot = p.slot_count++;
    slots[pre] = slot;
    trie_node* node = &p.root;
    for (const auto& k : pre) {
      auto it = std::find_if(node->children.begin(), node->children.end(), [&](const trie_node& c) { return c.key == k; });
      if (it == node->children.end()) {
        node->children.push_back(trie_node{k, -1, {}});
        node = &node->children.back();
      } else {
        node = &*it;
      }
    }
    node->slot = slot;
  }
  for_each_ref(p, [&](source_ref& r) {
    if (r.ref_field >= 0 || r.keys.empty()) return;
    for (std::size_t len = 1; len <= r.keys.size(); ++len) {
      auto it = slots.find(std::vector<std::string>(r.keys.begin(), r.keys.begin() + static_cast<long>(len)));
      if (it == slots.end()) continue;
      r.slot = it->second;
      std::vector<path_step> rest;
      for (std::size_t k = len; k < r.keys.size(); ++k) {
        path_step s;
        s.key = r.keys[k];
        rest.push_back(std::move(s));
      }
      rest.insert(rest.end(), r.rest.begin(), r.rest.end());
      r.rest = std::move(rest);
      break;
    }
  });
  // Output layout: dotted targets nest.
  for (std::size_t k = 0; k < p.fields.size(); ++k) {
    std::vector<std::string> parts;
    std::string_view t = p.fields[k].target;
    std::size_t start = 0;
    while (true) {
      auto dot = t.find('.', start);
      parts.emplace_back(t.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    std::vector<output_node>* level = &p.output;
    for (std::size_t j = 0; j < parts.size(); ++j) {
      auto it = std::find_if(level->begin(), level->end(), [&](const output_node& o) { return o.key == parts[j]; });
      const bool last = j + 1 == parts.size();
      if (it == level->end()) {
        level->push_back(output_node{parts[j], last ? static_cast<int>(k) : -1, {}});
        it = level->end() - 1;
      } else if (last || it->field >= 0) {
        diags_.add(config::location{file_, p.fields[k].line, 0}, "fields." + p.fields[k].target,
                   "duplicate target: \"" + p.fields[k].target + "\" overlaps another field's target");
        break;
      }
      level = &it->children;
    }
  }
}

std::unique_ptr<plan_impl> compiler::run(const YAML::Node& root) {
  auto p = std::make_unique<plan_impl>();
  plan_ = p.get();
  p->file = file_;
  if (!root.IsMap()) {
    error(root, "", "a mapping file is a YAML map with system, object, direction and fields");
    return nullptr;
  }
  check_keys(root, "", {"system", "object", "direction", "fields", "identity", "events", "upsert_key", "description"});
  auto required_scalar = [&](const char* key, std::string& out) {
    if (!root[key] || !root[key].IsScalar()) error(root, key, std::string("missing \"") + key + "\"");
    else out = root[key].Scalar();
  };
  required_scalar("system", p->system);
  required_scalar("object", p->object);
  std::string dir;
  required_scalar("direction", dir);
  if (dir == "outbound") p->dir = direction::outbound;
  else if (!dir.empty() && dir != "inbound") error(root["direction"], "direction", "expected inbound or outbound, got \"" + dir + "\"");
  const bool outbound = p->dir == direction::outbound;

  YAML::Node fields = root["fields"];
  if (!fields || !fields.IsMap()) {
    error(fields ? fields : root, "fields", "needs a map of target -> source");
  } else {
    std::map<std::string, YAML::Node> seen;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      const std::string target = it->first.Scalar();
      const std::string path = "fields." + target;
      if (auto prev = seen.find(target); prev != seen.end()) {
        error(it->first, path, "duplicate target \"" + target + "\" (first at line " +
                                   std::to_string(config::location_of(file_, prev->second).line) + ")");
        continue;
      }
      seen.emplace(target, it->first);
      if (!outbound && !find_attribute(canonical_, target)) {
        std::string msg = "unknown canonical attribute \"" + target + "\"";
        if (auto near = closest_name(target, canonical_names())) msg += " (did you mean \"" + *near + "\"?)";
        error(it->first, path, msg);
        continue;
      }
      if (!target.empty() && target[0] == '_') {
        error(it->first, path, "target names starting with '_' are reserved");
        continue;
      }
      field_spec f;
      target_index_[target] = static_cast<int>(p->fields.size());
      compile_field(target, it->second, path, f);
      f.line = config::location_of(file_, it->first).line;
      p->fields.push_back(std::move(f));
    }
  }
  if (YAML::Node id = root["identity"]) {
    if (outbound) error(id, "identity", "identity keys are declared in inbound mappings");
    else if (!id.IsSequence()) error(id, "identity", "expected a list of attributes");
    for (std::size_t k = 0; id.IsSequence() && k < id.size(); ++k) {
      const std::string name = id[k].IsScalar() ? id[k].Scalar() : "";
      auto it = target_index_.find(name);
      if (it == target_index_.end()) {
        error(id[k], "identity[" + std::to_string(k) + "]", "identity attribute \"" + name + "\" is not mapped in fields");
        continue;
      }
      p->identity.push_back(name);
      p->identity_fields.push_back(it->second);
    }
  }
  if (YAML::Node uk = root["upsert_key"]) {
    if (!outbound) error(uk, "upsert_key", "upsert_key belongs in outbound mappings");
    else if (!uk.IsScalar()) error(uk, "upsert_key", "expected a destination field name");
    else p->upsert_key = uk.Scalar();
  }
  if (YAML::Node ev = root["events"]) compile_events(ev);
  order_fields(*p);
  finalize(*p);
  return p;
}

}  // namespace

std::shared_ptr<const plan> compile_mapping(std::string_view yaml_text, const std::string& file,
                                            const std::vector<config::attribute_decl>& canonical,
                                            config::diagnostics& diags, const transform_registry& transforms) {
  const std::size_t before = diags.size();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    diags.add(config::location{file, e.mark.line + 1, e.mark.column + 1}, "", e.msg);
    return nullptr;
  }
  std::unique_ptr<plan_impl> impl;
  try {
    compiler c(file, canonical, diags, transforms);
    impl = c.run(root);
  } catch (const YAML::Exception& e) {
    diags.add(config::location{file, e.mark.line + 1, e.mark.column + 1}, "", e.msg);
    return nullptr;
  }
  if (!impl || diags.size() != before) return nullptr;
  return std::make_shared<const plan>(std::move(impl));
}

std::shared_ptr<const plan> load_mapping_file(const std::filesystem::path& path,
                                              const std::vector<config::attribute_decl>& canonical,
                                              config::diagnostics& diags, const transform_registry& transforms) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.add(config::location{path.string(), 0, 0}, "", "cannot read the mapping file");
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return compile_mapping(ss.str(), path.string(), canonical, diags, transforms);
}

std::vector<std::shared_ptr<const plan>> load_mapping_dir(const std::filesystem::path& dir,
                                                          const std::vector<config::attribute_decl>& canonical,
                                                          config::diagnostics& diags,
                                                          const transform_registry& transforms) {
  std::vector<std::shared_ptr<const plan>> plans;
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".yaml") files.push_back(it->path());
  }
  if (ec) diags.add(config::location{dir.string(), 0, 0}, "", "cannot list mapping files: " + ec.message());
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> seen;
  for (const auto& f : files) {
    auto p = load_mapping_file(f, canonical, diags, transforms);
    if (!p) continue;
    // <kind>/<Object>.<in|out>.yaml
    const std::string stem = f.stem().string();  // Object.in
    const std::string expected_dir = f.parent_path().filename().string();
    const std::string suffix = p->direction() == direction::inbound ? ".in" : ".out";
    if (expected_dir != p->system() || stem != p->object() + suffix) {
      diags.add(config::location{f.string(), 0, 0}, "",
                "file name must be " + p->system() + "/" + p->object() + suffix + ".yaml (from its system, object and direction)");
      continue;
    }
    const std::string key = p->system() + "/" + p->object() + suffix;
    if (auto [it, fresh] = seen.emplace(key, f.string()); !fresh) {
      diags.add(config::location{f.string(), 0, 0}, "", "second mapping for " + key + " (first: " + it->second + ")");
      continue;
    }
    plans.push_back(std::move(p));
  }
  return plans;
}

std::vector<config::attribute_decl> read_canonical_attributes(const std::filesystem::path& config_file,
                                                              config::diagnostics& diags) {
  const std::string file = config_file.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    diags.add(config::location{file, 0, 0}, "", "cannot read the file");
    return {};
  } catch (const YAML::Exception& e) {
    diags.add(config::location{file, e.mark.line + 1, e.mark.column + 1}, "", e.msg);
    return {};
  }
  YAML::Node c = root.IsMap() ? root["canonical"] : YAML::Node();
  if (!c) return default_canonical_attributes();
  std::vector<config::attribute_decl> out;
  auto add = [&](const YAML::Node& where, const std::string& path, std::string name, const YAML::Node& spec) {
    config::attribute_decl a;
    a.name = std::move(name);
    a.type = "string";
    if (spec.IsScalar()) a.type = spec.Scalar();
    else if (spec.IsMap()) {
      if (spec["type"]) a.type = spec["type"].Scalar();
      if (spec["description"]) a.description = spec["description"].Scalar();
      if (spec["computed"]) a.computed = spec["computed"].Scalar() == "true";
    }
    if (!k_types.count(a.type)) diags.add(config::location_of(file, where), path, "unknown type \"" + a.type + "\"");
    out.push_back(std::move(a));
  };
  if (c.IsMap()) {
    for (auto it = c.begin(); it != c.end(); ++it)
      add(it->second, "canonical." + it->first.Scalar(), it->first.Scalar(), it->second);
  } else if (c.IsSequence()) {
    for (std::size_t k = 0; k < c.size(); ++k) {
      if (!c[k].IsMap() || !c[k]["name"]) {
        diags.add(config::location_of(file, c[k]), "canonical[" + std::to_string(k) + "]", "needs a name");
        continue;
      }
      add(c[k], "canonical[" + std::to_string(k) + "]", c[k]["name"].Scalar(), c[k]);
    }
  } else {
    diags.add(config::location_of(file, c), "canonical", "expected a list or map of attributes");
  }
  return out;
}

}  // namespace omnisync::mapping
