#pragma once
/// `rate_limit_reading`: one API limit as a vendor last stated it in its answer's headers (used, remaining, the
/// window) with the vendor's own words. Adapters fill it (adapters/pacing/rate_headers.hpp reads the headers);
/// `status`, `/metrics` and the console's Overview show it. A plain value.
#include <chrono>
#include <cstdint>
#include <string>

namespace omnisync {

/// A number the vendor does not state is -1.
struct rate_limit_reading {
  std::string name;              ///< stable key: "daily", "rolling", "secondly", "per_minute", "per_second", ...
  std::string vendor_words;      ///< the header(s) as sent: "Sforce-Limit-Info: api-usage=18/5000"
  std::int64_t limit = -1;
  std::int64_t remaining = -1;
  std::int64_t used = -1;        ///< limit - remaining where the vendor states only those two
  std::int64_t window_ms = -1;   ///< the window the limit counts over; -1 unknown
  std::int64_t resets_in_ms = -1;  ///< from when it was seen; -1 unknown
  std::chrono::system_clock::time_point seen{};
};

}  // namespace omnisync
