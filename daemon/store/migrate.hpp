#pragma once
/// Internal to daemon/store: schema migrations, the same way on both backends. A backend ships one list of
/// migrations per database (sqlite_migrations.cpp, pg_migrations.cpp: the same versions, each in its dialect);
/// `run_migrations` brings a database to the end of a list (or to `limit` migrations, for tests), one migration
/// per transaction, and refuses a database newer than the list.
///
/// What the backend's database handle `Db` provides (statements throw classified_error):
///   int version();                  the version recorded so far (0: none)
///   void begin();                   a transaction no other migrator runs beside (SQLite: BEGIN IMMEDIATE, the
///                                   file's write lock; PostgreSQL: an advisory lock held until it ends)
///   void apply(const migration&);   inside it: runs the migration's SQL and records its version
///   void commit();
///   void rollback() noexcept;
///   std::string subject() const;    names the database for the operator ("/var/lib/omnisync/state.db",
///                                   "the PostgreSQL database host/db (state tables)")
///   std::string label() const;      names it in the log line ("state.db", "postgres state tables")
#include <algorithm>
#include <optional>
#include <span>
#include <string>

#include "core/error.hpp"
#include "daemon/store/job.hpp"

namespace omnisync::store::detail {

/// One schema step. Versions start at 1 and increase by one; `sql` runs in the migration's transaction.
struct migration {
  int version;
  const char* name;
  const char* sql;
};

/// The version of "record_counts: one slot per session" (PostgreSQL: the trigger keys the slot on the whole
/// backend pid; SQLite: a no-op step so both backends' numbers match). Named once here so that renumbering it
/// is this one line: it is 11 once version 10 (segments) is in the lists before it, 10 until then (versions
/// increase by one, and the migration tests check every step).
inline constexpr int record_count_slot_version = 10;

/// The version of "the append-only history" (one table for stage, KPI and segment transitions). Named once here
/// so that renumbering it at a merge is this one line.
inline constexpr int history_version = 11;
/// The version of "segment membership and timer queue" (segment_members, segment_timers). The history table
/// comes right before it; renumbering is this one line.
inline constexpr int segment_membership_version = history_version + 1;

/// The version of "segment_members_acked" (what each destination acknowledged of a segment's membership), right
/// after the segment runtime's tables. Renumbering it is this one line.
inline constexpr int segment_acked_version = segment_membership_version + 1;
/// The version that adds segment_members_acked.row_id (the vendor's membership row id, so that a removal needs no
/// look-up), right after the table itself.
inline constexpr int membership_row_version = segment_acked_version + 1;

/// Applies the missing migrations of `list` to `db` (at most up to `limit` migrations) and returns the version
/// reached. errc::fail with `why` set when the database is newer than `list`; a failing migration is rolled back
/// and its error returned with `why` set.
template <class Db>
omnisync::result<int> run_migrations(Db& db, std::span<const migration> list, std::optional<int> limit,
                                     std::string& why) {
  const int latest = list.empty() ? 0 : list.back().version;
  const int target = limit ? std::min(*limit, latest) : latest;
  try {
    int current = db.version();
    if (current > latest) {
      why = db.subject() + " has schema version " + std::to_string(current) + ", newer than this omnisyncd knows (" +
            std::to_string(latest) +
            "); refusing to start. Run the newer omnisyncd, or restore a backup made for this version.";
      store_logger()->error("store: {}", why);
      return omnisync::errc::fail;
    }
    for (const auto& m : list) {
      if (m.version <= current || m.version > target) continue;
      db.begin();
      try {
        // Another process may have applied it while we waited for the lock.
        if (db.version() < m.version) {
          db.apply(m);
          db.commit();
          store_logger()->info("store: {} migrated to schema {} ({})", db.label(), m.version, m.name);
        } else {
          db.commit();
        }
      } catch (...) {
        db.rollback();
        throw;
      }
      current = m.version;
    }
    return current;
  } catch (const classified_error& e) {
    why = "migrating " + db.subject() + ": " + e.what();
    return e.code();
  }
}

}  // namespace omnisync::store::detail
