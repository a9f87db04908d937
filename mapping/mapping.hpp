#pragma once
/// The mapping engine: mapping files compiled once into plans, applied to JSON records.
///
/// Lifecycle: `compile_mapping` / `load_mapping_file` / `load_mapping_dir` read YAML at start-up or reload and
/// report every problem with file:line:col. A `plan` is immutable afterwards and may be shared by any number of
/// threads. Each thread creates its own `evaluator` (it owns the JSON parser and scratch buffers) and reuses it for
/// every record: after warm-up, mapping a record does not allocate.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/attributes.hpp"
#include "config/diagnostics.hpp"
#include "mapping/transforms.hpp"
#include "mapping/value.hpp"

namespace omnisync::mapping {

enum class direction { inbound, outbound };

/// Per-attribute hints for the profile layer (declared with `merge:` / `owner:` on a field).
struct attribute_hint {
  std::string attribute;
  std::string merge;  ///< e.g. most_recent, source_priority, union; empty = config's survivorship decides
  bool owner = false; ///< this system owns the attribute
};

struct plan_impl;

/// A compiled mapping file. Immutable; thread-safe to share.
class plan {
 public:
  explicit plan(std::unique_ptr<plan_impl> impl);
  ~plan();
  plan(const plan&) = delete;
  plan& operator=(const plan&) = delete;

  const std::string& file() const noexcept;
  const std::string& system() const noexcept;
  const std::string& object() const noexcept;
  mapping::direction direction() const noexcept;
  /// Target names in file order (canonical attributes inbound, destination fields outbound).
  std::vector<std::string> targets() const;
  /// The source paths a target is computed from, as written (outbound: the canonical attributes a destination
  /// field comes from, e.g. {"first_name", "last_name"} for a name template); empty for constants.
  std::vector<std::string> sources_of(std::string_view target) const;
  /// Identity attributes declared by `identity:` (inbound).
  const std::vector<std::string>& identity() const noexcept;
  const std::vector<attribute_hint>& hints() const noexcept;
  /// Outbound: the destination field used as upsert key (empty inbound).
  const std::string& upsert_key() const noexcept;
  /// The event types the `events:` section produces (inbound timeline mappings; empty otherwise).
  std::vector<std::string> event_types() const;
  const plan_impl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<plan_impl> impl_;
};

/// Why one record could not be mapped. The batch goes on; the caller quarantines the record.
struct record_error {
  std::string file;         ///< mapping file
  int line = 0;             ///< line of the rule in the mapping file
  std::string target;       ///< the target field being produced
  std::string source_path;  ///< source path(s) read, e.g. "Email"
  std::string value;        ///< the offending value, shortened
  std::string rule;         ///< what was violated, e.g. `transform email: not an email address`
  bool bad_input = false;   ///< the record itself is not a JSON object (not a mapping problem)
  /// "file:line: target: rule (source Email, value "x")"
  std::string format() const;
};

/// A timeline event produced by an inbound mapping's `events:` section.
struct timeline_event {
  std::string type;
  value occurred_at;
  std::string subject;  ///< connector:object:id
  std::vector<std::pair<std::string, value>> person;  ///< identity attribute -> value linking the person
  value amount, currency, status, score;
};

/// The result of mapping one record. Owned by the evaluator and overwritten by its next `apply`.
struct mapped_record {
  /// Values by target, in the plan's target order; `missing` = the record said nothing about it.
  std::vector<value> fields;
  std::vector<timeline_event> events;
  /// The mapped record as one JSON object: dotted targets nest (`external_ids.salesforce` becomes
  /// `{"external_ids":{"salesforce":…}}`), missing fields are left out, events go under `"_events"`.
  void append_json(const plan& p, std::string& out) const;
  std::string to_json(const plan& p) const {
    std::string s;
    append_json(p, s);
    return s;
  }
  /// (identity attribute, value) for every identity attribute with a non-null value.
  std::vector<std::pair<std::string, const value*>> identity_keys(const plan& p) const;
};

/// How an evaluator reads a connector's records; per connector (its `empty_strings` setting).
struct evaluate_options {
  /// false (`empty_strings: no_value`, the default): in an inbound mapping an empty string is no value — it reads
  /// as null everywhere (a coalesce skips it, a transform result of "" becomes null, a default then applies).
  /// true (`empty_strings: value`): "" is a value in plain string fields; it stays no value in typed, defaulted and
  /// identity fields and in events. Outbound mappings always read this way (their sources are golden values).
  bool empty_string_is_value = false;
};

/// Applies one plan to records; one per thread; reusable.
class evaluator {
 public:
  explicit evaluator(std::shared_ptr<const plan> p, evaluate_options options = {});
  ~evaluator();
  evaluator(const evaluator&) = delete;
  evaluator& operator=(const evaluator&) = delete;

  /// Maps one JSON record. `capacity` must be at least `size + padding()` readable bytes (the JSON parser reads
  /// ahead); use the string_view overload when that is not the case. Returns nullptr and fills `error` on failure.
  const mapped_record* apply(const char* data, std::size_t size, std::size_t capacity, record_error& error);
  /// Same, copying the record into an internal padded buffer first.
  const mapped_record* apply(std::string_view json, record_error& error);
  static std::size_t padding() noexcept;
  const plan& mapping_plan() const noexcept { return *plan_; }
  const evaluate_options& options() const noexcept { return options_; }

 private:
  struct state;
  std::shared_ptr<const plan> plan_;
  evaluate_options options_;
  std::unique_ptr<state> st_;
};

/// Compiles mapping YAML text. `file` names it in diagnostics. Every problem goes into `diags`; returns nullptr
/// when there was any.
std::shared_ptr<const plan> compile_mapping(std::string_view yaml_text, const std::string& file,
                                            const std::vector<config::attribute_decl>& canonical,
                                            config::diagnostics& diags,
                                            const transform_registry& transforms = transform_registry::builtins());

/// Reads and compiles one mapping file.
std::shared_ptr<const plan> load_mapping_file(const std::filesystem::path& path,
                                              const std::vector<config::attribute_decl>& canonical,
                                              config::diagnostics& diags,
                                              const transform_registry& transforms = transform_registry::builtins());

/// Compiles every `<kind>/<Object>.<in|out>.yaml` under `dir`; checks that each file's `system`, `object` and
/// `direction` agree with its name. Returns all plans (possibly partial; check `diags.empty()`).
std::vector<std::shared_ptr<const plan>> load_mapping_dir(
    const std::filesystem::path& dir, const std::vector<config::attribute_decl>& canonical,
    config::diagnostics& diags, const transform_registry& transforms = transform_registry::builtins());

/// Reads the `canonical:` section of an omnisync.yaml (a list of {name, type, description, computed} or a map of
/// name -> type / {type, description, computed}). Returns the default set when the file has no such section.
std::vector<config::attribute_decl> read_canonical_attributes(const std::filesystem::path& config_file,
                                                              config::diagnostics& diags);

}  // namespace omnisync::mapping
