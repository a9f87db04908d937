#pragma once
/// Checking a YAML subtree against a schema (config/schema.hpp): every problem at once, each located
/// (`file:line:col: dotted.path: message`) — unknown keys at any depth with "did you mean", wrong types, values
/// out of range, enumeration words with "did you mean", missing required keys, map entries naming no object —
/// and the typed values that passed, with their locations. Also: secrets read from files, systemd credentials
/// and the environment, and duplicate keys anywhere in a document (yaml-cpp keeps both silently).
///
/// Pure functions over their arguments (they read secret files and the environment); thread-safe.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/schema.hpp"
#include "config/secret.hpp"
#include "config/setting_values.hpp"

namespace YAML {
class Node;
}

namespace omnisync::config {

/// Where a validation reports to and resolves against.
struct validation_context {
  std::string file;                                   ///< as the user named it (locations show it verbatim)
  std::filesystem::path base_dir;                     ///< relative paths resolve against it
  diagnostics* problems = nullptr;                    ///< required
  std::vector<std::string>* secret_values = nullptr;  ///< every secret (and `${ENV}` value) read, for the log redactor
  /// Keys the schema does not declare are passed over silently: for a block whose kind is unknown, where the
  /// keys cannot be judged (the kind's own error says what is wrong).
  bool ignore_unknown_keys = false;
};

/// Validates `node` (a mapping) at dotted `path` (e.g. "connectors.crm") against `s`. Every problem goes to
/// `ctx.problems`; the values that passed are returned by dotted key relative to `node`.
setting_values validate(const schema& s, const YAML::Node& node, const std::string& path, validation_context& ctx);

/// One secret: `value` is what follows `KEY:` — a literal, `"${ENV}"` or `{credential: NAME}` (read from
/// $CREDENTIALS_DIRECTORY/NAME) — or, with `from_file`, what follows `KEY_file:` (a path, `${ENV}` allowed).
/// Files lose one trailing newline run. nullopt after reporting a problem at `path`.
std::optional<secret> read_secret(const YAML::Node& value, bool from_file, const std::string& path,
                                  validation_context& ctx);

/// Reports every key that appears twice in one mapping anywhere below `root` (two connectors of one name
/// included), at the second one, naming where the first is.
void find_duplicate_keys(const std::string& file, const YAML::Node& root, diagnostics& problems);

}  // namespace omnisync::config
