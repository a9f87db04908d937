#include "daemon/console/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace omnisync::console {
namespace {

std::string digest(std::string_view s) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

bool same_digest(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool equal_secret(std::string_view a, std::string_view b) {
  const auto da = digest(a), db = digest(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("no random bytes from OpenSSL");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

authenticator::authenticator(std::string read_token, std::string write_token,
                             std::chrono::milliseconds session_lifetime, std::size_t max_sessions)
    : read_digest_(read_token.empty() ? std::string() : digest(read_token)),
      write_digest_(write_token.empty() ? std::string() : digest(write_token)),
      lifetime_(session_lifetime), max_sessions_(std::max<std::size_t>(1, max_sessions)) {}

grant authenticator::check_token(std::string_view token) const {
  if (token.empty()) return grant::none;
  const auto d = digest(token);
  // Both comparisons always run: the time taken says nothing about which token (if any) matched.
  const bool w = same_digest(d, write_digest_);
  const bool r = same_digest(d, read_digest_);
  return w ? grant::write : r ? grant::read : grant::none;
}

grant authenticator::check_authorization(std::string_view header) const {
  header = trim(header);
  if (header.size() < 7) return grant::none;
  std::string scheme(header.substr(0, 7));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "bearer ") return grant::none;
  return check_token(trim(header.substr(7)));
}

std::optional<session> authenticator::sign_in(std::string_view token) {
  const grant g = check_token(token);
  if (g == grant::none) return std::nullopt;
  session s{random_hex(32), random_hex(32), g, std::chrono::steady_clock::now() + lifetime_};
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(sessions_, [now](const auto& kv) { return kv.second.expires <= now; });
  while (sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
    sessions_.erase(oldest);
  }
  sessions_.emplace(s.id, s);
  return s;
}

std::optional<session> authenticator::find(std::string_view cookie_header) {
  // Cookie: a=b; omnisync_session=ID; c=d
  std::string_view id;
  while (!cookie_header.empty()) {
    auto semi = cookie_header.find(';');
    auto part = trim(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos ? std::string_view() : cookie_header.substr(semi + 1);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == cookie_name) id = part.substr(eq + 1);
  }
  if (id.size() != 64) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= std::chrono::steady_clock::now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void authenticator::sign_out(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(session_id); it != sessions_.end()) sessions_.erase(it);
}

}  // namespace omnisync::console
