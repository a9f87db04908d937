#pragma once
/// The Intercom (API 2.11) connector: contacts and conversations polled through search on
/// `updated_at` (day-granular, so every scan re-reads the last day and de-duplicates on (id, updated_at)),
/// contacts read by id and by email, written one at a time (found by external_id or email, then updated, else
/// created), data attributes as `describe`, and Intercom's signed notifications. See README.md in this folder.
///
/// Built by the registry (adapters/registry.cpp) from the connector's config; used from its connector's strand.
#include <memory>

#include "adapters/connector.hpp"

namespace omnisync::adapters {

/// Throws std::runtime_error when the config cannot work (no auth.access_token, an unknown object, a bad
/// setting, an unreadable CA file).
std::unique_ptr<connector> make_intercom_connector(const config::connector_common& cfg, const connector_context& ctx);

}  // namespace omnisync::adapters
