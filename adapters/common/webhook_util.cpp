#include "adapters/common/webhook_util.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace omnisync::adapters {

std::optional<std::string> json_member(std::string_view json, std::string_view name) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto* m = v.as_object().if_contains(name);
  if (!m) return std::nullopt;
  if (m->is_string()) return std::string(m->as_string());
  if (m->is_int64()) return std::to_string(m->as_int64());
  if (m->is_uint64()) return std::to_string(m->as_uint64());
  return std::nullopt;
}

}  // namespace omnisync::adapters
