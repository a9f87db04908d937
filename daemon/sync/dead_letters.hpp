#pragma once
/// Dead letters as the pipeline keeps them, internal to daemon/sync: they resolve themselves when their record
/// later succeeds at their stage (the writer's acknowledgements for `write`, the pipeline's mapped records for
/// `mapping`), and entries of transient failures are retried on a schedule.
///
/// `resolver` saves a store transaction per page or write batch in the usual state, where nothing is open: it
/// remembers per (connector, object, stage) that a read found no open entry, and resolves there only after
/// entries were added (by this process) or that knowledge is older than `recheck` (entries another instance added
/// while it led the cluster, or a restart). Thread-safe (its own mutex); the awaitables run on the engine's
/// executor.
///
/// `retry_schedule` (a loop the engine runs): every open, retryable entry is queued again after
/// `dead_letter_backoff` × 2^retries since it last failed, at most `dead_letter_retries` times; resolved entries
/// older than `dead_letter_keep_resolved` are removed hourly.
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "daemon/store/store.hpp"

namespace omnisync::sync::detail {

struct context;

class resolver {
 public:
  explicit resolver(std::chrono::milliseconds recheck = std::chrono::milliseconds(30000)) : recheck_(recheck) {}

  /// `record_ids` of (connector, object) succeeded at `stage`: their open entries are resolved.
  boost::asio::awaitable<void> succeeded(store::store& db, clock& clk, std::string connector, std::string object,
                                         std::string stage, std::vector<std::string> record_ids);
  /// An entry of (connector, object, stage) was added.
  void added(const std::string& connector, const std::string& object, const std::string& stage);
  /// Forget what is known (leadership taken: another instance may have added entries).
  void forget();

 private:
  static std::string key_of(const std::string& connector, const std::string& object, const std::string& stage);
  /// What is known of one (connector, object, stage). `generation` counts additions, so a read that started
  /// before an entry was added does not record "none open".
  struct knowledge {
    std::uint64_t generation = 0;
    std::optional<clock::steady_point> none_since;  ///< when a read found no open entry
  };
  const std::chrono::milliseconds recheck_;
  std::mutex mu_;
  std::map<std::string, knowledge> known_;
};

/// Runs the retry schedule and the retention of resolved entries until cancelled.
boost::asio::awaitable<void> retry_schedule(context& ctx);

}  // namespace omnisync::sync::detail
