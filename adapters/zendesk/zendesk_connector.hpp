#pragma once
/// The Zendesk Support connector: cursor-based incremental exports of users and tickets,
/// satisfaction ratings by start_time, show_many and user search, `create_or_update_many` with job-status
/// follow-up, user fields as `describe`, and Zendesk's signed webhooks. See README.md in this folder.
///
/// Built by the registry (adapters/registry.cpp) from the connector's config; used from its connector's strand.
#include <memory>

#include "adapters/connector.hpp"

namespace omnisync::adapters {

/// Throws std::runtime_error when the config cannot work (no subdomain or base_url, no credentials, a bad
/// setting, an unreadable CA file).
std::unique_ptr<connector> make_zendesk_connector(const config::connector_common& cfg, const connector_context& ctx);

}  // namespace omnisync::adapters
