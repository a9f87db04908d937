#pragma once
/// The history in the form the analytics reports read: every row of the store's append-only history
/// (daemon/store/history.hpp), compacted and grouped by profile in time order, in memory.
///
/// Why in memory: a funnel or a cohort table needs every profile's sequence of transitions; at 1,000,000 profiles
/// no indexed query answers that in 200 ms; one pass over compact rows grouped by profile comes near (bench/analytics).
/// The index is loaded once from the store (`load`, paging by id) and kept in step by `add` with the rows the
/// pipeline appends, so a report never reads the database.
///
/// A row keeps its time, the interned (kind, subject) and the interned `to` text (16 bytes; `to` as a number is
/// kept once per interned value); a profile keeps the connector of the record that first brought it (the `record`
/// of its first row's cause: the first-touch source) and where its rows lie. Every row lives in one arena, each
/// profile's rows side by side in time order, so a report's pass over all profiles reads memory in order instead
/// of chasing a million small vectors (that alone took the reports from 166–611 ms to a fraction at 1,000,000
/// profiles, docs/benchmarks.md). A profile that outgrows its room moves to the arena's end with twice the room;
/// the arena is compacted (profile order, no gaps) when gaps exceed half of it. About 16 bytes a row, 24 per
/// profile plus its id.
///
/// Thread safety: all members lock the index's mutex; `read` runs its function under it (keep it short: reports
/// are one pass). Lifecycle: owned by the engine; outlives the control commands that read it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/store/history.hpp"

namespace omnisync::analytics {

/// Hashes std::string and std::string_view alike, so maps of strings are searched without building one.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

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
  string_map<std::uint32_t> ids_;
  std::vector<std::string> names_;
};

/// One history row, compacted: 16 bytes. `to` as a number is looked up by its interned id (history_view::number).
struct compact_row {
  std::int64_t at = 0;     ///< ms since the epoch
  std::uint32_t key = 0;   ///< interned "kind\tsubject"
  std::uint32_t to = 0;    ///< interned `to`
};

/// One profile: where its rows (by time) lie in the index's arena, and its first-touch source.
struct profile_slot {
  std::uint32_t begin = 0, size = 0, cap = 0;             ///< rows arena[begin, begin + size), room for cap
  std::uint32_t source = symbols::npos;                   ///< first-touch connector (interned), npos unknown
  std::int64_t source_at = std::numeric_limits<std::int64_t>::max();
};

/// What the reports read, under the index's lock.
struct history_view {
  const std::vector<profile_slot>& profiles;
  const std::vector<compact_row>& arena;
  const std::vector<double>& numbers;  ///< `to` as a number by interned value (NaN when it is not one)
  const symbols& keys;     ///< "kind\tsubject"
  const symbols& values;   ///< `to` texts
  const symbols& sources;  ///< connector names
  std::int64_t rows = 0;
  std::int64_t first_at = 0, last_at = 0;  ///< the earliest and latest row's time (0, 0 when empty)

  /// A profile's rows, by time.
  std::span<const compact_row> rows_of(const profile_slot& p) const { return {arena.data() + p.begin, p.size}; }
  /// A row's `to` as a number, NaN when it is not one.
  double number(const compact_row& r) const { return numbers[r.to]; }
};

/// Rows, profiles and memory of the index (for the start-up log line and the bench).
struct index_stats {
  std::int64_t rows = 0;
  std::size_t profiles = 0;
  std::size_t arena_rows = 0;   ///< rows' room in the arena (rows + gaps left by moved profiles)
  std::size_t bytes = 0;        ///< about: arena, slots, interned strings, the profile id map
};

class history_index {
 public:
  /// Takes rows in (any order; rows of a profile are kept sorted by time, a row equal in time after those it
  /// meets). Rows already taken (id not above the highest id seen) are skipped, so `load` and `add` may overlap.
  void add(std::span<const store::history_entry> rows);
  /// Forgets the rows older than `before_ms` (the store's retention removed them too).
  void prune(std::int64_t before_ms);
  /// Forgets every row (before a load from the store again: an instance that leads a cluster again missed the rows
  /// the other leader stored meanwhile, and the rows it added live carry no id to catch up from).
  void clear();
  /// Runs `f` on the index under its lock.
  void read(const std::function<void(const history_view&)>& f) const;
  std::int64_t rows() const;
  std::size_t profiles() const;
  /// The highest row id taken in.
  std::int64_t last_id() const;
  /// Whether every stored row has been taken in: the load at start (after the profiles) has finished. Until then
  /// a report would count part of the history, so reports are refused. `failed` when the load could not finish.
  enum class load_state { loading, complete, failed };
  load_state state() const noexcept { return state_.load(); }
  void set_state(load_state s) noexcept { state_.store(s); }
  /// One profile's rows of `kind` in time order (the segments read a profile's transitions as events).
  struct kind_row {
    std::int64_t at = 0;
    std::string subject, to;
  };
  std::vector<kind_row> rows_of(std::string_view profile, std::string_view kind) const;
  index_stats stats() const;

 private:
  /// Makes room for one more row of profile `p` (moves it to the arena's end when it is full; compacts the arena
  /// when gaps make up more than half of it).
  void grow(profile_slot& p);
  void compact();

  std::atomic<load_state> state_{load_state::loading};
  mutable std::mutex mu_;
  string_map<std::uint32_t> profile_ids_;
  std::vector<profile_slot> profiles_;
  std::vector<compact_row> arena_;
  std::size_t gaps_ = 0;  ///< arena rows no profile uses
  std::string key_buf_;
  std::vector<double> numbers_;
  symbols keys_, values_, sources_;
  std::int64_t rows_ = 0, last_id_ = 0;
  std::int64_t first_at_ = 0, last_at_ = 0;
};

/// "kind\tsubject": how a row's (kind, subject) is interned.
std::string row_key(std::string_view kind, std::string_view subject);
/// The connector of the record a cause names (`{"record":"sf:Contact/003.."}` → "sf"), or "".
std::string cause_connector(std::string_view cause);

}  // namespace omnisync::analytics
