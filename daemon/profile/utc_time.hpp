#pragma once
/// The profile's old names for canonical datetimes ("2026-05-01T10:00:00.000Z") <-> milliseconds since the epoch,
/// now thin wrappers of core/time.hpp (`parse_iso8601`, `format_iso8601_ms`), which new code calls directly.
/// Kept only while daemon/control/commands (profile.cpp, status.cpp) and tests/unit/profile still call them; delete
/// this file when they call core/time.hpp.
/// Pure functions, thread-safe.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omnisync::profile {

/// `core/time.hpp` `parse_iso8601` in milliseconds: a date, or a date-time with "Z", an offset or no zone (UTC).
std::optional<std::int64_t> parse_utc_ms(std::string_view text) noexcept;
/// `core/time.hpp` `format_iso8601_ms`: "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_utc_ms(std::int64_t ms);

}  // namespace omnisync::profile
