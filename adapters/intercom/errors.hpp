#pragma once
/// The one place where Intercom's answers become `omnisync::errc`, how an answer names its request in a log line,
/// and what Intercom's `error.list` bodies say. Pure functions, thread-safe.
#include <string>

#include "adapters/http/http_client.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::intercom {

/// An answer the api_caller handed back with a status it does not handle itself (it has retried 408, 429 and 5xx
/// and turned a 401 into auth_expired): 400/413/422 invalid_input, 404/410 not_found, 409 conflict (a contact with
/// that external_id or email exists), 429 rate_limited, 5xx retry, anything else fail.
errc classify(const http::response& r);

/// `X-Request-Id`, else the body's `request_id`; "" when neither is there.
std::string request_id(const http::response& r);

/// "HTTP 409 conflict: A contact matching those details already exists ..." from an error.list body (else the
/// start of the body).
std::string error_text(const http::response& r);

/// The conflicting contact's id in a 409 `conflict` message ("... already exists with id=<id>"), "" when none.
std::string conflict_id(const http::response& r);

}  // namespace omnisync::adapters::intercom
