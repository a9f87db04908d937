#include "daemon/config/loader.hpp"

#include <boost/asio/io_context.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "adapters/registry.hpp"
#include "config/validate.hpp"
#include "config/value_syntax.hpp"
#include "daemon/config/sections.hpp"
#include "daemon/profile/book.hpp"
#include "daemon/segments/segment_set.hpp"
#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::config {
namespace {

namespace fs = std::filesystem;

/// The deepest node of `block` along the dotted `key` (a setting an adapter refused may be absent: its place is
/// then the nearest block that should hold it).
YAML::Node deepest(const YAML::Node& block, const std::string& key) {
  YAML::Node at = block;
  std::size_t start = 0;
  while (start <= key.size() && at.IsMap()) {
    const auto dot = key.find('.', start);
    const std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const YAML::Node next = at[part];
    if (!next) {
      if (const YAML::Node file = at[part + "_file"]) return file;  // a secret given as KEY_file
      break;
    }
    at = next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return at;
}

/// `connectors:` — every block validated against its kind's schema (adapters/registry.hpp).
void read_connectors(reader& r, const YAML::Node& root, const fs::path& base, daemon_config& cfg,
                     std::vector<std::string>& secret_values) {
  const YAML::Node cs = root["connectors"];
  if (!cs || cs.IsNull() || !r.is_map(cs, "connectors")) return;
  validation_context ctx{r.file(), base, &r.problems(), &secret_values};
  for (const auto& kv : cs) {
    const std::string name = kv.first.Scalar();
    cfg.connectors.push_back(adapters::read_connector(name, kv.second, "connectors." + name, ctx));
  }
}

/// `sync.fields.allow` / `deny` name canonical attributes this destination's outbound mappings use: anything else
/// is a typo (with a suggestion), and the two lists exclude each other.
void check_field_control(const std::string& file, const YAML::Node& root, const daemon_config& cfg,
                         const std::vector<std::shared_ptr<const mapping::plan>>& plans, diagnostics& problems) {
  for (const auto& cc : cfg.connectors) {
    if (cc.fields_allow.empty() && cc.fields_deny.empty()) continue;
    const YAML::Node fields = root["connectors"][cc.name]["sync"]["fields"];
    const std::string path = "connectors." + cc.name + ".sync.fields";
    if (!cc.fields_allow.empty() && !cc.fields_deny.empty()) {
      problems.add(location_of(file, fields), path, "give allow or deny, not both");
      continue;
    }
    std::vector<std::string> used;  // the canonical attributes this kind's outbound mappings read
    for (const auto& p : plans) {
      if (p->direction() != mapping::direction::outbound || p->system() != cc.kind) continue;
      for (const auto& t : p->targets())
        for (const auto& a : p->sources_of(t))
          if (a != "_profile_id" && std::find(used.begin(), used.end(), a) == used.end()) used.push_back(a);
    }
    const bool allow = !cc.fields_allow.empty();
    const auto& names = allow ? cc.fields_allow : cc.fields_deny;
    const YAML::Node list = fields[allow ? "allow" : "deny"];
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (std::find(used.begin(), used.end(), names[i]) != used.end()) continue;
      std::string msg = "\"" + names[i] + "\" is not an attribute " + cc.kind + "'s outbound mappings write";
      msg += did_you_mean(names[i], used);
      problems.add(location_of(file, list.IsSequence() && i < list.size() ? list[i] : list),
                   path + (allow ? ".allow[" : ".deny[") + std::to_string(i) + "]", msg);
    }
  }
}

/// Each enabled connector's adapter checks what its schema cannot (credentials a flow needs, combinations) by
/// being built once here, so --check-config and reload catch what would stop the daemon at start-up.
void probe_connectors(const std::string& file, const YAML::Node& root, const daemon_config& cfg, diagnostics& problems) {
  boost::asio::io_context probe;
  adapters::connector_context ctx;
  ctx.executor = probe.get_executor();
  ctx.public_url = cfg.http.public_url;
  for (const auto& cc : cfg.connectors) {
    if (!cc.enabled) continue;
    const YAML::Node block = root["connectors"][cc.name];
    try {
      (void)adapters::make_connector(cc, ctx);
    } catch (const setting_error& e) {
      problems.add(location_of(file, deepest(block, e.key())), "connectors." + cc.name + "." + e.key(), e.why());
    } catch (const std::exception& e) {
      problems.add(location_of(file, block), "connectors." + cc.name, e.what());
    }
  }
}

}  // namespace

loaded_config load_daemon_config(const fs::path& file, const config_overrides& overrides) {
  loaded_config out;
  auto cfg = std::make_shared<daemon_config>();
  const std::string name = file.string();
  reader r(name, out.problems);
  YAML::Node root;
  {
    std::ifstream probe(file);
    if (!probe) {
      out.problems.add({name, 0, 0}, "", "cannot read the config file (" + std::string(std::strerror(errno)) + ")");
      return out;
    }
  }
  try {
    root = YAML::LoadFile(name);
  } catch (const YAML::ParserException& e) {
    out.problems.add({name, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
    return out;
  } catch (const YAML::Exception& e) {
    out.problems.add({name, 0, 0}, "", e.what());
    return out;
  }
  cfg->source_file = fs::absolute(file);
  const fs::path base = cfg->source_file.parent_path();
  cfg->mappings_dir = base / "mappings";

  // yaml-cpp keeps both entries of a repeated key and answers lookups with the first: a second `connectors:`
  // or two connectors of one name would silently lose one.
  find_duplicate_keys(name, root, out.problems);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  std::vector<segments::segment_def> segment_defs;
  if (r.is_map(root, "")) {
    r.known_keys(root, "", {"daemon", "http", "store", "mappings_dir", "connectors", "canonical", "identity",
                            "survivorship", "kpis", "propagation", "audit", "dead_letters", "runs", "history", "console",
                            "segments"});
    read_daemon_sections(r, root, base, *cfg, out.secret_values);
    read_console_section(r, root, base, *cfg, out.secret_values);
    read_connectors(r, root, base, *cfg, out.secret_values);
    segment_defs = read_segments(r, root, *cfg);
  }
  {
    auto ps = std::make_shared<profile::settings>();
    if (root.IsMap()) read_profile_sections(r, root, *ps);
    out.profiles = std::move(ps);
  }
  if (overrides.shadow)
    for (auto& cc : cfg->connectors) cc.mode = connector_common::write_mode::shadow;
  if (overrides.state_dir) cfg->daemon.state_dir = fs::absolute(*overrides.state_dir);
  if (overrides.control_socket) cfg->daemon.control_socket = fs::absolute(*overrides.control_socket);
  if (cfg->daemon.control_socket.string().size() >= 108)
    out.problems.add({name, 0, 0}, "daemon.control_socket", "path longer than 107 bytes: Unix sockets cannot use it");
  // The mapping files are part of the configuration: compile them all now (the canonical attributes come from
  // the `canonical:` section, or the shipped default set). A missing folder is an error only when named.
  if (out.problems.empty()) {
    const bool named = root.IsMap() && root["mappings_dir"];
    std::error_code ec;
    if (fs::is_directory(cfg->mappings_dir, ec)) {
      auto canonical = mapping::read_canonical_attributes(file, out.problems);
      cfg->canonical = canonical;
      out.mappings = mapping::load_mapping_dir(cfg->mappings_dir, canonical, out.problems);
    } else if (named) {
      out.problems.add(location_of(name, root["mappings_dir"]), "mappings_dir",
                       "no such folder: " + cfg->mappings_dir.string());
    }
  }
  // Segments read the profile schema: the canonical attributes, the KPI rules' stages and event types, and the
  // event types the mapping files produce. A name a reload removed is refused here, with its place.
  if (out.problems.empty() && !segment_defs.empty()) {
    const auto canonical = cfg->canonical.empty() ? mapping::default_canonical_attributes() : cfg->canonical;
    const auto schema = segments::profile_schema::build(canonical, out.profiles->kpis, out.mappings);
    std::vector<segments::segment_error> errors;
    auto set = segments::segment_set::compile(std::move(segment_defs), schema, errors);
    for (const auto& e : errors)
      out.problems.add({e.file, e.line, e.column}, "segments." + e.key + ".where", e.message);
    out.segments = std::make_shared<const segments::segment_set>(std::move(set));
  }
  if (!out.segments) out.segments = std::make_shared<const segments::segment_set>();
  if (out.problems.empty() && root.IsMap() && root["connectors"]) {
    check_field_control(name, root, *cfg, out.mappings, out.problems);
    probe_connectors(name, root, *cfg, out.problems);
  }
  if (out.problems.empty()) out.config = std::move(cfg);
  return out;
}

}  // namespace omnisync::config
