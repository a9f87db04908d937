#include "sim/zendesk/signature.hpp"

#include <array>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace omnisync::sim::zendesk {

std::string webhook_signature(std::string_view signing_secret, std::string_view timestamp, std::string_view body) {
  std::string message(timestamp);
  message.append(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), signing_secret.data(), static_cast<int>(signing_secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &mac_len);
  std::string out(4 * ((mac_len + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac.data(), static_cast<int>(mac_len));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

}  // namespace omnisync::sim::zendesk
