// Mapping values as Boost.JSON and back, and dotted paths as nested objects (value_json.hpp).
#include "daemon/profile/value_json.hpp"

#include <boost/json.hpp>

namespace omnisync::profile {
namespace json = boost::json;
using vkind = mapping::value::kind;

json::value to_json(const mapping::value& v) {
  switch (v.k) {
    case vkind::missing:
    case vkind::null: return nullptr;
    case vkind::boolean: return v.b;
    case vkind::integer: return v.i;
    case vkind::number: return v.d;
    case vkind::string: return json::string(v.s);
    case vkind::array: {
      json::array a;
      for (const auto& x : v.items) a.push_back(to_json(x));
      return a;
    }
    case vkind::object: {
      json::object o;
      for (std::size_t i = 0; i < v.items.size() && i < v.keys.size(); ++i) o[v.keys[i]] = to_json(v.items[i]);
      return o;
    }
  }
  return nullptr;
}

mapping::value from_json(const json::value& j) {
  mapping::value v;
  switch (j.kind()) {
    case json::kind::null: v.set_null(); break;
    case json::kind::bool_: v.set_bool(j.get_bool()); break;
    case json::kind::int64: v.set_int(j.get_int64()); break;
    case json::kind::uint64: v.set_int(static_cast<std::int64_t>(j.get_uint64())); break;
    case json::kind::double_: v.set_number(j.get_double()); break;
    case json::kind::string: v.set_string(std::string(j.get_string())); break;
    case json::kind::array:
      v.k = vkind::array;
      for (const auto& x : j.get_array()) v.items.push_back(from_json(x));
      break;
    case json::kind::object:
      v.k = vkind::object;
      for (const auto& kv : j.get_object()) {
        v.keys.emplace_back(kv.key());
        v.items.push_back(from_json(kv.value()));
      }
      break;
  }
  return v;
}


void put_path(json::object& root, std::string_view path, json::value v) {
  json::object* at = &root;
  for (;;) {
    auto dot = path.find('.');
    if (dot == std::string_view::npos) {
      (*at)[path] = std::move(v);
      return;
    }
    auto& next = (*at)[path.substr(0, dot)];
    if (!next.is_object()) next = json::object();
    at = &next.as_object();
    path.remove_prefix(dot + 1);
  }
}

}  // namespace omnisync::profile
