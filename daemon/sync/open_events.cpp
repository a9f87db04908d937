#include "daemon/sync/open_events.hpp"

#include <algorithm>

namespace omnisync::sync::detail {
namespace asio = boost::asio;

asio::awaitable<bool> open_events::names_any(const std::vector<store::outbox_item>& items, timestamp before) {
  auto open = co_await ctx_.db.inbox_open_ids(c_.cfg.name, before);
  if (!open) co_return true;
  if (open->empty()) {
    named_.clear();
    co_return false;
  }
  // Forget the acknowledged ones; read the ones not seen yet, once.
  for (auto it = named_.begin(); it != named_.end();)
    it = std::binary_search(open->begin(), open->end(), it->first) ? std::next(it) : named_.erase(it);
  std::vector<std::int64_t> unseen;
  for (auto id : *open)
    if (!named_.count(id)) unseen.push_back(id);
  if (!unseen.empty()) {
    auto events = co_await ctx_.db.inbox_open_events(unseen);
    if (!events) co_return true;
    for (const auto& e : *events) {
      auto parsed = c_.adapter->parse_event(e.event);
      if (!parsed) {
        named_[e.id] = std::nullopt;
        continue;
      }
      names n;
      for (const auto& r : parsed->records) n.emplace(r.object, r.record.id);
      for (const auto& r : parsed->refetch) n.insert(r);
      for (const auto& a : parsed->announced) n.emplace(a.object, a.id);
      named_[e.id] = std::move(n);
    }
  }
  // What the claimed writes are about: records by the vendor's id, and objects with a create among them.
  names targets;
  std::set<std::string> creating;
  for (const auto& it : items) {
    if (it.write.target_id.empty()) creating.insert(it.write.object);
    else targets.emplace(it.write.object, it.write.target_id);
  }
  for (auto id : *open) {
    auto f = named_.find(id);
    if (f == named_.end()) continue;  // acknowledged between the two reads
    if (!f->second) co_return true;
    for (const auto& n : *f->second)
      if (creating.count(n.first) || targets.count(n)) co_return true;
  }
  co_return false;
}

}  // namespace omnisync::sync::detail
