#pragma once
/// Intercom webhook signature (api-notes §5.1): `X-Hub-Signature: sha1=<hex(HMAC-SHA1(client_secret, body))>`.
/// Pure, thread-safe.
#include <string>
#include <string_view>

namespace omnisync::sim::intercom {

/// The full header value, `sha1=` followed by 40 lowercase hex digits.
std::string hub_signature(std::string_view client_secret, std::string_view body);

}  // namespace omnisync::sim::intercom
