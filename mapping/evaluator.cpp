// Applies a compiled plan to JSON records: one simdjson on-demand pass extracts the needed paths into slots,
// then the fields are computed from the slots in dependency order.
#include <algorithm>
#include <simdjson.h>

#include <cstring>

#include "mapping/plan_impl.hpp"

namespace omnisync::mapping {

std::size_t code_points(std::string_view s);  // transforms.cpp

namespace od = simdjson::ondemand;

plan::plan(std::unique_ptr<plan_impl> impl) : impl_(std::move(impl)) {}
plan::~plan() = default;
const std::string& plan::file() const noexcept { return impl_->file; }
const std::string& plan::system() const noexcept { return impl_->system; }
const std::string& plan::object() const noexcept { return impl_->object; }
direction plan::direction() const noexcept { return impl_->dir; }
std::vector<std::string> plan::targets() const {
  std::vector<std::string> out;
  for (const auto& f : impl_->fields) out.push_back(f.target);
  return out;
}
std::vector<std::string> plan::sources_of(std::string_view target) const {
  std::vector<std::string> out;
  auto add = [&out](const source_ref& r, const auto& self, const plan_impl& impl) -> void {
    if (r.ref_field >= 0 && static_cast<std::size_t>(r.ref_field) < impl.fields.size()) {
      const auto& f = impl.fields[static_cast<std::size_t>(r.ref_field)];
      for (const auto& x : f.sources) self(x, self, impl);
      for (const auto& part : f.parts)
        if (part.ref) self(*part.ref, self, impl);
      return;
    }
    if (!r.text.empty() && std::find(out.begin(), out.end(), r.text) == out.end()) out.push_back(r.text);
  };
  for (const auto& f : impl_->fields) {
    if (f.target != target) continue;
    for (const auto& r : f.sources) add(r, add, *impl_);
    for (const auto& part : f.parts)
      if (part.ref) add(*part.ref, add, *impl_);
  }
  return out;
}
const std::vector<std::string>& plan::identity() const noexcept { return impl_->identity; }
const std::vector<attribute_hint>& plan::hints() const noexcept { return impl_->hints; }
const std::string& plan::upsert_key() const noexcept { return impl_->upsert_key; }
std::vector<std::string> plan::event_types() const {
  std::vector<std::string> out;
  for (const auto& e : impl_->events) out.push_back(e.type);
  return out;
}

std::string record_error::format() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  s += ": ";
  if (!target.empty()) s += target + ": ";
  s += rule;
  if (!source_path.empty() || !value.empty()) {
    s += " (";
    if (!source_path.empty()) s += "source " + source_path;
    if (!source_path.empty() && !value.empty()) s += ", ";
    if (!value.empty()) s += "value " + value;
    s += ")";
  }
  return s;
}

namespace {

simdjson::error_code materialise(od::value v, value& out, int depth);

simdjson::error_code materialise_object(od::object obj, value& out, int depth) {
  out.k = value::kind::object;
  std::size_t n = 0;
  for (auto field_r : obj) {
    od::field field;
    if (auto e = std::move(field_r).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    // The value may have been an array with more items than keys in an earlier record: size both.
    if (out.items.size() <= n) out.items.resize(n + 1);
    if (out.keys.size() <= n) out.keys.resize(n + 1);
    out.keys[n].assign(key.data(), key.size());
    if (auto e = materialise(field.value(), out.items[n], depth + 1)) return e;
    ++n;
  }
  out.items.resize(n);
  out.keys.resize(n);
  return simdjson::SUCCESS;
}

simdjson::error_code materialise(od::value v, value& out, int depth) {
  if (depth > 256) return simdjson::DEPTH_ERROR;
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::null:
    {
      bool is_null = false;  // is_null() reports a broken literal such as `nuol` as an error
      if (auto e = v.is_null().get(is_null)) return e;
      if (!is_null) return simdjson::INCORRECT_TYPE;
    }
      out.set_null();
      return simdjson::SUCCESS;
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b)) return e;
      out.set_bool(b);
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      out.set_string(s);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      od::number num;
      if (auto e = v.get_number().get(num)) return e;
      switch (num.get_number_type()) {
        case od::number_type::signed_integer: out.set_int(num.get_int64()); break;
        case od::number_type::unsigned_integer: {
          const std::uint64_t u = num.get_uint64();
          if (u <= static_cast<std::uint64_t>(INT64_MAX)) out.set_int(static_cast<std::int64_t>(u));
          else out.set_number(static_cast<double>(u));
          break;
        }
        default: out.set_number(num.get_double()); break;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      out.k = value::kind::array;
      out.keys.clear();
      std::size_t n = 0;
      for (auto item_r : arr) {
        od::value item;
        if (auto e = std::move(item_r).get(item)) return e;
        if (out.items.size() <= n) out.items.emplace_back();
        if (auto e = materialise(item, out.items[n], depth + 1)) return e;
        ++n;
      }
      out.items.resize(n);
      return simdjson::SUCCESS;
    }
    case od::json_type::object: {
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      return materialise_object(obj, out, depth);
    }
  }
  return simdjson::INCORRECT_TYPE;
}

void set_null_below(const trie_node& node, std::vector<value>& slots) {
  if (node.slot >= 0) slots[static_cast<std::size_t>(node.slot)].set_null();
  for (const auto& c : node.children) set_null_below(c, slots);
}

const trie_node* find_child(const trie_node& node, std::string_view key) noexcept {
  for (const auto& c : node.children)
    if (c.key.size() == key.size() && std::memcmp(c.key.data(), key.data(), key.size()) == 0) return &c;
  return nullptr;
}

simdjson::error_code extract(od::object obj, const trie_node& node, std::vector<value>& slots, int depth) {
  for (auto field_r : obj) {
    od::field field;
    if (auto e = std::move(field_r).get(field)) return e;
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    const trie_node* child = find_child(node, key);
    if (!child) continue;  // the parser skips the value
    od::value v = field.value();
    if (child->slot >= 0) {
      if (auto e = materialise(v, slots[static_cast<std::size_t>(child->slot)], depth + 1)) return e;
      continue;
    }
    od::json_type t;
    if (auto e = v.type().get(t)) return e;
    if (t == od::json_type::object) {
      od::object sub;
      if (auto e = v.get_object().get(sub)) return e;
      if (auto e = extract(sub, *child, slots, depth + 1)) return e;
    } else if (t == od::json_type::null) {
      set_null_below(*child, slots);  // a null parent makes its children null, as in jq
    }
  }
  return simdjson::SUCCESS;
}

}  // namespace

struct evaluator::state {
  od::parser parser;
  std::vector<value> slots;
  mapped_record record;
  std::string padded;
  value scratch;
  std::string text;
};

evaluator::evaluator(std::shared_ptr<const plan> p, evaluate_options options)
    : plan_(std::move(p)), options_(options), st_(std::make_unique<state>()) {
  if (plan_->direction() == direction::outbound) options_.empty_string_is_value = true;
  const auto& impl = plan_->impl();
  st_->slots.resize(static_cast<std::size_t>(impl.slot_count));
  st_->record.fields.resize(impl.fields.size());
}
evaluator::~evaluator() = default;
std::size_t evaluator::padding() noexcept { return simdjson::SIMDJSON_PADDING; }

namespace {

void resolve_steps(const value& v, const std::vector<path_step>& steps, std::size_t pos, value& out) {
  if (pos == steps.size()) {
    out = v;
    return;
  }
  const path_step& s = steps[pos];
  if (v.k == value::kind::null) {
    out.set_null();
    return;
  }
  switch (s.k) {
    case path_step::kind::key:
      if (const value* m = v.member(s.key)) resolve_steps(*m, steps, pos + 1, out);
      else out.set_missing();
      return;
    case path_step::kind::index:
      if (v.k == value::kind::array && s.index < v.items.size()) resolve_steps(v.items[s.index], steps, pos + 1, out);
      else out.set_missing();
      return;
    case path_step::kind::wildcard: {
      if (v.k != value::kind::array) {
        out.set_missing();
        return;
      }
      value result;
      result.k = value::kind::array;
      for (const auto& item : v.items) {
        value r;
        resolve_steps(item, steps, pos + 1, r);
        if (r.is_missing()) continue;
        if (r.k == value::kind::array && pos + 1 < steps.size()) {  // nested wildcards flatten
          for (auto& x : r.items) result.items.push_back(std::move(x));
        } else {
          result.items.push_back(std::move(r));
        }
      }
      out = std::move(result);
      return;
    }
  }
}

struct context {
  const plan_impl& p;
  std::vector<value>& slots;
  std::vector<value>& fields;
  bool empty_string_is_value = false;
};

bool is_empty_string(const value& v) noexcept { return v.k == value::kind::string && v.s.empty(); }

/// Where "" is no value: "" becomes null, and a list loses its "" items (a list of tags ["", "vip"] holds one).
void drop_empty(value& v) {
  if (is_empty_string(v)) {
    v.set_null();
  } else if (v.k == value::kind::array) {
    auto& items = v.items;
    items.erase(std::remove_if(items.begin(), items.end(), [](const value& x) { return is_empty_string(x); }),
                items.end());
  }
}

void resolve(const context& c, const source_ref& r, value& out) {
  if (r.ref_field >= 0) {
    out = c.fields[static_cast<std::size_t>(r.ref_field)];
    return;
  }
  if (r.slot < 0) {
    out.set_missing();
    return;
  }
  resolve_steps(c.slots[static_cast<std::size_t>(r.slot)], r.rest, 0, out);
}

void text_of(const value& v, std::string& out) {
  out.clear();
  if (v.k == value::kind::string) out = v.s;
  else if (v.k == value::kind::null || v.k == value::kind::missing) out = "null";
  else append_json(out, v);
}

bool check(const context& c, const condition& cond, value& tmp, std::string& text) {
  resolve(c, cond.src, tmp);
  switch (cond.o) {
    case condition::op::exists: return tmp.is_null_or_missing() != cond.exists_expected;
    case condition::op::truthy:
      if (tmp.is_null_or_missing()) return false;
      if (tmp.k == value::kind::boolean) return tmp.b;
      if (tmp.k == value::kind::string) return !tmp.s.empty();
      if (tmp.k == value::kind::integer) return tmp.i != 0;
      if (tmp.k == value::kind::number) return tmp.d != 0;
      return true;
    default: break;
  }
  text_of(tmp, text);
  bool any = false;
  for (const auto& o : cond.operands) any = any || o == text;
  return cond.o == condition::op::not_equals ? !any : any;
}

/// Computes one field into `out`; false with `err` filled on a rule violation (after the error policy).
bool eval_field(const context& c, const field_spec& f, value& out, std::string& text, record_error& err) {
  const bool empty_is_none = f.empty_always_none || !c.empty_string_is_value;
  if (f.when && !check(c, *f.when, out, text)) {
    out.set_missing();
    return true;
  }
  switch (f.src) {
    case field_spec::source_kind::constant: out = f.constant; break;
    case field_spec::source_kind::ref:
    case field_spec::source_kind::path:
      // One path and a coalesce of several read "" alike: no value (null) where "" is none, else a value.
      if (f.sources.size() == 1) {
        resolve(c, f.sources[0], out);
        if (empty_is_none) drop_empty(out);
      } else {
        bool saw_null = false;
        out.set_missing();
        for (const auto& s : f.sources) {
          resolve(c, s, out);
          if (empty_is_none) drop_empty(out);
          if (out.k == value::kind::null) saw_null = true;
          if (!out.is_null_or_missing()) break;
        }
        if (out.is_missing() && saw_null) out.set_null();
      }
      break;
    case field_spec::source_kind::templ: {
      std::string s;
      bool any_value = false, any_null = false;
      value tmp;
      for (const auto& part : f.parts) {
        if (!part.ref) {
          s += part.literal;
          continue;
        }
        resolve(c, *part.ref, tmp);
        if (empty_is_none) drop_empty(tmp);
        if (tmp.is_null_or_missing()) {
          any_null = any_null || tmp.k == value::kind::null;
          continue;
        }
        any_value = true;
        text_of(tmp, text);
        s += text;
      }
      if (any_value) out.set_string(s);
      else if (any_null) out.set_null();
      else out.set_missing();
      break;
    }
  }
  auto fail = [&](std::string rule, const value& offending) {
    if (f.error_policy == field_spec::on_error::null) {
      out.set_null();
      return true;
    }
    if (f.error_policy == field_spec::on_error::omit) {
      out.set_missing();
      return true;
    }
    err.line = f.line;
    err.target = f.target;
    err.source_path = f.source_text;
    err.value = preview(offending);
    err.rule = std::move(rule);
    return false;
  };
  if (out.is_null_or_missing()) {
    if (f.has_default) out = f.default_value;
  } else {
    for (std::size_t k = 0; k < f.transforms.size(); ++k) {
      if (out.is_null_or_missing()) break;
      text.clear();
      if (!f.transforms[k](out, text)) return fail("transform " + f.transform_names[k] + ": " + text, out);
      if (empty_is_none) drop_empty(out);  // `trim` of "  ": no value, later steps skip it
    }
    if (f.has_map && !out.is_null_or_missing()) {
      text_of(out, text);
      auto it = f.map.find(text);
      if (it != f.map.end()) out = it->second;
      else if (f.has_default) out = f.default_value;
      else return fail("map: value has no entry in the map and there is no default", out);
    }
    if (empty_is_none) drop_empty(out);  // e.g. trim of "  "
    if (out.is_null_or_missing() && f.has_default) out = f.default_value;
  }
  if (!f.field_type.empty() && !coerce(out, f.field_type, text)) return fail("type " + f.field_type + ": " + text, out);
  if (!f.target_type.empty() && !coerce(out, f.target_type, text))
    return fail("type " + f.target_type + ": " + text, out);
  if (f.required && out.is_null_or_missing()) return fail("required: no value", out);
  if (f.max_length > 0 && out.k == value::kind::string && code_points(out.s) > f.max_length)
    return fail("longer than the destination allows (max_length " + std::to_string(f.max_length) + ")", out);
  return true;
}

}  // namespace

const mapped_record* evaluator::apply(std::string_view json, record_error& error) {
  st_->padded.assign(json.data(), json.size());
  st_->padded.append(simdjson::SIMDJSON_PADDING, ' ');
  return apply(st_->padded.data(), json.size(), st_->padded.size(), error);
}

const mapped_record* evaluator::apply(const char* data, std::size_t size, std::size_t capacity, record_error& error) {
  const plan_impl& p = plan_->impl();
  state& st = *st_;
  // Reset field by field: keeps the strings' capacity, so the hot path does not allocate.
  error.file.assign(p.file);
  error.line = 0;
  error.target.clear();
  error.source_path.clear();
  error.value.clear();
  error.rule.clear();
  error.bad_input = false;
  for (auto& s : st.slots) s.set_missing();
  auto bad_input = [&](const char* what, simdjson::error_code e) -> const mapped_record* {
    error.bad_input = true;
    error.rule = std::string(what) + (e != simdjson::SUCCESS ? std::string(": ") + simdjson::error_message(e) : "");
    return nullptr;
  };
  od::document doc;
  if (auto e = st.parser.iterate(data, size, capacity).get(doc)) return bad_input("not JSON", e);
  od::json_type t;
  if (auto e = doc.type().get(t)) return bad_input("not JSON", e);
  if (t != od::json_type::object) return bad_input("record is not a JSON object", simdjson::SUCCESS);
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return bad_input("not JSON", e);
  if (auto e = extract(obj, p.root, st.slots, 0)) return bad_input("not JSON", e);
  {
    const char* rest = nullptr;  // anything after the object (a second value, garbage) is bad input
    if (doc.current_location().get(rest) == simdjson::SUCCESS)
      return bad_input("not JSON: content after the record", simdjson::SUCCESS);
  }

  mapped_record& rec = st.record;
  context c{p, st.slots, rec.fields, options_.empty_string_is_value};
  for (auto& f : rec.fields) f.set_missing();
  for (int k : p.order) {
    const auto& f = p.fields[static_cast<std::size_t>(k)];
    if (!eval_field(c, f, rec.fields[static_cast<std::size_t>(k)], st.text, error)) return nullptr;
  }
  rec.events.clear();
  for (const auto& ev : p.events) {
    if (ev.when && !check(c, *ev.when, st.scratch, st.text)) continue;
    timeline_event out;
    out.type = ev.type;
    value id;
    if (!eval_field(c, ev.id, id, st.text, error)) return nullptr;
    if (id.is_null_or_missing()) continue;  // no subject: nothing to record
    std::string id_text;
    text_of(id, id_text);
    out.subject = p.system + ":" + p.object + ":" + id_text;
    if (!eval_field(c, ev.occurred_at, out.occurred_at, st.text, error)) return nullptr;
    if (ev.has_amount && !eval_field(c, ev.amount, out.amount, st.text, error)) return nullptr;
    if (ev.has_currency && !eval_field(c, ev.currency, out.currency, st.text, error)) return nullptr;
    if (ev.has_status && !eval_field(c, ev.status, out.status, st.text, error)) return nullptr;
    if (ev.has_score && !eval_field(c, ev.score, out.score, st.text, error)) return nullptr;
    for (const auto& [attr, f] : ev.person) {
      value v;
      if (!eval_field(c, f, v, st.text, error)) return nullptr;
      if (!v.is_null_or_missing()) out.person.emplace_back(attr, std::move(v));
    }
    if (out.person.empty()) continue;  // linked to nobody: nothing to put on a timeline
    rec.events.push_back(std::move(out));
  }
  return &rec;
}

namespace {

bool append_level(std::string& out, const std::vector<output_node>& level, const std::vector<value>& fields) {
  bool first = true;
  for (const auto& node : level) {
    if (node.field >= 0) {
      const value& v = fields[static_cast<std::size_t>(node.field)];
      if (v.is_missing()) continue;
      out += first ? "" : ",";
      append_json_string(out, node.key);
      out += ':';
      append_json(out, v);
      first = false;
    } else {
      const std::size_t mark = out.size();
      out += first ? "" : ",";
      append_json_string(out, node.key);
      out += ":{";
      if (append_level(out, node.children, fields)) {
        out += '}';
        first = false;
      } else {
        out.resize(mark);  // every child missing: leave the object out
      }
    }
  }
  return !first;
}

}  // namespace

void mapped_record::append_json(const plan& p, std::string& out) const {
  out += '{';
  const bool any = append_level(out, p.impl().output, fields);
  if (!p.impl().events.empty()) {
    out += any ? ",\"_events\":[" : "\"_events\":[";
    for (std::size_t k = 0; k < events.size(); ++k) {
      const auto& e = events[k];
      if (k) out += ',';
      out += "{\"type\":";
      append_json_string(out, e.type);
      out += ",\"occurred_at\":";
      mapping::append_json(out, e.occurred_at);
      out += ",\"subject\":";
      append_json_string(out, e.subject);
      out += ",\"person\":{";
      for (std::size_t j = 0; j < e.person.size(); ++j) {
        if (j) out += ',';
        append_json_string(out, e.person[j].first);
        out += ':';
        mapping::append_json(out, e.person[j].second);
      }
      out += '}';
      const std::pair<const char*, const value*> opt[] = {
          {"amount", &e.amount}, {"currency", &e.currency}, {"status", &e.status}, {"score", &e.score}};
      for (const auto& [name, v] : opt) {
        if (v->is_missing()) continue;
        out += ",\"";
        out += name;
        out += "\":";
        mapping::append_json(out, *v);
      }
      out += '}';
    }
    out += ']';
  }
  out += '}';
}

std::vector<std::pair<std::string, const value*>> mapped_record::identity_keys(const plan& p) const {
  std::vector<std::pair<std::string, const value*>> out;
  const auto& impl = p.impl();
  for (std::size_t k = 0; k < impl.identity.size(); ++k) {
    const value& v = fields[static_cast<std::size_t>(impl.identity_fields[k])];
    if (!v.is_null_or_missing()) out.emplace_back(impl.identity[k], &v);
  }
  return out;
}

}  // namespace omnisync::mapping
