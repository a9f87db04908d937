#include "daemon/control/request.hpp"

#include <boost/json/parse.hpp>

namespace omnisync::control {

namespace json = boost::json;

std::variant<request, request_error> parse_request(std::string_view line, int version) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object()) return request_error{nullptr, "bad_request", "a request is one JSON object per line"};
  auto& req = v.as_object();
  json::value id = nullptr;
  if (auto* i = req.if_contains("id")) id = *i;
  auto* ver = req.if_contains("v");
  if (!ver || !ver->is_int64() || ver->as_int64() != version)
    return request_error{id, "unsupported_version",
                         "this daemon speaks control protocol version " + std::to_string(version)};
  auto* cmd = req.if_contains("cmd");
  if (!cmd || !cmd->is_string()) return request_error{id, "bad_request", "missing \"cmd\""};
  request out;
  if (auto* a = req.if_contains("args")) {
    if (!a->is_object()) return request_error{id, "bad_request", "\"args\" must be an object"};
    out.args = std::move(a->as_object());
  }
  out.cmd = std::string(cmd->as_string());
  out.id = std::move(id);
  return out;
}

}  // namespace omnisync::control
