#include "config/validate.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "config/value_syntax.hpp"

namespace omnisync::config {
namespace {

using std::chrono::milliseconds;

/// How a node reads in "got ..." (scalars verbatim; never used for secrets).
std::string text_of(const YAML::Node& n) {
  if (n.IsScalar()) return "\"" + n.Scalar() + "\"";
  if (n.IsMap()) return "a mapping";
  if (n.IsSequence()) return "a list";
  return "nothing";
}

/// "a whole number from 1 to 20", "a number of at least 0.1", "a duration like ...": what a declaration wants.
std::string expected(const setting& d) {
  auto bounds = [&](const std::string& what) {
    if (d.min() && d.max()) return what + " from " + format_number(*d.min()) + " to " + format_number(*d.max());
    if (d.min()) return what + " of at least " + format_number(*d.min());
    if (d.max()) return what + " of at most " + format_number(*d.max());
    return what;
  };
  switch (d.type()) {
    case value_type::string: return d.pattern_hint().empty() ? "a string" : d.pattern_hint();
    case value_type::integer: return bounds("a whole number");
    case value_type::number: return bounds("a number");
    case value_type::boolean: return "true or false";
    case value_type::duration: {
      std::string s = "a duration like \"30s\" (units ms, s, m, h, d)";
      if (d.min_duration() && d.max_duration())
        s += " from " + format_duration(*d.min_duration()) + " to " + format_duration(*d.max_duration());
      else if (d.min_duration())
        s += " of at least " + format_duration(*d.min_duration());
      if (d.off_allowed()) s += ", or off";
      return s;
    }
    case value_type::enumeration: return "one of " + join_list(d.choice_words());
    case value_type::url: return "an http(s) URL with a host";
    case value_type::path: return "a path";
    case value_type::secret: return "a secret: a value, \"${ENV}\" or {credential: NAME} (or KEY_file: PATH)";
    case value_type::string_list:
      return std::string("a list of strings") + (d.comma_allowed() ? " (or one comma-separated string)" : "");
    case value_type::block: return "a mapping";
    case value_type::map: return "a mapping from " + d.placeholder() + " to values";
  }
  return "a value";
}

/// Walks one validated subtree; collects values and problems.
class walker {
 public:
  walker(const schema& root, const YAML::Node& root_node, validation_context& ctx)
      : root_(root), root_node_(root_node), ctx_(ctx) {}

  setting_values take() { return std::move(out_); }

  void error(const YAML::Node& n, const std::string& path, std::string message) {
    ctx_.problems->add(location_of(ctx_.file, n), path, std::move(message));
  }

  void block(const schema& s, const YAML::Node& n, const std::string& path, const std::string& key) {
    if (!n.IsMap()) {
      error(n, path, "expected a mapping, got " + text_of(n));
      return;
    }
    std::map<std::string, std::string> spelled;  // declared key -> how the file wrote it (KEY or KEY_file)
    for (const auto& kv : n) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      const std::string sub_path = key_path(path, name);
      const setting* d = name.empty() ? nullptr : s.find(name);
      bool from_file = false;
      if (!d && name.size() > 5 && name.ends_with("_file"))
        if (const setting* f = s.find(name.substr(0, name.size() - 5)); f && f->type() == value_type::secret)
          d = f, from_file = true;
      if (d) {
        auto [it, first] = spelled.emplace(d->key(), name);
        if (!first && it->second != name) {
          error(kv.first, sub_path, "give either " + d->key() + " or " + d->key() + "_file, not both");
          continue;
        }
        value(*d, kv.second, sub_path, key_path(key, d->key()), from_file);
      } else if (const setting* free = s.free_names(); free && !name.empty() && kv.second.IsMap()) {
        entry(*free, s, name, kv.first, kv.second, sub_path, key_path(key, name));
      } else if (!ctx_.ignore_unknown_keys) {
        error(kv.first, sub_path, "unknown key \"" + name + "\"" + did_you_mean(name, s.key_names()));
      }
    }
    for (const auto& d : s.settings())
      if (d.is_required() && !spelled.count(d.key()))
        error(n, key_path(path, d.key()), "missing required key \"" + d.key() + "\"");
  }

  /// Map entries that must name one of a list's strings ("objects"), checked once the list is known.
  void check_names() {
    for (const auto& p : pending_) {
      std::vector<std::string> names;
      if (const auto* v = out_.find(p.list_key)) {
        if (const auto* l = std::get_if<setting_value::list>(&v->data)) names = *l;
      } else if (root_node_.IsMap() && root_node_[p.list_key]) {
        continue;  // the list is there but invalid: already reported
      } else if (const setting* d = root_.find(p.list_key); d && d->fallback_value()) {
        if (const auto* l = std::get_if<setting_value::list>(&d->fallback_value()->data)) names = *l;
      }
      if (std::find(names.begin(), names.end(), p.name) != names.end()) continue;
      std::vector<std::string> candidates = names;
      candidates.insert(candidates.end(), p.siblings.begin(), p.siblings.end());
      ctx_.problems->add(p.where, p.path,
                         "unknown key \"" + p.name + "\"" + did_you_mean(p.name, candidates) + ": not one of " +
                             p.list_key + " (" + join_list(names) + ")");
    }
  }

 private:
  struct pending_name {
    std::string path;
    std::string name;
    location where;
    std::string list_key;
    std::vector<std::string> siblings;  ///< the enclosing block's declared keys (a misspelling of one lands here)
  };

  void value(const setting& d, const YAML::Node& n, const std::string& path, const std::string& key, bool from_file) {
    switch (d.type()) {
      case value_type::block: block(*d.keys(), n, path, key); return;
      case value_type::map: map(d, n, path, key); return;
      case value_type::secret:
        if (auto s = read_secret(n, from_file, path, ctx_)) {
          const YAML::Node at = n.IsMap() && n["credential"] ? n["credential"] : n;
          out_.set(key, {std::move(*s), location_of(ctx_.file, at)});
        }
        return;
      default: scalar(d, n, path, key);
    }
  }

  void map(const setting& d, const YAML::Node& n, const std::string& path, const std::string& key) {
    if (n.IsScalar() && d.scalar_applies_to_all()) {
      scalar(*d.element(), n, path, key);
      return;
    }
    if (!n.IsMap()) {
      error(n, path, "expected " + expected(d) + (d.scalar_applies_to_all() ? " (or one value for all)" : "") +
                         ", got " + text_of(n));
      return;
    }
    for (const auto& kv : n) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      entry(d, schema{}, name, kv.first, kv.second, key_path(path, name), key_path(key, name));
    }
  }

  void entry(const setting& d, const schema& enclosing, const std::string& name, const YAML::Node& key_node,
             const YAML::Node& n, const std::string& path, const std::string& key) {
    if (name.empty() || name.find('.') != std::string::npos) {
      error(key_node, path, "expected a name without dots for " + d.placeholder());
      return;
    }
    if (!d.names_source().empty())
      pending_.push_back({path, name, location_of(ctx_.file, key_node), d.names_source(), enclosing.key_names()});
    const setting& e = *d.element();
    if (e.type() == value_type::block) {
      out_.set(key, {std::monostate{}, location_of(ctx_.file, key_node)});
      block(*e.keys(), n, path, key);
    } else {
      value(e, n, path, key, false);
    }
  }

  void scalar(const setting& d, const YAML::Node& n, const std::string& path, const std::string& key) {
    const location where = location_of(ctx_.file, n);
    if (d.type() == value_type::string_list) {
      setting_value::list items;
      std::vector<std::pair<YAML::Node, std::string>> at;  // each item's node (the whole string when comma-separated)
      if (n.IsSequence()) {
        for (std::size_t i = 0; i < n.size(); ++i) {
          const std::string item_path = path + "[" + std::to_string(i) + "]";
          if (!n[i].IsScalar()) {
            error(n[i], item_path, "expected a string, got " + text_of(n[i]));
            return;
          }
          items.push_back(n[i].Scalar());
          at.emplace_back(n[i], item_path);
        }
      } else if (n.IsScalar() && d.comma_allowed()) {
        std::stringstream ss(n.Scalar());
        for (std::string item; std::getline(ss, item, ',');) {
          const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
          if (b == std::string::npos) continue;
          items.push_back(item.substr(b, e - b + 1));
          at.emplace_back(n, path);
        }
      } else {
        error(n, path, "expected " + expected(d) + ", got " + text_of(n));
        return;
      }
      bool ok = true;
      for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        const auto& words = d.choice_words();
        if (!words.empty() && std::find(words.begin(), words.end(), item) == words.end()) {
          error(at[i].first, at[i].second,
                "expected one of " + join_list(words) + ", got \"" + item + "\"" + did_you_mean(item, words));
          ok = false;
        } else if (!d.pattern_regex().empty() && !std::regex_match(item, std::regex(d.pattern_regex()))) {
          error(at[i].first, at[i].second, "expected " + d.pattern_hint() + ", got \"" + item + "\"");
          ok = false;
        }
      }
      if (ok) out_.set(key, {std::move(items), where});
      return;
    }
    if (!n.IsScalar()) {
      error(n, path, "expected " + expected(d) + ", got " + text_of(n));
      return;
    }
    std::string text = n.Scalar();
    if (d.type() == value_type::string || d.type() == value_type::url || d.type() == value_type::path) {
      std::string missing;
      bool found = false;
      auto expanded = expand_env(text, &missing, &found);
      if (!expanded) {
        error(n, path, "environment variable " + missing + " is not set");
        return;
      }
      // A string from the environment is masked in logs like a secret (it may be one in all but name); URLs
      // and paths are not: a log line naming them must stay readable.
      if (found && d.type() == value_type::string && ctx_.secret_values && !expanded->empty())
        ctx_.secret_values->push_back(*expanded);
      text = std::move(*expanded);
    }
    auto bad = [&] { error(n, path, "expected " + expected(d) + ", got \"" + text + "\""); };
    auto in_range = [&](double v) { return (!d.min() || v >= *d.min()) && (!d.max() || v <= *d.max()); };
    switch (d.type()) {
      case value_type::string:
        if (!d.pattern_regex().empty() && !std::regex_match(text, std::regex(d.pattern_regex()))) return bad();
        out_.set(key, {std::move(text), where});
        return;
      case value_type::integer: {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || !in_range(static_cast<double>(v)))
          return bad();
        out_.set(key, {v, where});
        return;
      }
      case value_type::number: {
        double v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc{} || p != text.data() + text.size() || !std::isfinite(v) || !in_range(v))
          return bad();
        out_.set(key, {v, where});
        return;
      }
      case value_type::boolean:
        if (auto v = parse_boolean(text)) out_.set(key, {*v, where});
        else bad();
        return;
      case value_type::duration: {
        std::optional<milliseconds> v = d.off_allowed() && text == "off" ? milliseconds(0) : parse_duration(text);
        const bool off = d.off_allowed() && v && v->count() == 0;
        if (!v || (!off && ((d.min_duration() && *v < *d.min_duration()) || (d.max_duration() && *v > *d.max_duration()))))
          return bad();
        out_.set(key, {*v, where});
        return;
      }
      case value_type::enumeration: {
        const auto& words = d.choice_words();
        if (std::find(words.begin(), words.end(), text) == words.end()) {
          error(n, path, "expected " + expected(d) + ", got \"" + text + "\"" + did_you_mean(text, words));
          return;
        }
        out_.set(key, {std::move(text), where});
        return;
      }
      case value_type::url:
        if (!is_http_url(text)) return bad();
        out_.set(key, {std::move(text), where});
        return;
      case value_type::path: {
        if (text.empty()) {
          error(n, path, "expected a path, got an empty string");
          return;
        }
        std::filesystem::path p(text);
        if (!p.is_absolute()) p = ctx_.base_dir / p;
        out_.set(key, {p.string(), where});
        return;
      }
      default: bad();
    }
  }

  const schema& root_;
  const YAML::Node& root_node_;
  validation_context& ctx_;
  setting_values out_;
  std::vector<pending_name> pending_;
};

/// The file's content without its trailing newlines; nullopt (and a problem) when unreadable or empty.
std::optional<std::string> read_file(const std::filesystem::path& p, const YAML::Node& at, const std::string& path,
                                     validation_context& ctx) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    ctx.problems->add(location_of(ctx.file, at), path, "cannot read secret file " + p.string());
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string v = ss.str();
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (v.empty()) {
    ctx.problems->add(location_of(ctx.file, at), path, "secret file " + p.string() + " is empty");
    return std::nullopt;
  }
  return v;
}

}  // namespace

setting_values validate(const schema& s, const YAML::Node& node, const std::string& path, validation_context& ctx) {
  walker w(s, node, ctx);
  w.block(s, node, path, "");
  w.check_names();
  return w.take();
}

std::optional<secret> read_secret(const YAML::Node& value, bool from_file, const std::string& path,
                                  validation_context& ctx) {
  auto problem = [&](const YAML::Node& at, std::string message) {
    ctx.problems->add(location_of(ctx.file, at), path, std::move(message));
    return std::nullopt;
  };
  auto remember = [&](const std::string& v) {
    if (ctx.secret_values && !v.empty()) ctx.secret_values->push_back(v);
  };
  std::string missing;
  if (from_file || (value.IsMap() && value.size() == 1 && value["credential"] && value["credential"].IsScalar())) {
    const YAML::Node at = from_file ? value : value["credential"];
    if (!at.IsScalar()) return problem(at, "expected a file path");
    std::string where = at.Scalar();
    std::string source = "file ";
    if (!from_file) {
      const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
      if (!dir) return problem(at, "CREDENTIALS_DIRECTORY is not set (no systemd credentials for this process)");
      where = std::string(dir) + "/" + where;
      source = "credential ";
    }
    auto expanded = expand_env(where, &missing);
    if (!expanded) return problem(at, "environment variable " + missing + " is not set");
    std::filesystem::path p(*expanded);
    if (!p.is_absolute()) p = ctx.base_dir / p;
    auto v = read_file(p, at, path, ctx);
    if (!v) return std::nullopt;
    remember(*v);
    return secret(std::move(*v), source + p.string());
  }
  if (!value.IsScalar())
    return problem(value, "expected a secret: a value, \"${ENV}\", {credential: NAME} or " +
                              path.substr(path.rfind('.') + 1) + "_file: PATH");
  bool found = false;
  auto v = expand_env(value.Scalar(), &missing, &found);
  if (!v) return problem(value, "environment variable " + missing + " is not set");
  remember(*v);
  if (!found) return secret(std::move(*v), "the config file");
  static const std::regex ref(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\})");
  std::smatch m;
  const std::string text = value.Scalar();
  std::regex_search(text, m, ref);
  return secret(std::move(*v), "env " + m[1].str());
}

namespace {

void duplicates(const std::string& file, const YAML::Node& n, const std::string& path, diagnostics& problems,
                int depth) {
  if (depth > 64) return;  // aliases can make a document deeper than it reads; no config is this deep
  if (n.IsMap()) {
    std::map<std::string, YAML::Mark> first;
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string();
      const std::string sub = path.empty() ? key : path + "." + key;
      if (auto [it, fresh] = first.emplace(key, kv.first.Mark()); !fresh)
        problems.add(location_of(file, kv.first), sub,
                     "duplicate key \"" + key + "\" (first at line " + std::to_string(it->second.line + 1) +
                         ", column " + std::to_string(it->second.column + 1) + ")");
      duplicates(file, kv.second, sub, problems, depth + 1);
    }
  } else if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i)
      duplicates(file, n[i], path + "[" + std::to_string(i) + "]", problems, depth + 1);
  }
}

}  // namespace

void find_duplicate_keys(const std::string& file, const YAML::Node& root, diagnostics& problems) {
  duplicates(file, root, "", problems, 0);
}

}  // namespace omnisync::config
