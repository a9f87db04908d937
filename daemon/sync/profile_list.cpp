// `profile list|search` over the book: the profiles in id order, filtered one at a time (pipeline.hpp).
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>

#include "daemon/sync/pipeline.hpp"

namespace omnisync::sync::detail {

namespace {
/// Profiles looked at per hold of the book's lock: long enough to be cheap, short enough that a page being
/// stored waits at most a few milliseconds behind a scan of 100,000 profiles.
constexpr std::size_t k_chunk = 512;
/// How long the sorted id snapshot serves the following pages of a listing (`after` given).
constexpr std::chrono::seconds k_snapshot_age{5};
}  // namespace

profile_page pipeline::list(const profile::profile_filter& filter, std::string_view after, std::size_t limit) const {
  profile_page page;
  std::vector<profile::profile_id> ids;
  {
    // Collecting and sorting every id costs about as much as scanning them: a snapshot younger than
    // k_snapshot_age serves the next pages of a listing. Profiles merged away since are skipped below; one created
    // since shows up in listings started after the snapshot expired.
    std::lock_guard lk(book_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (after.empty() || now - list_ids_at_ > k_snapshot_age) {
      list_ids_ = book_->profiles();
      std::sort(list_ids_.begin(), list_ids_.end());
      list_ids_at_ = now;
    }
    ids = list_ids_;
  }
  page.total = ids.size();
  auto it = ids.begin();
  if (!after.empty())
    if (auto a = profile::profile_id::parse(after)) it = std::upper_bound(ids.begin(), ids.end(), *a);
  boost::json::object rec;
  while (it != ids.end() && page.items.size() < limit) {
    std::lock_guard lk(book_mu_);
    for (std::size_t n = 0; n < k_chunk && it != ids.end() && page.items.size() < limit; ++n, ++it) {
      if (!book_->contains(*it)) continue;  // merged away since the ids were taken
      book_->canonical_record(*it, rec);
      ++page.scanned;
      if (filter.matches(rec)) page.items.push_back(boost::json::serialize(rec));
    }
  }
  if (page.items.size() == limit && it != ids.end()) page.next_after = (it - 1)->str();
  return page;
}

std::vector<std::string> pipeline::stages() const {
  std::lock_guard lk(book_mu_);
  std::vector<std::string> out;
  for (const auto& r : rules_->kpis.lifecycle)
    if (std::find(out.begin(), out.end(), r.stage) == out.end()) out.push_back(r.stage);
  if (std::find(out.begin(), out.end(), "unknown") == out.end()) out.push_back("unknown");
  return out;
}

}  // namespace omnisync::sync::detail
