#pragma once
/// The canonical attribute set: the default one shipped with omnisync, and lookups used by the compiler.
/// (`read_canonical_attributes`, declared in mapping.hpp, reads a declared set from omnisync.yaml: canonical.cpp.)
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/attributes.hpp"

namespace omnisync::mapping {

/// The default canonical attributes (used when omnisync.yaml declares no `canonical:` section).
/// `external_ids.<system>` is one entry named "external_ids.*": any `external_ids.<name>` matches it.
std::vector<config::attribute_decl> default_canonical_attributes();

/// The declaration matching `name` ("external_ids.hubspot" matches "external_ids.*"), or nullptr.
const config::attribute_decl* find_attribute(const std::vector<config::attribute_decl>& attrs,
                                             std::string_view name) noexcept;

/// Whether `type` is one an attribute or a field may declare: string, number, integer, boolean, datetime,
/// string_list, object.
bool is_known_type(std::string_view type) noexcept;

/// The closest name among `candidates` within a small edit distance, for "did you mean" hints.
std::optional<std::string> closest_name(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace omnisync::mapping
