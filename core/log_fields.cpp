#include "core/log_fields.hpp"

#include <cctype>

#include "core/error.hpp"

namespace omnisync {

std::string error_code_name(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (ec.category() == error_category()) {
    switch (static_cast<errc>(ec.value())) {
      case errc::ok: return {};
      case errc::retry: return "retry";
      case errc::rate_limited: return "rate_limited";
      case errc::auth_expired: return "auth_expired";
      case errc::not_found: return "not_found";
      case errc::invalid_input: return "invalid_input";
      case errc::fail: return "fail";
      case errc::conflict: return "conflict";
      case errc::cancelled: return "cancelled";
      case errc::timeout: return "timeout";
    }
  }
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
}

std::string_view vendor_error_code(std::string_view text) noexcept {
  const auto colon = text.find(": ");
  if (colon == std::string_view::npos || colon == 0 || colon > 64) return {};
  const auto code = text.substr(0, colon);
  for (unsigned char c : code)
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '-') return {};
  return code;
}

}  // namespace omnisync
