#pragma once
/// The Salesforce adapter: `make_salesforce_connector` builds the `adapters::connector` for a connector of kind
/// `salesforce` (listed in adapters/registry.cpp). See adapters/salesforce/README.md for how it reads, writes and
/// authenticates, and docs/configuration.md ("Salesforce") for its settings.
#include <memory>

#include "adapters/connector.hpp"

namespace omnisync::adapters {

/// Throws std::runtime_error with a sentence for the operator when the config cannot work (missing
/// credentials, an unreadable private key or CA file, a bad setting).
std::unique_ptr<connector> make_salesforce_connector(const config::connector_common& cfg, const connector_context& ctx);

}  // namespace omnisync::adapters
