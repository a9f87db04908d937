#pragma once
// Internal: the compiled form of a mapping file. Built by the compiler (compiler.hpp), read by evaluator.cpp.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mapping/mapping.hpp"

namespace omnisync::mapping {

struct path_step {
  enum class kind { key, index, wildcard } k = kind::key;
  std::string key;
  std::size_t index = 0;
};

/// A source path: its leading keys are extracted into a slot while the record is parsed (one pass), the
/// remaining steps (after the first index/wildcard, or below another extracted path) walk the slot's value.
struct source_ref {
  std::string text;                 ///< as written, for error messages
  std::vector<std::string> keys;    ///< leading key steps (before finalisation)
  std::vector<path_step> rest;      ///< steps applied to the slot's value
  int slot = -1;
  int ref_field = -1;               ///< `@target`: the value of another field of this mapping instead of a path
};

struct condition {
  enum class op { truthy, exists, equals, not_equals, in } o = op::truthy;
  source_ref src;
  std::vector<std::string> operands;  ///< compared with the value's text form
  bool exists_expected = true;
};

struct template_part {
  std::string literal;
  std::optional<source_ref> ref;
};

struct field_spec {
  std::string target;
  int line = 0;
  enum class source_kind { path, constant, templ, ref } src = source_kind::path;
  std::vector<source_ref> sources;  ///< path: several = coalesce (first non-empty)
  value constant;
  std::vector<template_part> parts;
  std::vector<transform_fn> transforms;
  std::vector<std::string> transform_names;
  bool has_map = false;
  std::unordered_map<std::string, value> map;
  bool has_default = false;
  value default_value;
  std::string field_type;   ///< declared `type:` (coerced after transforms and map)
  std::string target_type;  ///< the canonical attribute's type (inbound) or empty
  bool required = false;
  std::optional<condition> when;
  enum class on_error { fail, null, omit } error_policy = on_error::fail;
  std::size_t max_length = 0;  ///< outbound; 0 = unlimited
  std::string source_text;     ///< the source(s) as written, for errors
  /// An empty string is no value here whatever the connector's `empty_strings` says: the field is typed (not a
  /// plain string), has a default, or is an identity key (see `mark_empty_is_none`).
  bool empty_always_none = false;
};

struct event_spec {
  std::string type;
  int line = 0;
  std::optional<condition> when;
  field_spec id, occurred_at, amount, currency, status, score;
  bool has_amount = false, has_currency = false, has_status = false, has_score = false;
  std::vector<std::pair<std::string, field_spec>> person;
};

struct trie_node {
  std::string key;
  int slot = -1;  ///< >= 0: materialise the whole value here
  std::vector<trie_node> children;
};

struct output_node {
  std::string key;
  int field = -1;  ///< leaf: index into fields
  std::vector<output_node> children;
};

struct plan_impl {
  std::string file, system, object;
  mapping::direction dir = direction::inbound;
  std::vector<field_spec> fields;   ///< in file order
  std::vector<int> order;           ///< evaluation order (references first)
  std::vector<event_spec> events;
  std::vector<std::string> identity;
  std::vector<int> identity_fields;
  std::vector<attribute_hint> hints;
  std::string upsert_key;
  trie_node root;
  int slot_count = 0;
  std::vector<output_node> output;
};

}  // namespace omnisync::mapping
