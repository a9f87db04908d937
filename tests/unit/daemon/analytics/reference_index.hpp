#pragma once
// The reports as they were computed before the fast index (commit f501863): the old index (every row of a
// profile in its own vector) and the old one-pass reports, kept verbatim apart from the namespace, as the
// straightforward recomputation that reports_equal_test.cpp compares the fast path with on random histories.
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/analytics/history_index.hpp"
#include "daemon/analytics/reports.hpp"
#include "daemon/store/history.hpp"

namespace omnisync::analytics::reference {
using analytics::row_key;
using analytics::cause_connector;

/// Interned strings: dense ids, stable for the index's life.
class symbols {
 public:
  std::uint32_t id(std::string_view s);
  /// The id of `s` if it was interned; npos otherwise.
  std::uint32_t find(std::string_view s) const;
  const std::string& name(std::uint32_t id) const { return names_[id]; }
  std::size_t size() const noexcept { return names_.size(); }
  static constexpr std::uint32_t npos = std::numeric_limits<std::uint32_t>::max();

 private:
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::vector<std::string> names_;
};

/// One history row, compacted.
struct compact_row {
  std::int64_t at = 0;                                    ///< ms since the epoch
  double number = std::numeric_limits<double>::quiet_NaN();  ///< `to` as a number, if it is one
  std::uint32_t key = 0;                                  ///< interned "kind\tsubject"
  std::uint32_t to = 0;                                   ///< interned `to`
};

/// One profile's rows, by time.
struct profile_rows {
  std::vector<compact_row> rows;
  std::uint32_t source = symbols::npos;                   ///< first-touch connector (interned), npos unknown
  std::int64_t source_at = std::numeric_limits<std::int64_t>::max();
};

/// What the reports read, under the index's lock.
struct history_view {
  const std::vector<profile_rows>& profiles;
  const symbols& keys;     ///< "kind\tsubject"
  const symbols& values;   ///< `to` texts
  const symbols& sources;  ///< connector names
  std::int64_t rows = 0;
  std::int64_t first_at = 0, last_at = 0;  ///< the earliest and latest row's time (0, 0 when empty)
};

class history_index {
 public:
  /// Takes rows in (any order; rows of a profile are kept sorted by time). Rows already taken (id not above the
  /// highest id seen) are skipped, so `load` and `add` may overlap.
  void add(std::span<const store::history_entry> rows);
  /// Forgets the rows older than `before_ms` (the store's retention removed them too).
  void prune(std::int64_t before_ms);
  /// Runs `f` on the index under its lock.
  void read(const std::function<void(const history_view&)>& f) const;
  std::int64_t rows() const;
  std::size_t profiles() const;
  /// The highest row id taken in.
  std::int64_t last_id() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::uint32_t> profile_ids_;
  std::vector<profile_rows> profiles_;
  symbols keys_, values_, sources_;
  std::int64_t rows_ = 0, last_id_ = 0;
  std::int64_t first_at_ = 0, last_at_ = 0;
};

report funnel(const history_view& v, const report_window& w);
report retention(const history_view& v, const report_window& w);
report satisfaction(const history_view& v, const report_window& w);
report value(const history_view& v, const report_window& w);
report segment_size(const history_view& v, const report_window& w);
std::optional<report> compute(std::string_view name, const history_index& index, const report_window& w);

}  // namespace omnisync::analytics::reference
