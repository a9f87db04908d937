#pragma once
/// One control-protocol request line, parsed (protocol v1, SEAMS.md): `{"v":1,"id":N,"cmd":"...","args":{...}}`.
/// The line comes from any client the socket admits, so this is a parser of outside input: it never throws and
/// never asserts; a line that is not a request is an error with the protocol's code (`bad_request`,
/// `unsupported_version`) and the request's `id` when one could be read (the reply carries it back).
/// Pure; thread-safe. The socket (server.cpp) then looks the command up and checks `args` against its
/// declaration (`check_args`).
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace omnisync::control {

struct request {
  boost::json::value id = nullptr;  ///< as the client sent it (any JSON value), null when absent
  std::string cmd;
  boost::json::object args;         ///< empty when the request has none
};

struct request_error {
  boost::json::value id = nullptr;  ///< the request's id when it could be read
  std::string code;                 ///< bad_request | unsupported_version
  std::string message;
};

/// Parses one line (without its newline) as a request of protocol `version`.
std::variant<request, request_error> parse_request(std::string_view line, int version);

}  // namespace omnisync::control
