#include "daemon/control/commands/paused_set.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <optional>

#include "daemon/store/blocking.hpp"
#include "daemon/store/store.hpp"
#include "daemon/sync/engine.hpp"

namespace asio = boost::asio;
namespace json = boost::json;

namespace omnisync::control::commands {
namespace {

constexpr const char* meta_key = "app.paused_connectors";

/// The set as stored under meta_key (a JSON array of connector names); nullopt when the text is not such an array.
std::optional<std::set<std::string>> parse(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return std::nullopt;
  std::set<std::string> out;
  for (const auto& n : v.as_array())
    if (n.is_string()) out.insert(std::string(n.as_string()));
  return out;
}

}  // namespace

omnisync::result<void> paused_set::load() {
  auto saved = store::wait(db_.meta_get(meta_key));
  if (!saved) return saved.error();
  if (!*saved) return {};
  if (auto set = parse(**saved)) {
    std::lock_guard lock(mutex_);
    names_ = std::move(*set);
  }
  return {};
}

std::set<std::string> paused_set::names() const {
  std::lock_guard lock(mutex_);
  return names_;
}

bool paused_set::contains(const std::string& connector) const {
  std::lock_guard lock(mutex_);
  return names_.count(connector) != 0;
}

std::size_t paused_set::size() const {
  std::lock_guard lock(mutex_);
  return names_.size();
}

std::vector<std::pair<std::string, bool>> paused_set::changes_to(const std::set<std::string>& next) const {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& n : next)
    if (!names_.count(n)) out.emplace_back(n, true);
  for (const auto& n : names_)
    if (!next.count(n)) out.emplace_back(n, false);
  return out;
}

asio::awaitable<paused_set::change_result> paused_set::change(sync::engine* engine, std::vector<std::string> targets,
                                                              bool pause) {
  // In a cluster the set is the cluster's: change the stored one (another instance may have changed it since
  // this one last read it), not this instance's copy.
  std::optional<std::set<std::string>> shared;
  if (engine && engine->cluster().enabled)
    if (auto got = co_await db_.meta_get(meta_key); got && *got) shared = parse(**got);
  change_result out;
  json::array list;
  std::vector<std::pair<std::string, bool>> changes;  // connector, pause
  {
    std::lock_guard lock(mutex_);
    ++changing_;
    std::set<std::string> next = shared ? *shared : names_;
    for (const auto& t : targets) pause ? (void)next.insert(t) : (void)next.erase(t);
    changes = changes_to(next);
    for (const auto& t : targets) changes.emplace_back(t, pause);  // a resume also wakes the polls at once
    names_ = std::move(next);
    for (const auto& n : names_) {
      list.push_back(json::value(n));
      out.paused.push_back(n);
    }
  }
  if (engine)
    for (const auto& [name, p] : changes) p ? (void)engine->pause(name) : (void)engine->resume(name);
  out.saved = co_await db_.meta_set(meta_key, json::serialize(list));
  {
    std::lock_guard lock(mutex_);
    --changing_;
    ++version_;
  }
  co_return out;
}

asio::awaitable<void> paused_set::follow(sync::engine& engine, std::shared_ptr<spdlog::logger> log,
                                         std::function<void()> changed) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(1));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    std::uint64_t version;
    {
      std::lock_guard lock(mutex_);
      if (changing_) continue;  // this instance is changing the set: its own write comes first
      version = version_;
    }
    auto saved = co_await db_.meta_get(meta_key);
    if (!saved) continue;  // the store is unreachable for now: keep the set as it is
    auto stored = *saved ? parse(**saved) : std::set<std::string>();
    if (!stored) continue;
    std::vector<std::pair<std::string, bool>> changes;  // connector, pause
    {
      std::lock_guard lock(mutex_);
      if (changing_ || version_ != version) continue;  // changed here meanwhile
      changes = changes_to(*stored);
      if (changes.empty()) continue;
      names_ = std::move(*stored);
    }
    for (const auto& [name, pause] : changes) {
      pause ? (void)engine.pause(name) : (void)engine.resume(name);
      log->info("{} {} (the cluster's paused set, changed through another instance)", pause ? "paused" : "resumed",
                name);
    }
    if (changed) changed();
  }
}

}  // namespace omnisync::control::commands
