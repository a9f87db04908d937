#include "adapters/rest/json_api.hpp"

#include <spdlog/spdlog.h>

#include "adapters/pacing/api_call.hpp"
#include "adapters/rest/rest_util.hpp"

namespace omnisync::adapters::rest {
namespace {

std::string_view without_query(std::string_view path) { return path.substr(0, path.find('?')); }

}  // namespace

json_api::json_api(pacing::api_caller& caller, vendor_api vendor) : caller_(caller), vendor_(std::move(vendor)) {}

http::request json_api::request(std::string method, std::string path, std::string body) const {
  http::request r;
  r.method = std::move(method);
  r.url = vendor_.base_url + path;
  r.headers.push_back(http::header{"Accept", "application/json"});
  for (const auto& h : vendor_.headers) r.headers.push_back(h);
  if (!body.empty()) r.headers.push_back(http::header{"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

boost::asio::awaitable<omnisync::result<http::response>> json_api::send(std::string method, std::string path,
                                                                        std::string body, std::string bucket) {
  pacing::call_options opts;
  // One token source per request (kept in this frame): with OAuth, the 401s of the requests in flight when a
  // token expires then share one renewal.
  http::token_source auth;
  if (vendor_.auth) {
    auth = vendor_.auth();
    opts.auth = &auth;
  }
  opts.bucket = bucket.empty() ? std::string_view(vendor_.bucket) : std::string_view(bucket);
  auto r = co_await caller_.call(request(std::move(method), std::move(path), std::move(body)), opts);
  co_return r;
}

boost::asio::awaitable<omnisync::result<boost::json::value>> json_api::call_json(std::string method, std::string path,
                                                                                 std::string body,
                                                                                 std::string bucket) {
  auto res = co_await send(method, path, std::move(body), std::move(bucket));
  if (!res) {
    spdlog::warn("{}: {} {} failed: {}", vendor_.connector, method, without_query(path), res.error().message());
    co_return res.error();
  }
  if (res->status < 200 || res->status >= 300) co_return failure(method, path, *res);
  auto v = parse_json(res->body);
  if (!v || !v->is_object()) {
    spdlog::warn("{}: {} {}: the answer is not a JSON object", vendor_.connector, method, without_query(path));
    co_return make_error_code(errc::invalid_input);
  }
  co_return std::move(*v);
}

boost::system::error_code json_api::failure(std::string_view method, std::string_view path,
                                            const http::response& res) const {
  http::request shown;
  shown.method = std::string(method);
  shown.url = vendor_.base_url + std::string(path);
  const std::string id = vendor_.request_id ? vendor_.request_id(res) : std::string();
  spdlog::warn("{}: {}", vendor_.connector, describe_failure(shown, res, id));
  return make_error_code(classify(res));
}

errc json_api::classify(const http::response& res) const {
  return vendor_.classify ? vendor_.classify(res) : classify_status(res.status);
}

}  // namespace omnisync::adapters::rest
