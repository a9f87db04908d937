#pragma once
// Base64url without padding (RFC 4648 §5), as JWTs use it: the tests sign their own Salesforce JWT bearer tokens.
#include <string>

namespace omnisync::test {

inline std::string b64url(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += t[(val >> bits) & 0x3F];
      bits -= 6;
    }
  }
  if (bits > -6) out += t[((val << 8) >> (bits + 8)) & 0x3F];
  return out;
}

}  // namespace omnisync::test
