#include "adapters/rest/rest_util.hpp"
#include "adapters/rest/settings.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace omnisync::adapters::rest {
namespace json = boost::json;
using std::chrono::milliseconds;

// ---- settings ------------------------------------------------------------------------------------------------

void apply_connection(http::client_options& o, const config::connector_common& cfg) {
  o.ca_file = cfg.ca_file;
  o.verify_tls = cfg.tls_verify;
  o.proxy_from_environment();
}

// ---- text ----------------------------------------------------------------------------------------------------

std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

std::string member_text(const json::value& object, std::string_view key) {
  const auto* o = object.if_object();
  const auto* v = o ? o->if_contains(key) : nullptr;
  if (!v || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return json::serialize(*v);
}

errc classify_status(int status) {
  if (status == 400 || status == 413 || status == 422) return errc::invalid_input;
  if (status == 404 || status == 410) return errc::not_found;
  if (status == 409) return errc::conflict;
  if (status == 429) return errc::rate_limited;
  if (status >= 500) return errc::retry;
  return errc::fail;
}

std::string describe_failure(const http::request& req, const http::response& res, std::string_view request_id) {
  std::string url = req.url.substr(0, req.url.find('?'));
  std::string body = res.body.substr(0, 300);
  for (auto& c : body)
    if (c == '\n' || c == '\r') c = ' ';
  std::string out = req.method + " " + url + " -> " + std::to_string(res.status);
  if (!request_id.empty()) out += " (request id " + std::string(request_id) + ")";
  if (!body.empty()) out += ": " + body;
  return out;
}

}  // namespace omnisync::adapters::rest
