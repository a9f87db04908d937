#include "daemon/profile/from_mapping.hpp"

#include <cmath>
#include <string_view>

#include "core/time.hpp"

namespace omnisync::profile {

using kind = mapping::value::kind;

std::vector<identity_key> mapped_identity::keys() const {
  std::vector<identity_key> out;
  out.reserve(pairs.size());
  for (const auto& [a, v] : pairs) out.push_back(identity_key{a, v});
  return out;
}

std::optional<std::string> identity_text(const mapping::value& v) {
  if (v.k == kind::string) return v.s;
  if (v.k == kind::integer) return std::to_string(v.i);
  if (v.k == kind::number && std::trunc(v.d) == v.d && std::fabs(v.d) < 9007199254740992.0)
    return std::to_string(static_cast<std::int64_t>(v.d));
  return std::nullopt;
}

std::optional<std::int64_t> timestamp_ms(const mapping::value& v) {
  if (v.k == kind::string) {
    const auto t = parse_iso8601(v.s);
    if (!t) return std::nullopt;
    return to_epoch_ms(*t);
  }
  if (v.k == kind::integer) return v.i;
  if (v.k == kind::number) return static_cast<std::int64_t>(v.d);
  return std::nullopt;
}

mapped_identity identity_of(const mapping::plan& p, const mapping::mapped_record& r) {
  mapped_identity out;
  for (const auto& [attr, value] : r.identity_keys(p))
    if (auto t = identity_text(*value)) out.pairs.emplace_back(attr, std::move(*t));
  return out;
}

std::vector<std::pair<std::string, mapping::value>> attributes_of(const mapping::plan& p,
                                                                  const mapping::mapped_record& r) {
  std::vector<std::pair<std::string, mapping::value>> out;
  const auto targets = p.targets();
  for (std::size_t i = 0; i < targets.size() && i < r.fields.size(); ++i)
    if (!r.fields[i].is_missing()) out.emplace_back(targets[i], r.fields[i]);
  return out;
}

std::vector<event> events_of(const mapping::mapped_record& r) {
  std::vector<event> out;
  for (const auto& e : r.events) {
    auto at = timestamp_ms(e.occurred_at);
    if (!at) continue;
    event x;
    x.type = e.type;
    x.occurred_at = *at;
    x.subject = e.subject;
    if (e.amount.k == kind::integer || e.amount.k == kind::number)
      x.amount = e.amount.k == kind::integer ? static_cast<double>(e.amount.i) : e.amount.d;
    if (e.currency.k == kind::string) x.currency = e.currency.s;
    if (e.status.k == kind::string) x.status = e.status.s;
    if (e.status.k == kind::boolean) x.status = e.status.b ? "true" : "false";
    if (e.score.k == kind::integer || e.score.k == kind::number)
      x.score = e.score.k == kind::integer ? static_cast<double>(e.score.i) : e.score.d;
    out.push_back(std::move(x));
  }
  return out;
}

mapped_identity person_of(const mapping::timeline_event& e) {
  mapped_identity out;
  for (const auto& [attr, value] : e.person)
    if (auto t = identity_text(value)) out.pairs.emplace_back(attr, std::move(*t));
  return out;
}

}  // namespace omnisync::profile
