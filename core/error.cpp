#include "core/error.hpp"

namespace omnisync {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "omnisync"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "success";
      case errc::retry: return "transient failure, retry";
      case errc::rate_limited: return "rate limited";
      case errc::auth_expired: return "credentials refused";
      case errc::not_found: return "not found";
      case errc::invalid_input: return "invalid input";
      case errc::fail: return "permanent failure";
      case errc::conflict: return "conflict";
      case errc::cancelled: return "cancelled";
      case errc::timeout: return "timed out";
    }
    return "unknown omnisync error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace omnisync
