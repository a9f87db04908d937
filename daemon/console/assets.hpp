#pragma once
/// The console's static files (CSS, JS), embedded into the binary at build time from daemon/console/assets/ by
/// cmake/embed_assets.cmake: nothing is fetched at run time, nothing downloaded at build time. Constant data.
#include <string_view>

namespace omnisync::console {

struct asset {
  std::string_view name;          ///< file name under /assets/
  std::string_view content_type;
  std::string_view body;
};

/// The asset called `name`, or nullptr.
const asset* find_asset(std::string_view name) noexcept;

}  // namespace omnisync::console
