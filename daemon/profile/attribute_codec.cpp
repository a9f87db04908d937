// The profile book's compact attribute encoding (attribute_codec.hpp).
//
// Block layout: varint block length, varint attribute count, then per attribute: varint name id, value.
// A value is a tag byte and its payload:
//   0 missing, 1 null, 2 false, 3 true, 4 integer (zigzag varint), 5 number (8 bytes, the double's bits),
//   6 string inline (varint length, bytes), 7 string interned (varint id), 8 array (varint count, values),
//   9 object (varint count, then per member: varint 2*name id, or 2*length+1 and the name's bytes; value),
//   10 string shared (varint id in the codec's shared_strings: an identifier the identity graph holds).
#include "daemon/profile/attribute_codec.hpp"

#include <cstring>
#include <new>

namespace omnisync::profile {
namespace {

using vkind = mapping::value::kind;

enum tag : std::uint8_t {
  t_missing, t_null, t_false, t_true, t_integer, t_number, t_string, t_interned, t_array, t_object, t_shared
};

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(static_cast<std::uint8_t>(v) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::uint64_t get_varint(const std::uint8_t*& p) {
  std::uint64_t v = 0;
  for (unsigned shift = 0;; shift += 7) {
    const std::uint8_t b = *p++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
}

struct reader {
  const interner& names;
  const interner& values;
  const shared_strings* shared;

  void string(const std::uint8_t*& p, std::string& out) const {
    const auto n = static_cast<std::size_t>(get_varint(p));
    out.assign(reinterpret_cast<const char*>(p), n);
    p += n;
  }

  void value(const std::uint8_t*& p, mapping::value& v) const {
    switch (*p++) {
      case t_missing: v.set_missing(); break;
      case t_null: v.set_null(); break;
      case t_false: v.set_bool(false); break;
      case t_true: v.set_bool(true); break;
      case t_integer: {
        const std::uint64_t z = get_varint(p);
        v.set_int(static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1)));
        break;
      }
      case t_number: {
        double d;
        std::memcpy(&d, p, sizeof d);
        p += sizeof d;
        v.set_number(d);
        break;
      }
      case t_string:
        v.k = vkind::string;
        string(p, v.s);
        break;
      case t_interned: v.set_string(values.view(static_cast<std::uint32_t>(get_varint(p)))); break;
      case t_shared: v.set_string(shared->view(static_cast<std::uint32_t>(get_varint(p)))); break;
      case t_array: {
        v.k = vkind::array;
        v.items.resize(static_cast<std::size_t>(get_varint(p)));
        for (auto& item : v.items) value(p, item);
        break;
      }
      default: {  // t_object
        v.k = vkind::object;
        const auto n = static_cast<std::size_t>(get_varint(p));
        v.items.resize(n);
        v.keys.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t k = get_varint(p);
          if (k & 1) {
            v.keys[i].assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(k >> 1));
            p += k >> 1;
          } else {
            v.keys[i].assign(names.view(static_cast<std::uint32_t>(k >> 1)));
          }
          value(p, v.items[i]);
        }
        break;
      }
    }
  }
};

}  // namespace

std::size_t attribute_codec::size(const packed_attributes& p) const noexcept {
  if (p.empty()) return 0;
  const std::uint8_t* at = arena_.at(p.ref_);
  return static_cast<std::size_t>(get_varint(at));
}

std::uint32_t attribute_codec::arena::allocate(std::size_t n) {
  n = block_bytes(n);
  const std::size_t cls = n / 8;
  if (cls < free_.size() && free_[cls] != packed_attributes::none) {
    const std::uint32_t ref = free_[cls];
    std::memcpy(&free_[cls], at(ref), sizeof(std::uint32_t));
    return ref;
  }
  if (chunks_.size() >= (std::size_t{1} << (32 - offset_bits)) - 1) throw std::bad_alloc();  // 32 GiB of blocks
  if (n > chunk_size / 4) {  // large: a chunk of its own
    chunks_.push_back(std::make_unique_for_overwrite<std::uint8_t[]>(n));
    bytes_ += n;
    return static_cast<std::uint32_t>(chunks_.size() - 1) << offset_bits;
  }
  if (used_ + n > chunk_size) {
    chunks_.push_back(std::make_unique_for_overwrite<std::uint8_t[]>(chunk_size));
    open_ = static_cast<std::uint32_t>(chunks_.size() - 1);
    bytes_ += chunk_size;
    used_ = 0;
  }
  const std::uint32_t ref = open_ << offset_bits | static_cast<std::uint32_t>(used_ >> 3);
  used_ += n;
  return ref;
}

void attribute_codec::arena::release(std::uint32_t ref, std::size_t n) noexcept {
  const std::size_t cls = block_bytes(n) / 8;
  if (cls >= free_.size()) {
    try {
      free_.resize(cls + 1, packed_attributes::none);
    } catch (...) {
      return;  // out of memory for the list itself: the block stays unused until the codec goes
    }
  }
  std::memcpy(at(ref), &free_[cls], sizeof(std::uint32_t));
  free_[cls] = ref;
}

void attribute_codec::release(packed_attributes& p) noexcept {
  if (p.empty()) return;
  arena_.release(p.ref_, size(p));
  p.ref_ = packed_attributes::none;
}

std::uint32_t attribute_codec::name_id(std::string_view name) {
  const std::uint32_t id = names_.intern(name);
  if (id != interner::npos && id >= stats_.size()) stats_.resize(id + 1);
  return id;
}

void attribute_codec::put_string(std::string& out, std::string_view s, std::uint32_t attr) {
  if (shared_) {
    if (const std::uint32_t sid = shared_->find(names_.view(attr), s); sid != shared_strings::npos) {
      out.push_back(static_cast<char>(t_shared));
      put_varint(out, sid);
      return;
    }
  }
  auto& st = stats_[attr];
  std::uint32_t id = interner::npos;
  if (s.size() <= max_interned) {
    if (!st.inline_only) {
      const std::size_t before = values_.size();
      id = values_.intern(s);
      if (values_.size() != before) ++st.fresh;
      st.bytes += s.size();
      if (++st.seen == window) {
        // Interning this window cost fresh * (length + overhead) + the references; inline it would have cost
        // seen * (length + 1).
        const double len = static_cast<double>(st.bytes) / st.seen;
        if (st.fresh * (len + intern_overhead) + 2.0 * st.seen > st.seen * (len + 1)) st.inline_only = true;
        st.seen = st.fresh = 0;
        st.bytes = 0;
      }
    } else {
      id = values_.find(s);  // a value interned before the attribute went inline costs nothing more
    }
  }
  if (id != interner::npos) {
    out.push_back(static_cast<char>(t_interned));
    put_varint(out, id);
    return;
  }
  out.push_back(static_cast<char>(t_string));
  put_varint(out, s.size());
  out.append(s.data(), s.size());
}

void attribute_codec::put_value(std::string& out, const mapping::value& v, std::uint32_t attr) {
  switch (v.k) {
    case vkind::missing: out.push_back(static_cast<char>(t_missing)); break;
    case vkind::null: out.push_back(static_cast<char>(t_null)); break;
    case vkind::boolean: out.push_back(static_cast<char>(v.b ? t_true : t_false)); break;
    case vkind::integer:
      out.push_back(static_cast<char>(t_integer));
      put_varint(out, (static_cast<std::uint64_t>(v.i) << 1) ^ static_cast<std::uint64_t>(v.i >> 63));
      break;
    case vkind::number: {
      out.push_back(static_cast<char>(t_number));
      char bytes[sizeof(double)];
      std::memcpy(bytes, &v.d, sizeof bytes);
      out.append(bytes, sizeof bytes);
      break;
    }
    case vkind::string: put_string(out, v.s, attr); break;
    case vkind::array:
      out.push_back(static_cast<char>(t_array));
      put_varint(out, v.items.size());
      for (const auto& item : v.items) put_value(out, item, attr);
      break;
    case vkind::object:
      out.push_back(static_cast<char>(t_object));
      put_varint(out, v.items.size());
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        const std::string_view key = i < v.keys.size() ? std::string_view(v.keys[i]) : std::string_view();
        const std::uint32_t id = name_id(key);
        if (id != interner::npos) {
          put_varint(out, std::uint64_t{id} << 1);
        } else {
          put_varint(out, (std::uint64_t{key.size()} << 1) | 1);
          out.append(key.data(), key.size());
        }
        put_value(out, v.items[i], attr);
      }
      break;
  }
}

packed_attributes attribute_codec::encode(const attributes& attrs) {
  packed_attributes p;
  if (attrs.empty()) return p;
  buf_.clear();
  put_varint(buf_, attrs.size());
  for (const auto& [name, v] : attrs) {
    // Canonical attribute names are short; one too long to intern (never seen) is kept as an object member
    // would be, with its bytes.
    const std::uint32_t id = name_id(name);
    if (id != interner::npos) {
      put_varint(buf_, std::uint64_t{id} << 1);
    } else {
      put_varint(buf_, (std::uint64_t{name.size()} << 1) | 1);
      buf_.append(name);
    }
    put_value(buf_, v, id != interner::npos ? id : name_id(""));
  }
  std::string head;
  put_varint(head, head.size() + buf_.size());
  // The length prefix counts itself: grow it until it is stable.
  for (std::size_t total = head.size() + buf_.size();;) {
    head.clear();
    put_varint(head, total);
    if (head.size() + buf_.size() == total) break;
    total = head.size() + buf_.size();
  }
  p.ref_ = arena_.allocate(head.size() + buf_.size());
  std::uint8_t* block = arena_.at(p.ref_);
  std::memcpy(block, head.data(), head.size());
  std::memcpy(block + head.size(), buf_.data(), buf_.size());
  return p;
}

void attribute_codec::decode(const packed_attributes& p, attributes& out) const {
  out.clear();
  if (p.empty()) return;
  const reader r{names_, values_, shared_};
  const std::uint8_t* at = arena_.at(p.ref_);
  get_varint(at);  // the block's length
  const auto n = static_cast<std::size_t>(get_varint(at));
  out.resize(n);
  for (auto& [name, v] : out) {
    const std::uint64_t k = get_varint(at);
    if (k & 1) {
      name.assign(reinterpret_cast<const char*>(at), static_cast<std::size_t>(k >> 1));
      at += k >> 1;
    } else {
      name.assign(names_.view(static_cast<std::uint32_t>(k >> 1)));
    }
    r.value(at, v);
  }
}

}  // namespace omnisync::profile
