// Fuzzes the mapping compiler with arbitrary YAML: it must report diagnostics, never crash or leak.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mapping/canonical.hpp"
#include "mapping/mapping.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto canonical = omnisync::mapping::default_canonical_attributes();
  omnisync::config::diagnostics diags;
  auto p = omnisync::mapping::compile_mapping(std::string_view(reinterpret_cast<const char*>(data), size),
                                              "fuzz.yaml", canonical, diags);
  if (p) {  // a plan that compiled must also evaluate something without trouble
    omnisync::mapping::evaluator ev(p);
    omnisync::mapping::record_error err;
    (void)ev.apply(std::string_view(R"({"a":1,"b":"x","c":[1,{"d":null}],"e":{"f":true}})"), err);
    (void)diags.format();
  } else {
    (void)diags.format();
  }
  return 0;
}
