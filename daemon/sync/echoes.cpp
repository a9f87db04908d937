#include "daemon/sync/echoes.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

namespace omnisync::sync::detail {
namespace json = boost::json;

namespace {

/// Equal as the vendor would store them: numbers by value (12 and 12.0), everything else exactly.
bool same_leaf(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

}  // namespace

void flatten_leaves(const json::value& v, const std::string& prefix, std::map<std::string, json::value>& out) {
  if (v.is_object() && !v.get_object().empty()) {
    for (const auto& [k, x] : v.get_object())
      flatten_leaves(x, prefix.empty() ? std::string(k) : prefix + "." + std::string(k), out);
    return;
  }
  out.insert_or_assign(prefix, v);
}

std::string echo_register::key(std::string_view connector, std::string_view object, std::string_view id) {
  std::string k;
  k.reserve(connector.size() + object.size() + id.size() + 2);
  k.append(connector).push_back('\x1f');
  k.append(object).push_back('\x1f');
  k.append(id);
  return k;
}

void echo_register::computing(std::int64_t outbox_id, std::string_view connector, std::string_view object,
                              std::string_view id, std::string_view payload, std::int64_t now_ms) {
  if (id.empty()) return;
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return;
  write w;
  w.outbox_id = outbox_id;
  w.computed_ms = now_ms;
  flatten_leaves(v, std::string(), w.leaves);
  std::lock_guard lk(mu_);
  prune(now_ms);
  if (by_record_.size() >= cap_) {  // bounded: forgetting only means those echoes are re-read
    by_record_.clear();
    by_outbox_.clear();
  }
  auto k = key(connector, object, id);
  if (auto old = by_outbox_.find(outbox_id); old != by_outbox_.end()) {  // computed again (a retry)
    auto& list = by_record_[old->second];
    std::erase_if(list, [&](const write& x) { return x.outbox_id == outbox_id; });
  }
  by_record_[k].push_back(std::move(w));
  by_outbox_[outbox_id] = std::move(k);
}

void echo_register::sending(std::int64_t outbox_id, std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  auto f = by_outbox_.find(outbox_id);
  if (f == by_outbox_.end()) return;
  for (auto& w : by_record_[f->second])
    if (w.outbox_id == outbox_id) w.sent_ms = now_ms;
}

void echo_register::settled(std::int64_t outbox_id, bool written, std::int64_t now_ms) {
  std::lock_guard lk(mu_);
  auto f = by_outbox_.find(outbox_id);
  if (f == by_outbox_.end()) return;
  auto rec = by_record_.find(f->second);
  if (rec != by_record_.end()) {
    auto& list = rec->second;
    if (written) {
      for (auto& w : list)
        if (w.outbox_id == outbox_id) w.acked_ms = now_ms;
    } else {
      std::erase_if(list, [&](const write& x) { return x.outbox_id == outbox_id; });
      if (list.empty()) by_record_.erase(rec);
    }
  }
  by_outbox_.erase(f);  // an outbox id is reused for the record's next write: each computation is noted anew
}

void echo_register::taken_in(std::string_view connector, std::string_view object, std::string_view id,
                             std::string_view payload) {
  std::lock_guard lk(mu_);
  if (by_record_.empty()) return;
  auto f = by_record_.find(key(connector, object, id));
  if (f == by_record_.end()) return;
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  std::map<std::string, json::value> held;
  if (!ec && v.is_object()) flatten_leaves(v, std::string(), held);
  for (auto& w : f->second) {
    const bool holds_all = !w.leaves.empty() && std::all_of(w.leaves.begin(), w.leaves.end(), [&](const auto& leaf) {
      auto h = held.find(leaf.first);
      return h != held.end() && same_leaf(h->second, leaf.second);
    });
    if (!holds_all) w.disturbed = true;
  }
}

bool echo_register::is_echo(std::string_view connector, std::string_view object, std::string_view id,
                            std::string_view fields, std::int64_t at_ms, std::int64_t now_ms) const {
  boost::system::error_code ec;
  auto v = json::parse(fields, ec);
  if (ec || !v.is_object() || v.get_object().empty()) return false;
  std::map<std::string, json::value> reported;
  flatten_leaves(v, std::string(), reported);
  std::lock_guard lk(mu_);
  auto f = by_record_.find(key(connector, object, id));
  if (f == by_record_.end()) return false;
  for (const auto& w : f->second) {
    if (w.disturbed || w.sent_ms == 0) continue;
    // The vendor stamps to the second: the change lies between the second the write was sent in and its answer.
    const std::int64_t from = w.sent_ms - w.sent_ms % 1000 - 1000;
    const std::int64_t to = (w.acked_ms != 0 ? w.acked_ms : now_ms) + 1000;
    if (at_ms < from || at_ms > to) continue;
    const bool all = std::all_of(reported.begin(), reported.end(), [&](const auto& leaf) {
      auto s = w.leaves.find(leaf.first);
      return s != w.leaves.end() && same_leaf(s->second, leaf.second);
    });
    if (all) return true;
  }
  return false;
}

std::size_t echo_register::size() const {
  std::lock_guard lk(mu_);
  return by_record_.size();
}

void echo_register::prune(std::int64_t now_ms) {
  if (now_ms < next_prune_ms_) return;
  next_prune_ms_ = now_ms + 1000;
  for (auto it = by_record_.begin(); it != by_record_.end();) {
    // Written: kept for `keep` after the answer; never answered (a claim given up, a crash of the chunk): twice.
    std::erase_if(it->second, [&](const write& w) {
      return (w.acked_ms != 0 ? w.acked_ms : w.computed_ms + keep_ms_) + keep_ms_ < now_ms;
    });
    it = it->second.empty() ? by_record_.erase(it) : std::next(it);
  }
  for (auto it = by_outbox_.begin(); it != by_outbox_.end();) {
    auto rec = by_record_.find(it->second);
    const bool held = rec != by_record_.end() && std::any_of(rec->second.begin(), rec->second.end(),
                                                             [&](const write& w) { return w.outbox_id == it->first; });
    it = held ? std::next(it) : by_outbox_.erase(it);
  }
}

}  // namespace omnisync::sync::detail
