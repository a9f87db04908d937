#pragma once
/// Zendesk webhook signature (api-notes §3.6): base64(HMAC-SHA256(key = signing secret as UTF-8 bytes,
/// message = timestamp header string + raw body)). Pure, thread-safe.
#include <string>
#include <string_view>

namespace omnisync::sim::zendesk {

std::string webhook_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body);

}  // namespace omnisync::sim::zendesk
