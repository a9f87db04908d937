// Fuzzes what the control socket does with a request line before a handler runs: parse it as protocol v1
// (daemon/control/request.hpp), then, for a declared command, check its arguments against the declaration
// (check_args) as the socket does, and write the error reply's JSON. Any client the socket admits can send any
// line, so none may crash the daemon or make it answer without a code.
#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "daemon/control/catalogue.hpp"
#include "daemon/control/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto parsed = omnisync::control::parse_request(line, 1);
  if (auto* bad = std::get_if<omnisync::control::request_error>(&parsed)) {
    if (bad->code.empty() || bad->message.empty()) std::abort();  // every refusal has a code and a sentence
    (void)boost::json::serialize(bad->id);
    return 0;
  }
  auto& req = std::get<omnisync::control::request>(parsed);
  if (const auto* spec = omnisync::control::catalogue::find(req.cmd)) {
    (void)omnisync::control::check_args(*spec, req.args);
    (void)omnisync::control::required_scope(*spec, req.args);
  }
  return 0;
}
