#pragma once
/// A vendor object's fields as its metadata describes them (Salesforce describe, HubSpot properties, Zendesk
/// user fields): what adapters report (`connector::describe`) and what mapping lint checks mappings against.
/// Plain values.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync {

/// A field as the vendor's metadata describes it (Salesforce describe, HubSpot properties, Zendesk user fields).
struct field_info {
  std::string name;
  std::string type;          ///< the vendor's type name (string, email, double, datetime, enumeration, ...)
  std::size_t length = 0;    ///< longest value accepted; 0: no limit known
  bool updateable = true;    ///< false for read-only and system fields
  bool calculated = false;   ///< formula / calculated fields
  bool external_id = false;  ///< usable as an upsert key
  bool unique = false;
};

struct object_schema {
  std::string object;
  std::vector<field_info> fields;
  const field_info* find(std::string_view name) const noexcept;
};

}  // namespace omnisync
