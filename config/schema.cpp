#include "config/schema.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "config/value_syntax.hpp"

namespace omnisync::config {

using std::chrono::milliseconds;

// ---- setting_value, setting_values ----------------------------------------------------------------------------

bool operator==(const setting_value& a, const setting_value& b) {
  if (a.data.index() != b.data.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b.data);
        if constexpr (std::is_same_v<T, secret>) return x.reveal() == y.reveal();
        else if constexpr (std::is_same_v<T, std::monostate>) return true;
        else return x == y;
      },
      a.data);
}

std::vector<std::string> setting_values::names_under(std::string_view prefix) const {
  std::vector<std::string> out;
  const std::string start = prefix.empty() ? std::string() : std::string(prefix) + ".";
  for (auto it = items_.lower_bound(start); it != items_.end(); ++it) {
    const std::string& k = it->first;
    if (k.compare(0, start.size(), start) != 0) break;
    std::string name = k.substr(start.size(), k.find('.', start.size()) - start.size());
    if (out.empty() || out.back() != name) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- conversions ------------------------------------------------------------------------------------------------

namespace {

template <class T>
const T& get(const setting_value& v, const char* what) {
  if (const auto* x = std::get_if<T>(&v.data)) return *x;
  throw std::logic_error(std::string("a setting bound to a ") + what + " member holds another type");
}

}  // namespace

void from_value(const setting_value& v, std::string& out) { out = get<std::string>(v, "string"); }
void from_value(const setting_value& v, bool& out) { out = get<bool>(v, "bool"); }
void from_value(const setting_value& v, std::int64_t& out) { out = get<std::int64_t>(v, "integer"); }
void from_value(const setting_value& v, double& out) {
  if (const auto* i = std::get_if<std::int64_t>(&v.data)) out = static_cast<double>(*i);
  else out = get<double>(v, "double");
}
void from_value(const setting_value& v, milliseconds& out) { out = get<milliseconds>(v, "duration"); }
void from_value(const setting_value& v, secret& out) { out = get<secret>(v, "secret"); }
void from_value(const setting_value& v, std::vector<std::string>& out) { out = get<setting_value::list>(v, "list"); }
void from_value(const setting_value& v, std::filesystem::path& out) { out = get<std::string>(v, "path"); }

// ---- setting ------------------------------------------------------------------------------------------------

setting::setting(std::string key, value_type type, std::string description)
    : key_(std::move(key)), type_(type), description_(std::move(description)) {}

setting& setting::required() {
  required_ = true;
  return *this;
}
setting& setting::fallback(std::string v) {
  fallback_ = setting_value{std::move(v), {}};
  return *this;
}
setting& setting::fallback(bool v) {
  fallback_ = setting_value{v, {}};
  return *this;
}
setting& setting::fallback(double v) {
  fallback_ = setting_value{v, {}};
  return *this;
}
setting& setting::fallback_integer(std::int64_t v) {
  // A number declared with a whole default keeps its type: numbers bind as double.
  if (type_ == value_type::number) return fallback(static_cast<double>(v));
  fallback_ = setting_value{v, {}};
  return *this;
}
setting& setting::fallback_duration(milliseconds v) {
  fallback_ = setting_value{v, {}};
  return *this;
}
setting& setting::fallback(std::vector<std::string> v) {
  fallback_ = setting_value{std::move(v), {}};
  return *this;
}
setting& setting::default_text(std::string text) {
  default_text_ = std::move(text);
  return *this;
}
setting& setting::range(double min, double max) {
  min_ = min, max_ = max;
  return *this;
}
setting& setting::at_least(double min) {
  min_ = min;
  return *this;
}
setting& setting::range(milliseconds min, milliseconds max) {
  min_duration_ = min, max_duration_ = max;
  return *this;
}
setting& setting::at_least(milliseconds min) {
  min_duration_ = min;
  return *this;
}
setting& setting::pattern(std::string regex, std::string hint) {
  pattern_ = std::move(regex), hint_ = std::move(hint);
  return *this;
}
setting& setting::choices(std::vector<std::string> words) {
  choices_ = std::move(words);
  return *this;
}
setting& setting::allow_off() {
  allow_off_ = true;
  return *this;
}
setting& setting::comma_list() {
  comma_list_ = true;
  return *this;
}
setting& setting::names_from(std::string list_key) {
  names_from_ = std::move(list_key);
  return *this;
}
setting& setting::scalar_for_all() {
  scalar_for_all_ = true;
  return *this;
}

// ---- schema -------------------------------------------------------------------------------------------------

setting& schema::add(setting s) {
  for (auto& existing : settings_)
    if (existing.key_ == s.key_) return existing = std::move(s);
  return settings_.emplace_back(std::move(s));
}

setting& schema::enumeration(std::string key, std::vector<std::string> words, std::string description) {
  setting s(std::move(key), value_type::enumeration, std::move(description));
  s.choices_ = std::move(words);
  return add(std::move(s));
}

schema& schema::block(std::string key, std::string description) {
  for (auto& existing : settings_)
    if (existing.key_ == key && existing.type_ == value_type::block) {
      if (!description.empty()) existing.description_ = std::move(description);
      return *existing.sub_;
    }
  setting s(std::move(key), value_type::block, std::move(description));
  s.sub_ = std::make_shared<schema>();
  return *add(std::move(s)).sub_;
}

setting& schema::map(std::string key, std::string placeholder, setting element, std::string description) {
  setting s(std::move(key), value_type::map, std::move(description));
  s.placeholder_ = std::move(placeholder);
  s.element_ = std::make_shared<setting>(std::move(element));
  return add(std::move(s));
}

setting& schema::map_of_blocks(std::string key, std::string placeholder, std::string description) {
  setting element("", value_type::block, "");
  auto entries = std::make_shared<schema>();
  element.sub_ = entries;
  setting& m = map(std::move(key), std::move(placeholder), std::move(element), std::move(description));
  m.sub_ = std::move(entries);
  return m;
}

setting& schema::each(std::string placeholder, std::string description) {
  return map_of_blocks("", std::move(placeholder), std::move(description));
}

schema& schema::keys_of(setting& map_of_blocks) {
  if (!map_of_blocks.sub_) throw std::logic_error("keys_of: \"" + map_of_blocks.key_ + "\" is not a map of blocks");
  return *map_of_blocks.sub_;
}

const setting* schema::find(std::string_view key) const {
  for (const auto& s : settings_)
    if (s.key_ == key) return &s;
  return nullptr;
}

std::vector<std::string> schema::key_names() const {
  std::vector<std::string> out;
  for (const auto& s : settings_) {
    if (s.key_.empty()) continue;
    out.push_back(s.key_);
    if (s.type_ == value_type::secret) out.push_back(s.key_ + "_file");
  }
  return out;
}

schema schema::merged(const schema& base, const schema& refinement) {
  schema out = base;
  for (const auto& r : refinement.settings_) {
    const setting* b = out.find(r.key_);
    if (!b) {
      out.settings_.push_back(r);
      continue;
    }
    if (b->type_ != r.type_)
      throw std::logic_error("setting \"" + r.key_ + "\" is declared with two types");
    if (r.type_ == value_type::block) {
      setting m = *b;  // the base's block, its keys merged with the refinement's
      m.sub_ = std::make_shared<schema>(merged(*b->sub_, *r.sub_));
      if (!r.description_.empty()) m.description_ = r.description_;
      out.add(std::move(m));
    } else {
      out.add(r);
    }
  }
  return out;
}

// ---- bind_settings ---------------------------------------------------------------------------------------------------

void bind_settings(const schema& s, const setting_values& values, void* target, const std::string& prefix) {
  for (const auto& d : s.settings()) {
    const std::string key = key_path(prefix, d.key());
    switch (d.type()) {
      case value_type::block:
        bind_settings(*d.keys(), values, target, key);
        break;
      case value_type::map: {
        // The entries' names: everything below the map's key, or for free names inside a block (key ""),
        // what the block does not declare.
        std::vector<std::string> names = values.names_under(key);
        if (d.key().empty())
          std::erase_if(names, [&](const std::string& n) { return s.find(n) != nullptr || n.ends_with("_file"); });
        const setting* element = d.element();
        if (element->type() == value_type::block) {
          if (!d.element_target_) break;
          for (const auto& n : names) bind_settings(*element->keys(), values, d.element_target_(target, n), key_path(key, n));
        } else if (d.assign_map_) {
          std::vector<std::pair<std::string, const setting_value*>> entries;
          if (d.scalar_applies_to_all() && !d.key().empty())
            if (const auto* all = values.find(key)) entries.emplace_back("", all);
          for (const auto& n : names)
            if (const auto* v = values.find(key_path(key, n))) entries.emplace_back(n, v);
          d.assign_map_(target, entries);
        }
        break;
      }
      default:
        if (!d.assign_) break;
        if (const auto* v = values.find(key)) d.assign_(target, *v);
        else if (d.fallback_value()) d.assign_(target, *d.fallback_value());
    }
  }
}

}  // namespace omnisync::config
