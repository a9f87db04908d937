#include "adapters/oauth/token_cache.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace omnisync::adapters::oauth {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
std::string text_member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
}  // namespace

std::string refusal_reason(const http::response& r) {
  std::string why;
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    // RFC 6749 §5.2 (Salesforce): {"error":"invalid_grant","error_description":"..."}
    why = text_member(o, "error");
    std::string detail = text_member(o, "error_description");
    if (why.empty()) {
      // HubSpot: {"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token",...}
      why = text_member(o, "status");
      detail = text_member(o, "message");
    }
    if (!detail.empty()) why = why.empty() ? detail : why + ": " + detail;
  }
  return why.empty() ? "HTTP " + std::to_string(r.status) : why;
}

std::optional<grant_result> parse_token_answer(std::string_view body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  grant_result g;
  g.access_token = text_member(o, "access_token");
  if (g.access_token.empty()) return std::nullopt;
  if (const auto* e = o.if_contains("expires_in")) {
    if (e->is_int64() && e->get_int64() > 0) g.expires_in = std::chrono::seconds(e->get_int64());
    else if (e->is_uint64()) g.expires_in = std::chrono::seconds(static_cast<std::int64_t>(e->get_uint64()));
    else if (e->is_string()) {  // some servers send it as text
      try {
        g.expires_in = std::chrono::seconds(std::stoll(std::string(e->get_string())));
      } catch (...) {
      }
    }
  }
  return g;
}

token_cache::token_cache(grant_fn grant, std::function<std::int64_t()> now_ms)
    : grant_(std::move(grant)), now_ms_(std::move(now_ms)) {
  if (!now_ms_)
    now_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  source_ = [this](bool force) { return authorization(force); };
}

http::token_source token_cache::request_source() {
  // (a plain lambda returning the coroutine: a coroutine lambda's captures would not outlive its first suspension)
  auto used = std::make_shared<std::string>();
  return [this, used](bool force) { return authorize_request(used, force); };
}

asio::awaitable<omnisync::result<std::string>> token_cache::authorize_request(std::shared_ptr<std::string> used,
                                                                              bool force) {
  // Refused with a token that is no longer the current one: another request renewed it meanwhile.
  if (force && !used->empty() && !access_token_.empty() && *used != "Bearer " + access_token_) force = false;
  auto r = co_await authorization(force);
  if (r) *used = *r;
  co_return r;
}

bool token_cache::expiring(std::int64_t now) const noexcept {
  if (expires_at_ms_ == 0) return false;
  // Renew a little early (a minute, or a quarter of a short lifetime), so a request never leaves with a token
  // that expires on the way.
  const std::int64_t lifetime = expires_at_ms_ - granted_at_ms_;
  const std::int64_t margin = std::min<std::int64_t>(60'000, lifetime / 4);
  return now >= expires_at_ms_ - margin;
}

asio::awaitable<omnisync::result<std::string>> token_cache::authorization(bool force) {
  if (refreshing_) {
    // Another request is getting a token: use the one it gets.
    const auto gen = grants_.load();
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (refreshing_) {
      t.expires_after(std::chrono::milliseconds(5));
      co_await t.async_wait(asio::use_awaitable);
    }
    if (grants_.load() != gen && !access_token_.empty()) co_return "Bearer " + access_token_;
  }
  const auto now = now_ms_();
  if (!force && !access_token_.empty() && !expiring(now)) co_return "Bearer " + access_token_;
  refreshing_ = true;
  struct clear_flag {
    bool& flag;
    ~clear_flag() { flag = false; }  // also when the coroutine is cancelled mid-grant
  } guard{refreshing_};
  auto got = co_await grant_();
  if (!got) co_return got.error();
  access_token_ = std::move(got->access_token);
  granted_at_ms_ = now_ms_();
  expires_at_ms_ = got->expires_in.count() > 0 ? granted_at_ms_ + got->expires_in.count() * 1000 : 0;
  ++grants_;
  co_return "Bearer " + access_token_;
}

}  // namespace omnisync::adapters::oauth
