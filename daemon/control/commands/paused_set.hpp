#pragma once
/// The connectors an operator paused (`pause`, `resume`). The set is kept in the store (meta key
/// `app.paused_connectors`, a JSON array of names), so a pause survives restarts.
///
/// Cluster: the paused set is the cluster's (the shared store's), whichever instance was asked. A change starts
/// from the stored set, not this instance's copy (another instance may have changed it since), and `follow()` reads
/// it every second and pauses or resumes this instance's polls and writers to match, so a pause sent to any
/// instance stops every instance's calls to that system within about a second.
///
/// Lifecycle: built by the application once the store is open, `load()`ed before the io_context runs; `change()`
/// runs from the pause/resume commands, `follow()` as one of the application's services (cluster only).
/// Thread-safe: the set is guarded by a mutex; `change()` calls may overlap with each other and with `follow()`.
#include <spdlog/logger.h>

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace omnisync::store {
class store;
}
namespace omnisync::sync {
class engine;
}

namespace omnisync::control::commands {

class paused_set {
 public:
  explicit paused_set(store::store& db) : db_(db) {}
  paused_set(const paused_set&) = delete;
  paused_set& operator=(const paused_set&) = delete;

  /// Reads the stored set, blocking (start-up, before the io_context runs). A missing or malformed value leaves
  /// the set empty; a store that cannot be read is an error: the start must stop then, since starting with an
  /// empty set would run the connectors an operator paused.
  omnisync::result<void> load();

  std::set<std::string> names() const;
  bool contains(const std::string& connector) const;
  std::size_t size() const;

  struct change_result {
    std::vector<std::string> paused;  ///< the set after the change, by name
    omnisync::result<void> saved;     ///< whether the store kept it
  };
  /// Pauses (or resumes) `targets`, applies every change of this instance's set to `engine` (may be null; a
  /// resume also wakes the target's polls at once) and stores the new set. In a cluster (`engine` in cluster
  /// mode) the change starts from the stored set.
  boost::asio::awaitable<change_result> change(sync::engine* engine, std::vector<std::string> targets, bool pause);

  /// Cluster: follows the stored set every second until cancelled, pausing and resuming `engine`'s connectors to
  /// match; `log` says what changed, `changed` runs after each change.
  boost::asio::awaitable<void> follow(sync::engine& engine, std::shared_ptr<spdlog::logger> log,
                                      std::function<void()> changed);

 private:
  /// What makes `next` of the current set (under `mutex_`): (connector, pause) for each that changes.
  std::vector<std::pair<std::string, bool>> changes_to(const std::set<std::string>& next) const;

  store::store& db_;
  mutable std::mutex mutex_;
  std::set<std::string> names_;
  int changing_ = 0;          ///< change() calls between their change of the set and its store write
  std::uint64_t version_ = 0;  ///< change() calls finished
};

}  // namespace omnisync::control::commands
