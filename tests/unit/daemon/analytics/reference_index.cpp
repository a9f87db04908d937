// The old index (see reference_index.hpp), verbatim apart from the namespace.
#include "tests/unit/daemon/analytics/reference_index.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

namespace omnisync::analytics::reference {

std::uint32_t symbols::id(std::string_view s) {
  auto it = ids_.find(std::string(s));
  if (it != ids_.end()) return it->second;
  const auto n = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(s);
  ids_.emplace(std::string(s), n);
  return n;
}

std::uint32_t symbols::find(std::string_view s) const {
  auto it = ids_.find(std::string(s));
  return it == ids_.end() ? npos : it->second;
}

namespace {

double number_of(std::string_view s) {
  double d = 0;
  if (s.empty()) return std::numeric_limits<double>::quiet_NaN();
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) return std::numeric_limits<double>::quiet_NaN();
  return d;
}

}  // namespace

void history_index::add(std::span<const store::history_entry> rows) {
  std::lock_guard lk(mu_);
  for (const auto& e : rows) {
    if (e.id != 0 && e.id <= last_id_) continue;
    auto [it, fresh] = profile_ids_.try_emplace(e.profile, static_cast<std::uint32_t>(profiles_.size()));
    if (fresh) profiles_.emplace_back();
    auto& p = profiles_[it->second];
    compact_row r;
    r.at = e.at.time_since_epoch().count();
    r.number = number_of(e.to);
    r.key = keys_.id(row_key(e.kind, e.subject));
    r.to = values_.id(e.to);
    // Rows mostly arrive in time order: append, or insert in place.
    if (p.rows.empty() || p.rows.back().at <= r.at)
      p.rows.push_back(r);
    else
      p.rows.insert(std::upper_bound(p.rows.begin(), p.rows.end(), r.at,
                                     [](std::int64_t t, const compact_row& x) { return t < x.at; }),
                    r);
    if (r.at < p.source_at) {
      auto c = cause_connector(e.cause);
      if (!c.empty()) {
        p.source = sources_.id(c);
        p.source_at = r.at;
      }
    }
    if (rows_ == 0 || r.at < first_at_) first_at_ = r.at;
    if (rows_ == 0 || r.at > last_at_) last_at_ = r.at;
    ++rows_;
    if (e.id > last_id_) last_id_ = e.id;
  }
}

void history_index::prune(std::int64_t before_ms) {
  std::lock_guard lk(mu_);
  if (rows_ == 0 || first_at_ >= before_ms) return;
  std::int64_t first = 0;
  bool any = false;
  for (auto& p : profiles_) {
    const auto keep = std::lower_bound(p.rows.begin(), p.rows.end(), before_ms,
                                       [](const compact_row& x, std::int64_t t) { return x.at < t; });
    rows_ -= keep - p.rows.begin();
    p.rows.erase(p.rows.begin(), keep);
    if (!p.rows.empty() && (!any || p.rows.front().at < first)) {
      first = p.rows.front().at;
      any = true;
    }
  }
  first_at_ = any ? first : 0;
  if (!any) last_at_ = 0;
}

void history_index::read(const std::function<void(const history_view&)>& f) const {
  std::lock_guard lk(mu_);
  f(history_view{profiles_, keys_, values_, sources_, rows_, first_at_, last_at_});
}

std::int64_t history_index::rows() const {
  std::lock_guard lk(mu_);
  return rows_;
}

std::size_t history_index::profiles() const {
  std::lock_guard lk(mu_);
  return profiles_.size();
}

std::int64_t history_index::last_id() const {
  std::lock_guard lk(mu_);
  return last_id_;
}

}  // namespace omnisync::analytics::reference
