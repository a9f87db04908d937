#pragma once
/// Digest, HMAC and encoding helpers for vendor signatures (OpenSSL 3). Pure functions, thread-safe.
#include <string>
#include <string_view>

namespace omnisync::adapters {

std::string sha256_raw(std::string_view data);
std::string hmac_sha256_raw(std::string_view key, std::string_view data);
std::string hmac_sha1_raw(std::string_view key, std::string_view data);
std::string to_hex(std::string_view raw);        ///< lower case
std::string to_base64(std::string_view raw);     ///< standard alphabet, padded
std::string sha256_hex(std::string_view data);

}  // namespace omnisync::adapters
