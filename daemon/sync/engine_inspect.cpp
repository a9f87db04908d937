// engine::map_stored: one stored record mapped again with the current inbound mapping, for the record inspector
// (`record show`). Nothing is stored or propagated: a fresh evaluator, no book, no outbox.
#include "daemon/sync/engine_parts.hpp"

namespace omnisync::sync {

omnisync::result<engine::mapped_preview> engine::map_stored(const std::string& connector, const std::string& object,
                                                           const std::string& payload) const {
  const auto* c = parts_->ctx.find(connector);
  if (!c) return make_error_code(errc::not_found);
  mapped_preview out;
  auto plan = parts_->ctx.current_plans()->inbound(c->cfg.kind, object);
  if (!plan) return out;
  out.has_mapping = true;
  out.mapping_file = plan->file();
  mapping::evaluator ev(plan, mapping::evaluate_options{c->cfg.empty_string_is_value});
  mapping::record_error err;
  if (const auto* m = ev.apply(payload, err))
    out.mapped_json = m->to_json(*plan);
  else
    out.error = err.format();
  return out;
}

}  // namespace omnisync::sync
