#include "sim/core/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>

#include <sys/stat.h>

namespace omnisync::sim {
namespace {

template <class T, void (*F)(T*)>
struct deleter {
  void operator()(T* p) const { F(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("omnisync-sim: cannot make TLS material: ") + what);
}

pkey_ptr make_key() {
  pkey_ptr k(EVP_EC_gen("P-256"));
  check(k != nullptr, "EC key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

x509_ptr make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  x509_ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 30);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("omnisync-sim"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* iss = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  if (ca) {
    add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
  } else {
    add_ext(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(cert.get(), iss, NID_ext_key_usage, "serverAuth");
    add_ext(cert.get(), iss, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
    add_ext(cert.get(), iss, NID_authority_key_identifier, "keyid:always");
  }
  check(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "sign");
  return cert;
}

void write_pem(const std::filesystem::path& p, const std::function<bool(FILE*)>& w, mode_t mode) {
  FILE* f = std::fopen(p.c_str(), "wb");
  check(f != nullptr, "open output file");
  ::chmod(p.c_str(), mode);
  bool ok = w(f);
  std::fclose(f);
  check(ok, "write PEM");
}

}  // namespace

tls_files make_tls_files(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto ca_key = make_key();
  auto ca = make_cert(ca_key.get(), "omnisync-sim test CA", nullptr, nullptr, true);
  auto leaf_key = make_key();
  auto leaf = make_cert(leaf_key.get(), "localhost", ca.get(), ca_key.get(), false);
  tls_files out{dir / "ca.pem", dir / "server.pem", dir / "server.key"};
  write_pem(out.ca_cert, [&](FILE* f) { return PEM_write_X509(f, ca.get()) == 1; }, 0644);
  write_pem(out.leaf_cert, [&](FILE* f) { return PEM_write_X509(f, leaf.get()) == 1 && PEM_write_X509(f, ca.get()) == 1; }, 0644);
  write_pem(out.leaf_key, [&](FILE* f) {
    return PEM_write_PrivateKey(f, leaf_key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  }, 0600);
  return out;
}

}  // namespace omnisync::sim
