#pragma once
/// The Zendesk connector's poll cursor, a small JSON text the engine stores with the records it covers. Pure value
/// type, thread-safe.
///
/// - `users`, `tickets`: the cursor-based incremental export; `after` is Zendesk's `after_cursor`, where the next
///   poll continues.
/// - `satisfaction_ratings` (no cursor export): a scan lists by `start_time = since_s` with `page[after]` paging;
///   it remembers its newest `updated_at` second (`scan_max_s`) and the ids at it (`at_max`); the next scan starts
///   at that second and drops the ids already returned at it (`seen`).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::adapters::zendesk {

struct poll_cursor {
  std::string after;              ///< exports: after_cursor; ratings: page[after] within a scan
  std::int64_t since_s = 0;       ///< ratings: start_time of the current scan
  std::vector<std::string> seen;  ///< ratings: ids already returned at exactly since_s
  std::int64_t scan_max_s = -1;   ///< ratings: newest updated_at seen in this scan
  std::vector<std::string> at_max;

  std::string encode() const;
  /// nullopt for text this adapter did not write.
  static std::optional<poll_cursor> decode(std::string_view text);
};

}  // namespace omnisync::adapters::zendesk
