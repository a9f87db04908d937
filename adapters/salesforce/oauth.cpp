#include "adapters/salesforce/oauth.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "adapters/common/crypto.hpp"
#include "adapters/rest/rest_util.hpp"
#include "adapters/salesforce/poll_cursor.hpp"
#include "adapters/pacing/api_call.hpp"

namespace omnisync::adapters::salesforce {
namespace asio = boost::asio;
namespace json = boost::json;

struct rs256_signer::key {
  EVP_PKEY* pkey = nullptr;
  ~key() { EVP_PKEY_free(pkey); }
};

rs256_signer::rs256_signer(const std::string& pem) : key_(std::make_unique<key>()) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (bio) key_->pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key_->pkey) throw std::runtime_error("auth.private_key: not a PEM private key (PKCS#8 or PKCS#1, unencrypted)");
  if (EVP_PKEY_get_base_id(key_->pkey) != EVP_PKEY_RSA)
    throw std::runtime_error("auth.private_key: Salesforce's JWT bearer flow needs an RSA key (RS256)");
}

rs256_signer::~rs256_signer() = default;

std::string rs256_signer::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return {};
  sig.resize(len);
  return sig;
}

std::string base64url(std::string_view raw) {
  std::string b = to_base64(raw);
  for (auto& c : b) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b.empty() && b.back() == '=') b.pop_back();
  return b;
}

std::string jwt_assertion(const rs256_signer& signer, const auth_settings& auth, std::int64_t now_epoch_s) {
  json::object claims{{"iss", auth.client_id}, {"sub", auth.username}, {"aud", auth.audience}, {"exp", now_epoch_s + 180}};
  std::string signing_input = base64url(R"({"alg":"RS256"})") + "." + base64url(json::serialize(claims));
  return signing_input + "." + base64url(signer.sign(signing_input));
}

oauth_session::oauth_session(pacing::api_caller& caller, const auth_settings& auth, std::function<std::int64_t()> now_ms)
    : caller_(caller), auth_(auth), now_ms_(std::move(now_ms)), cache_([this] { return grant(); }) {
  if (auth_.flow == auth_flow::jwt_bearer) signer_ = std::make_unique<rs256_signer>(auth_.private_key_pem);
}

oauth_session::~oauth_session() = default;

std::string oauth_session::grant_body(std::int64_t now_s) const {
  switch (auth_.flow) {
    case auth_flow::refresh_token: {
      std::string b = "grant_type=refresh_token&refresh_token=" + rest::url_encode(auth_.refresh_token) +
                      "&client_id=" + rest::url_encode(auth_.client_id);
      if (!auth_.client_secret.empty()) b += "&client_secret=" + rest::url_encode(auth_.client_secret);
      return b;
    }
    case auth_flow::client_credentials:
      return "grant_type=client_credentials&client_id=" + rest::url_encode(auth_.client_id) +
             "&client_secret=" + rest::url_encode(auth_.client_secret);
    case auth_flow::jwt_bearer:
      return "grant_type=" + rest::url_encode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
             "&assertion=" + rest::url_encode(jwt_assertion(*signer_, auth_, now_s));
  }
  return {};
}

asio::awaitable<omnisync::result<oauth::grant_result>> oauth_session::grant() {
  // The JWT's exp is checked against the org's clock; the first answer (even a refusal) carries the org's Date,
  // which corrects now_ms_, so a refused assertion is signed again once.
  const int tries = auth_.flow == auth_flow::jwt_bearer ? 2 : 1;
  for (int attempt = 0; attempt < tries; ++attempt) {
    http::request req;
    req.method = "POST";
    req.url = auth_.token_url;
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    req.headers.push_back({"Accept", "application/json"});
    req.body = grant_body(now_ms_() / 1000);
    pacing::call_options opts;
    opts.count_against_budget = false;  // the token endpoint is not a REST API call
    auto r = co_await caller_.call(std::move(req), opts);
    if (!r) {
      spdlog::warn("{}: token request failed: {}", caller_.connector(), r.error().message());
      co_return r.error();
    }
    if (r->status == 200) {
      auto answer = oauth::parse_token_answer(r->body);
      if (!answer) {
        spdlog::error("{}: the token endpoint answered 200 without an access_token", caller_.connector());
        co_return make_error_code(errc::invalid_input);
      }
      boost::system::error_code ec;
      auto v = json::parse(r->body, ec);
      const json::value* inst = !ec && v.is_object() ? v.as_object().if_contains("instance_url") : nullptr;
      instance_url_ = inst && inst->is_string() && !inst->as_string().empty() ? std::string(inst->as_string())
                                                                              : auth_.login_url;
      while (!instance_url_.empty() && instance_url_.back() == '/') instance_url_.pop_back();
      co_return std::move(*answer);
    }
    // 400 {"error":"invalid_grant","error_description":"..."}: the credentials were refused.
    const std::string why = oauth::refusal_reason(*r);
    if (attempt + 1 < tries) continue;
    spdlog::error("{}: the token endpoint refused the {} grant ({})", caller_.connector(),
                  auth_.flow == auth_flow::jwt_bearer ? "JWT bearer"
                  : auth_.flow == auth_flow::refresh_token ? "refresh token" : "client credentials",
                  why);
    if (r->status < 500) caller_.note_unauthorized("the token endpoint refused the grant: " + why);
    co_return make_error_code(r->status >= 500 ? errc::retry : errc::auth_expired);
  }
  co_return make_error_code(errc::auth_expired);
}

asio::awaitable<omnisync::result<std::string>> oauth_session::authorization(bool force) {
  auto r = co_await cache_.authorization(force);
  co_return r;
}

}  // namespace omnisync::adapters::salesforce
