// Mapping compiler, rules: one field (source, transforms with their types, declared type, value map, default,
// required, when, on_error, max_length, merge hints) and the timeline events of an inbound mapping.
#include <charconv>

#include "mapping/canonical.hpp"
#include "mapping/compiler.hpp"

namespace omnisync::mapping {
namespace {

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

}  // namespace

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
    if (!t.IsScalar() || !is_known_type(t.Scalar())) {
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

}  // namespace omnisync::mapping
