#pragma once
/// String interning for the identity graph: every record id, identifier value, system, object and attribute name
/// is stored once and referred to by a 32-bit id.
///
/// Strings live in fixed 1 MiB chunks that never move, each preceded by its length (1 byte below 128, else 2), so
/// a string costs its bytes plus 1–2 bytes of length, 4 bytes of position and about 5 bytes of hash-set slot. Not thread-safe; owned by one resolver.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_set.hpp>

#include "daemon/profile/paged_vector.hpp"

namespace omnisync::profile {

/// Interns strings of at most `max_length` bytes into dense ids 0..size()-1. Non-copyable (the hash set refers
/// back into it); hold it by value inside a pimpl or by unique_ptr.
class interner {
 public:
  static constexpr std::uint32_t npos = 0xffffffffu;
  /// Longest string accepted: identifiers and record ids are short; anything longer is refused (npos).
  static constexpr std::size_t max_length = 4096;

  interner();
  interner(const interner&) = delete;
  interner& operator=(const interner&) = delete;

  /// The id of `s`, adding it when new; npos when `s` is longer than max_length.
  std::uint32_t intern(std::string_view s);
  /// The id of `s`, or npos when it was never interned.
  std::uint32_t find(std::string_view s) const;
  std::string_view view(std::uint32_t id) const noexcept {
    const std::uint32_t pos = pos_[id];
    const auto* p = reinterpret_cast<const unsigned char*>(chunks_[pos >> chunk_bits].get() + (pos & (chunk_size - 1)));
    std::size_t n = p[0];
    if (n < 0x80) return {reinterpret_cast<const char*>(p + 1), n};
    n = (n & 0x7f) | std::size_t{p[1]} << 7;
    return {reinterpret_cast<const char*>(p + 2), n};
  }
  std::size_t size() const noexcept { return pos_.size(); }
  /// Bytes held (chunks, position tables, hash set), for stats and the benchmark.
  std::size_t memory_bytes() const noexcept;

 private:
  static constexpr unsigned chunk_bits = 20;
  static constexpr std::size_t chunk_size = std::size_t{1} << chunk_bits;

  // Hashes an id by its text, and a string_view directly: transparent lookup without building a string.
  struct hasher {
    using is_transparent = void;
    const interner* self;
    std::size_t operator()(std::uint32_t id) const noexcept { return (*this)(self->view(id)); }
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct equal {
    using is_transparent = void;
    const interner* self;
    bool operator()(std::uint32_t a, std::uint32_t b) const noexcept { return a == b; }
    bool operator()(std::uint32_t a, std::string_view b) const noexcept { return self->view(a) == b; }
    bool operator()(std::string_view a, std::uint32_t b) const noexcept { return a == self->view(b); }
  };

  std::vector<std::unique_ptr<char[]>> chunks_;
  std::size_t used_ = chunk_size;        // bytes used in the last chunk (full at start: first intern allocates)
  paged_vector<std::uint32_t> pos_;      // (chunk << chunk_bits) | offset of the length prefix
  boost::unordered_flat_set<std::uint32_t, hasher, equal> set_;
};

}  // namespace omnisync::profile
