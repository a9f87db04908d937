#pragma once
/// Time as omnisync stores and exchanges it: wall-clock instants in milliseconds since the Unix epoch (UTC), and
/// the one place where such instants are read from text and written as text, in every form the vendors use.
///
/// Reading (each returns nullopt for anything it does not accept; nothing throws, nothing allocates):
/// - `parse_iso8601`: ISO 8601 / RFC 3339 as the vendors write it — `2024-05-01T10:00:00Z`, with a fraction of
///   any length (`.5`, `.123`, `.123456`; `,` too; kept to the millisecond, truncated), with `Z`/`z` or an offset
///   `+02:00`, `+0200`, `+02` (Salesforce: `2024-05-01T10:00:00.000+0000`), without a zone (read as UTC), without
///   seconds (`10:00`), with `t` or a space instead of `T`; and the date alone (`2024-05-01`, midnight UTC) unless
///   `time_part::required`. Dates are checked against the calendar (no 31 April, 29 February only in leap years);
///   hours 00–23, minutes and seconds 00–59 (no leap second: Unix time has none), offsets up to ±23:59.
/// - `parse_epoch_ms`: a string of decimal digits (optionally after `-`) that already is epoch milliseconds.
/// - `parse_vendor_time`: either of the two above — what JSON APIs send (HubSpot writes both).
/// - `parse_http_date`: an HTTP `Date` (RFC 1123 / IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`).
/// Writing: `format_iso8601` (`2024-05-01T10:00:00Z`, the second rounded down), `format_iso8601_ms`
/// (`2024-05-01T10:00:00.123Z`), `format_http_date`. Instants before 1970 are floored, not truncated.
///
/// Pure functions; thread-safe.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omnisync {

/// A wall-clock instant, milliseconds since the Unix epoch (UTC). What the store keeps and adapters report.
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// Milliseconds since the epoch, and back (the form cursors and the store's columns hold).
constexpr std::int64_t to_epoch_ms(timestamp t) noexcept { return t.time_since_epoch().count(); }
constexpr timestamp from_epoch_ms(std::int64_t ms) noexcept { return timestamp(std::chrono::milliseconds(ms)); }

/// The system clock now, to the millisecond.
timestamp utc_now() noexcept;

/// Whether `parse_iso8601` accepts a date without a time of day.
enum class time_part {
  optional,  ///< `2024-05-01` is midnight UTC of that day
  required,  ///< only date-times (a vendor's modification stamps are never bare dates)
};

std::optional<timestamp> parse_iso8601(std::string_view text, time_part time = time_part::optional) noexcept;
std::optional<timestamp> parse_epoch_ms(std::string_view text) noexcept;
std::optional<timestamp> parse_vendor_time(std::string_view text) noexcept;
std::optional<timestamp> parse_http_date(std::string_view text) noexcept;

/// A `--since` value, as journalctl reads one (in UTC): a time ago (`90s`, `30m`, `1h`, `7d`, `2w`, also
/// `1h ago`), `now`, `today`, `yesterday` (midnight UTC), or an ISO 8601 time (`2026-11-01`,
/// `2026-11-01T10:00:00Z`, with an offset or a fraction). nullopt when it is none of these.
std::optional<timestamp> parse_since(std::string_view text, timestamp now) noexcept;

/// `2024-05-01T10:00:00Z` (whole seconds, rounded down).
std::string format_iso8601(timestamp t);
/// `2024-05-01T10:00:00.123Z`.
std::string format_iso8601_ms(timestamp t);
/// `Wed, 01 May 2024 10:00:00 GMT` (whole seconds, rounded down).
std::string format_http_date(timestamp t);

}  // namespace omnisync
