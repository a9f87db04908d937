#pragma once
/// The HubSpot adapter's poll cursor: where a read of one object stands, as a small JSON text the engine
/// stores with the records it covers. Pure value type, thread-safe.
///
/// Phases (see README.md for why):
/// - `list`: a full read through the list endpoint (`after` paging by id), live records then archived ones;
///   `started_ms` is when it began, so the incremental search continues from there when it ends.
/// - `search`: incremental search on the last-modified property, ascending. `since_ms` is the lowest stamp
///   still to read; `seen` the ids already returned at exactly `since_ms` (de-duplicated when the search is
///   restarted from that instant); `exclusive` means every record at `since_ms` was read (filter GT).
///   `tie_after` is set while a whole page's worth of records share one stamp: that instant is then read by
///   `hs_object_id` order (keyset), so no offset ever approaches the 10,000-result cap.
/// - `archived`: a pass over the archived list (`archived=true`), reporting records archived at or after
///   `archived_since_ms` as deleted; `scan_started_ms` becomes the next pass's lower bound. The bound is
///   inclusive (an archive in the very millisecond a pass started, after it read the list, must not be lost), so
///   the records a pass reports at or after the next bound are remembered (`archived_fresh`, then
///   `archived_seen`) and not reported a second time — the same millisecond, or HubSpot's clock ahead of ours.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::adapters::hubspot {

struct poll_cursor {
  enum class phase { list, search, archived };
  phase at = phase::search;

  // search
  std::int64_t since_ms = 0;
  bool exclusive = false;
  std::vector<std::string> seen;
  std::optional<std::int64_t> tie_after;

  // list / archived paging
  std::string after;               ///< the list endpoint's `after`; empty: first page
  bool list_archived = false;      ///< list phase: reading the archived records now
  std::int64_t started_ms = 0;     ///< list phase: when the full read began

  // archived scans
  std::int64_t archived_since_ms = 0;  ///< records archived before this were reported already
  std::int64_t last_scan_ms = 0;       ///< when the last archived pass began (0: never)
  std::int64_t scan_started_ms = 0;    ///< archived phase: when this pass began
  /// (id → archivedAt ms) reported by the previous pass (or the full read) at or after `archived_since_ms`.
  std::map<std::string, std::int64_t> archived_seen;
  /// (id → archivedAt ms) this pass (or the full read's archived list) reported at or after the next lower bound.
  std::map<std::string, std::int64_t> archived_fresh;

  std::string encode() const;
  /// nullopt for text this adapter did not write.
  static std::optional<poll_cursor> decode(std::string_view text);

  bool was_seen(std::string_view id) const;
};

}  // namespace omnisync::adapters::hubspot
