#pragma once
/// The registry of adapters: the one list of connector kinds, each with its factory and its settings schema
/// (adapters/<vendor>/settings.cpp). The config loader validates every connector block against its kind's
/// schema here, the reference generator documents each kind from it, and `make_connector` builds adapters from
/// it. Immutable tables built on first use; thread-safe.
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "adapters/connector.hpp"
#include "config/connector.hpp"
#include "config/schema.hpp"
#include "config/validate.hpp"

namespace YAML {
class Node;
}

namespace omnisync::adapters {

struct kind_entry {
  std::string_view kind;   ///< what `kind:` says, e.g. "salesforce"
  std::string_view title;  ///< how the reference names it, e.g. "Salesforce"
  std::unique_ptr<connector> (*make)(const config::connector_common&, const connector_context&);
  const config::schema& (*settings)();  ///< the adapter's own keys (refining common ones where it says more)
};

/// Every kind, in the order the reference lists them.
std::span<const kind_entry> kinds();

/// The keys every connector block has (config::connector_common_schema over the registry's kinds).
const config::schema& common_connector_schema();

/// The whole schema of a `kind:` block: the common keys with the adapter's own merged in. nullptr for a kind
/// the registry does not know.
const config::schema* connector_schema(std::string_view kind);

/// What the config loader does with one block under `connectors:`: validates it against its kind's schema
/// (only the common keys when the kind is missing or unknown — that error is reported, the rest is not judged),
/// and returns it with the common keys bound. `path`: "connectors.<name>". Problems go to `ctx`.
config::connector_common read_connector(const std::string& name, const YAML::Node& block, const std::string& path,
                                        config::validation_context& ctx);

}  // namespace omnisync::adapters
