#pragma once
/// Declared settings: which keys a block of omnisync.yaml may hold, each with its type, range, default and a
/// one-line description, and where its value goes in the component's own struct. One declaration drives
/// validation with located errors (config/validate.hpp), binding into typed fields (`bind` below), and the
/// reference tables of docs/configuration.md (config/reference.hpp).
///
///   config::schema s;
///   auto& sync = s.block("sync", "polling and writing");
///   sync.integer("page_size", "records per page").range(1, 200).fallback(100).into(&settings::page_size);
///   sync.secret("api_token", "the account's token").into(&settings::api_token);   // also api_token_file: PATH
///
/// Lifecycle: a component builds its schema once (a function-local static) and never changes it afterwards;
/// reading a built schema, validating and binding are thread-safe.
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/setting_values.hpp"

namespace omnisync::config {

enum class value_type {
  string,       ///< text; optionally a pattern it must match
  integer,      ///< whole number, optionally in a range
  number,       ///< decimal number, optionally in a range
  boolean,      ///< true/false (yes/no, on/off)
  duration,     ///< "250ms", "30s", "1h30m"; optionally a range and `off`
  enumeration,  ///< one of a fixed set of words
  url,          ///< http(s) URL with a host
  path,         ///< file path, relative ones resolved against the config file's folder
  secret,       ///< `KEY: value|${ENV}|{credential: NAME}` or `KEY_file: PATH`; never printed
  string_list,  ///< YAML list of strings (optionally also one comma-separated string)
  block,        ///< nested mapping with its own declared keys
  map,          ///< mapping from free names (objects) to values of one declaration
};

// ---- conversions from a validated value into a struct member (what `setting::into` uses) ---------------------
void from_value(const setting_value& v, std::string& out);
void from_value(const setting_value& v, bool& out);
void from_value(const setting_value& v, std::int64_t& out);
void from_value(const setting_value& v, double& out);
void from_value(const setting_value& v, std::chrono::milliseconds& out);
void from_value(const setting_value& v, secret& out);
void from_value(const setting_value& v, std::vector<std::string>& out);
void from_value(const setting_value& v, std::filesystem::path& out);
template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, std::int64_t>)
void from_value(const setting_value& v, T& out) {
  std::int64_t x = 0;
  from_value(v, x);
  out = static_cast<T>(x);
}
template <class T>
void from_value(const setting_value& v, std::optional<T>& out) {
  T x{};
  from_value(v, x);
  out = std::move(x);
}

template <class T>
concept bindable = requires(const setting_value& v, T& t) { from_value(v, t); };

namespace detail {
/// What an accessor given to `into` reaches: a member pointer `M S::*`, or a lambda `[](S& s) -> M& {...}`.
template <class F>
struct access_traits : access_traits<decltype(&F::operator())> {};
template <class C, class R, class A>
struct access_traits<R (C::*)(A&) const> {
  using object = A;
  using member = std::remove_reference_t<R>;
};
template <class S, class M>
struct access_traits<M S::*> {
  using object = S;
  using member = M;
};
template <class M>
struct string_map : std::false_type {};
template <class T>
struct string_map<std::map<std::string, T>> : std::true_type {};
template <class M>
struct optional_of {
  using type = M;
};
template <class T>
struct optional_of<std::optional<T>> {
  using type = T;
};
}  // namespace detail

class schema;

/// Assigns the values declared in `s` to `target` (the struct its `into`s name), the fallback of every key the
/// values lack, and recurses into blocks and maps. `prefix`: where `s` sits among the dotted keys.
/// Throws std::logic_error when a value's type does not fit its member (a declaration bug).
void bind_settings(const schema& s, const setting_values& values, void* target, const std::string& prefix = {});

/// One declared key. Built through `schema`'s declaring functions and the chainable modifiers below.
class setting {
 public:
  setting(std::string key, value_type type, std::string description);

  // ---- declaring (chainable) ----------------------------------------------------------------------------
  setting& required();
  setting& fallback(const char* v) { return fallback(std::string(v)); }
  setting& fallback(std::string v);
  setting& fallback(bool v);
  template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  setting& fallback(I v) {
    return fallback_integer(static_cast<std::int64_t>(v));
  }
  setting& fallback(double v);
  template <class R, class P>
  setting& fallback(std::chrono::duration<R, P> d) {
    return fallback_duration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
  }
  setting& fallback(std::vector<std::string> v);
  /// The default as the reference shows it, when it is computed ("the login URL") rather than a value.
  setting& default_text(std::string text);
  /// integer and number: inclusive bounds.
  setting& range(double min, double max);
  setting& at_least(double min);
  /// duration: inclusive bounds.
  setting& range(std::chrono::milliseconds min, std::chrono::milliseconds max);
  setting& at_least(std::chrono::milliseconds min);
  /// string (and each string of a list): an ECMAScript regex the whole text must match; `hint` completes
  /// "expected ..." in the message, e.g. `a subdomain like "acme"`.
  setting& pattern(std::string regex, std::string hint);
  /// string list: each entry one of these words.
  setting& choices(std::vector<std::string> words);
  /// duration: `off` is accepted and means 0.
  setting& allow_off();
  /// string list: one comma-separated string is accepted too ("Id, Email").
  setting& comma_list();
  /// map: every name must be one of the strings of this root-level list key (e.g. "objects"; its fallback when
  /// the block does not set it).
  setting& names_from(std::string list_key);
  /// map: a single scalar instead of a mapping applies to every name (bound under the name "").
  setting& scalar_for_all();

  // ---- binding -----------------------------------------------------------------------------------------
  /// Where the value goes: a member pointer (`&settings::page_size`) or a lambda returning a reference
  /// (`[](settings& s) -> auto& { return s.http.read_timeout; }`). Members may be optional. A map binds into
  /// `std::map<std::string, T>`: T a value for maps of scalars, a struct (filled by the entry schema's own
  /// `into`s) for maps of blocks.
  template <class F>
  setting& into(F access);
  /// An enumeration into an enum member: each word and its value.
  template <class F, class E>
  setting& into(F access, std::vector<std::pair<std::string, E>> table);

  // ---- reading -----------------------------------------------------------------------------------------
  const std::string& key() const noexcept { return key_; }
  value_type type() const noexcept { return type_; }
  const std::string& description() const noexcept { return description_; }
  bool is_required() const noexcept { return required_; }
  const std::optional<setting_value>& fallback_value() const noexcept { return fallback_; }
  const std::string& default_description() const noexcept { return default_text_; }
  std::optional<double> min() const noexcept { return min_; }
  std::optional<double> max() const noexcept { return max_; }
  std::optional<std::chrono::milliseconds> min_duration() const noexcept { return min_duration_; }
  std::optional<std::chrono::milliseconds> max_duration() const noexcept { return max_duration_; }
  const std::string& pattern_regex() const noexcept { return pattern_; }
  const std::string& pattern_hint() const noexcept { return hint_; }
  const std::vector<std::string>& choice_words() const noexcept { return choices_; }
  bool off_allowed() const noexcept { return allow_off_; }
  bool comma_allowed() const noexcept { return comma_list_; }
  const std::string& names_source() const noexcept { return names_from_; }
  bool scalar_applies_to_all() const noexcept { return scalar_for_all_; }
  /// block: its keys; map of blocks: each entry's keys. nullptr otherwise.
  const schema* keys() const noexcept { return sub_.get(); }
  /// map: the declaration each entry's value follows (type block for maps of blocks).
  const setting* element() const noexcept { return element_.get(); }
  /// map: how the reference names an entry, e.g. "<Object>".
  const std::string& placeholder() const noexcept { return placeholder_; }
  bool binds() const noexcept { return bool(assign_) || bool(assign_map_) || bool(element_target_); }

 private:
  friend class schema;
  friend void bind_settings(const schema&, const setting_values&, void*, const std::string&);
  setting& fallback_integer(std::int64_t v);
  setting& fallback_duration(std::chrono::milliseconds v);

  std::string key_;
  value_type type_;
  std::string description_;
  bool required_ = false;
  std::optional<setting_value> fallback_;
  std::string default_text_;
  std::optional<double> min_, max_;
  std::optional<std::chrono::milliseconds> min_duration_, max_duration_;
  std::string pattern_, hint_;
  std::vector<std::string> choices_;
  bool allow_off_ = false;
  bool comma_list_ = false;
  std::string names_from_;
  bool scalar_for_all_ = false;
  std::string placeholder_;
  std::shared_ptr<schema> sub_;
  std::shared_ptr<setting> element_;
  std::function<void(void*, const setting_value&)> assign_;
  std::function<void(void*, const std::vector<std::pair<std::string, const setting_value*>>&)> assign_map_;
  std::function<void*(void*, const std::string&)> element_target_;
};

/// The declared keys of one mapping, in declaration order (the reference lists them so).
class schema {
 public:
  setting& string(std::string key, std::string description) { return add({std::move(key), value_type::string, std::move(description)}); }
  setting& integer(std::string key, std::string description) { return add({std::move(key), value_type::integer, std::move(description)}); }
  setting& number(std::string key, std::string description) { return add({std::move(key), value_type::number, std::move(description)}); }
  setting& boolean(std::string key, std::string description) { return add({std::move(key), value_type::boolean, std::move(description)}); }
  setting& duration(std::string key, std::string description) { return add({std::move(key), value_type::duration, std::move(description)}); }
  setting& url(std::string key, std::string description) { return add({std::move(key), value_type::url, std::move(description)}); }
  setting& path(std::string key, std::string description) { return add({std::move(key), value_type::path, std::move(description)}); }
  setting& secret(std::string key, std::string description) { return add({std::move(key), value_type::secret, std::move(description)}); }
  setting& list(std::string key, std::string description) { return add({std::move(key), value_type::string_list, std::move(description)}); }
  setting& enumeration(std::string key, std::vector<std::string> words, std::string description);
  /// A nested block; declaring the same block again adds to it.
  schema& block(std::string key, std::string description);
  /// A mapping from free names (`placeholder`, e.g. "<object>") to values declared by `element` (its key is
  /// ignored; build it with e.g. `setting("", value_type::string_list, "...")`).
  setting& map(std::string key, std::string placeholder, setting element, std::string description);
  /// A mapping from free names to blocks; declare the entries' keys on `keys_of(result)`.
  setting& map_of_blocks(std::string key, std::string placeholder, std::string description);
  /// Free names directly inside this block (Salesforce's `sync.<Object>: {fields: ...}`): keys that are not
  /// declared and hold a mapping are entries following the returned declaration's block.
  setting& each(std::string placeholder, std::string description);
  /// The entry schema of a map of blocks (for declaring its keys).
  static schema& keys_of(setting& map_of_blocks);
  /// Adds a declaration; one with the same key is replaced (a refinement).
  setting& add(setting s);

  const std::deque<setting>& settings() const noexcept { return settings_; }
  /// The declaration of `key`, or nullptr. The free-names entry (`each`) has the key "".
  const setting* find(std::string_view key) const;
  const setting* free_names() const { return find(""); }
  /// Declared keys (and `KEY_file` for secrets), for "did you mean".
  std::vector<std::string> key_names() const;

  /// `base` with `refinement`'s keys: a key both declare takes the refinement's declaration (which must have
  /// the same type; blocks merge key by key). Throws std::logic_error on a type clash (a declaration bug).
  static schema merged(const schema& base, const schema& refinement);

 private:
  std::deque<setting> settings_;
};

/// `bind_settings` into a struct.
template <class S>
void bind_into(const schema& s, const setting_values& values, S& target) {
  bind_settings(s, values, static_cast<void*>(&target));
}

// ---- template definitions -------------------------------------------------------------------------------------

template <class F>
setting& setting::into(F access) {
  using traits = detail::access_traits<F>;
  using S = std::remove_cv_t<typename traits::object>;
  using M = typename traits::member;
  if constexpr (detail::string_map<M>::value) {
    using T = typename M::mapped_type;
    element_target_ = [access](void* target, const std::string& name) -> void* {
      return &std::invoke(access, *static_cast<S*>(target))[name];
    };
    if constexpr (bindable<T>) {
      assign_map_ = [access](void* target, const std::vector<std::pair<std::string, const setting_value*>>& entries) {
        auto& m = std::invoke(access, *static_cast<S*>(target));
        for (const auto& [name, v] : entries) from_value(*v, m[name]);
      };
    }
  } else {
    static_assert(bindable<M>, "no conversion from a setting value to this member's type");
    assign_ = [access](void* target, const setting_value& v) { from_value(v, std::invoke(access, *static_cast<S*>(target))); };
  }
  return *this;
}

template <class F, class E>
setting& setting::into(F access, std::vector<std::pair<std::string, E>> table) {
  using traits = detail::access_traits<F>;
  using S = std::remove_cv_t<typename traits::object>;
  assign_ = [access, table = std::move(table)](void* target, const setting_value& v) {
    std::string word;
    from_value(v, word);
    for (const auto& [w, e] : table)
      if (w == word) {
        std::invoke(access, *static_cast<S*>(target)) = e;
        return;
      }
    throw std::logic_error("enumeration value \"" + word + "\" has no entry in its table");
  };
  return *this;
}

}  // namespace omnisync::config
