#pragma once
/// The compact form in which the profile book keeps each source record's mapped attributes: one heap block per
/// record instead of a vector of (std::string, mapping::value) pairs (about 136 bytes per attribute before a
/// single byte of data). Attribute and object member names become interned ids; string values of attributes
/// whose values repeat (countries, stages, owners, titles) are interned once and referred to by id; other
/// strings, numbers and booleans are written inline (varints, zigzag integers, 8-byte doubles).
///
/// Lifecycle: one codec per book, living as long as the book; every `packed_attributes` it made must be decoded
/// by the same codec (ids refer into its interners). Interned strings are never freed: only the values of
/// attributes found to repeat are interned, so that memory is bounded by the distinct values of those.
/// Thread safety: none (owned by the book, which its engine guards).
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/profile/interner.hpp"
#include "mapping/value.hpp"

namespace omnisync::profile {

/// One record's attributes, encoded: a block in its codec's arena (a 4-byte reference: chunk and offset) whose
/// first bytes (a varint) are its length; empty when the record holds no attribute. Move-only; it does not own its
/// block: the codec that encoded it does (`attribute_codec::release` gives a block back for reuse; the arena's
/// memory goes with the codec).
class packed_attributes {
 public:
  packed_attributes() = default;
  packed_attributes(const packed_attributes&) = delete;
  packed_attributes& operator=(const packed_attributes&) = delete;
  packed_attributes(packed_attributes&& o) noexcept : ref_(o.ref_) { o.ref_ = none; }
  packed_attributes& operator=(packed_attributes&& o) noexcept {
    ref_ = o.ref_;
    o.ref_ = none;
    return *this;
  }
  bool empty() const noexcept { return ref_ == none; }

 private:
  friend class attribute_codec;
  static constexpr std::uint32_t none = 0xffffffffu;
  std::uint32_t ref_ = none;
};

/// Strings held elsewhere for as long as the codec lives, which a packed record may refer to by id instead of
/// holding a copy: the profile book passes the identity graph's identifiers (e-mails, phones, vendor ids), so
/// each is kept once. `find` matches exactly (no normalisation): a reference decodes to the very same text.
class shared_strings {
 public:
  static constexpr std::uint32_t npos = 0xffffffffu;
  virtual ~shared_strings() = default;
  /// The id of `value` held for `attribute`, or npos.
  virtual std::uint32_t find(std::string_view attribute, std::string_view value) const = 0;
  /// The text of an id `find` returned; valid as long as the holder lives.
  virtual std::string_view view(std::uint32_t id) const = 0;
};

/// Encodes and decodes attribute lists (see the file comment).
class attribute_codec {
 public:
  using attributes = std::vector<std::pair<std::string, mapping::value>>;

  attribute_codec() = default;
  attribute_codec(const attribute_codec&) = delete;
  attribute_codec& operator=(const attribute_codec&) = delete;

  /// From now on, string values that `s` holds for their attribute are written as references into it (`s` must
  /// outlive the codec and every block it encodes). Set before the first encode.
  void share(const shared_strings* s) noexcept { shared_ = s; }

  /// A new block holding `attrs` (in the codec's arena: valid as long as the codec lives).
  packed_attributes encode(const attributes& attrs);
  /// Bytes of `p`'s block (0 when empty), without the arena's rounding.
  std::size_t size(const packed_attributes& p) const noexcept;
  /// Gives `p`'s block back to the arena (reused by the next block of its rounded size); `p` becomes empty. A
  /// block dropped without release keeps its bytes until the codec goes.
  void release(packed_attributes& p) noexcept;
  /// Replaces `out` with the attributes `p` holds, in the order they were encoded.
  void decode(const packed_attributes& p, attributes& out) const;
  attributes decode(const packed_attributes& p) const {
    attributes out;
    decode(p, out);
    return out;
  }
  /// Bytes held by the codec's own tables (interned names and values), not by the packed blocks.
  std::size_t memory_bytes() const noexcept { return names_.memory_bytes() + values_.memory_bytes(); }
  /// Bytes the arena holds for packed blocks (chunks, including blocks released and not yet reused).
  std::size_t arena_bytes() const noexcept { return arena_.bytes(); }
  /// What a block of n bytes takes in the arena: n rounded up to 8.
  static std::size_t block_bytes(std::size_t n) noexcept { return (n + 7) & ~std::size_t{7}; }

  /// Strings interned so far (the codec's table; never shrinks).
  std::size_t interned_values() const noexcept { return values_.size(); }

  /// Each attribute's string values are interned in windows of this many; after a window in which interning
  /// cost more than it saved (too few repeats for the values' length: each distinct value costs about
  /// `intern_overhead` bytes in the table, each repeat saves its length), the attribute's values are written
  /// inline, except those already interned (names, e-mails, ids: unique per record).
  static constexpr std::uint32_t window = 4096;
  static constexpr std::uint32_t intern_overhead = 16;
  /// Longer strings are always written inline.
  static constexpr std::size_t max_interned = 64;

 private:
  struct attribute_stats {
    std::uint32_t seen = 0, fresh = 0;  // in the current window
    std::uint64_t bytes = 0;            // the window's string bytes
    bool inline_only = false;
  };
  void put_value(std::string& out, const mapping::value& v, std::uint32_t attr);
  void put_string(std::string& out, std::string_view s, std::uint32_t attr);
  std::uint32_t name_id(std::string_view name);

  /// Packed blocks in 1 MiB chunks (larger blocks get a chunk of their own), sizes rounded up to 8 bytes; a
  /// released block goes onto the free list of its size (the list's link is stored in the block itself). Instead
  /// of one malloc per record: glibc adds 8 bytes of header, rounds to 16 and takes 32 at least (~17 bytes per
  /// record in the profile book).
  class arena {
   public:
    /// A block of n bytes: its reference (chunk << 17 | offset / 8).
    std::uint32_t allocate(std::size_t n);
    void release(std::uint32_t ref, std::size_t n) noexcept;
    std::uint8_t* at(std::uint32_t ref) const noexcept {
      return chunks_[ref >> offset_bits].get() + (std::size_t{ref & ((1u << offset_bits) - 1)} << 3);
    }
    std::size_t bytes() const noexcept { return bytes_; }

   private:
    static constexpr unsigned offset_bits = 17;  // 1 MiB chunks in 8-byte units
    static constexpr std::size_t chunk_size = std::size_t{8} << offset_bits;
    std::vector<std::unique_ptr<std::uint8_t[]>> chunks_;  // regular and large ones, never moved
    std::uint32_t open_ = 0;         // the regular chunk blocks are cut from
    std::size_t used_ = chunk_size;  // bytes used in it (full at start: the first block allocates)
    std::size_t bytes_ = 0;
    std::vector<std::uint32_t> free_;  // by rounded size / 8: the head of that size's free list (a reference)
  };

  arena arena_;
  interner names_;   // attribute names and object member names
  interner values_;  // string values of attributes whose values repeat
  std::vector<attribute_stats> stats_;  // by names_ id
  std::string buf_;  // scratch: the encoding before it is copied into its block
  const shared_strings* shared_ = nullptr;
};

}  // namespace omnisync::profile
