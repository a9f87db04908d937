#pragma once
/// UTC timestamps as milliseconds since the Unix epoch, to and from the text the mapping engine writes for
/// canonical datetimes ("2026-05-01T10:00:00.000Z"). Pure functions, thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omnisync::profile {

/// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]" with "Z", "+hh:mm", "-hh:mm", "+hhmm" or no zone (UTC).
std::optional<std::int64_t> parse_utc_ms(std::string_view text) noexcept;
/// "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_utc_ms(std::int64_t ms);

}  // namespace omnisync::profile
