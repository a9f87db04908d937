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

/// One record's attributes, encoded: a single heap block whose first bytes (a varint) are its length; empty
/// when the record holds no attribute. Move-only.
class packed_attributes {
 public:
  packed_attributes() = default;
  bool empty() const noexcept { return !bytes_; }
  /// Bytes of the block (0 when empty), without the allocator's own overhead.
  std::size_t size() const noexcept;

 private:
  friend class attribute_codec;
  std::unique_ptr<std::uint8_t[]> bytes_;
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

  packed_attributes encode(const attributes& attrs);
  /// Replaces `out` with the attributes `p` holds, in the order they were encoded.
  void decode(const packed_attributes& p, attributes& out) const;
  attributes decode(const packed_attributes& p) const {
    attributes out;
    decode(p, out);
    return out;
  }
  /// Bytes held by the codec's own tables (interned names and values), not by the packed blocks.
  std::size_t memory_bytes() const noexcept { return names_.memory_bytes() + values_.memory_bytes(); }

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

  interner names_;   // attribute names and object member names
  interner values_;  // string values of attributes whose values repeat
  std::vector<attribute_stats> stats_;  // by names_ id
  std::string buf_;  // scratch: the encoding before it is copied into its block
  const shared_strings* shared_ = nullptr;
};

}  // namespace omnisync::profile
