// The registry of adapters: every kind omnisync can connect to, listed explicitly (no static self-registration,
// so a newcomer sees the whole set here and the linker never drops one). Adding a vendor: write
// adapters/<vendor>/ with a `make_<vendor>_connector` factory, declare it and add one line to `kinds` below,
// and link its library into omnisync_adapters (adapters/CMakeLists.txt).
#include <stdexcept>

#include "adapters/connector.hpp"

namespace omnisync::adapters {

using factory = std::unique_ptr<connector> (*)(const config::connector_common&, const connector_context&);

// One factory per vendor, defined in adapters/<vendor>/.
std::unique_ptr<connector> make_salesforce_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_hubspot_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_zendesk_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_activecampaign_connector(const config::connector_common&, const connector_context&);
std::unique_ptr<connector> make_intercom_connector(const config::connector_common&, const connector_context&);

namespace {

struct entry {
  const char* kind;
  factory make;
};

const entry kinds[] = {
    {"salesforce", make_salesforce_connector},
    {"hubspot", &make_hubspot_connector},
    {"zendesk", &make_zendesk_connector},
    {"activecampaign", &make_activecampaign_connector},
    {"intercom", &make_intercom_connector},
};

}  // namespace

std::unique_ptr<connector> make_connector(const config::connector_common& cfg, const connector_context& ctx) {
  for (const auto& e : kinds)
    if (e.make && cfg.kind == e.kind) return e.make(cfg, ctx);
  throw std::runtime_error("connector " + cfg.name + ": kind \"" + cfg.kind + "\" has no adapter in this build");
}

std::vector<std::string> connector_kinds() {
  std::vector<std::string> out;
  for (const auto& e : kinds)
    if (e.make) out.emplace_back(e.kind);
  return out;
}

}  // namespace omnisync::adapters
