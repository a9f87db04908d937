#pragma once
/// The one place where ActiveCampaign's answers become `omnisync::errc`, and what its error bodies say. Pure
/// functions, thread-safe. (ActiveCampaign sends no request id, so log lines carry none.)
#include <string>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::activecampaign {

/// An answer the api_caller handed back with a status it does not handle itself (it has retried 408, 429 and 5xx
/// and turned a 401 into auth_expired): 400/413/422 invalid_input (a contact refused for its content), 404/410
/// not_found, 409 conflict, 429 rate_limited, 5xx retry, 403 and anything else fail.
errc classify(const http::response& r);

/// "HTTP 422: Email address is invalid" from the `errors[].title` of a refused write (else `message`, else the
/// start of the body).
std::string error_text(const http::response& r);

}  // namespace omnisync::adapters::activecampaign
