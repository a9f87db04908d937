#include "adapters/pacing/rate_headers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <string_view>

namespace omnisync::adapters::pacing {
namespace {

std::optional<std::int64_t> number(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::int64_t v = 0;
  auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (e != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

/// "key=value" out of "total=20; remaining=19; resets=44" (separators ';' or ',').
std::optional<std::int64_t> param(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find_first_of(";,", pos);
    auto part = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > key.size() && part.substr(0, key.size()) == key && part[key.size()] == '=')
      return number(part.substr(key.size() + 1));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

std::string words(std::initializer_list<std::pair<std::string_view, std::string_view>> hs) {
  std::string out;
  for (auto [n, v] : hs) {
    if (v.empty()) continue;
    if (!out.empty()) out += ", ";
    out += std::string(n) + ": " + std::string(v);
  }
  return out;
}

/// A limit stated as (limit, remaining) header pair; nothing when the limit header is absent or not a number.
void pair_limit(std::vector<rate_limit_reading>& out, const http::response& r, std::string name, std::string_view lim_h,
                std::string_view rem_h, std::int64_t window_ms, std::chrono::system_clock::time_point now) {
  auto lim_text = r.get(lim_h);
  auto lim = number(lim_text);
  if (!lim) return;
  auto rem_text = r.get(rem_h);
  rate_limit_reading x;
  x.name = std::move(name);
  x.vendor_words = words({{lim_h, lim_text}, {rem_h, rem_text}});
  x.limit = *lim;
  if (auto rem = number(rem_text)) {
    x.remaining = *rem;
    x.used = std::max<std::int64_t>(0, *lim - *rem);
  }
  x.window_ms = window_ms;
  x.seen = now;
  out.push_back(std::move(x));
}

}  // namespace

std::vector<rate_limit_reading> read_rate_headers(const http::response& r, std::chrono::system_clock::time_point now) {
  std::vector<rate_limit_reading> out;
  // Salesforce: the org-wide entry ("api-usage=", not "per-app-api-usage=").
  if (auto info = r.get("Sforce-Limit-Info"); !info.empty()) {
    std::size_t pos = 0;
    for (;;) {
      pos = info.find("api-usage=", pos);
      if (pos == std::string_view::npos) break;
      if (pos == 0 || info[pos - 1] == ' ' || info[pos - 1] == ',' || info[pos - 1] == ';') {
        auto rest = info.substr(pos + 10);
        auto end = rest.find_first_of(",; ");
        rest = rest.substr(0, end);
        auto slash = rest.find('/');
        auto used = slash == std::string_view::npos ? std::nullopt : number(rest.substr(0, slash));
        auto lim = slash == std::string_view::npos ? std::nullopt : number(rest.substr(slash + 1));
        if (used && lim) {
          rate_limit_reading x;
          x.name = "daily";
          x.vendor_words = "Sforce-Limit-Info: " + std::string(info);
          x.limit = *lim;
          x.used = *used;
          x.remaining = std::max<std::int64_t>(0, *lim - *used);
          x.window_ms = 86'400'000;  // rolling 24 hours
          x.seen = now;
          out.push_back(std::move(x));
        }
        break;
      }
      pos += 10;
    }
  }
  // HubSpot.
  pair_limit(out, r, "daily", "X-HubSpot-RateLimit-Daily", "X-HubSpot-RateLimit-Daily-Remaining", 86'400'000, now);
  if (!r.get("X-HubSpot-RateLimit-Max").empty()) {
    auto interval_text = r.get("X-HubSpot-RateLimit-Interval-Milliseconds");
    pair_limit(out, r, "rolling", "X-HubSpot-RateLimit-Max", "X-HubSpot-RateLimit-Remaining",
               number(interval_text).value_or(-1), now);
    if (!out.empty() && out.back().name == "rolling" && !interval_text.empty())
      out.back().vendor_words += ", X-HubSpot-RateLimit-Interval-Milliseconds: " + std::string(interval_text);
  }
  pair_limit(out, r, "secondly", "X-HubSpot-RateLimit-Secondly", "X-HubSpot-RateLimit-Secondly-Remaining", 1000, now);
  // Zendesk: the account's per-minute limit, then endpoint limits ("Zendesk-RateLimit-<name>").
  pair_limit(out, r, "per_minute", "X-Rate-Limit", "X-Rate-Limit-Remaining", 60'000, now);
  for (const auto& h : r.headers) {
    constexpr std::string_view prefix = "zendesk-ratelimit-";
    if (h.name.size() <= prefix.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < prefix.size() && match; ++i)
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(h.name[i]))) == prefix[i];
    if (!match) continue;
    auto total = param(h.value, "total");
    if (!total) continue;
    rate_limit_reading x;
    x.name = h.name.substr(prefix.size());
    x.vendor_words = h.name + ": " + h.value;
    x.limit = *total;
    if (auto rem = param(h.value, "remaining")) {
      x.remaining = *rem;
      x.used = std::max<std::int64_t>(0, *total - *rem);
    }
    if (auto resets = param(h.value, "resets")) x.resets_in_ms = *resets * 1000;
    x.window_ms = 60'000;
    x.seen = now;
    out.push_back(std::move(x));
  }
  // ActiveCampaign: per second, per account.
  pair_limit(out, r, "per_second", "RateLimit-Limit", "RateLimit-Remaining", 1000, now);
  // Intercom: per minute; the reset is a Unix time.
  pair_limit(out, r, "per_minute", "X-RateLimit-Limit", "X-RateLimit-Remaining", 60'000, now);
  if (!out.empty() && out.back().vendor_words.find("X-RateLimit-Limit") != std::string::npos) {
    auto reset_text = r.get("X-RateLimit-Reset");
    if (auto reset = number(reset_text)) {
      const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      out.back().resets_in_ms = std::max<std::int64_t>(0, (*reset - now_s) * 1000);
      out.back().vendor_words += ", X-RateLimit-Reset: " + std::string(reset_text);
    }
  }
  return out;
}

}  // namespace omnisync::adapters::pacing
