#include "adapters/salesforce/poll_cursor.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "core/time.hpp"

namespace omnisync::adapters::salesforce {
namespace json = boost::json;

bool poll_cursor::saw(const std::string& id, std::int64_t stamp) const {
  auto it = seen.find(stamp);
  return it != seen.end() && it->second.count(id) > 0;
}

void poll_cursor::remember(const std::string& id, std::int64_t stamp) { seen[stamp].insert(id); }

void poll_cursor::prune(std::size_t max_seen) {
  if (lower) seen.erase(seen.begin(), seen.lower_bound(*lower));
  std::size_t n = 0;
  for (const auto& [stamp, ids] : seen) n += ids.size();
  // Too many pairs: raise the lower bound stamp by stamp. Pairs at the watermark itself are always kept (the
  // next read starts there), so the bound is soft when a single instant holds more changes than max_seen.
  while (n > max_seen && !seen.empty() && watermark && seen.begin()->first < *watermark) {
    n -= seen.begin()->second.size();
    seen.erase(seen.begin());
    lower = seen.empty() ? *watermark : std::min(seen.begin()->first, *watermark);
  }
}

std::string poll_cursor::encode() const {
  json::object o;
  o["v"] = 1;
  if (watermark) o["w"] = *watermark;
  if (lower) o["l"] = *lower;
  if (!seen.empty()) {
    json::object s;
    for (const auto& [stamp, ids] : seen) {
      json::array a;
      for (const auto& id : ids) a.emplace_back(id);
      s[std::to_string(stamp)] = std::move(a);
    }
    o["seen"] = std::move(s);
  }
  if (next_url) {
    o["next"] = *next_url;
    o["hi"] = query_upper;
  }
  if (formula_done) o["fr"] = *formula_done;
  if (formula_after) o["fa"] = *formula_after;
  if (deleted_checked) o["gd"] = *deleted_checked;
  if (!deleted_reported.empty()) {
    json::array a;
    for (const auto& id : deleted_reported) a.emplace_back(id);
    o["gdi"] = std::move(a);
  }
  return json::serialize(o);
}

std::optional<poll_cursor> poll_cursor::decode(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  auto* ver = o.if_contains("v");
  if (!ver || !ver->is_int64() || ver->as_int64() != 1) return std::nullopt;
  auto int_of = [&](const char* k) -> std::optional<std::int64_t> {
    auto* x = o.if_contains(k);
    if (x && x->is_int64()) return x->as_int64();
    if (x && x->is_uint64()) return static_cast<std::int64_t>(x->as_uint64());
    return std::nullopt;
  };
  auto str_of = [&](const char* k) -> std::optional<std::string> {
    auto* x = o.if_contains(k);
    if (x && x->is_string()) return std::string(x->as_string());
    return std::nullopt;
  };
  poll_cursor c;
  c.watermark = int_of("w");
  c.lower = int_of("l");
  if (auto* s = o.if_contains("seen"); s && s->is_object()) {
    for (const auto& [k, ids] : s->as_object()) {
      std::int64_t stamp = 0;
      try {
        stamp = std::stoll(std::string(k));
      } catch (const std::exception&) {
        return std::nullopt;
      }
      if (!ids.is_array()) return std::nullopt;
      for (const auto& id : ids.as_array())
        if (id.is_string()) c.seen[stamp].insert(std::string(id.as_string()));
    }
  }
  c.next_url = str_of("next");
  c.query_upper = int_of("hi").value_or(0);
  c.formula_done = int_of("fr");
  c.formula_after = str_of("fa");
  c.deleted_checked = int_of("gd");
  if (auto* a = o.if_contains("gdi"); a && a->is_array())
    for (const auto& id : a->as_array())
      if (id.is_string()) c.deleted_reported.emplace_back(id.as_string());
  return c;
}

std::string soql_datetime(std::int64_t epoch_ms) { return format_iso8601(from_epoch_ms(epoch_ms)); }

std::string iso_datetime(std::int64_t epoch_ms) {
  std::string text = format_iso8601(from_epoch_ms(epoch_ms));  // 2026-01-01T00:00:00Z
  text.pop_back();
  return text + "+00:00";
}

std::string soql_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "'";
}

bool is_record_id(std::string_view s) {
  return (s.size() == 15 || s.size() == 18) &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace omnisync::adapters::salesforce
