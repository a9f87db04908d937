// omnisync-config-reference: writes the connector tables of docs/configuration.md from the settings schemas
// (config::connector_common_schema and each adapter's settings_schema), between the doc's marker comments:
//   <!-- generated: connectors -->            the keys every connector has
//   <!-- generated: connector <kind> -->      one adapter's own keys
// The hand-written text around the markers stays. With --check it only compares (the `config_reference_doc`
// test) and exits 1 when the committed doc and the schemas differ.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "adapters/registry.hpp"
#include "config/reference.hpp"

namespace {

constexpr const char* regenerate = "cmake --build --preset default --target config-reference";

}  // namespace

int main(int argc, char** argv) {
  bool check = false;
  std::string doc_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--check") check = true;
    else if (doc_path.empty() && !a.starts_with("-")) doc_path = a;
    else {
      std::cerr << "usage: omnisync-config-reference [--check] docs/configuration.md\n";
      return 2;
    }
  }
  if (doc_path.empty()) {
    std::cerr << "usage: omnisync-config-reference [--check] docs/configuration.md\n";
    return 2;
  }
  std::ifstream in(doc_path, std::ios::binary);
  if (!in) {
    std::cerr << doc_path << ": cannot read\n";
    return 2;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string before = ss.str();
  std::string doc = before;
  using namespace omnisync;
  bool complete = config::splice_generated(doc, "connectors", config::reference_table(adapters::common_connector_schema()));
  if (!complete) std::cerr << doc_path << ": no <!-- generated: connectors --> markers\n";
  for (const auto& k : adapters::kinds()) {
    const std::string name = "connector " + std::string(k.kind);
    if (!config::splice_generated(doc, name, config::reference_table(k.settings()))) {
      std::cerr << doc_path << ": no <!-- generated: " << name << " --> markers\n";
      complete = false;
    }
  }
  if (!complete) return 2;
  if (doc == before) return 0;
  if (check) {
    std::cerr << doc_path << ": the connector tables differ from the settings schemas (config/connector.cpp, "
                 "adapters/*/settings.cpp); regenerate them with:\n  "
              << regenerate << "\n";
    return 1;
  }
  std::ofstream(doc_path, std::ios::binary | std::ios::trunc) << doc;
  std::cout << doc_path << ": connector tables updated\n";
  return 0;
}
