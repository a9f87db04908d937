#include "sim/intercom/signature.hpp"

#include <array>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace omnisync::sim::intercom {

std::string hub_signature(std::string_view client_secret, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), client_secret.data(), static_cast<int>(client_secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(), &mac_len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "sha1=";
  for (unsigned int i = 0; i < mac_len; ++i) {
    out.push_back(digits[mac[i] >> 4]);
    out.push_back(digits[mac[i] & 0x0f]);
  }
  return out;
}

}  // namespace omnisync::sim::intercom
