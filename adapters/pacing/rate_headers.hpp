#pragma once
/// The rate-limit headers a vendor sends with its answers, read into one shape for `status`, `/metrics` and the
/// console's Overview, while keeping the vendor's own words (the header and its value as sent).
///
/// Known families (docs/console.md lists them):
/// - Salesforce `Sforce-Limit-Info: api-usage=N/M` — the org's calls in the last 24 h (rolling) of its daily limit;
/// - HubSpot `X-HubSpot-RateLimit-Daily`/`-Daily-Remaining` (the day), `-Max`/`-Remaining` over
///   `-Interval-Milliseconds` (the rolling window), `-Secondly`/`-Secondly-Remaining`;
/// - Zendesk `X-Rate-Limit`/`X-Rate-Limit-Remaining` (per minute) and `Zendesk-RateLimit-<endpoint>: total=;
///   remaining=; resets=` (an endpoint's own limit);
/// - ActiveCampaign `RateLimit-Limit`/`RateLimit-Remaining` (per second, per account);
/// - Intercom `X-RateLimit-Limit`/`X-RateLimit-Remaining`/`X-RateLimit-Reset` (per minute, reset as Unix time).
/// Header names are unique to their vendor, so one reader serves every adapter. Pure functions, any thread.
#include <chrono>
#include <vector>

#include "adapters/http/http_client.hpp"
#include "core/rate_limits.hpp"

namespace omnisync::adapters::pacing {

using omnisync::rate_limit_reading;

/// Every limit `r` states, in a fixed order per family; empty when it carries no rate-limit header.
std::vector<rate_limit_reading> read_rate_headers(const http::response& r,
                                                  std::chrono::system_clock::time_point now);

}  // namespace omnisync::adapters::pacing
