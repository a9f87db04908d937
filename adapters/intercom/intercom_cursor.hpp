#pragma once
/// The Intercom connector's poll cursor: where a scan of one object stands, as a small JSON text the engine stores
/// with the records it covers. Pure value type, thread-safe.
///
/// Intercom's search compares timestamps by whole days (`updated_at > X` means a later day than X's), so a scan
/// asks for every record of the day of `lo` and later, and drops, on the client, what it already returned:
/// records older than `lo`, and (id, updated_at) pairs in `seen`. A scan pages by `starting_after`, sorted by
/// `created_at` (which never changes, so a record updated during the scan cannot shift the pages under it; it is
/// picked up by the next scan). When a scan ends, the watermark `w` becomes its newest `updated_at` and
/// `lo` = w − overlap: the overlap catches records that Intercom's search index shows late, and changes made while
/// a scan ran.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace omnisync::adapters::intercom {

struct poll_cursor {
  using pairs = std::map<std::string, std::int64_t>;  ///< id → updated_at returned
  std::int64_t lo = -1;   ///< drop records updated before this second; -1: nothing read yet (read all)
  std::int64_t w = -1;    ///< newest updated_at of completed scans
  pairs seen;             ///< returned by completed scans, updated_at ≥ lo: kept until this scan ends
  pairs fresh;            ///< returned by this scan; only the overlap below its newest record is kept
  std::string after;      ///< starting_after within the current scan
  std::int64_t scan_max = -1;

  /// This version of the record was returned already.
  bool returned(const std::string& id, std::int64_t u) const;
  /// Keeps only pairs at or after `line`.
  static void prune(pairs& p, std::int64_t line);

  std::string encode() const;
  /// nullopt for text this adapter did not write.
  static std::optional<poll_cursor> decode(std::string_view text);
};

}  // namespace omnisync::adapters::intercom
