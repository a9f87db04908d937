#pragma once
// Internal to omnisync_mapping: the compiler that turns one mapping file's YAML into a plan_impl (plan_impl.hpp).
// One instance per file; every problem goes into the diagnostics with file:line:col, all at once. Its parts:
// compiler.cpp (the file's top level and the public entry points), compile_sources.cpp (paths, `@target`
// references, conditions), compile_fields.cpp (field and event rules: source, transforms, types, value map,
// default, options), plan_layout.cpp (evaluation order, extraction trie, output layout).
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostics.hpp"
#include "mapping/plan_impl.hpp"

namespace omnisync::mapping {

/// Parses `a.b[0].c[*]` into `out`; on error returns the 0-based offset of the problem and a message.
std::optional<std::pair<std::size_t, std::string>> parse_path(std::string_view text, source_ref& out);
/// Calls `fn` for every source_ref of the plan: field sources, template parts, conditions, event fields.
void for_each_ref(plan_impl& p, const std::function<void(source_ref&)>& fn);
/// The number of code points of UTF-8 text (transforms.cpp).
std::size_t code_points(std::string_view s);

/// Compiles one mapping file. Lifecycle: construct, `run` once, discard. Not thread-safe (one per file).
class compiler {
 public:
  compiler(std::string file, const std::vector<config::attribute_decl>& canonical, config::diagnostics& diags,
           const transform_registry& transforms)
      : file_(std::move(file)), canonical_(canonical), diags_(diags), transforms_(transforms) {}

  /// The plan of the file whose document is `root`; nullptr when it is not a map. Check the diagnostics: a plan
  /// comes back even when some rule was wrong.
  std::unique_ptr<plan_impl> run(const YAML::Node& root);

 private:
  void error(const YAML::Node& n, const std::string& path, const std::string& msg, std::size_t col_offset = 0) {
    auto where = config::location_of(file_, n);
    if (where.line > 0 && col_offset > 0)
      where.column += static_cast<int>(col_offset) + (n.IsScalar() && n.Tag() == "!" ? 1 : 0);
    diags_.add(std::move(where), path, msg);
  }
  std::vector<std::string> canonical_names() const {
    std::vector<std::string> v;
    for (const auto& a : canonical_) v.push_back(a.name);
    return v;
  }
  // compiler.cpp
  void check_keys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed);
  // compile_sources.cpp
  bool compile_path(const YAML::Node& n, const std::string& path, source_ref& out);
  bool compile_source_text(const YAML::Node& n, std::string_view text, std::size_t offset, const std::string& path,
                           source_ref& out);
  std::optional<condition> compile_condition(const YAML::Node& n, const std::string& path);
  // compile_fields.cpp
  void compile_field(const std::string& target, const YAML::Node& spec, const std::string& path, field_spec& f);
  void compile_events(const YAML::Node& n);
  // plan_layout.cpp
  void order_fields(plan_impl& p);
  void finalize(plan_impl& p);
  // compiler.cpp
  /// Sets `empty_always_none` on the fields where "" can never be a value (typed, defaulted, identity, events).
  void mark_empty_is_none(plan_impl& p);

  std::string file_;
  const std::vector<config::attribute_decl>& canonical_;
  config::diagnostics& diags_;
  const transform_registry& transforms_;
  plan_impl* plan_ = nullptr;
  std::map<std::string, int> target_index_;  // field target -> index in plan_->fields
};

}  // namespace omnisync::mapping
