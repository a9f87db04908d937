// What a connector reports for `status` and `/metrics` (adapters/connector.hpp connector_usage), read off the
// api_caller its calls go through: calls, errors, health, the vendor's rate-limit readings and the daily budget.
#pragma once

#include "adapters/connector.hpp"
#include "adapters/pacing/api_call.hpp"

namespace omnisync::adapters::pacing {

inline connector_usage usage_of(const api_caller& caller) {
  connector_usage u;
  u.api_calls = caller.calls();
  u.api_errors = caller.errors();
  u.health = caller.health();
  u.rate_limits = caller.rate_limits();
  std::tie(u.budget_used, u.budget_limit) = caller.budget();  // (-1, -1) when the vendor reports none
  return u;
}

}  // namespace omnisync::adapters::pacing
