#include "daemon/sync/pipeline.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "daemon/profile/from_mapping.hpp"
#include "daemon/profile/value_json.hpp"

namespace omnisync::sync::detail {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

/// Member by member: objects in both are merged (HubSpot's partial pages carry `properties` with just the
/// fields read), everything else in `patch` replaces what `base` has.
void merge_into(json::object& base, const json::object& patch) {
  for (const auto& kv : patch) {
    auto* mine = base.if_contains(kv.key());
    if (mine && mine->is_object() && kv.value().is_object()) merge_into(mine->as_object(), kv.value().as_object());
    else base[kv.key()] = kv.value();
  }
}

/// Merges `patch` into `base` (both JSON objects) member by member; `base` when either is not one.
std::string merge_json(const std::string& base, const std::string& patch) {
  boost::system::error_code ec1, ec2;
  auto b = json::parse(base, ec1);
  auto p = json::parse(patch, ec2);
  if (ec1 || ec2 || !b.is_object() || !p.is_object()) return base;
  merge_into(b.as_object(), p.as_object());
  return json::serialize(b);
}

std::string splits_json(const std::vector<profile::link_ref>& splits) {
  json::array a;
  for (const auto& l : splits)
    a.push_back(json::object{{"system", l.record.system}, {"object", l.record.object}, {"id", l.record.id},
                             {"attribute", l.attribute}, {"value", l.value}});
  return json::serialize(a);
}

std::vector<profile::link_ref> parse_splits(const std::string& text) {
  std::vector<profile::link_ref> out;
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& x : v.as_array()) {
    if (!x.is_object()) continue;
    auto str = [&](const char* k) {
      const auto* f = x.as_object().if_contains(k);
      return f && f->is_string() ? std::string(f->as_string()) : std::string();
    };
    out.push_back(profile::link_ref{profile::record_ref{str("system"), str("object"), str("id")}, str("attribute"),
                                    str("value")});
  }
  return out;
}

store::outbox_write to_outbox(profile::planned_write&& w) {
  store::outbox_write o(std::move(w.connector), std::move(w.object), std::move(w.record_key), std::move(w.payload));
  o.target_id = std::move(w.target_id);
  o.force = w.force;
  return o;
}

}  // namespace

pipeline::pipeline(context& ctx) : ctx_(ctx), order_(ctx.ex) {}

void pipeline::set_rules(std::shared_ptr<const profile::settings> configured) {
  if (!configured) return;
  {
    std::lock_guard lk(book_mu_);
    configured_rules_ = std::move(configured);
  }
  request_rebuild();
}

profile::kpi_rules pipeline::kpi_rules() const {
  std::lock_guard lk(book_mu_);
  return configured_rules_->kpis;
}

std::shared_ptr<const profile::settings> pipeline::effective_rules() const {
  std::shared_ptr<profile::settings> s;
  {
    std::lock_guard lk(book_mu_);
    s = std::make_shared<profile::settings>(*configured_rules_);
  }
  auto ps = ctx_.current_plans();
  for (auto* c : ctx_.list())
    for (const auto& p : ps->all)
      if (p->direction() == mapping::direction::inbound && p->system() == c->cfg.kind)
        for (const auto& problem : s->survivorship.apply_hints(c->cfg.name, p->hints()))
          spdlog::warn("survivorship: {}: {}", p->file(), problem);
  return s;
}

profile::destination pipeline::destination_of(const connector_state& c) const {
  const connector_state* cp = &c;
  profile::destination d;
  d.connector = c.cfg.name;
  d.kind = c.cfg.kind;
  d.may_create = [cp](std::string_view object) {
    auto* os = const_cast<connector_state*>(cp)->find(object);
    return !os || os->caught_up.load();
  };
  d.upsert_matches = [cp](std::string_view object) { return cp->adapter->upsert_matches(object); };
  d.nulls = c.nulls;
  if (!c.fields_allow.empty() || !c.fields_deny.empty())
    d.may_receive = [cp](std::string_view attribute) {
      auto listed = [attribute](const std::vector<std::string>& l) {
        return std::find(l.begin(), l.end(), attribute) != l.end();
      };
      return cp->fields_allow.empty() ? !listed(cp->fields_deny) : listed(cp->fields_allow);
    };
  return d;
}

std::vector<store::outbox_write> pipeline::propagate(const std::set<profile::profile_id>& affected,
                                                     mapping::evaluator_cache& evals, const connector_state* only,
                                                     std::string_view only_object) {
  std::vector<profile::destination> dsts;
  const profile::destination* only_dst = nullptr;
  for (auto* c : ctx_.list())
    if (c->cfg.enabled && c->writable) dsts.push_back(destination_of(*c));
  if (only)
    for (const auto& d : dsts)
      if (d.connector == only->cfg.name) only_dst = &d;
  if (only && !only_dst) return {};
  auto planned = propagator_.writes(*book_, ctx_.current_plans()->outbound, dsts, affected, evals, only_dst, only_object);
  std::vector<store::outbox_write> out;
  out.reserve(planned.size());
  for (auto& w : planned) {
    // The profile the write is for: the writer computes what to send from it when it sends.
    std::string pid;
    if (!w.target_id.empty()) {
      if (auto p = book_->find(w.connector + ":" + w.object + ":" + w.target_id)) pid = p->str();
    } else if (auto p = book_->find(w.record_key)) {
      pid = p->str();
    }
    auto o = to_outbox(std::move(w));
    o.profile_id = std::move(pid);
    out.push_back(std::move(o));
  }
  return out;
}

void pipeline::take_announcement(const connector_state& src, const std::string& object, const store::source_record& r,
                                 const adapters::event_records::announcement& a, const mapping::plan& in,
                                 mapping::evaluator& ev, std::set<profile::profile_id>& affected) {
  // The attributes whose values differ between the record as read and the record with the announced fields:
  // those the event speaks of, with the event's values and time.
  mapping::record_error err;
  const auto* read = ev.apply(r.payload, err);
  if (!read) return;
  const auto as_read = profile::attributes_of(in, *read);
  const auto* told = ev.apply(merge_json(r.payload, a.payload), err);
  if (!told) return;
  std::vector<profile::announced_value> values;
  for (const auto& [name, v] : profile::attributes_of(in, *told)) {
    auto it = std::find_if(as_read.begin(), as_read.end(), [&](const auto& x) { return x.first == name; });
    std::string before, after;
    if (it != as_read.end()) mapping::append_json(before, it->second);
    mapping::append_json(after, v);
    if (it != as_read.end() && before == after) continue;
    values.push_back(profile::announced_value{name, v, a.at});
  }
  if (!values.empty()) book_->announce(src.cfg.name, object, r.id, values, affected);
}

void pipeline::process(const connector_state& src, const std::string& object, std::vector<store::source_record>& recs,
                       mapping::evaluator_cache& evals, processed& out, std::int64_t& failures,
                       const std::vector<adapters::event_records::announcement>& announced, bool every_profile,
                       std::int64_t run) {
  auto in = ctx_.current_plans()->inbound(src.cfg.kind, object);
  const auto now = ctx_.now();
  std::lock_guard lk(book_mu_);
  for (auto& r : recs) {
    auto seen = book_->first_seen(src.cfg.name, object, r.id);
    r.first_seen = seen ? timestamp(std::chrono::milliseconds(*seen)) : now;
  }
  if (!in) return;  // nothing maps this object: stored for later, nothing to propagate
  auto& ev = evals.get(in, mapping::evaluate_options{src.cfg.empty_string_is_value});
  mapping::record_error err;
  std::set<profile::profile_id> affected;
  const bool segments = !ctx_.segs.get()->empty();
  facts_before before;  // for evaluating only the segments a change touches (segments_runtime.cpp)
  for (auto& r : recs) {
    const profile::record_meta meta(src.cfg.name, object, r.id, r.first_seen.time_since_epoch().count(),
                                    r.source_updated_at.time_since_epoch().count(), r.deleted);
    const mapping::mapped_record* m = ev.apply(r.payload, err);
    if (!m && !r.deleted) {
      ++failures;
      out.failures.emplace_back(store::retry_target::none, src.cfg.name, object, r.id, std::string(), "mapping",
                                err.format(), r.payload, std::string("{}"));
      continue;
    }
    if (m) out.mapped.push_back(r.id);
    if (segments && !every_profile) note_before(src.cfg.name, object, r.id, m, affected, before);
    book_->apply(meta, *in, m, affected);
    if (!r.deleted)
      for (const auto& a : announced)
        if (a.object == object && a.id == r.id) take_announcement(src, object, r, a, *in, ev, affected);
    // Stored with the record: what the book decided about it, so a rebuild decides the same.
    r.facts = book_->facts(src.cfg.name, object, r.id);
    // A remap: the profile holding the record is written out even when the book saw no change (a rebuild after
    // the mapping changed has already taken the new values in; the destinations have not had them yet).
    if (every_profile)
      if (auto pid = book_->find(profile::record_key(src.cfg.name, object, r.id))) affected.insert(*pid);
  }
  out.writes = propagate(affected, evals);
  out.history = history_.changes(*book_, affected, src.cfg.name, object, recs, run, now);
  if (segments) segment_verdicts(affected, every_profile ? nullptr : &before, now.time_since_epoch().count(), out);
}

asio::awaitable<omnisync::result<store::enqueue_summary>> pipeline::enqueue(std::vector<store::outbox_write> writes) {
  std::vector<doorbell*> bells;
  for (const auto& w : writes)
    if (auto* c = ctx_.find(w.connector); c && std::find(bells.begin(), bells.end(), &c->outbox_bell) == bells.end())
      bells.push_back(&c->outbox_bell);
  auto q = co_await ctx_.db.outbox_enqueue(std::move(writes), ctx_.pipeline_fence());
  if (q)
    for (auto* b : bells) b->notify();
  co_return q;
}

asio::awaitable<omnisync::result<store::append_summary>> pipeline::store_records(
    connector_state& c, const std::string& object, std::vector<store::source_record> recs,
    std::optional<std::string> cursor, bool partial, mapping::evaluator_cache& evals, object_state* os,
    std::vector<adapters::event_records::announcement> announced, page_tally* tally) {
  while (!ready_.load()) co_await ctx_.clk.sleep_for(std::chrono::milliseconds(20));  // the book loads first
  if (partial) {
    // A partial record (resync --fields) is merged into the stored copy — unless it changed upstream since that
    // copy was read (a newer stamp): merged, it would be a hybrid of new and old fields whose golden values,
    // written back, revert the change. Those are read whole instead.
    std::vector<store::source_record> merged;
    std::vector<std::string> changed;
    for (auto& r : recs) {
      auto got = co_await ctx_.db.record_get(c.cfg.name, object, r.id);
      if (!got) co_return got.error();
      if (!*got) continue;  // not stored yet: the regular poll brings it complete
      if (r.source_updated_at > (*got)->source_updated_at) {
        changed.push_back(r.id);
        continue;
      }
      merged.emplace_back(r.id, merge_json((*got)->payload, r.payload), (*got)->source_updated_at, (*got)->deleted);
    }
    if (!changed.empty()) {
      auto whole = co_await c.adapter->fetch(object, std::move(changed));
      if (!whole) co_return whole.error();
      for (auto& w : *whole) merged.push_back(std::move(w));
    }
    recs = std::move(merged);
  }
  auto turn = co_await order_.acquire();
  for (const auto& r : recs) ctx_.echoes.taken_in(c.cfg.name, object, r.id, r.payload);  // echoes.hpp
  processed out;
  std::int64_t failures = 0;
  process(c, object, recs, evals, out, failures, announced, false, tally ? tally->run : 0);
  for (auto& f : out.failures) {
    auto added = co_await ctx_.db.dead_letter_add(std::move(f));
    if (!added) co_return added.error();
    if (ctx_.m.dead_letters) ctx_.m.dead_letters->with({c.cfg.name, "mapping"}).inc();
    ctx_.letters.added(c.cfg.name, object, "mapping");
  }
  // Mapped now: an open mapping dead letter of such a record (from before a mapping fix) is resolved.
  const auto mapped = static_cast<std::int64_t>(out.mapped.size());
  co_await ctx_.letters.succeeded(ctx_.db, ctx_.clk, c.cfg.name, object, "mapping", std::move(out.mapped));
  auto segs = co_await apply_segments(out, "\"source\":\"" + c.cfg.name + "/" + object + "\"");  // adds membership writes
  if (!segs) co_return segs.error();
  // A write equal to what was last written to that record is skipped by the store: the echo of omnisync's own
  // write (read back by a poll or a webhook) recomputes the same golden values and so writes nothing.
  if (!out.writes.empty()) {
    if (tally)
      for (auto& w : out.writes) w.run = tally->run;
    auto q = co_await enqueue(std::move(out.writes));
    if (!q) co_return q.error();
    if (tally)
      for (const auto& [dest, n] : q->queued_per_connector) tally->queued[dest] += static_cast<std::int64_t>(n);
    log_with(spdlog::level::debug, fields_of(c, object),
             "{} {} page: {} write(s) queued, {} replacing pending ones, {} equal to what the destination last got "
             "(skipped)", c.cfg.name, object, q->inserted, q->coalesced, q->unchanged);
  }
  timestamp newest{};
  std::vector<std::string> read_ids;
  read_ids.reserve(recs.size());
  for (const auto& r : recs) {
    newest = std::max(newest, r.source_updated_at);
    read_ids.push_back(r.id);
  }
  const auto n = static_cast<std::int64_t>(recs.size());
  store::record_batch batch(c.cfg.name, object, std::move(recs), std::move(cursor), ctx_.pipeline_fence());
  batch.history = out.history;  // stage/KPI changes and segment transitions commit with the page
  auto sum = co_await ctx_.db.append_records(std::move(batch));
  if (!sum) co_return sum.error();
  history_stored(out.history);
  // Read and stored: a webhook event about one of these records that could not be parsed is resolved (the
  // record's current state is here now). The resolver skips the store while nothing is open.
  co_await ctx_.letters.succeeded(ctx_.db, ctx_.clk, c.cfg.name, object, "parse", std::move(read_ids));
  if (ctx_.m.records_in) ctx_.m.records_in->with({c.cfg.name, object}).inc(static_cast<double>(n));
  if (tally) {
    tally->counts.read += n;
    tally->counts.stored += static_cast<std::int64_t>(sum->written);
    tally->counts.mapped += mapped;
    tally->counts.failed += failures;
  }
  if (os) {
    std::lock_guard lk(ctx_.mu);
    os->st.records_read += n;
    os->st.records_stored += static_cast<std::int64_t>(sum->written);
    os->st.mapping_failures += failures;
    if (newest > os->st.newest_source_update) os->st.newest_source_update = newest;
    if (os->st.resync_running) {
      os->st.resync_read += n;
      os->st.resync_stored += static_cast<std::int64_t>(sum->written);
    }
  }
  co_return *sum;
}

asio::awaitable<void> pipeline::caught_up(connector_state& c, std::string object) {
  if (!c.writable || !c.cfg.enabled) co_return;
  auto turn = co_await order_.acquire();
  mapping::evaluator_cache evals;
  std::vector<store::outbox_write> writes;
  {
    std::lock_guard lk(book_mu_);
    const auto all = book_->profiles();
    writes = propagate(std::set<profile::profile_id>(all.begin(), all.end()), evals, &c, object);
  }
  if (writes.empty()) co_return;
  const auto n = writes.size();
  auto q = co_await enqueue(std::move(writes));
  if (!q) {
    auto fields = fields_of(c, object);
    const auto code = error_code_name(q.error());
    fields.error = code;
    log_with(spdlog::level::err, fields, "{}: queueing writes after the first read of {} failed: {}", c.cfg.name,
             object, q.error().message());
    if (auto* os = c.find(object)) os->caught_up = false;  // tried again after the next full page
    co_return;
  }
  spdlog::info("{}: {} read once: {} profile write(s) queued ({} unchanged)", c.cfg.name, object, n, q->unchanged);
}

asio::awaitable<omnisync::result<std::size_t>> pipeline::split(profile::link_ref link, bool restore) {
  auto turn = co_await order_.acquire();
  mapping::evaluator_cache evals;
  std::vector<store::outbox_write> writes;
  std::string splits;
  bool ok = false;
  {
    std::lock_guard lk(book_mu_);
    std::set<profile::profile_id> affected;
    ok = restore ? book_->restore(link, affected) : book_->split(link, affected);
    if (ok) {
      writes = propagate(affected, evals);
      splits = splits_json(book_->splits());
    }
  }
  if (!ok) co_return make_error_code(errc::not_found);
  // The decision first (a rebuild replays it), then the writes it causes.
  auto saved = co_await ctx_.db.meta_set("profile.splits", splits);
  if (!saved) co_return saved.error();
  const std::size_t n = writes.size();
  if (!writes.empty()) {
    auto q = co_await enqueue(std::move(writes));
    if (!q) co_return q.error();
  }
  co_return n;
}

asio::awaitable<omnisync::result<recheck_count>> pipeline::recheck(connector_state& c, std::string object) {
  recheck_count out;
  out.connector = c.cfg.name;
  out.object = object;
  out.shadow = c.shadow.load();
  auto turn = co_await order_.acquire();
  mapping::evaluator_cache evals;
  std::vector<store::outbox_item> items;
  {
    std::lock_guard lk(book_mu_);
    const auto all = book_->profiles();
    for (auto& w : propagate(std::set<profile::profile_id>(all.begin(), all.end()), evals, &c, object)) {
      store::outbox_item it;
      it.write = std::move(w);
      items.push_back(std::move(it));
    }
  }
  out.checked = items.size();
  if (items.empty()) co_return out;
  std::vector<store::outbox_write> keys;
  keys.reserve(items.size());
  for (const auto& it : items) keys.push_back(it.write);
  auto last = co_await ctx_.db.outbox_last_written(std::move(keys));
  if (!last) co_return last.error();
  std::vector<store::outbox_write> differ;
  for (auto& prep : prepare(c, std::move(items), *last, evals, true)) {
    if (!prep.write) continue;
    if (prep.write->what == profile::computed_write::kind::create) ++out.creates;
    differ.push_back(std::move(prep.item.write));
  }
  out.to_write = differ.size();
  if (differ.empty()) co_return out;
  auto q = co_await enqueue(std::move(differ));
  if (!q) co_return q.error();
  co_return out;
}

asio::awaitable<void> pipeline::rebuild() {
  const auto wall0 = std::chrono::steady_clock::now();
  auto turn = co_await order_.acquire();
  auto rules = effective_rules();
  auto fresh = std::make_unique<profile::book>(rules);
  auto stored_splits = co_await ctx_.db.meta_get("profile.splits");
  if (stored_splits && *stored_splits)
    for (const auto& l : parse_splits(**stored_splits)) fresh->preload_split(l);
  mapping::evaluator_cache evals;
  auto ps = ctx_.current_plans();
  std::size_t n = 0;
  std::set<profile::profile_id> ignored;
  mapping::record_error err;
  for (auto* c : ctx_.list()) {
    for (auto& o : c->objects) {
      const std::string object = o->st.object;
      auto in = ps->inbound(c->cfg.kind, object);
      if (!in) continue;
      auto& ev = evals.get(in, mapping::evaluate_options{c->cfg.empty_string_is_value});
      std::string after;
      for (;;) {
        auto page = co_await ctx_.db.record_scan(c->cfg.name, object, after, 2000);
        if (!page) {
          spdlog::error("profiles: reading stored {} {} records failed: {}", c->cfg.name, object, page.error().message());
          break;
        }
        if (page->empty()) break;
        for (const auto& r : *page) {
          const mapping::mapped_record* m = ev.apply(r.payload, err);
          if (!m && !r.deleted) continue;  // dead-lettered when it arrived
          profile::record_meta meta(c->cfg.name, object, r.id, r.first_seen.time_since_epoch().count(),
                                    r.source_updated_at.time_since_epoch().count(), r.deleted);
          meta.replay = true;
          meta.stored_facts = r.facts;
          fresh->apply(meta, *in, m, ignored);
          ignored.clear();
          ++n;
        }
        after = page->back().id;
      }
    }
  }
  const std::size_t noted = co_await recall_writes(*fresh);
  const auto st = fresh->stats();
  {
    std::lock_guard lk(book_mu_);
    rules_ = rules;
    book_ = std::move(fresh);
  }
  if (noted) spdlog::debug("profiles: {} values written in the last minutes known as omnisync's own", noted);
  co_await history_after_rebuild();
  ready_ = true;
  ++generation_;
  spdlog::info("profiles: {} stored records resolved into {} profiles ({} interactions) in {:.2f} s", n, st.profiles,
               st.interaction_records, std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count());
}

std::string pipeline::in_flight_key(std::string_view connector) {
  return "writes.in_flight." + std::string(connector);
}

std::string pipeline::in_flight_notes(const prepared& p) {
  if (!p.write || p.write->what != profile::computed_write::kind::update || p.item.write.target_id.empty()) return {};
  std::string out;
  for (const auto& fc : p.write->changes) {
    if (!fc.golden || fc.attribute.empty() || fc.source_ts == 0) continue;
    if (!out.empty()) out += ',';
    out += json::serialize(json::object{{"o", p.item.write.object}, {"r", p.item.write.target_id},
                                        {"a", fc.attribute}, {"v", profile::to_json(*fc.golden)}, {"t", fc.source_ts}});
  }
  return out;
}

asio::awaitable<std::size_t> pipeline::recall_writes(profile::book& b) {
  // What this or another instance wrote recently, from the audit log: the echoes of those writes may still be on
  // their way (an instance that took the pipeline over, or restarted, has no notes of its own).
  store::audit_filter f;
  f.since = ctx_.now() - recall_window;
  f.limit = 2000;
  std::vector<store::audit_entry> entries;
  for (;;) {
    auto page = co_await ctx_.db.audit_list(f);
    if (!page) {
      spdlog::warn("profiles: reading the audit log failed: {} (echoes of recent writes are judged by their values "
                   "alone)", page.error().message());
      break;
    }
    for (auto& e : page->items)
      if (e.outcome == "written" && !e.attribute.empty() && e.source_ts.time_since_epoch().count() > 0)
        entries.push_back(std::move(e));
    if (page->next_before_id == 0 || entries.size() >= recall_cap) break;
    f.before_id = page->next_before_id;
  }
  // Oldest first: the book keeps the last few values per attribute.
  std::size_t n = 0;
  for (auto* c : ctx_.list()) {  // what was in flight when the instance that wrote last stopped
    auto held = co_await ctx_.db.meta_get(in_flight_key(c->cfg.name));
    if (!held || !*held || (*held)->empty()) continue;
    boost::system::error_code ec;
    auto list = json::parse(**held, ec);
    if (ec || !list.is_array()) continue;
    for (const auto& x : list.as_array()) {
      const auto* o = x.if_object();
      if (!o || !o->contains("o") || !o->contains("r") || !o->contains("a") || !o->contains("v") || !o->contains("t") ||
          !o->at("o").is_string() || !o->at("r").is_string() || !o->at("a").is_string() || !o->at("t").is_int64())
        continue;
      const profile::announced_value w{std::string(o->at("a").as_string()), profile::from_json(o->at("v")),
                                       o->at("t").as_int64()};
      b.note_written(c->cfg.name, std::string(o->at("o").as_string()), std::string(o->at("r").as_string()),
                     std::span<const profile::announced_value>(&w, 1));
      ++n;
    }
  }
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    boost::system::error_code ec;
    auto v = json::parse(it->after, ec);
    if (ec) continue;
    const profile::announced_value w{it->attribute, profile::from_json(v), it->source_ts.time_since_epoch().count()};
    b.note_written(it->connector, it->object, it->record_id, std::span<const profile::announced_value>(&w, 1));
    ++n;
  }
  co_return n;
}

asio::awaitable<void> pipeline::loop() {
  for (;;) {
    if (ctx_.leading() && rebuild_requested_.exchange(false)) co_await rebuild();
    co_await ctx_.clk.sleep_for(std::chrono::milliseconds(ctx_.opt.cluster ? 50 : 200));
  }
}

std::optional<profile_report> pipeline::get(std::string_view query) const {
  std::lock_guard lk(book_mu_);
  auto pid = book_->find(query);
  if (!pid) return std::nullopt;
  auto v = book_->view(*pid);
  if (!v) return std::nullopt;
  profile_report r;
  r.view = std::move(*v);
  // The segment transitions are events of the timeline too (segment_entered / segment_exited, subject the key).
  if (auto seg = segment_events_of(pid->str()); !seg.empty()) {
    auto& t = r.view.timeline;
    t.insert(t.end(), seg.begin(), seg.end());
    std::stable_sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.occurred_at < b.occurred_at; });
  }
  r.why = book_->explain(*pid);
  return r;
}

std::optional<profile::profile_id> pipeline::find(std::string_view query) const {
  std::lock_guard lk(book_mu_);
  return book_->find(query);
}

std::vector<pipeline::prepared> pipeline::prepare(const connector_state& c, std::vector<store::outbox_item> items,
                                                  const std::vector<std::optional<std::string>>& last_written,
                                                  mapping::evaluator_cache& evals, bool preview) {
  std::vector<prepared> out;
  out.reserve(items.size());
  const auto dst = destination_of(c);
  auto plans = ctx_.current_plans();
  std::lock_guard lk(book_mu_);
  for (std::size_t i = 0; i < items.size(); ++i) {
    prepared p;
    p.item = std::move(items[i]);
    const auto& w = p.item.write;
    // The profile now: the one holding the record written to, else the one queued, else the upsert key's.
    std::optional<profile::profile_id> pid;
    if (!w.target_id.empty()) pid = book_->find(w.connector + ":" + w.object + ":" + w.target_id);
    if (!pid && !w.profile_id.empty())
      if (auto q = profile::profile_id::parse(w.profile_id); q && book_->contains(*q)) pid = q;
    if (!pid && w.target_id.empty()) pid = book_->find(w.record_key);
    if (pid) {
      p.profile_id = pid->str();
      const std::string last = i < last_written.size() && last_written[i] ? *last_written[i] : std::string();
      p.write = propagator_.compute(*book_, plans->outbound, dst, *pid, w.object, w.target_id, last, evals, preview);
    }
    out.push_back(std::move(p));
  }
  return out;
}

void pipeline::written(const prepared& p, const std::string& record_id) {
  if (!p.write || record_id.empty()) return;
  std::vector<profile::announced_value> values;
  for (const auto& fc : p.write->changes)
    if (fc.golden && !fc.attribute.empty() && fc.source_ts != 0)
      values.push_back(profile::announced_value{fc.attribute, *fc.golden, fc.source_ts});
  if (values.empty()) return;
  std::lock_guard lk(book_mu_);
  book_->note_written(p.item.write.connector, p.item.write.object, record_id, values);
}

profile::book_stats pipeline::stats() const {
  std::lock_guard lk(book_mu_);
  auto s = book_->stats();
  s.withheld_creates = propagator_.withheld_creates();
  s.withheld_reasons = propagator_.withheld_reasons();
  return s;
}

}  // namespace omnisync::sync::detail
