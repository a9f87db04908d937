#pragma once
/// HubSpot request signatures (api-notes §2.8), as the simulator's webhook sender computes them.
/// Pure functions, thread-safe.
#include <cstdint>
#include <string>
#include <string_view>

namespace omnisync::sim::hubspot {

/// v1: hex(SHA-256(client_secret + body)), header `X-HubSpot-Signature`, version header `v1`.
std::string signature_v1(std::string_view client_secret, std::string_view body);

/// v2: hex(SHA-256(client_secret + method + uri + body)).
std::string signature_v2(std::string_view client_secret, std::string_view method, std::string_view uri,
                         std::string_view body);

/// v3: base64(HMAC-SHA256(client_secret, method + uri + body + timestamp)), header `X-HubSpot-Signature-v3`;
/// `timestamp` is the exact `X-HubSpot-Request-Timestamp` string (epoch ms). `uri` is signed after
/// `v3_canonical_uri`.
std::string signature_v3(std::string_view client_secret, std::string_view method, std::string_view uri,
                         std::string_view body, std::string_view timestamp);

/// The URI as HubSpot signs it in v3: only %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B are decoded
/// (either hex case); every other escape stays as sent.
std::string v3_canonical_uri(std::string_view uri);

}  // namespace omnisync::sim::hubspot
