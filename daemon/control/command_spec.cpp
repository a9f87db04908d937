#include "daemon/control/command_spec.hpp"

#include <boost/json.hpp>

#include <vector>

namespace json = boost::json;

namespace omnisync::control {
namespace {

/// How a JSON value's type is named in messages ("a string", "an array", ...).
std::string_view kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number with a fraction";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

std::string_view wanted(arg_type t) {
  switch (t) {
    case arg_type::string: return "a string";
    case arg_type::integer: return "an integer";
    case arg_type::boolean: return "a boolean";
    case arg_type::string_list: return "an array of strings";
  }
  return "a value";
}

/// Empty when `v` has type `t`, else why not.
std::string type_problem(const arg_spec& a, const json::value& v) {
  const std::string name = "argument \"" + std::string(a.name) + "\"";
  switch (a.type) {
    case arg_type::string:
      if (v.is_string()) return {};
      break;
    case arg_type::integer:
      if (v.is_int64()) return {};
      if (v.is_uint64()) return name + " is out of range (at most 9223372036854775807)";
      break;
    case arg_type::boolean:
      if (v.is_bool()) return {};
      break;
    case arg_type::string_list:
      if (v.is_array()) {
        for (const auto& item : v.as_array())
          if (!item.is_string())
            return name + " must be an array of strings, but holds " + std::string(kind_of(item));
        return {};
      }
      break;
  }
  return name + " must be " + std::string(wanted(a.type)) + ", not " + std::string(kind_of(v));
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto i : items) out += (out.empty() ? "" : ", ") + std::string(i);
  return out;
}

}  // namespace

std::string_view to_string(arg_type t) noexcept {
  switch (t) {
    case arg_type::string: return "string";
    case arg_type::integer: return "integer";
    case arg_type::boolean: return "boolean";
    case arg_type::string_list: return "string_list";
  }
  return "string";
}

std::string_view to_string(access a) noexcept { return a == access::write ? "write" : "read"; }

std::string check_args(const command_spec& spec, const json::object& args) {
  std::vector<std::string> problems;
  for (const auto& [key, value] : args) {
    const arg_spec* a = spec.arg(std::string_view(key.data(), key.size()));
    if (!a) {
      std::vector<std::string_view> names;
      for (const auto& known : spec.args) names.push_back(known.name);
      problems.push_back("unknown argument \"" + std::string(key) + "\" (" + std::string(spec.name) +
                         (names.empty() ? " takes no arguments)" : " takes " + join(names) + ")"));
      continue;
    }
    if (auto why = type_problem(*a, value); !why.empty()) {
      problems.push_back(std::move(why));
      continue;
    }
    if (!a->choices.empty()) {
      std::string_view given(value.as_string().data(), value.as_string().size());
      std::vector<std::string_view> allowed;
      bool found = false;
      for (const auto& c : a->choices) {
        allowed.push_back(c.value);
        found = found || c.value == given;
      }
      if (!found)
        problems.push_back("argument \"" + std::string(a->name) + "\" must be one of " + join(allowed) + ", not \"" +
                           std::string(given) + "\"");
    }
  }
  for (const auto& a : spec.args)
    if (a.required && !args.contains(a.name)) problems.push_back("missing required argument \"" + std::string(a.name) + "\"");
  if (problems.empty()) return {};
  std::string out = std::string(spec.name) + ": ";
  for (std::size_t i = 0; i < problems.size(); ++i) out += (i ? "; " : "") + problems[i];
  return out;
}

access required_scope(const command_spec& spec, const json::object& args) {
  for (const auto& a : spec.args) {
    if (a.choices.empty()) continue;
    std::string_view chosen = a.default_value;
    if (const auto* v = args.if_contains(a.name); v && v->is_string())
      chosen = std::string_view(v->as_string().data(), v->as_string().size());
    for (const auto& c : a.choices)
      if (c.value == chosen) return c.scope;
  }
  return spec.scope;
}

json::object to_json(const command_spec& spec) {
  json::array args;
  for (const auto& a : spec.args) {
    json::object o{{"name", a.name}, {"type", to_string(a.type)}, {"required", a.required}, {"help", a.help}};
    if (!a.choices.empty()) {
      json::array choices;
      for (const auto& c : a.choices)
        choices.push_back(json::object{{"value", c.value}, {"help", c.help}, {"scope", to_string(c.scope)}});
      o["choices"] = std::move(choices);
    }
    if (!a.default_value.empty()) o["default"] = a.default_value;
    args.push_back(std::move(o));
  }
  json::object out{{"name", spec.name},     {"help", spec.help},     {"scope", to_string(spec.scope)},
                   {"args", std::move(args)}, {"result", spec.result}};
  if (!spec.events.empty()) out["events"] = spec.events;
  return out;
}

}  // namespace omnisync::control
