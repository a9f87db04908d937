#include "sim/hubspot/signature.hpp"

#include <array>
#include <cctype>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

namespace omnisync::sim::hubspot {
namespace {

std::string to_hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

std::string sha256_hex(const std::string& message) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data());
  return to_hex(digest.data(), digest.size());
}

}  // namespace

std::string signature_v1(std::string_view client_secret, std::string_view body) {
  std::string message(client_secret);
  message.append(body);
  return sha256_hex(message);
}

std::string signature_v2(std::string_view client_secret, std::string_view method, std::string_view uri,
                         std::string_view body) {
  std::string message(client_secret);
  message.append(method).append(uri).append(body);
  return sha256_hex(message);
}

std::string signature_v3(std::string_view client_secret, std::string_view method, std::string_view uri,
                         std::string_view body, std::string_view timestamp) {
  std::string message(method);
  message.append(v3_canonical_uri(uri)).append(body).append(timestamp);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), client_secret.data(), static_cast<int>(client_secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &mac_len);
  std::string out(4 * ((mac_len + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac.data(),
                                      static_cast<int>(mac_len));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::string v3_canonical_uri(std::string_view uri) {
  static constexpr std::string_view decoded = ":/?@!$'()*,;";
  static constexpr std::array<std::string_view, 12> encoded = {"3A", "2F", "3F", "40", "21", "24",
                                                               "27", "28", "29", "2A", "2C", "3B"};
  std::string out;
  out.reserve(uri.size());
  for (std::size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size()) {
      const char hex[2] = {static_cast<char>(std::toupper(static_cast<unsigned char>(uri[i + 1]))),
                           static_cast<char>(std::toupper(static_cast<unsigned char>(uri[i + 2])))};
      bool replaced = false;
      for (std::size_t k = 0; k < encoded.size(); ++k) {
        if (encoded[k] == std::string_view(hex, 2)) {
          out.push_back(decoded[k]);
          i += 2;
          replaced = true;
          break;
        }
      }
      if (replaced) continue;
    }
    out.push_back(uri[i]);
  }
  return out;
}

}  // namespace omnisync::sim::hubspot
