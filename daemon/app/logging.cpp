#include "daemon/app/logging.hpp"

#include <spdlog/details/os.h>
#include <spdlog/sinks/base_sink.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <mutex>
#include <shared_mutex>

#include "core/log_fields.hpp"
#include "core/time.hpp"

namespace omnisync::app {
namespace {

std::shared_mutex secrets_mutex;
std::vector<std::string> secrets;

void replace_all(std::string& text, const std::string& needle, std::string_view with) {
  for (std::size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + with.size()))
    text.replace(pos, needle.size(), with);
}

void json_escape(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

// syslog priorities as journald reads them from "<N>" prefixes (sd-daemon.h SD_ERR etc.).
int syslog_priority(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
  }
}

const char* colour_of(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace: return "\033[37m";
    case spdlog::level::debug: return "\033[36m";
    case spdlog::level::info: return "\033[32m";
    case spdlog::level::warn: return "\033[33m\033[1m";
    case spdlog::level::err: return "\033[31m\033[1m";
    case spdlog::level::critical: return "\033[1m\033[41m";
    default: return "";
  }
}

std::string timestamp_text(spdlog::log_clock::time_point tp) {
  return format_iso8601_ms(std::chrono::floor<std::chrono::milliseconds>(tp));
}

/// The one sink: formats a line in the chosen output, redacts it, writes it to stderr in one write().
class stderr_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit stderr_sink(log_output out) : out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string text = redact(std::string(msg.payload.data(), msg.payload.size()));
    std::string_view name(msg.logger_name.data(), msg.logger_name.size());
    auto lv = spdlog::level::to_string_view(msg.level);
    std::string_view level(lv.data(), lv.size());
    std::string line;
    switch (out_) {
      case log_output::journal:
        // journald adds its own timestamps.
        line = "<" + std::to_string(syslog_priority(msg.level)) + ">" + std::string(name) + ": " + text + "\n";
        break;
      case log_output::json:
        line = format_json_line(timestamp_text(msg.time), level, name, text, current_log_fields());
        break;
      case log_output::color_text:
        line = timestamp_text(msg.time) + " " + colour_of(msg.level) + std::string(level) + "\033[0m " +
               std::string(name) + ": " + text + "\n";
        break;
      case log_output::text:
        line = timestamp_text(msg.time) + " " + std::string(level) + " " + std::string(name) + ": " + text + "\n";
        break;
    }
    std::string_view rest = line;
    while (!rest.empty()) {
      ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void flush_() override {}

 private:
  log_output out_;
};

std::mutex loggers_mutex;
std::shared_ptr<stderr_sink> sink;
spdlog::level::level_enum default_level = spdlog::level::info;
std::map<std::string, std::string> component_levels;

spdlog::level::level_enum parse_level(const std::string& name) {
  auto l = spdlog::level::from_str(name);
  // from_str answers "off" for names it does not know; only "off" itself means off.
  if (l == spdlog::level::off && name != "off") return spdlog::level::info;
  return l;
}

std::shared_ptr<stderr_sink> the_sink() {
  if (!sink) sink = std::make_shared<stderr_sink>(choose_log_output("auto"));
  return sink;
}

}  // namespace

log_output choose_log_output(std::string_view format) {
  if (format == "json") return log_output::json;
  if (format == "journal") return log_output::journal;
  // Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org).
  const char* no_color = std::getenv("NO_COLOR");
  bool tty = ::isatty(STDERR_FILENO) != 0 && !(no_color && *no_color);
  if (format == "text") return tty ? log_output::color_text : log_output::text;
  const char* journal = std::getenv("JOURNAL_STREAM");
  if (journal && *journal) return log_output::journal;
  return tty ? log_output::color_text : log_output::text;
}

void init_logging(log_output out) {
  std::lock_guard lock(loggers_mutex);
  sink = std::make_shared<stderr_sink>(out);
  spdlog::drop_all();
  auto def = std::make_shared<spdlog::logger>("omnisync", sink);
  def->set_level(default_level);
  def->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(def);
}

void apply_log_levels(const std::string& level, const std::map<std::string, std::string>& components) {
  std::lock_guard lock(loggers_mutex);
  default_level = parse_level(level);
  component_levels = components;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) {
    auto it = component_levels.find(l->name());
    l->set_level(it == component_levels.end() ? default_level : parse_level(it->second));
  });
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  std::lock_guard lock(loggers_mutex);
  if (auto existing = spdlog::get(component)) return existing;
  auto l = std::make_shared<spdlog::logger>(component, the_sink());
  auto it = component_levels.find(component);
  l->set_level(it == component_levels.end() ? default_level : parse_level(it->second));
  l->flush_on(spdlog::level::trace);
  spdlog::register_logger(l);
  return l;
}

void set_secrets(std::vector<std::string> values) {
  std::erase_if(values, [](const std::string& v) { return v.size() < 4; });
  // Longest first, so a secret containing another is masked whole.
  std::sort(values.begin(), values.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  std::unique_lock lock(secrets_mutex);
  secrets = std::move(values);
}

std::string redact(std::string text) {
  std::shared_lock lock(secrets_mutex);
  for (const auto& s : secrets) replace_all(text, s, "<redacted>");
  return text;
}

std::string format_json_line(std::string_view time, std::string_view level, std::string_view component,
                             std::string_view message, const log_fields* fields) {
  std::string line = "{\"time\":\"";
  json_escape(line, time);
  line += "\",\"level\":\"";
  json_escape(line, level);
  line += "\",\"component\":\"";
  json_escape(line, component);
  line += "\",\"message\":\"";
  json_escape(line, message);
  line += '"';
  if (fields) {
    // Field values are outside text too (record ids, vendor codes): redacted like the message.
    auto add = [&](const char* key, std::string_view value) {
      if (value.empty()) return;
      line += ",\"";
      line += key;
      line += "\":\"";
      json_escape(line, redact(std::string(value)));
      line += '"';
    };
    add("connector", fields->connector);
    add("object", fields->object);
    add("record", fields->record);
    if (fields->run > 0) line += ",\"run\":" + std::to_string(fields->run);
    add("error", fields->error);
  }
  line += "}\n";
  return line;
}

}  // namespace omnisync::app
