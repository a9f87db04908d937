// The JSON log line and the structured fields that reach it (daemon/app/logging.hpp, core/log_fields.hpp).
#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/log_fields.hpp"
#include "daemon/app/logging.hpp"

namespace json = boost::json;
using omnisync::log_fields;

namespace {

std::string str(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string("(absent)");
}

json::object parse_line(const std::string& line) {
  REQUIRE(!line.empty());
  CHECK(line.back() == '\n');
  CHECK(line.find('\n') == line.size() - 1);  // one object, one line
  return json::parse(line).as_object();
}

/// A sink that records, for each line, the fields the call site attached (as the daemon's sink reads them).
class recording_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text(msg.payload.data(), msg.payload.size());
    lines.push_back(omnisync::app::format_json_line("t", "info", "test", text, omnisync::current_log_fields()));
  }
  void flush_() override {}
};

}  // namespace

TEST_CASE("json log line: time, level, component and message, no fields when none were given", "[logging]") {
  auto o = parse_line(omnisync::app::format_json_line("2026-12-06T18:00:00.000Z", "info", "omnisync", "started",
                                                      nullptr));
  CHECK(str(o, "time") == "2026-12-06T18:00:00.000Z");
  CHECK(str(o, "level") == "info");
  CHECK(str(o, "component") == "omnisync");
  CHECK(str(o, "message") == "started");
  CHECK(o.size() == 4);
}

TEST_CASE("json log line: the fields given, and only the non-empty ones", "[logging]") {
  log_fields f;
  f.connector = "crm";
  f.object = "Contact";
  f.record = "003000000000001";
  f.error = "VALIDATION_ERROR";
  auto o = parse_line(omnisync::app::format_json_line("t", "warn", "omnisync", "1 write(s) refused", &f));
  CHECK(str(o, "connector") == "crm");
  CHECK(str(o, "object") == "Contact");
  CHECK(str(o, "record") == "003000000000001");
  CHECK(str(o, "error") == "VALIDATION_ERROR");
  CHECK_FALSE(o.contains("run"));  // empty: left out, not written as ""
  f.run = 42;
  CHECK(parse_line(omnisync::app::format_json_line("t", "warn", "c", "m", &f)).at("run").as_int64() == 42);
}

TEST_CASE("json log line: quotes, backslashes, newlines and control characters stay one valid line", "[logging]") {
  const std::string nasty = "say \"hi\"\\ then\nnext\tline \x01 and ünïcode";
  log_fields f;
  f.record = nasty;
  auto o = parse_line(omnisync::app::format_json_line("t", "error", "http", nasty, &f));
  CHECK(str(o, "message") == nasty);
  CHECK(str(o, "record") == nasty);
}

TEST_CASE("json log line: a registered secret in a field value is masked", "[logging]") {
  omnisync::app::set_secrets({"s3cr3t-token-value"});
  log_fields f;
  f.record = "key-s3cr3t-token-value";
  auto o = parse_line(omnisync::app::format_json_line("t", "info", "c", "m", &f));
  CHECK(str(o, "record") == "key-<redacted>");
  omnisync::app::set_secrets({});
}

TEST_CASE("log_with: the sink sees the fields during that call only", "[logging]") {
  auto sink = std::make_shared<recording_sink>();
  spdlog::logger log("fields-test", sink);
  log.set_level(spdlog::level::trace);
  log_fields f;
  f.connector = "desk";
  f.object = "users";
  omnisync::log_with(log, spdlog::level::info, f, "polled {} record(s)", 3);
  log.info("a plain line");
  omnisync::log_with(log, spdlog::level::debug, log_fields{"crm", {}, {}, {}, "rate_limited"}, "waiting");
  REQUIRE(sink->lines.size() == 3);
  auto first = parse_line(sink->lines[0]);
  CHECK(str(first, "message") == "polled 3 record(s)");
  CHECK(str(first, "connector") == "desk");
  CHECK(str(first, "object") == "users");
  CHECK_FALSE(parse_line(sink->lines[1]).contains("connector"));
  auto third = parse_line(sink->lines[2]);
  CHECK(str(third, "connector") == "crm");
  CHECK(str(third, "error") == "rate_limited");
  CHECK(omnisync::current_log_fields() == nullptr);
  // Below the logger's level: nothing formatted, nothing left behind.
  log.set_level(spdlog::level::warn);
  omnisync::log_with(log, spdlog::level::info, f, "hidden");
  CHECK(sink->lines.size() == 3);
  CHECK(omnisync::current_log_fields() == nullptr);
}

TEST_CASE("error codes: errc's names and a vendor's leading code", "[logging]") {
  using omnisync::errc;
  CHECK(omnisync::error_code_name(omnisync::make_error_code(errc::rate_limited)) == "rate_limited");
  CHECK(omnisync::error_code_name(omnisync::make_error_code(errc::invalid_input)) == "invalid_input");
  CHECK(omnisync::error_code_name({}).empty());
  CHECK(omnisync::vendor_error_code("VALIDATION_ERROR: Property \"x\" does not exist") == "VALIDATION_ERROR");
  CHECK(omnisync::vendor_error_code("INVALID_EMAIL_ADDRESS: bad: email") == "INVALID_EMAIL_ADDRESS");
  CHECK(omnisync::vendor_error_code("Email is invalid").empty());
  CHECK(omnisync::vendor_error_code("the vendor said: no").empty());  // words, not a code
  CHECK(omnisync::vendor_error_code("").empty());
}
