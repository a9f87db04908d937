#pragma once
// Reading a SOQL query answer (`{"totalSize":…,"done":…,"nextRecordsUrl":…,"records":[…]}`) straight into source
// records, without building a JSON tree: the polling hot path (a full resync reads millions of records).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/records.hpp"
#include "core/error.hpp"

namespace omnisync::adapters::salesforce {

/// One page of a query answer as source records, in the order Salesforce sent them.
struct record_page {
  std::vector<adapters::source_record> records;  ///< payload: the record's JSON text exactly as sent
  std::optional<std::string> next;               ///< nextRecordsUrl, when there is more to read
};

/// Parses a query answer with simdjson on-demand: each record's payload is its own JSON text (a slice of `body`,
/// copied once), its id, SystemModstamp and IsDeleted read from it. Records that are not objects or carry no Id
/// are skipped, as the tree-based reader did. `errc::retry` when the body is not a query answer (a truncated
/// body, for one): the same request may work next time. Pure; safe from any thread.
omnisync::result<record_page> parse_record_page(std::string_view body);

}  // namespace omnisync::adapters::salesforce
