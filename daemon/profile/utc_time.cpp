#include "daemon/profile/utc_time.hpp"

#include "core/time.hpp"

namespace omnisync::profile {

std::optional<std::int64_t> parse_utc_ms(std::string_view s) noexcept {
  const auto t = parse_iso8601(s);
  if (!t) return std::nullopt;
  return to_epoch_ms(*t);
}

std::string format_utc_ms(std::int64_t ms) { return format_iso8601_ms(from_epoch_ms(ms)); }

}  // namespace omnisync::profile
