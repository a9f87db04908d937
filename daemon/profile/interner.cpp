#include "daemon/profile/interner.hpp"

#include <cstring>
#include <functional>

namespace omnisync::profile {

interner::interner() : set_(0, hasher{this}, equal{this}) {}

std::size_t interner::hasher::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

std::uint32_t interner::find(std::string_view s) const {
  auto it = set_.find(s);
  return it == set_.end() ? npos : *it;
}

std::uint32_t interner::intern(std::string_view s) {
  if (s.size() > max_length) return npos;
  if (auto it = set_.find(s); it != set_.end()) return *it;
  const std::size_t prefix = s.size() < 0x80 ? 1 : 2;  // max_length < 2^14
  if (used_ + prefix + s.size() > chunk_size) {
    if (chunks_.size() >= (std::size_t{1} << (32 - chunk_bits))) return npos;  // 4 GiB of text: positions are 32-bit
    chunks_.push_back(std::make_unique<char[]>(chunk_size));
    used_ = 0;
  }
  const auto chunk = static_cast<std::uint32_t>(chunks_.size() - 1);
  char* at = chunks_.back().get() + used_;
  if (prefix == 1) {
    at[0] = static_cast<char>(s.size());
  } else {
    at[0] = static_cast<char>(0x80 | (s.size() & 0x7f));
    at[1] = static_cast<char>(s.size() >> 7);
  }
  if (!s.empty()) std::memcpy(at + prefix, s.data(), s.size());
  const auto id = static_cast<std::uint32_t>(pos_.size());
  pos_.push_back((chunk << chunk_bits) | static_cast<std::uint32_t>(used_));
  used_ += prefix;
  used_ += s.size();
  set_.insert(id);
  return id;
}

std::size_t interner::memory_bytes() const noexcept {
  // A flat set slot is the element plus about one byte of metadata.
  return chunks_.size() * chunk_size + pos_.memory_bytes() +
         set_.bucket_count() * (sizeof(std::uint32_t) + 1);
}

}  // namespace omnisync::profile
