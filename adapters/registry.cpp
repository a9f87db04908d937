// The registry of adapters: every kind omnisync can connect to, listed explicitly (no static self-registration,
// so a newcomer sees the whole set here and the linker never drops one). Adding a vendor: write
// adapters/<vendor>/ with a `make_<vendor>_connector` factory and a `settings_schema()` (settings.cpp), declare
// both and add one line to `table` below, and link its library into omnisync_adapters (adapters/CMakeLists.txt).
#include "adapters/registry.hpp"

#include <yaml-cpp/yaml.h>

#include <map>
#include <stdexcept>

namespace omnisync::adapters {

// One factory and one settings schema per vendor, defined in adapters/<vendor>/.
std::unique_ptr<connector> make_salesforce_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_hubspot_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_zendesk_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_activecampaign_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_intercom_connector(const config::connector_common&, const connector_context&);
namespace salesforce { const config::schema& settings_schema(); }
namespace hubspot { const config::schema& settings_schema(); }
namespace zendesk { const config::schema& settings_schema(); }
namespace activecampaign { const config::schema& settings_schema(); }
namespace intercom { const config::schema& settings_schema(); }

namespace {

const kind_entry table[] = {
    {"salesforce", "Salesforce", &make_salesforce_connector, &salesforce::settings_schema},
    {"hubspot", "HubSpot", &make_hubspot_connector, &hubspot::settings_schema},
    {"zendesk", "Zendesk", &make_zendesk_connector, &zendesk::settings_schema},
    {"activecampaign", "ActiveCampaign", &make_activecampaign_connector, &activecampaign::settings_schema},
    {"intercom", "Intercom", &make_intercom_connector, &intercom::settings_schema},
};

}  // namespace

std::span<const kind_entry> kinds() { return table; }

std::vector<std::string> connector_kinds() {
  std::vector<std::string> out;
  for (const auto& e : table) out.emplace_back(e.kind);
  return out;
}

const config::schema& common_connector_schema() {
  static const config::schema s = config::connector_common_schema(connector_kinds());
  return s;
}

const config::schema* connector_schema(std::string_view kind) {
  static const std::map<std::string, config::schema, std::less<>> merged = [] {
    std::map<std::string, config::schema, std::less<>> m;
    for (const auto& e : table) m.emplace(e.kind, config::schema::merged(common_connector_schema(), e.settings()));
    return m;
  }();
  auto it = merged.find(kind);
  return it == merged.end() ? nullptr : &it->second;
}

config::connector_common read_connector(const std::string& name, const YAML::Node& block, const std::string& path,
                                        config::validation_context& ctx) {
  config::connector_common cc;
  cc.name = name;
  const YAML::Node kind = block.IsMap() ? block["kind"] : YAML::Node();
  const config::schema* s = kind && kind.IsScalar() ? connector_schema(kind.Scalar()) : nullptr;
  config::validation_context own = ctx;
  own.ignore_unknown_keys = s == nullptr;
  cc.settings = config::validate(s ? *s : common_connector_schema(), block, path, own);
  config::bind_into(common_connector_schema(), cc.settings, cc);
  return cc;
}

std::unique_ptr<connector> make_connector(const config::connector_common& cfg, const connector_context& ctx) {
  for (const auto& e : table)
    if (cfg.kind == e.kind) return e.make(cfg, ctx);
  throw std::runtime_error("connector " + cfg.name + ": kind \"" + cfg.kind + "\" has no adapter in this build");
}

}  // namespace omnisync::adapters
