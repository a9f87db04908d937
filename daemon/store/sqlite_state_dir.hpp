#pragma once
/// Internal to daemon/store: what the SQLite store checks in its state directory before it opens the databases,
/// and the marker it leaves there.
///
/// Two failures would otherwise go unnoticed. A database file that is missing or empty (0 bytes) opens as a new,
/// empty database: the pending writes, dead letters, cursors and paused set it held would vanish without a word.
/// A directory that shows it held a store before — the marker the store writes once it has opened one
/// (`store.marker`), or the other database holding data — is therefore refused unless the operator asks for a
/// fresh store (`options::init_store`, `omnisyncd --init-store`). A damaged file (half-truncated, garbage) is not
/// decided here: SQLite refuses it at open, as before. And a file or directory this process cannot write (another
/// user's, read-only) opens read-only, after which every write fails with "readonly database": it is refused here
/// with a sentence that names it and the user.
#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::store::sqlite {

/// The file that marks a state directory as holding a store.
inline constexpr const char* marker_name = "store.marker";

/// Before opening: the directory and the database files in it are writable by this process, and no database
/// is missing or empty in a directory used before (unless `opts.init_store`; then the stale WAL and shared-memory
/// files of such a database are removed, so the new one does not start from them). errc::fail with `why` set.
omnisync::result<void> check_state_dir(const options& opts, std::string& why);

/// After opening: writes the marker unless it is there (atomically: a temp file renamed into place).
omnisync::result<void> mark_state_dir(const std::filesystem::path& dir, std::string& why);

/// "user omnisync (uid 998)": who this process is, for sentences about permissions.
std::string process_user();

}  // namespace omnisync::store::sqlite
