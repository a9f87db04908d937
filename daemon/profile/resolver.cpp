// The resolver's public values and its operations; the identity graph is in resolver_graph.hpp.
#include "daemon/profile/resolver.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <tuple>
#include <utility>

#include "daemon/profile/resolver_graph.hpp"

namespace omnisync::profile {
namespace {

using resolution::lf_blocked;
using resolution::lf_generic;
using resolution::local_part;
using resolution::none;
using resolution::normalise;
using resolution::stable_hash;

// Finds the link of `r` on identifier `id`.
std::uint32_t link_on(const resolution::graph& m, std::uint32_t r, std::uint32_t id) {
  for (std::uint32_t l = m.recs[r].links; l != none; l = m.links[l].next_in_record)
    if ((m.links[l].bits & resolution::ident_mask) == id) return l;
  return none;
}

}  // namespace

resolver_config resolver_config::defaults() {
  resolver_config c;
  auto rule = [](const char* name, const char* attribute, normalizer n, bool exclusive) {
    match_rule r;
    r.name = name;
    r.attribute = attribute;
    r.norm = n;
    r.exclusive = exclusive;
    return r;
  };
  c.rules.push_back(rule("external_id", "external_ids.*", normalizer::exact, true));
  c.rules.push_back(rule("email", "email", normalizer::email, false));
  c.rules.push_back(rule("phone", "phone", normalizer::phone, false));
  c.generic_local_parts = {"abuse",     "accounts",   "admin",        "administrator", "billing",  "careers",
                           "contact",   "customerservice", "do-not-reply", "donotreply", "enquiries", "hello",
                           "help",      "hostmaster", "hr",           "info",          "inquiries", "jobs",
                           "mail",      "marketing",  "no-reply",     "no_reply",      "noreply",  "office",
                           "postmaster", "privacy",   "root",         "sales",         "security", "service",
                           "support",   "team",       "webmaster"};
  return c;
}

match_rule resolver_config::profile_id_rule() {
  match_rule r;
  r.name = "omnisync_id";
  r.attribute = "omnisync_id";
  r.norm = normalizer::profile_ref;
  r.exclusive = false;
  return r;
}

std::string profile_id::str() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "p%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::optional<profile_id> profile_id::parse(std::string_view text) {
  if (text.size() != 17 || text[0] != 'p') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text.substr(1)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<std::uint64_t>(d);
  }
  return profile_id{v};
}

std::string_view to_string(conflict_reason r) noexcept {
  switch (r) {
    case conflict_reason::exclusive_id: return "exclusive_id";
    case conflict_reason::same_object: return "same_object";
    case conflict_reason::system_cap: return "system_cap";
  }
  return "?";
}

std::string_view to_string(ignored_reason r) noexcept {
  switch (r) {
    case ignored_reason::generic: return "generic";
    case ignored_reason::blocked: return "blocked";
    case ignored_reason::split: return "split";
    case ignored_reason::saturated: return "saturated";
  }
  return "?";
}

// ---- operations -----------------------------------------------------------------------------------------------

namespace {
resolver_config with_profile_id_rule(resolver_config cfg) {
  const bool named = std::any_of(cfg.rules.begin(), cfg.rules.end(),
                                 [](const match_rule& r) { return r.attribute == "omnisync_id"; });
  if (!named) cfg.rules.insert(cfg.rules.begin(), resolver_config::profile_id_rule());
  return cfg;
}
}  // namespace

resolver::resolver(resolver_config cfg) : impl_(std::make_unique<impl>(with_profile_id_rule(std::move(cfg)))) {}
resolver::~resolver() = default;
resolver::resolver(resolver&&) noexcept = default;
resolver& resolver::operator=(resolver&&) noexcept = default;

std::optional<profile_id> resolver::observe(const source_record& in, change* out) {
  impl& m = *impl_;
  if (out) *out = change{};
  const std::uint32_t r = m.record_for(in.system, in.object, in.id);
  if (r == none) return std::nullopt;
  if (!m.recs[r].inserted) m.recs[r].first_seen = in.first_seen;  // a forgotten record seen again
  if (!m.recs[r].live) {
    m.recs[r].live = true;
    ++m.live_records;
  }

  m.want.clear();
  for (const identity_key& k : in.keys) {
    const std::uint32_t attr = m.names.intern(k.attribute);
    const int rule = attr > 0xffff ? -1 : m.cached_rule(attr);
    if (rule < 0 || !normalise(m.cfg.rules[static_cast<std::size_t>(rule)].norm, k.value, m.norm)) {
      ++m.ignored_keys;
      continue;
    }
    const std::uint32_t ident = m.ident_for(attr, m.norm, rule);
    if (ident == none) {
      ++m.ignored_keys;
      continue;
    }
    std::uint32_t flags = 0;
    const auto& rule_cfg = m.cfg.rules[static_cast<std::size_t>(rule)];
    if (rule_cfg.norm == normalizer::email &&
        std::binary_search(m.generic.begin(), m.generic.end(), local_part(m.norm), std::less<>{}))
      flags |= lf_generic;
    const auto& b = m.blocked[static_cast<std::size_t>(rule)];
    if (std::binary_search(b.begin(), b.end(), m.norm)) flags |= lf_blocked;
    m.want.emplace_back(ident, flags);
  }
  std::sort(m.want.begin(), m.want.end());
  m.want.erase(std::unique(m.want.begin(), m.want.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               m.want.end());

  m.cur = out;
  m.apply(r, in.observed_at ? in.observed_at : in.first_seen, false);
  m.cur = nullptr;
  const profile_id p = m.pid_of(r);
  if (out) {
    out->profile = p;
    if (out->touched.empty()) out->touched.push_back(p);
  }
  return p;
}

change resolver::forget(std::string_view system, std::string_view object, std::string_view id) {
  impl& m = *impl_;
  change out;
  const std::uint32_t r = m.lookup_record(system, object, id);
  if (r == none || !m.recs[r].live) return out;
  m.cur = &out;
  m.apply(r, 0, true);
  m.cur = nullptr;
  return out;
}

std::optional<change> resolver::split(const link_ref& ref) {
  impl& m = *impl_;
  const std::uint32_t r = m.lookup_record(ref.record.system, ref.record.object, ref.record.id);
  if (r == none || !m.recs[r].live) return std::nullopt;
  std::string buf;
  const std::uint32_t id = m.lookup_ident(ref.attribute, ref.value, buf);
  const std::uint32_t l = id == none ? none : link_on(m, r, id);
  if (l == none) return std::nullopt;
  change out;
  if (m.split_set.insert(std::uint64_t{r} << 32 | id).second) {
    m.cur = &out;
    m.toggle_split(r, l, true);
    m.cur = nullptr;
  }
  out.profile = m.pid_of(r);
  return out;
}

std::optional<change> resolver::restore(const link_ref& ref) {
  impl& m = *impl_;
  const std::uint32_t r = m.lookup_record(ref.record.system, ref.record.object, ref.record.id);
  if (r == none) return std::nullopt;
  std::string buf;
  const std::uint32_t id = m.lookup_ident(ref.attribute, ref.value, buf);
  if (id == none || m.split_set.erase(std::uint64_t{r} << 32 | id) == 0) return std::nullopt;
  change out;
  const std::uint32_t l = link_on(m, r, id);
  if (l != none && m.recs[r].live) {
    m.cur = &out;
    m.toggle_split(r, l, false);
    m.cur = nullptr;
    out.profile = m.pid_of(r);
  }
  return out;
}

bool resolver::preload_split(const link_ref& ref) {
  impl& m = *impl_;
  const std::uint32_t live = m.lookup_record(ref.record.system, ref.record.object, ref.record.id);
  if (live != none && m.recs[live].live) return split(ref).has_value();
  const std::uint32_t attr = m.names.intern(ref.attribute);
  const int rule = attr > 0xffff ? -1 : m.cached_rule(attr);
  if (rule < 0 || !normalise(m.cfg.rules[static_cast<std::size_t>(rule)].norm, ref.value, m.norm)) return false;
  const std::uint32_t ident = m.ident_for(attr, m.norm, rule);
  if (ident == none) return false;
  // A placeholder record (not live, not inserted): observe() fills it in when the record arrives.
  const std::uint32_t r = m.record_for(ref.record.system, ref.record.object, ref.record.id);
  if (r == none) return false;
  m.split_set.insert(std::uint64_t{r} << 32 | ident);
  return true;
}

}  // namespace omnisync::profile
