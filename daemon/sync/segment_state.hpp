#pragma once
/// The daemon's running segments: the compiled set of the config in effect (daemon/segments, swapped at start-up
/// and reload) and the paused segments (`omnisyncctl segment pause`: membership still computed and stored, its
/// membership writes not queued; persisted in the store's meta as `segment.paused.<key>`).
///
/// Lifecycle: one per engine context, for the engine's lifetime. Thread-safe: every member locks; readers take
/// a snapshot (`get`) and keep it across co_await.
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "daemon/segments/segment_set.hpp"

namespace omnisync::sync::detail {

class segment_state {
 public:
  std::shared_ptr<const segments::segment_set> get() const {
    std::lock_guard lk(mu_);
    return set_;
  }
  void set(std::shared_ptr<const segments::segment_set> s) {
    std::lock_guard lk(mu_);
    set_ = s ? std::move(s) : std::make_shared<const segments::segment_set>();
  }
  bool paused(std::string_view key) const {
    std::lock_guard lk(mu_);
    return paused_.find(key) != paused_.end();
  }
  void set_paused(const std::string& key, bool p) {
    std::lock_guard lk(mu_);
    if (p)
      paused_.insert(key);
    else
      paused_.erase(key);
  }
  /// The meta key that persists a pause.
  static std::string paused_key(std::string_view key) { return "segment.paused." + std::string(key); }
  /// The meta key that keeps the definition a segment's stored membership was computed with (a reload or a
  /// start with another definition evaluates it again over every profile: a backfill).
  static std::string definition_key(std::string_view key) { return "segment.definition." + std::string(key); }
  /// The meta key that persists a `segment release` at one destination until its writes settle (a restart or a
  /// new leader keeps letting them past the brake once): JSON {"<outbox id>": "<record key>"}.
  static std::string released_key(std::string_view key, std::string_view connector) {
    return "segment.released." + std::string(key) + "/" + std::string(connector);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const segments::segment_set> set_ = std::make_shared<const segments::segment_set>();
  std::set<std::string, std::less<>> paused_;
};

}  // namespace omnisync::sync::detail
