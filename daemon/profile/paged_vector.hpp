#pragma once
/// A vector stored in fixed pages of 2^16 elements: growing never copies or moves elements and never holds two
/// copies at once (a std::vector doubling from 50 MB to 100 MB briefly needs 150 MB), and there is at most one
/// partly used page of slack. Element references stay valid while it grows. Not thread-safe.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace omnisync::profile {

template <class T>
class paged_vector {
 public:
  static constexpr unsigned page_bits = 16;
  static constexpr std::size_t page_size = std::size_t{1} << page_bits;

  T& operator[](std::size_t i) noexcept { return pages_[i >> page_bits][i & (page_size - 1)]; }
  const T& operator[](std::size_t i) const noexcept { return pages_[i >> page_bits][i & (page_size - 1)]; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  T& push_back(const T& v) {
    if ((size_ & (page_size - 1)) == 0 && (size_ >> page_bits) == pages_.size())
      pages_.push_back(std::make_unique<T[]>(page_size));
    T& slot = (*this)[size_++];
    slot = v;
    return slot;
  }
  /// Moves `v` in: element types may be move-only (the profile book's records own their packed attributes).
  T& push_back(T&& v) {
    if ((size_ & (page_size - 1)) == 0 && (size_ >> page_bits) == pages_.size())
      pages_.push_back(std::make_unique<T[]>(page_size));
    T& slot = (*this)[size_++];
    slot = std::move(v);
    return slot;
  }
  T& emplace_back() { return push_back(T{}); }
  /// Grows to n elements (new ones value-initialised) or shrinks the visible size (pages are kept).
  void resize(std::size_t n, const T& fill = T{}) {
    while (size_ < n) push_back(fill);
    size_ = n;
  }
  void assign_all(const T& v) {
    for (std::size_t i = 0; i < size_; ++i) (*this)[i] = v;
  }
  std::size_t memory_bytes() const noexcept { return pages_.size() * page_size * sizeof(T); }

 private:
  std::vector<std::unique_ptr<T[]>> pages_;
  std::size_t size_ = 0;
};

}  // namespace omnisync::profile
