#include "core/vendor_schema.hpp"

#include <cctype>

namespace omnisync {

const field_info* object_schema::find(std::string_view name) const noexcept {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  // Vendors compare field names case-insensitively (Salesforce) — fall back to that.
  for (const auto& f : fields) {
    if (f.name.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(f.name[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return &f;
  }
  return nullptr;
}

}  // namespace omnisync
