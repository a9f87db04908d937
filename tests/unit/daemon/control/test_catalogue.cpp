// The command declarations (daemon/control/catalogue.hpp) and the argument check the socket applies: what is
// accepted, what is refused with which message, and that omnisyncctl offers exactly the declared commands.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cctype>
#include <set>

#include "daemon/control/catalogue.hpp"
#include "daemon/ctl/subcommands.hpp"

namespace json = boost::json;
namespace catalogue = omnisync::control::catalogue;
using omnisync::control::access;
using omnisync::control::check_args;
using omnisync::control::required_scope;

namespace {

json::object args(std::string_view text) { return json::parse(text).as_object(); }

}  // namespace

TEST_CASE("control catalogue: declared arguments of the right type pass, every problem is named at once",
          "[control][catalogue]") {
  CHECK(check_args(catalogue::status, {}) == "");
  CHECK(check_args(catalogue::pause, {}) == "");
  CHECK(check_args(catalogue::pause, args(R"({"connector":"hs"})")) == "");
  CHECK(check_args(catalogue::resync, args(R"({"connector":"zd","object":"users","fields":["phone"],"follow":true})")) ==
        "");
  CHECK(check_args(catalogue::dlq, args(R"({"action":"show","id":7})")) == "");

  CHECK(check_args(catalogue::status, args(R"({"verbose":true})")) ==
        R"(status: unknown argument "verbose" (status takes no arguments))");
  CHECK(check_args(catalogue::pause, args(R"({"conector":"hs"})")) ==
        R"(pause: unknown argument "conector" (pause takes connector))");
  CHECK(check_args(catalogue::pause, args(R"({"connector":5})")) ==
        R"(pause: argument "connector" must be a string, not an integer)");
  CHECK(check_args(catalogue::resync, args(R"({"connector":"zd","follow":"yes"})")) ==
        R"(resync: argument "follow" must be a boolean, not a string)");
  CHECK(check_args(catalogue::resync, args(R"({"connector":"zd","fields":["phone",3]})")) ==
        R"(resync: argument "fields" must be an array of strings, but holds an integer)");
  CHECK(check_args(catalogue::resync, args(R"({"connector":"zd","fields":"phone"})")) ==
        R"(resync: argument "fields" must be an array of strings, not a string)");
  CHECK(check_args(catalogue::dlq, args(R"({"action":"show","id":"7"})")) ==
        R"(dlq: argument "id" must be an integer, not a string)");
  CHECK(check_args(catalogue::dlq, args(R"({"action":"show","id":1.5})")) ==
        R"(dlq: argument "id" must be an integer, not a number with a fraction)");
  CHECK(check_args(catalogue::dlq, args(R"({"action":"show","id":18446744073709551615})")) ==
        R"(dlq: argument "id" is out of range (at most 9223372036854775807))");
  CHECK(check_args(catalogue::dlq, args(R"({"action":"purge"})")) ==
        R"(dlq: argument "action" must be one of list, show, stats, retry, drop, not "purge")");
  CHECK(check_args(catalogue::resync, args(R"({"object":"users"})")) ==
        R"(resync: missing required argument "connector")");
  CHECK(check_args(catalogue::pause, args(R"({"connector":null})")) ==
        R"(pause: argument "connector" must be a string, not null)");
  // Several problems: all of them, in one message.
  CHECK(check_args(catalogue::dlq, args(R"({"action":"merge","bogus":1,"limit":"x"})")) ==
        R"(dlq: argument "action" must be one of list, show, stats, retry, drop, not "merge"; )"
        R"(unknown argument "bogus" (dlq takes action, id, all, connector, object, stage, reason, since, until, state, )"
        R"(after, limit, dry_run); argument "limit" must be an integer, not a string)");
  // profile's query is checked by the handler (list takes none), its filters by type here.
  CHECK(check_args(catalogue::profile, args(R"({"action":"list","where":"email?","limit":5})")) ==
        R"(profile: argument "where" must be an array of strings, not a string)");
}

TEST_CASE("control catalogue: the scope a request needs follows its action", "[control][catalogue]") {
  CHECK(required_scope(catalogue::status, {}) == access::read);
  CHECK(required_scope(catalogue::pause, {}) == access::write);
  CHECK(required_scope(catalogue::dlq, {}) == access::read);  // the default action: list
  CHECK(required_scope(catalogue::dlq, args(R"({"action":"show","id":1})")) == access::read);
  CHECK(required_scope(catalogue::dlq, args(R"({"action":"retry","id":1})")) == access::write);
  CHECK(required_scope(catalogue::profile, args(R"({"query":"a@b.c"})")) == access::read);
  CHECK(required_scope(catalogue::profile, args(R"({"action":"split","query":"a@b.c"})")) == access::write);
}

TEST_CASE("control catalogue: every declaration is complete and unambiguous", "[control][catalogue]") {
  std::set<std::string_view> names;
  for (const auto* c : catalogue::all) {
    INFO(c->name);
    CHECK(names.insert(c->name).second);
    CHECK(catalogue::find(c->name) == c);
    REQUIRE_FALSE(c->help.empty());
    CHECK(std::isupper(static_cast<unsigned char>(c->help.front())));
    CHECK(c->help.back() != '.');
    CHECK_FALSE(c->result.empty());
    std::set<std::string_view> arg_names;
    bool writes = c->scope == access::write;
    for (const auto& a : c->args) {
      INFO(a.name);
      CHECK(arg_names.insert(a.name).second);
      CHECK_FALSE(a.help.empty());
      if (a.choices.empty()) continue;
      CHECK(a.type == omnisync::control::arg_type::string);
      bool default_listed = a.default_value.empty();
      for (const auto& ch : a.choices) {
        default_listed = default_listed || ch.value == a.default_value;
        // A command's scope is the widest of its actions'.
        CHECK((writes || ch.scope == access::read));
      }
      CHECK(default_listed);
    }
    // The JSON form names every argument with its type.
    auto j = omnisync::control::to_json(*c);
    CHECK(j.at("name").as_string() == c->name);
    CHECK(j.at("args").as_array().size() == c->args.size());
  }
  CHECK(catalogue::find("launch_missiles") == nullptr);
  auto resync = omnisync::control::to_json(catalogue::resync);
  CHECK(resync.at("scope").as_string() == "write");
  CHECK(resync.at("args").as_array()[0].at("required").as_bool());
  CHECK(resync.at("args").as_array()[6].at("type").as_string() == "string_list");
  CHECK(resync.contains("events"));
}

TEST_CASE("omnisyncctl: offers exactly the declared daemon commands, described by their declarations",
          "[control][catalogue]") {
  auto subs = omnisync::ctl::daemon_subcommands();
  REQUIRE(subs.size() == catalogue::all.size());
  for (std::size_t i = 0; i < subs.size(); ++i) {
    INFO(subs[i].name);
    CHECK(subs[i].spec == catalogue::all[i]);
    CHECK(subs[i].name == catalogue::all[i]->name);
    CHECK(subs[i].description.starts_with(catalogue::all[i]->help));
  }
  for (const auto& e : omnisync::ctl::extension_subcommands()) {
    INFO(e.name);
    CHECK(e.spec == nullptr);  // local commands, no daemon needed
    CHECK(catalogue::find(e.name) == nullptr);
  }
}
