#pragma once
/// The Salesforce poll cursor (opaque to the engine, stored with the records it covers) and the time helpers
/// the poller needs. Pure code, no I/O; thread-safe.
///
/// How incremental polling stays exact (nothing lost or repeated at the boundary):
/// - Each read is `queryAll ... WHERE SystemModstamp >= L AND SystemModstamp <= U ORDER BY SystemModstamp, Id`,
///   where U = (the org's clock − settle_lag), so transactions still committing are not passed, and
///   L = (the previous U − overlap), so a change that commits late with an earlier stamp is still read.
/// - Every (Id, SystemModstamp) returned at or above L is remembered (`seen`); a record read again with the same
///   stamp is skipped, one read again with a newer stamp is a new change and is returned.
/// - Pages follow nextRecordsUrl; mid-query the watermark advances to the last stamp read (everything below it
///   is complete, as rows come sorted), so a lost query locator restarts from the cursor without a gap.
/// The `seen` set is bounded by `max_seen`: when more changes than that share the overlap window, L moves up
/// (never above the watermark) so that every pair at or above L is still remembered.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync::adapters::salesforce {

struct poll_cursor {
  /// Everything with SystemModstamp below this was read (epoch ms); nullopt: nothing read yet.
  std::optional<std::int64_t> watermark;
  /// Lower bound of the next query (≤ watermark); nullopt: from the beginning.
  std::optional<std::int64_t> lower;
  /// (SystemModstamp ms → ids) returned at or above `lower`.
  std::map<std::int64_t, std::set<std::string>> seen;
  /// A query in progress: its nextRecordsUrl and upper bound.
  std::optional<std::string> next_url;
  std::int64_t query_upper = 0;
  /// Formula refresh: when the last one completed (org clock, ms), and the last Id of one in progress.
  std::optional<std::int64_t> formula_done;
  std::optional<std::string> formula_after;
  /// getDeleted: checked up to (ms), and ids it reported in the last window (not to repeat them).
  std::optional<std::int64_t> deleted_checked;
  std::vector<std::string> deleted_reported;

  bool saw(const std::string& id, std::int64_t stamp) const;
  void remember(const std::string& id, std::int64_t stamp);
  /// Drops pairs below `lower`, moving `lower` up (never past the watermark) while more than `max_seen` remain.
  void prune(std::size_t max_seen);

  std::string encode() const;
  /// nullopt when `text` is not a cursor this version wrote.
  static std::optional<poll_cursor> decode(std::string_view text);
};

/// epoch ms → the SOQL literal for the whole second at or below it: "2026-01-01T00:00:00Z". (Salesforce's own
/// timestamps, "2026-01-01T00:00:00.000+0000", and its `Date` headers are read with core/time.hpp.)
std::string soql_datetime(std::int64_t epoch_ms);
/// epoch ms → ISO 8601 for getDeleted/getUpdated parameters: "2026-01-01T00:00:00+00:00".
std::string iso_datetime(std::int64_t epoch_ms);
/// A string literal for SOQL: quotes and backslashes escaped, in single quotes.
std::string soql_quote(std::string_view s);
/// True for a 15- or 18-character Salesforce record id (letters and digits).
bool is_record_id(std::string_view s);

}  // namespace omnisync::adapters::salesforce
