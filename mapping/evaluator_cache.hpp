#pragma once
/// Evaluators by plan, for a loop that applies many plans: an evaluator owns scratch buffers, so each loop keeps
/// its own (evaluators are not thread-safe). A plan replaced by a reload gets a new evaluator.
#include <map>
#include <memory>

#include "mapping/mapping.hpp"

namespace omnisync::mapping {

class evaluator_cache {
 public:
  evaluator& get(const std::shared_ptr<const plan>& p) {
    auto& e = by_plan_[p.get()];
    if (!e || &e->mapping_plan() != p.get()) e = std::make_unique<evaluator>(p);
    return *e;
  }

 private:
  std::map<const plan*, std::unique_ptr<evaluator>> by_plan_;
};

}  // namespace omnisync::mapping
