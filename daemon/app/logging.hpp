#pragma once
/// Logging for omnisyncd: one stderr sink shared by named component loggers (store, control, http, sync, app...).
///
/// Output format: readable text lines (coloured on a TTY), journald `<N>` priority prefixes when the daemon runs
/// under systemd (`JOURNAL_STREAM` set), or JSON lines: one object per line with `time`, `level`, `component`,
/// `message` and the structured fields of core/log_fields.hpp (`connector`, `object`, `record`, `run`, `error`)
/// where the call site gave them. Every line passes through the redactor first, so a
/// secret value registered with `add_secret()` never reaches the log, whatever code formats it.
///
/// Thread safety: every function here may be called from any thread; loggers are spdlog's `_mt` kind.
#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace omnisync {
struct log_fields;
}

namespace omnisync::app {

enum class log_output { text, color_text, journal, json };

/// Chooses the output: an explicit format wins; `automatic` means journal when JOURNAL_STREAM is set,
/// colour when stderr is a TTY and NO_COLOR is unset or empty, plain text otherwise. Values: "auto", "text", "journal", "json".
log_output choose_log_output(std::string_view format);

/// Installs the shared sink and the default logger ("omnisync"). Call once, first thing in main.
void init_logging(log_output out);

/// Sets the default level and per-component overrides (config `daemon.log.level` and `.components`). Unknown
/// level names fall back to info. Safe to call again on reload.
void apply_log_levels(const std::string& level, const std::map<std::string, std::string>& components);

/// The logger of one component, created on first use with the current default level.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

/// Registers secret values to be masked in every later log line (empty and very short values are ignored:
/// masking "a" would garble everything). Replaces the previous set (a reload brings new secrets).
void set_secrets(std::vector<std::string> values);

/// `text` with every registered secret replaced by "<redacted>". Used by the sink and by code that puts
/// outside text (error bodies, diagnostics) into replies.
std::string redact(std::string text);

/// One JSON log line (newline included): `time`, `level`, `component`, `message`, then each non-empty field of
/// `fields` (may be null; `run` a number, the others strings). The message and field values are taken as given (the sink redacts the message first;
/// field values are redacted here).
std::string format_json_line(std::string_view time, std::string_view level, std::string_view component,
                             std::string_view message, const log_fields* fields);

}  // namespace omnisync::app
