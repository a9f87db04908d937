#pragma once
/// A throw-away certificate authority and a leaf certificate for 127.0.0.1/localhost, made at start-up with
/// OpenSSL 3, so clients can verify the simulator's HTTPS properly (tests pass `ca.pem` as their CA file).
#include <filesystem>
#include <string>

namespace omnisync::sim {

struct tls_files {
  std::filesystem::path ca_cert;     ///< PEM, the trust anchor to give clients
  std::filesystem::path leaf_cert;   ///< PEM, chain: leaf then CA
  std::filesystem::path leaf_key;    ///< PEM, private key (mode 0600)
};

/// Writes ca.pem, server.pem and server.key into `dir` (created if missing). Throws on failure (start-up).
tls_files make_tls_files(const std::filesystem::path& dir);

}  // namespace omnisync::sim
