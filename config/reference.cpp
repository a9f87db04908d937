#include "config/reference.hpp"

#include <cmath>
#include <cstdio>

#include "config/value_syntax.hpp"

namespace omnisync::config {
namespace {

std::string code(const std::string& s) { return "`" + s + "`"; }

std::string codes(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + code(w);
  return out;
}

/// Markdown table cells cannot hold a raw '|' or a newline.
std::string cell(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string type_text(const setting& d) {
  auto bounds = [&](std::string what) {
    if (d.min() && d.max()) return what + " " + format_number(*d.min()) + "–" + format_number(*d.max());
    if (d.min()) return what + " ≥ " + format_number(*d.min());
    if (d.max()) return what + " ≤ " + format_number(*d.max());
    return what;
  };
  switch (d.type()) {
    case value_type::string: return "string";
    case value_type::integer: return bounds("integer");
    case value_type::number: return bounds("number");
    case value_type::boolean: return "boolean";
    case value_type::duration: {
      std::string s = "duration";
      if (d.min_duration() && d.max_duration())
        s += " " + format_duration(*d.min_duration()) + "–" + format_duration(*d.max_duration());
      else if (d.min_duration())
        s += " ≥ " + format_duration(*d.min_duration());
      if (d.off_allowed()) s += " or `off`";
      return s;
    }
    case value_type::enumeration: return "one of " + codes(d.choice_words());
    case value_type::url: return "URL";
    case value_type::path: return "path";
    case value_type::secret: return "secret";
    case value_type::string_list: {
      std::string s = "list";
      if (!d.choice_words().empty()) s += " of " + codes(d.choice_words());
      if (d.comma_allowed()) s += " (or comma-separated)";
      return s;
    }
    case value_type::block: return "mapping";
    case value_type::map:
      return "mapping of " + d.placeholder() + " to " + type_text(*d.element()) +
             (d.scalar_applies_to_all() ? " (or one value for all)" : "");
  }
  return {};
}

std::string default_text(const setting& d) {
  if (!d.default_description().empty()) return d.default_description();
  if (d.is_required()) return "required";
  if (!d.fallback_value()) return "—";
  const auto& v = d.fallback_value()->data;
  if (const auto* s = std::get_if<std::string>(&v)) return code(*s);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return code(std::to_string(*i));
  if (const auto* x = std::get_if<double>(&v)) return code(format_number(*x));
  if (const auto* b = std::get_if<bool>(&v)) return code(*b ? "true" : "false");
  if (const auto* ms = std::get_if<std::chrono::milliseconds>(&v)) return code(format_duration(*ms));
  if (const auto* l = std::get_if<setting_value::list>(&v)) return l->empty() ? "none" : codes(*l);
  return "—";
}

void rows(const schema& s, const std::string& prefix, std::string& out) {
  auto row = [&](const std::string& key, const std::string& type, const std::string& def, const std::string& meaning) {
    out += "| " + code(key) + " | " + cell(type) + " | " + cell(def) + " | " + cell(meaning) + " |\n";
  };
  for (const auto& d : s.settings()) {
    const std::string key = key_path(prefix, d.key());
    switch (d.type()) {
      case value_type::block:
        if (!d.description().empty()) row(key, "mapping", "—", d.description());
        rows(*d.keys(), key, out);
        break;
      case value_type::map: {
        const std::string entry = key_path(key, d.placeholder());
        const setting& e = *d.element();
        std::string meaning = d.description();
        if (!d.names_source().empty()) meaning += " (" + code(d.placeholder()) + ": one of `" + d.names_source() + "`)";
        if (e.type() == value_type::block) {
          row(entry, "mapping", "—", meaning);
          rows(*e.keys(), entry, out);
        } else {
          row(d.scalar_applies_to_all() ? key + "[." + d.placeholder() + "]" : entry, type_text(e), default_text(d),
              meaning);
        }
        break;
      }
      default: row(key, type_text(d), default_text(d), d.description());
    }
  }
}

}  // namespace

std::string reference_table(const schema& s) {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  rows(s, "", out);
  return out;
}

bool splice_generated(std::string& doc, std::string_view name, std::string_view body) {
  const std::string begin = "<!-- generated: " + std::string(name) + " -->\n";
  const std::string end = "<!-- end generated: " + std::string(name) + " -->";
  const auto b = doc.find(begin);
  if (b == std::string::npos) return false;
  const auto from = b + begin.size();
  const auto e = doc.find(end, from);
  if (e == std::string::npos) return false;
  doc.replace(from, e - from, body);
  return true;
}

}  // namespace omnisync::config
