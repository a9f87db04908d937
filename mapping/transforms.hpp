#pragma once
/// Transform functions for mapping pipelines (`transform: [trim, lower, { e164: { region: US } }]`).
///
/// A `transform_registry` maps names to factories; a factory reads the transform's arguments once, at compile
/// time, and returns the function applied to every record. Adding a function in C++ is one line:
///   registry.add("reverse", static_type::string, static_type::string,
///                [](value& v, std::string&) { std::reverse(v.s.begin(), v.s.end()); return true; });
/// Transforms never see null or missing values (the evaluator passes those through untouched).
/// Registries are filled before compiling and only read afterwards (thread-safe for reading).
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/value.hpp"

namespace YAML {
class Node;
}

namespace omnisync::mapping {

/// What the compiler knows about a value's type while checking a pipeline.
enum class static_type { any, string, number, integer, boolean, datetime, list };
std::string_view static_type_name(static_type t) noexcept;

/// Applies a transform in place; on failure returns false and sets `error` (the broken rule, e.g. "not an email").
using transform_fn = std::function<bool(value& v, std::string& error)>;

struct transform_def {
  static_type input = static_type::any;   ///< what the transform accepts (any = anything)
  static_type output = static_type::any;  ///< what it produces (any = same as its input)
  bool takes_args = false;
  /// Builds the function from its YAML arguments (undefined node when written without arguments).
  std::function<std::optional<transform_fn>(const YAML::Node& args, std::string& error)> make;
};

class transform_registry {
 public:
  /// A registry holding every built-in transform.
  static const transform_registry& builtins();

  /// Adds (or replaces) a transform without arguments.
  void add(std::string name, static_type input, static_type output, transform_fn fn);
  /// Adds (or replaces) a transform whose arguments are read by `def.make`.
  void add(std::string name, transform_def def);

  const transform_def* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, transform_def, std::less<>> defs_;
};

/// E.164 formatting with libphonenumber (`default_region` for numbers written without a country code).
std::optional<std::string> to_e164(std::string_view number, std::string_view default_region);

/// Converts `v` to the canonical type named by `type` (string, number, integer, boolean, datetime, string_list,
/// object); returns false with `error` set when it cannot.
bool coerce(value& v, std::string_view type, std::string& error);

}  // namespace omnisync::mapping
