#include "daemon/sync/open_events.hpp"

#include <algorithm>

namespace omnisync::sync::detail {
namespace asio = boost::asio;

asio::awaitable<bool> open_events::names_any(const std::vector<store::outbox_item>& items, timestamp before) {
  auto each = co_await named(items, before);
  co_return std::find(each.begin(), each.end(), true) != each.end();
}

asio::awaitable<std::vector<bool>> open_events::named(const std::vector<store::outbox_item>& items,
                                                      timestamp before) {
  std::vector<bool> all(items.size(), true), none(items.size(), false);
  auto open = co_await ctx_.db.inbox_open_ids(c_.cfg.name, before);
  if (!open) co_return all;
  if (open->empty()) {
    named_.clear();
    co_return none;
  }
  // Forget the acknowledged ones; read the ones not seen yet, once.
  for (auto it = named_.begin(); it != named_.end();)
    it = std::binary_search(open->begin(), open->end(), it->first) ? std::next(it) : named_.erase(it);
  std::vector<std::int64_t> unseen;
  for (auto id : *open)
    if (!named_.count(id)) unseen.push_back(id);
  if (!unseen.empty()) {
    auto events = co_await ctx_.db.inbox_open_events(unseen);
    if (!events) co_return all;
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
  // What the open events name: records by the vendor's id, and the objects they name any record of.
  names about;
  std::set<std::string> objects;
  for (auto id : *open) {
    auto f = named_.find(id);
    if (f == named_.end()) continue;  // acknowledged between the two reads
    if (!f->second) co_return all;    // unparsable: may be about any record
    for (const auto& n : *f->second) {
      about.insert(n);
      objects.insert(n.first);
    }
  }
  // A write with a target id waits for events about that record; a create for any event about its object.
  std::vector<bool> out(items.size(), false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& w = items[i].write;
    out[i] = w.target_id.empty() ? objects.count(w.object) > 0 : about.count({w.object, w.target_id}) > 0;
  }
  co_return out;
}

}  // namespace omnisync::sync::detail
