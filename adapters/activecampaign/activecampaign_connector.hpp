#pragma once
/// The ActiveCampaign (API v3) connector: contacts polled by `udate` through the contact listing,
/// read by id and by email, written one at a time through `contact/sync` (which matches by email), custom
/// fields as `describe`, and ActiveCampaign's form-encoded webhooks (authenticated by a secret URL segment).
/// See README.md in this folder.
///
/// Built by the registry (adapters/registry.cpp) from the connector's config; used from its connector's strand.
#include <memory>

#include "adapters/connector.hpp"

namespace omnisync::adapters {

/// Throws std::runtime_error when the config cannot work (no base_url or subdomain, no auth.api_token, an
/// object other than contacts, a bad setting, an unreadable CA file).
std::unique_ptr<connector> make_activecampaign_connector(const config::connector_common& cfg,
                                                         const connector_context& ctx);

}  // namespace omnisync::adapters
