#pragma once
/// The HubSpot CRM v3 connector: incremental polling through CRM search on the last-modified
/// property, full reads through the list endpoint, archived records as deletions, batch read and batch upsert,
/// the properties API as `describe`, and HubSpot's signed webhooks. See README.md in this folder.
///
/// Built by the registry (adapters/registry.cpp) from the connector's config; used from its connector's strand.
#include <memory>

#include "adapters/connector.hpp"

namespace omnisync::adapters {

/// Throws std::runtime_error when the config cannot work (no token, a bad setting, a webhook secret without
/// `http.public_url` for v2/v3 signatures, an unreadable CA file).
std::unique_ptr<connector> make_hubspot_connector(const config::connector_common& cfg, const connector_context& ctx);

}  // namespace omnisync::adapters
