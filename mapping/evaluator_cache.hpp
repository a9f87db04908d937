#pragma once
/// Evaluators by plan, for a loop that applies many plans: an evaluator owns scratch buffers, so each loop keeps
/// its own (evaluators are not thread-safe). A plan replaced by a reload gets a new evaluator; two connectors of
/// one kind with different `empty_strings` settings get one each.
#include <map>
#include <memory>

#include "mapping/mapping.hpp"

namespace omnisync::mapping {

class evaluator_cache {
 public:
  evaluator& get(const std::shared_ptr<const plan>& p, evaluate_options options = {}) {
    auto& e = by_plan_[{p.get(), options.empty_string_is_value}];
    if (!e || &e->mapping_plan() != p.get()) e = std::make_unique<evaluator>(p, options);
    return *e;
  }

 private:
  std::map<std::pair<const plan*, bool>, std::unique_ptr<evaluator>> by_plan_;
};

}  // namespace omnisync::mapping
