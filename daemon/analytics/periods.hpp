#pragma once
/// Internal to daemon/analytics: calendar buckets (UTC days, ISO weeks from Monday, months), their labels, and
/// how numbers are written into report cells.
#include <cstdint>
#include <string>

#include "daemon/analytics/reports.hpp"

namespace omnisync::analytics {

/// One UTC day in milliseconds.
inline constexpr std::int64_t day_ms = 86'400'000;
/// At most this many buckets per report (an open window by day over years stays bounded).
inline constexpr std::size_t max_buckets = 5000;

/// "2026-03-01" (day, week: its Monday), "2026-03" (month).
std::string period_label(std::int64_t start, period p);
/// Whole buckets from `cohort` to `at` (both bucket starts).
std::int64_t bucket_offset(std::int64_t cohort, std::int64_t at, period p);
/// A count, or a number with at most 4 decimals (trailing zeros dropped).
std::string num(std::int64_t v);
std::string num(double v);

}  // namespace omnisync::analytics
