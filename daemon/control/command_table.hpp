#pragma once
/// The control commands `omnisyncd` serves, by name, each with its handler. The daemon's commands are declared
/// in `daemon/control/catalogue.hpp` and registered with `add(spec, handler)`: the request's `args` are checked
/// against the declaration first (unknown arguments, wrong types, values outside the declared choices, missing
/// required ones are answered `invalid_args` with every problem named), so a handler sees only declared, well
/// typed arguments. `add(name, help, handler)` registers a command without a declaration (its args unchecked),
/// for tests and experiments.
///
/// A handler receives the request's `args` object and an `event_sink` for progress events (what
/// `omnisyncctl ... --follow` renders; it also names the caller), and returns a `reply`: a JSON result, or an error with a stable
/// machine-readable code and a sentence for the operator. Handlers run on the connection's strand; they must not
/// throw for expected failures (an exception is answered as `internal_error` and logged).
///
/// Built once at start-up and then shared read-only (`std::shared_ptr<const command_table>`).
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/control/command_spec.hpp"

namespace omnisync::control {

/// The answer to one request.
class reply {
 public:
  static reply success(boost::json::value result = boost::json::object{}) {
    reply r;
    r.ok_ = true;
    r.result_ = std::move(result);
    return r;
  }
  /// `code` is stable and machine-readable (e.g. "unknown_connector"); `message` is for people.
  static reply failure(std::string code, std::string message) {
    reply r;
    r.ok_ = false;
    r.code_ = std::move(code);
    r.message_ = std::move(message);
    return r;
  }
  bool ok() const noexcept { return ok_; }
  const boost::json::value& result() const noexcept { return result_; }
  const std::string& code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

 private:
  bool ok_ = false;
  boost::json::value result_;
  std::string code_, message_;
};

/// Sends `{"id":N,"event":{...}}` lines to the requesting client before the reply.
class event_sink {
 public:
  virtual ~event_sink() = default;
  /// Returns false once the client has gone away (the handler may stop early).
  virtual boost::asio::awaitable<bool> emit(boost::json::object event) = 0;
  /// Who sent the request, for the audit log of the commands that change something: "uid N" on the control
  /// socket (its peer credentials), "console" on the web console; "" when unknown (tests).
  virtual std::string caller() const { return {}; }
};

using handler = std::function<boost::asio::awaitable<reply>(boost::json::object args, event_sink& events)>;

class command_table {
 public:
  /// Registers (or replaces) a declared command: `run` is called only with arguments that fit `spec`.
  /// `spec` must outlive the table (the catalogue's declarations are constants).
  void add(const command_spec& spec, handler run) {
    auto checked = [spec = &spec, run = std::move(run)](boost::json::object args,
                                                        event_sink& events) -> boost::asio::awaitable<reply> {
      if (auto why = check_args(*spec, args); !why.empty()) return refuse(std::move(why));
      return run(std::move(args), events);
    };
    commands_[std::string(spec.name)] = entry{std::string(spec.help), std::move(checked), &spec};
  }
  /// Registers (or replaces) a command without a declaration: its args reach `h` unchecked.
  void add(std::string name, std::string help, handler h) {
    commands_[std::move(name)] = entry{std::move(help), std::move(h), nullptr};
  }
  /// Replaces the handler of every declared command with `f(spec, handler)`, which runs outside the argument
  /// check (e.g. the audit trail of the commands that change state, daemon/control/commands/audit_trail.cpp).
  void wrap_declared(const std::function<handler(const command_spec&, handler)>& f) {
    for (auto& [name, e] : commands_)
      if (e.spec) e.run = f(*e.spec, std::move(e.run));
  }
  const handler* find(std::string_view name) const {
    auto it = commands_.find(std::string(name));
    return it == commands_.end() ? nullptr : &it->second.run;
  }
  /// The declaration a command was registered with; nullptr for an unknown or undeclared one.
  const command_spec* spec(std::string_view name) const {
    auto it = commands_.find(std::string(name));
    return it == commands_.end() ? nullptr : it->second.spec;
  }
  /// (name, help) of every command, by name.
  std::vector<std::pair<std::string, std::string>> list() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, e] : commands_) out.emplace_back(name, e.help);
    return out;
  }

 private:
  struct entry {
    std::string help;
    handler run;
    const command_spec* spec = nullptr;
  };
  static boost::asio::awaitable<reply> refuse(std::string why) {
    co_return reply::failure("invalid_args", std::move(why));
  }
  std::map<std::string, entry> commands_;
};

}  // namespace omnisync::control
