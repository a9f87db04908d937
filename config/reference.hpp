#pragma once
/// The reference of a schema as a Markdown table (key, type, default, meaning), and the splice that puts it into
/// docs/configuration.md between marker comments, leaving the hand-written text around them alone:
///
///   <!-- generated: NAME -->
///   | key | type | default | meaning |
///   ...
///   <!-- end generated: NAME -->
///
/// Pure functions; thread-safe.
#include <string>
#include <string_view>

#include "config/schema.hpp"

namespace omnisync::config {

/// One row per key, dotted from the schema's top ("sync.page_size", "sync.<Object>.fields"), in declaration
/// order; a block or map with a description gets a row of its own before its keys.
std::string reference_table(const schema& s);

/// Replaces what lies between the two markers of `name` in `doc` with `body`. false when a marker is missing.
bool splice_generated(std::string& doc, std::string_view name, std::string_view body);

}  // namespace omnisync::config
