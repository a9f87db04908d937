// Mapping compiler, layout: `@target` references resolved into an evaluation order (cycles reported), the
// extraction trie (leading keys of every path -> slot) and the output layout (dotted targets nest).
#include <algorithm>
#include <set>

#include "mapping/compiler.hpp"

namespace omnisync::mapping {

// Collects every source_ref of the plan.
void for_each_ref(plan_impl& p, const std::function<void(source_ref&)>& fn) {
  auto field = [&](field_spec& f) {
    for (auto& r : f.sources) fn(r);
    for (auto& part : f.parts)
      if (part.ref) fn(*part.ref);
    if (f.when) fn(f.when->src);
  };
  for (auto& f : p.fields) field(f);
  for (auto& e : p.events) {
    for (field_spec* f : {&e.id, &e.occurred_at, &e.amount, &e.currency, &e.status, &e.score}) field(*f);
    for (auto& [a, f] : e.person) field(f);
    if (e.when) fn(e.when->src);
  }
}

void compiler::order_fields(plan_impl& p) {
  // Resolve @target references, then a depth-first topological order; a cycle is reported once per field in it.
  const int n = static_cast<int>(p.fields.size());
  std::vector<std::vector<int>> deps(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    auto& f = p.fields[static_cast<std::size_t>(k)];
    auto visit = [&](source_ref& r) {
      if (r.ref_field != -2) return;
      auto it = target_index_.find(r.keys.empty() ? "" : r.keys[0]);
      if (it == target_index_.end()) {
        diags_.add(config::location{file_, f.line, 0}, "fields." + f.target,
                   "reference \"" + r.text + "\" names no field of this mapping");
        r.ref_field = -1;
        return;
      }
      r.ref_field = it->second;
      r.keys.clear();
      deps[static_cast<std::size_t>(k)].push_back(it->second);
    };
    for (auto& r : f.sources) visit(r);
    for (auto& part : f.parts)
      if (part.ref) visit(*part.ref);
    if (f.when) visit(f.when->src);
  }
  // Event sources may reference fields too (computed before events).
  for_each_ref(p, [&](source_ref& r) {
    if (r.ref_field != -2) return;
    auto it = target_index_.find(r.keys.empty() ? "" : r.keys[0]);
    r.ref_field = it == target_index_.end() ? -1 : it->second;
    r.keys.clear();
  });
  std::vector<int> state(static_cast<std::size_t>(n), 0);  // 0 new, 1 visiting, 2 done
  std::vector<int> stack;
  std::set<int> reported;
  std::function<void(int)> dfs = [&](int k) {
    state[static_cast<std::size_t>(k)] = 1;
    stack.push_back(k);
    for (int d : deps[static_cast<std::size_t>(k)]) {
      if (state[static_cast<std::size_t>(d)] == 1) {
        auto from = std::find(stack.begin(), stack.end(), d);
        std::string cycle;
        for (auto it = from; it != stack.end(); ++it) cycle += p.fields[static_cast<std::size_t>(*it)].target + " -> ";
        cycle += p.fields[static_cast<std::size_t>(d)].target;
        if (reported.insert(d).second)
          diags_.add(config::location{file_, p.fields[static_cast<std::size_t>(d)].line, 0},
                     "fields." + p.fields[static_cast<std::size_t>(d)].target, "cycle: " + cycle);
      } else if (state[static_cast<std::size_t>(d)] == 0) {
        dfs(d);
      }
    }
    stack.pop_back();
    state[static_cast<std::size_t>(k)] = 2;
    p.order.push_back(k);
  };
  for (int k = 0; k < n; ++k)
    if (state[static_cast<std::size_t>(k)] == 0) dfs(k);
}

void compiler::finalize(plan_impl& p) {
  // Extraction prefixes: a path whose leading keys extend another extracted path reads below that one's value.
  std::set<std::vector<std::string>> prefixes;
  for_each_ref(p, [&](source_ref& r) {
    if (r.ref_field < 0 && !r.keys.empty()) prefixes.insert(r.keys);
  });
  std::map<std::vector<std::string>, int> slots;
  for (const auto& pre : prefixes) {
    bool covered = false;
    for (std::size_t len = 1; len < pre.size() && !covered; ++len)
      covered = prefixes.count(std::vector<std::string>(pre.begin(), pre.begin() + static_cast<long>(len))) > 0;
    if (covered) continue;
    const int slot = p.slot_count++;
    slots[pre] = slot;
    trie_node* node = &p.root;
    for (const auto& k : pre) {
      auto it = std::find_if(node->children.begin(), node->children.end(), [&](const trie_node& c) { return c.key == k; });
      if (it == node->children.end()) {
        node->children.push_back(trie_node{k, -1, {}});
        node = &node->children.back();
      } else {
        node = &*it;
      }
    }
    node->slot = slot;
  }
  for_each_ref(p, [&](source_ref& r) {
    if (r.ref_field >= 0 || r.keys.empty()) return;
    for (std::size_t len = 1; len <= r.keys.size(); ++len) {
      auto it = slots.find(std::vector<std::string>(r.keys.begin(), r.keys.begin() + static_cast<long>(len)));
      if (it == slots.end()) continue;
      r.slot = it->second;
      std::vector<path_step> rest;
      for (std::size_t k = len; k < r.keys.size(); ++k) {
        path_step s;
        s.key = r.keys[k];
        rest.push_back(std::move(s));
      }
      rest.insert(rest.end(), r.rest.begin(), r.rest.end());
      r.rest = std::move(rest);
      break;
    }
  });
  // Output layout: dotted targets nest.
  for (std::size_t k = 0; k < p.fields.size(); ++k) {
    std::vector<std::string> parts;
    std::string_view t = p.fields[k].target;
    std::size_t start = 0;
    while (true) {
      auto dot = t.find('.', start);
      parts.emplace_back(t.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    std::vector<output_node>* level = &p.output;
    for (std::size_t j = 0; j < parts.size(); ++j) {
      auto it = std::find_if(level->begin(), level->end(), [&](const output_node& o) { return o.key == parts[j]; });
      const bool last = j + 1 == parts.size();
      if (it == level->end()) {
        level->push_back(output_node{parts[j], last ? static_cast<int>(k) : -1, {}});
        it = level->end() - 1;
      } else if (last || it->field >= 0) {
        diags_.add(config::location{file_, p.fields[k].line, 0}, "fields." + p.fields[k].target,
                   "duplicate target: \"" + p.fields[k].target + "\" overlaps another field's target");
        break;
      }
      level = &it->children;
    }
  }
}

}  // namespace omnisync::mapping
