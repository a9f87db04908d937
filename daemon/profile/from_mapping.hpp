#pragma once
/// The bridge from the mapping engine's output (mapping::mapped_record) to the profile layer's inputs: identity
/// keys for the resolver, attribute values for survivorship, timeline events for the KPIs. Pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/profile/kpis.hpp"
#include "daemon/profile/resolver.hpp"
#include "mapping/mapping.hpp"

namespace omnisync::profile {

/// Identity keys copied out of a mapped record (the record is overwritten by the evaluator's next apply).
struct mapped_identity {
  std::vector<std::pair<std::string, std::string>> pairs;  ///< (attribute, value as text)
  /// Views for source_record::keys; valid while this object lives and is not changed.
  std::vector<identity_key> keys() const;
};

/// The text of an identity value: strings as they are, integers in decimal; nullopt for other kinds.
std::optional<std::string> identity_text(const mapping::value& v);
/// A canonical datetime (text, or epoch milliseconds as a number) in ms since the epoch.
std::optional<std::int64_t> timestamp_ms(const mapping::value& v);

/// The record's identity keys (the plan's `identity:` attributes with a value).
mapped_identity identity_of(const mapping::plan& p, const mapping::mapped_record& r);
/// Every attribute the record says something about (missing fields left out), by canonical name.
std::vector<std::pair<std::string, mapping::value>> attributes_of(const mapping::plan& p,
                                                                  const mapping::mapped_record& r);
/// The record's timeline events; events whose occurred_at is not a datetime are left out.
std::vector<event> events_of(const mapping::mapped_record& r);
/// An event's person keys (attribute, value as text), for resolver::resolve.
mapped_identity person_of(const mapping::timeline_event& e);

}  // namespace omnisync::profile
