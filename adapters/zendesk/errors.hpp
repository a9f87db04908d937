#pragma once
/// The one place where Zendesk's answers become `omnisync::errc`, and how an answer names its request in a log
/// line. Pure functions, thread-safe.
#include <string>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::zendesk {

/// An answer the api_caller handed back with a status it does not handle itself (it has retried 408, 429 — with
/// Zendesk's plain-text Retry-After — and 5xx, and turned a 401 into auth_expired): 400/413/422 invalid_input (a
/// bulk write refused as a whole is then halved until the refused user is alone), 404/410 not_found, 409 conflict,
/// 429 rate_limited, 5xx retry, 403 (e.g. bulk import not enabled for the account) and anything else fail.
errc classify(const http::response& r);

/// `X-Request-Id`, else `X-Zendesk-Request-Id`; "" when neither is there.
std::string request_id(const http::response& r);

}  // namespace omnisync::adapters::zendesk
