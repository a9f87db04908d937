// Compiles mapping YAML into a plan: every problem is reported with file:line:col, all at once. The file's top
// level and the public entry points; the compiler's parts are listed in compiler.hpp.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "mapping/canonical.hpp"
#include "mapping/compiler.hpp"

namespace omnisync::mapping {

void compiler::check_keys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& allowed) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string k = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
    std::string msg = "unknown key \"" + k + "\"";
    if (auto near = closest_name(k, allowed)) msg += " (did you mean \"" + *near + "\"?)";
    error(it->first, path.empty() ? k : path + "." + k, msg);
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
  mark_empty_is_none(*p);
  order_fields(*p);
  finalize(*p);
  return p;
}

namespace {

// A field whose value must be typed, defaulted or identifying cannot mean anything by "": see empty_strings in
// docs/mapping-language.md.
bool empty_never_meaningful(const field_spec& f) {
  auto typed = [](const std::string& t) { return !t.empty() && t != "string"; };
  return typed(f.field_type) || typed(f.target_type) || f.has_default;
}

}  // namespace

void compiler::mark_empty_is_none(plan_impl& p) {
  for (auto& f : p.fields) f.empty_always_none = empty_never_meaningful(f);
  for (int k : p.identity_fields) p.fields[static_cast<std::size_t>(k)].empty_always_none = true;
  for (auto& ev : p.events) {
    for (field_spec* f : {&ev.occurred_at, &ev.amount, &ev.currency, &ev.status, &ev.score})
      f->empty_always_none = empty_never_meaningful(*f);
    ev.id.empty_always_none = true;  // a subject and a person link are identities
    for (auto& [attr, f] : ev.person) f.empty_always_none = true;
  }
}

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

}  // namespace omnisync::mapping
