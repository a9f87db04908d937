#pragma once
/// What the console answers to one HTTP request, without any I/O: the JSON API (`/api/v1/<command>`), the pages,
/// sign-in and sign-out, and the embedded assets. The transport (server.hpp) reads a request, calls `handle`, and
/// writes the response.
///
/// One command table, two doors: the API serves exactly the commands of the control socket's table, with the
/// same handlers and the same argument declarations. A read request (`required_scope` read) is a GET with its
/// arguments in the query string, typed by the declaration (a clear 400 naming the argument otherwise); a write
/// request is a POST (JSON object body, or the query string) and needs the write token. The API takes
/// `Authorization: Bearer` only, never the session cookie; pages take the session cookie (or a bearer header), and
/// their forms that act carry the session's CSRF token and are refused from another origin. Every write is logged
/// with who (token scope), what and from where. Every response carries a strict Content-Security-Policy and has
/// the configured secrets removed (defence in depth: no command returns them).
///
/// Lifecycle: built by the server at start-up; the command table can be replaced (reload). Thread safety: `handle`
/// may run on many connections' strands at once (the authenticator locks its sessions; the table is immutable and
/// swapped under a mutex).
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "daemon/console/auth.hpp"
#include "daemon/control/command_table.hpp"

namespace omnisync::console {

struct http_request {
  std::string method;  ///< GET, POST, HEAD, ...
  std::string target;  ///< path and query as sent
  std::string authorization, cookie, origin, host, content_type;
  std::string body;
  std::string remote;  ///< the peer's address, for the log
  bool tls = false;
};

struct http_response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< beyond Content-Type and Content-Length
};

/// `name=value&...` decoded (percent escapes, `+` as space), in order; repeated names kept.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view text);

/// The first value of `name` in a form body, empty when absent.
std::string form_value(std::string_view body, std::string_view name);

/// `text` percent-encoded for a query string: letters, digits and `-_.~` kept, every other byte as %XX.
std::string url_encode(std::string_view text);

/// The forms a secret takes in what the console writes, each to be scrubbed: as it is, inside a JSON string, as
/// HTML text (also of the JSON form: pages show JSON values), and percent-encoded (links, redirects).
std::vector<std::string> secret_forms(std::string_view secret);

/// Whether `target` is a path on this console that a redirect may name: one leading `/`, not `//` or `/\` (which
/// browsers read as another host), no control character (which would end the header, or which browsers drop,
/// turning `/\t/host` into `//host`).
bool local_path(std::string_view target);

/// Whether a browser request comes from this console's own pages: no Origin header, or one equal to the scheme
/// and Host it was sent to.
bool same_origin(const http_request& req);

/// Query parameters turned into a command's `args` by the declaration's types (integer, boolean: true/false/1/0
/// or no value, string list: repeated or comma-separated), then checked with `check_args`. The args, or the
/// `invalid_args` message naming each bad argument.
std::variant<boost::json::object, std::string> args_from_params(
    const control::command_spec& spec, const std::vector<std::pair<std::string, std::string>>& params);

class service {
 public:
  service(std::shared_ptr<const control::command_table> commands, std::shared_ptr<authenticator> auth,
          std::vector<std::string> secrets);

  boost::asio::awaitable<http_response> handle(http_request req);
  void set_commands(std::shared_ptr<const control::command_table> commands);
  /// The secrets no answer may hold, replaced (on reload: a secret the new config adds is scrubbed from then on).
  void set_secrets(const std::vector<std::string>& secrets);

  /// Runs one command through the table (as the socket does, progress events dropped); for pages.
  boost::asio::awaitable<control::reply> run(std::string_view command, boost::json::object args);

 private:
  struct caller {
    grant scope = grant::none;
    std::optional<session> browser;  ///< set when the caller came with a session cookie
  };
  std::shared_ptr<const control::command_table> commands() const;
  boost::asio::awaitable<http_response> api(const http_request& req, std::string_view path);
  boost::asio::awaitable<http_response> page(const http_request& req, std::string_view path, const caller& who);
  boost::asio::awaitable<http_response> action(const http_request& req, const caller& who);
  http_response login(const http_request& req);
  http_response finish(http_response r, bool cache) const;

  mutable std::mutex mutex_;
  std::shared_ptr<const control::command_table> commands_;
  std::shared_ptr<authenticator> auth_;
  /// Every form of every secret, longest first; swapped whole by set_secrets (read under mutex_).
  std::shared_ptr<const std::vector<std::string>> secret_forms_;
  void scrub(std::string& text) const;
};

}  // namespace omnisync::console
