#pragma once
/// What a control command is, as data: its name, one line of help, its arguments (name, type, required or not,
/// allowed values), the scope it needs (read or write) and the shape of its result. The daemon's commands are
/// declared once, in `daemon/control/catalogue.hpp`; the control socket checks every request's `args` against
/// the declaration before the handler runs (`check_args`), and `omnisyncctl` takes its command list and help
/// from the same declarations, so the socket, the client's help, and later its man pages, completions and the
/// console's HTTP API cannot drift apart.
///
/// Everything here is constant data (string views into literals, spans over constant arrays), so declarations
/// are `constexpr`, free of static-initialisation order, and usable from any thread.
#include <boost/json/fwd.hpp>

#include <span>
#include <string>
#include <string_view>

namespace omnisync::control {

/// The JSON type an argument must have.
enum class arg_type {
  string,       ///< a JSON string
  integer,      ///< a JSON integer that fits in int64
  boolean,      ///< true or false
  string_list,  ///< an array of strings
};

/// What a command (or one of its actions) may do. `read` leaves the daemon's and the systems' data as they are;
/// `write` changes state (pause, resync, retry a dead letter, split a profile, reload the configuration). The
/// socket lets every permitted peer do both; the scope is there for doors that grant less (a read-only console).
enum class access { read, write };

std::string_view to_string(arg_type t) noexcept;
std::string_view to_string(access a) noexcept;

/// One allowed value of a string argument, e.g. the `action` of `dlq`; `scope` is what that value needs.
struct choice {
  std::string_view value;
  std::string_view help;
  access scope = access::read;
};

/// One argument of a command: a key of the request's `args` object.
struct arg_spec {
  std::string_view name;
  arg_type type = arg_type::string;
  bool required = false;
  std::string_view help;
  std::span<const choice> choices = {};  ///< when not empty: the only values accepted
  std::string_view default_value = {};   ///< what the command assumes when the argument is absent (for docs)
};

/// One control command as every door sees it (socket, omnisyncctl, generated docs, a console's HTTP API).
struct command_spec {
  std::string_view name;
  std::string_view help;   ///< one line, starting with a capital letter, no final full stop
  access scope = access::read;  ///< the widest scope any use of the command needs
  std::span<const arg_spec> args = {};
  std::string_view result;  ///< the result's shape: a versioned schema name ("status/1") or a short sketch
  std::string_view events = {};  ///< the progress events it may send before the result; empty: none

  /// The declaration of argument `name`, or nullptr.
  const arg_spec* arg(std::string_view name) const noexcept {
    for (const auto& a : args)
      if (a.name == name) return &a;
    return nullptr;
  }
};

/// Checks a request's `args` against the declaration: every argument known, of its type, a declared choice where
/// there are choices, and every required one present. Returns an empty string when they fit, else one sentence
/// naming every problem (the `invalid_args` message).
std::string check_args(const command_spec& spec, const boost::json::object& args);

/// The scope a request needs: the scope of the chosen value of an argument whose choices carry scopes (the
/// `action` of `dlq` and `profile`, or its default), else the command's.
access required_scope(const command_spec& spec, const boost::json::object& args);

/// The declaration as JSON (name, help, scope, args with types, result, events), for generated docs and tests.
boost::json::object to_json(const command_spec& spec);

}  // namespace omnisync::control
