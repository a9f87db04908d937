#include "daemon/analytics/history_index.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace omnisync::analytics {

std::uint32_t symbols::id(std::string_view s) {
  if (auto it = ids_.find(s); it != ids_.end()) return it->second;
  const auto n = static_cast<std::uint32_t>(names_.size());
  names_.emplace_back(s);
  ids_.emplace(std::string(s), n);
  return n;
}

std::uint32_t symbols::find(std::string_view s) const {
  auto it = ids_.find(s);
  return it == ids_.end() ? npos : it->second;
}

std::string row_key(std::string_view kind, std::string_view subject) {
  std::string k(kind);
  k += '\t';
  k += subject;
  return k;
}

std::string cause_connector(std::string_view cause) {
  if (cause.empty()) return {};
  boost::system::error_code ec;
  auto v = boost::json::parse(cause, ec);
  if (ec || !v.is_object()) return {};
  const auto* rec = v.as_object().if_contains("record");
  if (!rec || !rec->is_string()) return {};
  std::string_view r = rec->as_string();
  const auto colon = r.find(':');
  return colon == std::string_view::npos ? std::string() : std::string(r.substr(0, colon));
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

void history_index::grow(profile_slot& p) {
  if (p.size < p.cap) return;
  if (p.cap > 0 && p.begin + p.cap == arena_.size()) {  // last in the arena: room grows in place
    arena_.resize(arena_.size() + p.cap);
    p.cap *= 2;
    return;
  }
  const std::size_t cap = std::max<std::size_t>(2, std::size_t{p.cap} * 2);
  if (arena_.size() + cap > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("analytics: the history index is full (2^32 rows)");
  const auto begin = static_cast<std::uint32_t>(arena_.size());
  arena_.resize(arena_.size() + cap);
  std::copy_n(arena_.begin() + p.begin, p.size, arena_.begin() + begin);
  gaps_ += p.cap;
  p.begin = begin;
  p.cap = static_cast<std::uint32_t>(cap);
}

void history_index::compact() {
  std::vector<compact_row> next;
  next.reserve(static_cast<std::size_t>(rows_) + rows_ / 8 + 16);
  for (auto& p : profiles_) {
    const auto begin = static_cast<std::uint32_t>(next.size());
    next.insert(next.end(), arena_.begin() + p.begin, arena_.begin() + p.begin + p.size);
    p.begin = begin;
    p.cap = p.size;
  }
  arena_ = std::move(next);
  gaps_ = 0;
}

void history_index::add(std::span<const store::history_entry> rows) {
  std::lock_guard lk(mu_);
  for (const auto& e : rows) {
    if (e.id != 0 && e.id <= last_id_) continue;
    auto it = profile_ids_.find(std::string_view(e.profile));
    if (it == profile_ids_.end()) {
      it = profile_ids_.emplace(e.profile, static_cast<std::uint32_t>(profiles_.size())).first;
      profiles_.emplace_back();
    }
    auto& p = profiles_[it->second];
    compact_row r;
    r.at = e.at.time_since_epoch().count();
    key_buf_.assign(e.kind);  // row_key without a new string per row
    key_buf_ += '\t';
    key_buf_ += e.subject;
    r.key = keys_.id(key_buf_);
    const auto values_before = values_.size();
    r.to = values_.id(e.to);
    if (values_.size() != values_before) numbers_.push_back(number_of(e.to));
    grow(p);
    // Rows mostly arrive in time order: append, or insert in place (after the rows of the same time).
    auto* first = arena_.data() + p.begin;
    auto* last = first + p.size;
    if (p.size == 0 || last[-1].at <= r.at) {
      *last = r;
    } else {
      auto* pos = std::upper_bound(first, last, r.at, [](std::int64_t t, const compact_row& x) { return t < x.at; });
      std::copy_backward(pos, last, last + 1);
      *pos = r;
    }
    ++p.size;
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
  if (gaps_ > arena_.size() / 2 && gaps_ > 4096) compact();
}

void history_index::prune(std::int64_t before_ms) {
  std::lock_guard lk(mu_);
  if (rows_ == 0 || first_at_ >= before_ms) return;
  std::int64_t first = 0;
  bool any = false;
  for (auto& p : profiles_) {
    auto* b = arena_.data() + p.begin;
    auto* e = b + p.size;
    auto* keep = std::lower_bound(b, e, before_ms, [](const compact_row& x, std::int64_t t) { return x.at < t; });
    const auto gone = static_cast<std::uint32_t>(keep - b);
    if (gone > 0) {
      std::copy(keep, e, b);
      p.size -= gone;
      rows_ -= gone;
    }
    if (p.size > 0 && (!any || b->at < first)) {
      first = b->at;
      any = true;
    }
  }
  first_at_ = any ? first : 0;
  if (!any) last_at_ = 0;
  std::size_t room = 0;
  for (const auto& p : profiles_) room += p.cap;
  if (static_cast<std::int64_t>(room) > 2 * rows_ + 4096) compact();  // pruned room is given back
}

void history_index::clear() {
  std::lock_guard lk(mu_);
  profile_ids_ = {};
  profiles_ = {};
  arena_ = {};
  gaps_ = 0;
  numbers_ = {};
  keys_ = {};
  values_ = {};
  sources_ = {};
  rows_ = last_id_ = first_at_ = last_at_ = 0;
}

void history_index::read(const std::function<void(const history_view&)>& f) const {
  std::lock_guard lk(mu_);
  f(history_view{profiles_, arena_, numbers_, keys_, values_, sources_, rows_, first_at_, last_at_});
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

std::vector<history_index::kind_row> history_index::rows_of(std::string_view profile, std::string_view kind) const {
  std::vector<kind_row> out;
  std::lock_guard lk(mu_);
  auto it = profile_ids_.find(profile);
  if (it == profile_ids_.end()) return out;
  const auto& slot = profiles_[it->second];
  for (std::uint32_t i = slot.begin; i < slot.begin + slot.size; ++i) {
    const auto& r = arena_[i];
    const std::string& key = keys_.name(r.key);
    if (key.size() <= kind.size() || key.compare(0, kind.size(), kind) != 0 || key[kind.size()] != '\t') continue;
    out.push_back(kind_row{r.at, key.substr(kind.size() + 1), values_.name(r.to)});
  }
  return out;
}

index_stats history_index::stats() const {
  std::lock_guard lk(mu_);
  index_stats s;
  s.rows = rows_;
  s.profiles = profiles_.size();
  s.arena_rows = arena_.size();
  std::size_t strings = 0;
  for (const auto* sym : {&keys_, &values_, &sources_})
    for (std::uint32_t i = 0; i < sym->size(); ++i) strings += 2 * (sym->name(i).capacity() + 48);
  std::size_t ids = 0;
  for (const auto& [id, n] : profile_ids_) ids += id.capacity() + 64;
  s.bytes = arena_.capacity() * sizeof(compact_row) + profiles_.capacity() * sizeof(profile_slot) +
            numbers_.capacity() * sizeof(double) + strings + ids;
  return s;
}

}  // namespace omnisync::analytics
