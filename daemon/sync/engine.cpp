#include "daemon/sync/engine.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "adapters/common/crypto.hpp"
#include "adapters/webhook.hpp"
#include "core/metrics.hpp"
#include "daemon/profile/book.hpp"
#include "mapping/mapping.hpp"
#include "mapping/plan_impl.hpp"

namespace omnisync::sync {
namespace asio = boost::asio;
namespace json = boost::json;
using store::timestamp;

std::string provisional_profile_id(std::string_view email) {
  std::string norm;
  for (char c : email)
    if (!std::isspace(static_cast<unsigned char>(c))) norm += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (norm.empty()) return {};
  return "p" + adapters::sha256_hex(norm).substr(0, 16);
}

namespace {

timestamp now_ms() { return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now()); }

asio::awaitable<void> sleep_for(milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::max(d, milliseconds(0)));
  co_await t.async_wait(asio::use_awaitable);
}

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

/// The payload of a write that deletes its record (`propagation.deletes: delete`).
constexpr std::string_view deleted_payload = "null";

/// How a destination record (as its own mapping reads it back) compares with a write to it.
enum class agreement {
  holds,    ///< every field of the write is there with the same value: nothing to write
  unknown,  ///< no field differs, but some are not read back (KPIs a system only receives): the store decides
  differs,  ///< a field read back holds another value: changed there since omnisync's last write
};

/// Compares `write` with `there` member by member (objects recursively; a null written to an absent field counts
/// as the same; numbers by value). `field` receives the name of the first field that differs.
agreement compare_value(const json::value& write, const json::value& there, std::string& field) {
  if (write.is_object() && there.is_object()) {
    agreement worst = agreement::holds;
    for (const auto& kv : write.as_object()) {
      const auto* other = there.as_object().if_contains(kv.key());
      if (!other) {
        if (!kv.value().is_null()) worst = agreement::unknown;
        continue;
      }
      const auto a = compare_value(kv.value(), *other, field);
      if (a == agreement::differs) {
        field.insert(0, field.empty() ? std::string(kv.key()) : std::string(kv.key()) + ".");
        return a;
      }
      if (a == agreement::unknown) worst = a;
    }
    return worst;
  }
  if (write.is_number() && there.is_number())
    return write.to_number<double>() == there.to_number<double>() ? agreement::holds : agreement::differs;
  return write == there ? agreement::holds : agreement::differs;
}

agreement compare(const std::string& write, const std::string& there, std::string& field) {
  boost::system::error_code e1, e2;
  auto a = json::parse(write, e1);
  auto b = json::parse(there, e2);
  if (e1 || e2) return agreement::unknown;
  return compare_value(a, b, field);
}

/// The corrections omnisync forced on destination records that held other values than it had written. Each
/// (record, payload) is forced once: a destination that keeps changing a value as it stores it (rounding,
/// truncation, a picklist that maps it) gets one correction, not a loop. A record read back agreeing with the
/// payload (on every field it reads back) is forgotten, so a later change made there is corrected again. Bounded: past `cap` entries the
/// memory starts over (at worst one more correction per record).
class correction_memory {
 public:
  /// Whether this payload may be forced on the record now (and remembers that it was).
  bool first_time(const store::outbox_write& w) {
    const auto k = key_of(w);
    const auto h = std::hash<std::string>{}(w.payload);
    auto it = forced_.find(k);
    if (it != forced_.end()) {
      if (it->second == h) return false;
      it->second = h;
      return true;
    }
    if (forced_.size() >= cap) forced_.clear();
    forced_.emplace(k, h);
    return true;
  }
  void forget(const store::outbox_write& w) { forced_.erase(key_of(w)); }

 private:
  static constexpr std::size_t cap = 100'000;
  static std::size_t key_of(const store::outbox_write& w) {
    std::string k;
    k.reserve(w.connector.size() + w.object.size() + w.target_id.size() + 2);
    k.append(w.connector).append(1, '\0').append(w.object).append(1, '\0').append(w.target_id);
    return std::hash<std::string>{}(k);
  }
  std::unordered_map<std::size_t, std::size_t> forced_;
};

/// Lets coroutines take turns through a section that contains co_awaits (an async mutex; FIFO by Asio's channel).
class turnstile {
 public:
  explicit turnstile(asio::any_io_executor ex) : ch_(std::move(ex), 1) {}
  class ticket {
   public:
    explicit ticket(turnstile* t) : t_(t) {}
    ticket(ticket&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
    ticket& operator=(ticket&&) = delete;
    ~ticket() { release(); }
    void release() {
      if (t_) std::exchange(t_, nullptr)->ch_.try_receive([](boost::system::error_code) {});
    }

   private:
    turnstile* t_;
  };
  asio::awaitable<ticket> acquire() {
    co_await ch_.async_send(boost::system::error_code(), asio::use_awaitable);
    co_return ticket(this);
  }

 private:
  asio::experimental::concurrent_channel<void(boost::system::error_code)> ch_;
};

/// A doorbell for a loop that otherwise looks at its queue every `queue_idle`: notify() (any thread, never
/// blocks) ends the current or next wait at once, so a stored webhook or a queued write is picked up in
/// microseconds rather than at the next look.
class doorbell {
 public:
  explicit doorbell(asio::any_io_executor ex) : ch_(std::move(ex), 1) {}
  void notify() { ch_.try_send(boost::system::error_code()); }
  asio::awaitable<void> wait(milliseconds at_most) {
    using namespace boost::asio::experimental::awaitable_operators;
    asio::steady_timer t(co_await asio::this_coro::executor, at_most);
    co_await (ch_.async_receive(asio::as_tuple(asio::use_awaitable)) || t.async_wait(asio::as_tuple(asio::use_awaitable)));
  }

 private:
  asio::experimental::concurrent_channel<void(boost::system::error_code)> ch_;
};

/// "250ms", "30s", "15m", "6h", "1d", "off"/"0"; `fallback` when empty or unreadable.
milliseconds parse_interval(const std::string& text, milliseconds fallback) {
  if (text.empty()) return fallback;
  if (text == "off" || text == "0") return milliseconds(0);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  const std::string unit(end ? end : "");
  double ms = -1;
  if (unit == "ms") ms = v;
  else if (unit == "s") ms = v * 1e3;
  else if (unit == "m" || unit == "min") ms = v * 60e3;
  else if (unit == "h") ms = v * 3600e3;
  else if (unit == "d") ms = v * 86400e3;
  if (ms < 0) {
    spdlog::warn("unreadable interval \"{}\" (use e.g. 30s, 15m, 6h); using the default", text);
    return fallback;
  }
  return milliseconds(static_cast<std::int64_t>(ms));
}

}  // namespace

/// `written` (what we last wrote to a record) and `read_back` (that record now, through its system's outbound
/// mapping) agree field by field.
bool agrees(const std::string& written, const std::string& read_back) {
  boost::system::error_code e1, e2;
  auto a = json::parse(written, e1);
  auto b = json::parse(read_back, e2);
  std::string field;
  return !e1 && !e2 && compare_value(a, b, field) != agreement::differs;  // fields not read back do not count
}

// ---- state -----------------------------------------------------------------------------------------------------

struct object_state {
  explicit object_state(std::string n) { st.object = std::move(n); }
  object_status st;                                   // guarded by impl::mu
  std::optional<resync_request> pending_resync;       // full / since: guarded by impl::mu
  std::vector<resync_request> pending_lookups;        // id / email: guarded by impl::mu
  std::atomic<bool> wake{false};
  /// The object was read to the end once since start-up: only then can a missing record there be created (before,
  /// the person may already be there, unread — a Salesforce upsert by our key would duplicate them).
  std::atomic<bool> caught_up{false};
};

struct connector_state {
  config::connector_common cfg;
  std::unique_ptr<adapters::connector> adapter;
  std::vector<std::unique_ptr<object_state>> objects;
  std::atomic<bool> paused{false};
  bool writable = true;                               // `sync: {write: false}` makes a connector read-only
  milliseconds reconcile_every{0};                    // `sync: {reconcile_interval: 6h}`; 0: off
  connector_status counters;                          // events/writes counters: guarded by impl::mu
  std::unique_ptr<doorbell> inbox_bell, outbox_bell;  // a webhook stored / a write queued for this connector
  int write_concurrency = 4;                          // `sync: {write_concurrency: 4}`: chunks in flight

  object_state* find(std::string_view object) {
    for (auto& o : objects)
      if (o->st.object == object) return o.get();
    return nullptr;
  }
};

/// Compiled mappings by (system, object, direction); replaced as a whole on reload.
struct plan_set {
  std::vector<std::shared_ptr<const mapping::plan>> all;
  std::shared_ptr<const mapping::plan> inbound(std::string_view system, std::string_view object) const {
    for (const auto& p : all)
      if (p->direction() == mapping::direction::inbound && p->system() == system && p->object() == object) return p;
    return nullptr;
  }
};

/// Evaluators are per loop (they own scratch buffers), keyed by plan.
struct evaluator_cache {
  std::map<const mapping::plan*, std::unique_ptr<mapping::evaluator>> by_plan;
  mapping::evaluator& get(const std::shared_ptr<const mapping::plan>& p) {
    auto& e = by_plan[p.get()];
    if (!e || &e->mapping_plan() != p.get()) e = std::make_unique<mapping::evaluator>(p);
    return *e;
  }
};

struct engine::impl {
  asio::any_io_executor ex;
  store::store& db;
  engine_options opt;
  mutable std::mutex mu;
  std::vector<std::unique_ptr<connector_state>> conns;
  std::shared_ptr<const plan_set> plans = std::make_shared<plan_set>();

  metrics::metric_family<metrics::metric_counter>* records_in = nullptr;
  metrics::metric_family<metrics::metric_counter>* writes_out = nullptr;
  metrics::metric_family<metrics::metric_counter>* dead_letters = nullptr;
  metrics::metric_family<metrics::metric_gauge>* lag = nullptr;
  metrics::metric_family<metrics::metric_gauge>* inbox_depth = nullptr;
  metrics::metric_family<metrics::metric_gauge>* outbox_depth = nullptr;
  metrics::metric_family<metrics::metric_gauge>* dead_letter_count = nullptr;
  metrics::metric_family<metrics::metric_histogram>* page_seconds = nullptr;

  // The 360 view: the profile book (derived from the stored records, rebuilt at start-up) and the turnstile that
  // keeps the book's changes and the outbox in one order.
  mutable std::mutex book_mu;
  std::shared_ptr<const profile::settings> profile_rules = std::make_shared<profile::settings>();
  std::unique_ptr<profile::book> book = std::make_unique<profile::book>(profile_rules);
  correction_memory corrections;  // guarded by book_mu
  std::unordered_set<std::size_t> withheld_logged;  // guarded by book_mu
  std::atomic<std::uint64_t> withheld_creates{0};
  std::atomic<bool> profiles_ready{false};
  turnstile order;

  std::weak_ptr<impl> weak_self;  // for the writers' detached chunks

  // Cluster (engine_options::cluster): whether this instance holds the pipeline lease, and its fencing token.
  std::atomic<bool> leader{true};
  std::atomic<std::int64_t> lease_token{0};
  std::atomic<std::int64_t> leaderships{0};

  impl(asio::any_io_executor e, store::store& s, engine_options o) : ex(std::move(e)), db(s), opt(o), order(ex) {
    if (opt.cluster) leader = false;  // until the lease is taken
  }

  /// The fence every pipeline write carries in a cluster: a deposed leader's page or writes are refused.
  std::optional<store::fence> pipeline_fence() const {
    if (!opt.cluster) return std::nullopt;
    return store::fence(std::string(pipeline_lease), lease_token.load());
  }

  std::shared_ptr<const plan_set> current_plans() const {
    std::lock_guard lk(mu);
    return plans;
  }

  connector_state* find(std::string_view name) const {
    for (const auto& c : conns)
      if (c->cfg.name == name) return c.get();
    return nullptr;
  }

  // ---- mapping and propagation ------------------------------------------------------------------------------

  /// What one batch of source records turns into.
  struct processed {
    std::vector<store::outbox_write> writes;
    std::vector<store::dead_letter_entry> failures;
    std::size_t profiles = 0;  ///< profiles whose golden values or KPIs were recomputed
  };

  /// Applies outbound plan `p` to a canonical record: the write, or nullopt when the destination's required fields
  /// (e.g. the upsert key) are missing — that is a subscription filter, not a failure.
  static std::optional<store::outbox_write> outbound(evaluator_cache& evals, const std::shared_ptr<const mapping::plan>& p,
                                                     const std::string& connector, const std::string& canonical) {
    auto& ev = evals.get(p);
    mapping::record_error err;
    const mapping::mapped_record* o = ev.apply(canonical, err);
    if (!o) return std::nullopt;
    std::string key;
    const auto targets = p->targets();
    for (std::size_t i = 0; i < targets.size() && i < o->fields.size(); ++i) {
      if (targets[i] != p->upsert_key()) continue;
      const auto& v = o->fields[i];
      if (v.k == mapping::value::kind::string) key = v.s;
      else if (v.k == mapping::value::kind::integer) key = std::to_string(v.i);
    }
    if (key.empty()) return std::nullopt;
    std::string payload;
    o->append_json(*p, payload);
    return store::outbox_write(connector, p->object(), key, std::move(payload));
  }

  /// The write that deletes a destination record: payload `null` (the record's desired state: absent), by its id.
  /// Its key is the one the record's writes use, so it replaces a pending update of it.
  static store::outbox_write deletion(evaluator_cache& evals, const std::shared_ptr<const mapping::plan>& p,
                                      const std::string& connector, const std::string& canonical,
                                      const std::string& target) {
    auto w = outbound(evals, p, connector, canonical);
    store::outbox_write d(connector, p->object(), w ? w->record_key : target, std::string(deleted_payload));
    d.target_id = target;
    return d;
  }

  /// The writes that bring every subscribed destination in line with the profiles in `affected`: each profile's
  /// canonical record (golden values, KPIs, id) through every outbound mapping of every writable connector. A
  /// destination record the profile already links is updated by its id, and not at all when it already holds
  /// every value (`compare`); one deleted at the source is left alone. Caller holds book_mu.
  void profile_writes(const std::set<profile::profile_id>& affected, evaluator_cache& evals, processed& out,
                      const connector_state* only = nullptr, std::string_view only_object = {}) {
    auto ps = current_plans();
    const bool cascade_deletes = book->config().on_delete == profile::delete_policy::remove;
    for (const auto& pid : affected) {
      if (!book->contains(pid) || !book->is_person(pid)) continue;
      ++out.profiles;
      const std::string canonical = book->canonical_json(pid);
      // `deletes: delete`: a person deleted from one system is deleted from the others (their live records).
      const bool gone = cascade_deletes && !book->gone_from(pid).empty();
      for (const auto& p : ps->all) {
        if (p->direction() != mapping::direction::outbound) continue;
        for (const auto& dst : conns) {
          if (dst->cfg.kind != p->system() || !dst->cfg.enabled || !dst->writable) continue;
          if (only && (dst.get() != only || p->object() != only_object)) continue;
          bool deleted = false;
          auto target = book->member_id(pid, dst->cfg.name, p->object(), &deleted);
          if (deleted) continue;
          if (gone) {
            if (target) out.writes.push_back(deletion(evals, p, dst->cfg.name, canonical, *target));
            continue;
          }
          if (!target) {
            // Creating a record: wait until the destination was read once (it is then propagated again).
            auto* os = dst->find(p->object());
            if (os && !os->caught_up.load()) continue;
          }
          auto w = outbound(evals, p, dst->cfg.name, canonical);
          if (!w) continue;
          if (!target && withhold_create(pid, *dst, *w)) continue;
          if (target) {
            w->target_id = *target;
            if (auto self = book->record_json(dst->cfg.name, p->object(), *target)) {
              auto now_there = outbound(evals, p, dst->cfg.name, *self);
              std::string field;
              const auto a = now_there ? compare(w->payload, now_there->payload, field) : agreement::unknown;
              if (a != agreement::differs) corrections.forget(*w);  // agrees with everything it reads back
              if (a == agreement::holds) continue;                   // nothing to change there
              // Changed there since our last write (the owner rule overrules it, or the golden value is another):
              // written even if equal to what was last written — once per payload (see correction_memory).
              if (a == agreement::differs) {
                w->force = corrections.first_time(*w);
                spdlog::debug("{}: {} {} holds another {} than the profile{}", w->connector, w->object, w->target_id,
                              field, w->force ? "" : " (corrected once already: left as it is)");
              }
            }
          }
          out.writes.push_back(std::move(*w));
        }
      }
    }
  }

  /// A record is created in a destination by an upsert, which the vendor matches on the upsert key (and for some,
  /// on other fields: connector::upsert_matches). When one of those values could match another person's record
  /// there (a generic address, one another profile holds), the upsert would overwrite that person: the profile is
  /// not created there. Logged once per profile and destination, counted in status. Caller holds book_mu.
  bool withhold_create(profile::profile_id pid, const connector_state& dst, const store::outbox_write& w) {
    std::vector<std::string> values{w.record_key};
    const auto fields = dst.adapter->upsert_matches(w.object);
    if (!fields.empty()) {
      boost::system::error_code ec;
      auto v = json::parse(w.payload, ec);
      if (!ec && v.is_object())
        for (const auto& f : fields)
          if (const auto* x = v.as_object().if_contains(f); x && x->is_string()) values.emplace_back(x->as_string());
    }
    for (const auto& value : values) {
      auto why = book->match_risk(pid, value);
      if (!why) continue;
      ++withheld_creates;
      if (withheld_logged.size() > 100'000) withheld_logged.clear();
      if (withheld_logged.insert(std::hash<std::string>{}(pid.str() + '\0' + w.connector + '\0' + w.object)).second)
        spdlog::warn("{}: profile {} not created in {}: its upsert would match on \"{}\" and {}", w.connector, pid.str(),
                     w.object, value, *why);
      return true;
    }
    return false;
  }

  /// Queues writes and rings the doorbells of the writers they go to.
  asio::awaitable<omnisync::result<store::enqueue_summary>> enqueue(std::vector<store::outbox_write> writes) {
    std::vector<doorbell*> bells;
    for (const auto& w : writes)
      if (auto* c = find(w.connector); c && c->outbox_bell && std::find(bells.begin(), bells.end(), c->outbox_bell.get()) == bells.end())
        bells.push_back(c->outbox_bell.get());
    auto q = co_await db.outbox_enqueue(std::move(writes), pipeline_fence());
    if (q)
      for (auto* b : bells) b->notify();
    co_return q;
  }

  /// Maps each record with the inbound plan of (kind, object), takes it into the profile book, and computes the
  /// writes for the profiles it changed. Records themselves are stored raw by the caller (the source's truth); a
  /// record that fails mapping is dead-lettered with the reason. Sets each record's first_seen (kept from the
  /// first time the book saw it, so a rebuild gives the same profile ids).
  void process(const connector_state& src, const std::string& object, std::vector<store::source_record>& recs,
               evaluator_cache& evals, processed& out, std::int64_t& failures) {
    auto ps = current_plans();
    auto in = ps->inbound(src.cfg.kind, object);
    const auto now = now_ms();
    std::lock_guard lk(book_mu);
    for (auto& r : recs) {
      auto seen = book->first_seen(src.cfg.name, object, r.id);
      r.first_seen = seen ? timestamp(milliseconds(*seen)) : now;
    }
    if (!in) return;  // nothing maps this object: stored for later, nothing to propagate
    auto& ev = evals.get(in);
    mapping::record_error err;
    std::set<profile::profile_id> affected;
    for (const auto& r : recs) {
      const profile::record_meta meta(src.cfg.name, object, r.id, r.first_seen.time_since_epoch().count(),
                                      r.source_updated_at.time_since_epoch().count(), r.deleted);
      const mapping::mapped_record* m = ev.apply(r.payload, err);
      if (!m && !r.deleted) {
        ++failures;
        out.failures.emplace_back(store::retry_target::none, src.cfg.name, object, r.id, std::string(), "mapping",
                                  err.format(), r.payload, std::string("{}"));
        continue;
      }
      book->apply(meta, *in, m, affected);
    }
    profile_writes(affected, evals, out);
  }

  /// Stores a page: dead letters and outbox first, then the records with the cursor in one transaction, so a
  /// crash before the cursor moves repeats the page (coalesced, idempotent) and loses nothing.
  asio::awaitable<omnisync::result<store::append_summary>> store_records(
      connector_state& c, const std::string& object, std::vector<store::source_record> recs,
      std::optional<std::string> cursor, bool partial, evaluator_cache& evals, object_state* os) {
    while (!profiles_ready.load()) co_await sleep_for(milliseconds(20));  // the book is loaded at start-up first
    if (partial) {
      // A partial record (resync --fields) is merged into the stored copy — unless it changed upstream since that
      // copy was read (a newer stamp): merged, it would be a hybrid of new and old fields whose golden values,
      // written back, revert the change. Those are read whole instead.
      std::vector<store::source_record> merged;
      std::vector<std::string> changed;
      for (auto& r : recs) {
        auto got = co_await db.record_get(c.cfg.name, object, r.id);
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
    // The book, the outbox and the records move in one order: a page's writes are computed and queued, and its
    // records stored, before the next page's — so a later golden value never loses to an earlier one (the outbox
    // keeps the last payload per record), and a rebuild of the book never misses a page being stored.
    auto turn = co_await order.acquire();
    processed out;
    std::int64_t failures = 0;
    process(c, object, recs, evals, out, failures);
    for (auto& f : out.failures) {
      auto added = co_await db.dead_letter_add(std::move(f));
      if (!added) co_return added.error();
      if (dead_letters) dead_letters->with({c.cfg.name, "mapping"}).inc();
    }
    // A write equal to what was last written to that record is skipped by the store: the echo of omnisync's own
    // write (read back by a poll or a webhook) recomputes the same golden values and so writes nothing.
    if (!out.writes.empty()) {
      auto q = co_await enqueue(std::move(out.writes));
      if (!q) co_return q.error();
      spdlog::debug("{} {} page: {} write(s) queued, {} replacing pending ones, {} equal to what the destination "
                    "last got (skipped)", c.cfg.name, object, q->inserted, q->coalesced, q->unchanged);
    }
    timestamp newest{};
    for (const auto& r : recs) newest = std::max(newest, r.source_updated_at);
    const auto n = static_cast<std::int64_t>(recs.size());
    store::record_batch batch(c.cfg.name, object, std::move(recs), std::move(cursor), pipeline_fence());
    auto sum = co_await db.append_records(std::move(batch));
    if (!sum) co_return sum.error();
    if (records_in) records_in->with({c.cfg.name, object}).inc(static_cast<double>(n));
    if (os) {
      std::lock_guard lk(mu);
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

  // ---- loops ------------------------------------------------------------------------------------------------

  /// Sleeps up to `d`, in short steps, returning early when woken (a resync request) or paused state changes.
  asio::awaitable<void> nap(object_state& os, milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until && !os.wake.exchange(false)) {
      auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
      co_await sleep_for(std::min(left, milliseconds(100)));
    }
  }

  asio::awaitable<void> handle_lookups(connector_state& c, object_state& os, evaluator_cache& evals) {
    std::vector<resync_request> todo;
    {
      std::lock_guard lk(mu);
      todo.swap(os.pending_lookups);
    }
    for (const auto& r : todo) {
      omnisync::result<std::vector<store::source_record>> got = make_error_code(errc::fail);
      if (r.what == resync_request::kind::id) {
        std::vector<std::string> ids{r.value};
        got = co_await c.adapter->fetch(os.st.object, std::move(ids));
      } else {
        got = co_await c.adapter->find_by_email(os.st.object, r.value);
      }
      std::string error;
      if (!got) {
        error = got.error().message();
      } else {
        auto stored = co_await store_records(c, os.st.object, std::move(*got), std::nullopt, false, evals, &os);
        if (!stored) error = stored.error().message();
      }
      std::lock_guard lk(mu);
      os.st.resync_running = false;
      os.st.resync_finished = now_ms();
      os.st.resync_error = error;
    }
  }

  asio::awaitable<void> poll_loop(connector_state& c, object_state& os) {
    evaluator_cache evals;
    unsigned failures = 0;
    std::optional<std::string> resync_cursor;  // position of a running full resync (nullopt: start)
    bool in_resync = false;
    std::optional<std::chrono::system_clock::time_point> since;
    std::vector<std::string> resync_fields;        // resync --fields: a partial re-read, no cursor of its own kept
    auto last_reconcile = std::chrono::steady_clock::now();
    std::optional<adapters::page> prefetched;      // the next page, read while the previous one was stored
    std::optional<std::string> prefetched_for;     // the cursor it was read from
    for (;;) {
      if (c.paused.load() || !leader.load()) {
        {
          std::lock_guard lk(mu);
          os.st.phase = leader.load() ? "paused" : "standby";
          // A pause holds a running resync, which goes on at resume; an instance that lost the pipeline drops
          // it (the new leader reads from the stored cursors) and says so.
          if (!leader.load() && in_resync) {
            os.st.resync_running = false;
            os.st.resync_finished = now_ms();
            os.st.resync_error = "stopped: this instance no longer runs the pipeline";
            in_resync = false;
          }
        }
        prefetched.reset();
        co_await sleep_for(milliseconds(100));
        continue;
      }
      co_await handle_lookups(c, os, evals);
      {
        std::lock_guard lk(mu);
        if (os.pending_resync) {
          prefetched.reset();
          in_resync = true;
          resync_cursor.reset();
          since.reset();
          if (os.pending_resync->what == resync_request::kind::since) {
            auto t = parse_time(os.pending_resync->value);
            if (t) since = *t;
          }
          resync_fields = os.pending_resync->fields;
          os.pending_resync.reset();
          os.st.resync_running = true;
          os.st.resync_read = os.st.resync_stored = 0;
          os.st.resync_started = now_ms();
          os.st.resync_finished = {};
          os.st.resync_error.clear();
        }
        os.st.phase = in_resync ? "resync" : "polling";
        os.st.last_attempt = now_ms();
      }
      adapters::page_request req;
      req.object = os.st.object;
      if (in_resync) {
        req.cursor = resync_cursor;
        req.mode = since ? adapters::poll_mode::incremental : adapters::poll_mode::full;
        if (since && !resync_cursor) req.since = since;
        req.fields = resync_fields;
      } else {
        auto cur = co_await db.cursor_get(c.cfg.name, os.st.object);
        if (!cur) {
          co_await fail(c, os, failures, "store: " + cur.error().message());
          continue;
        }
        req.cursor = *cur;
      }
      const auto started = std::chrono::steady_clock::now();
      omnisync::result<adapters::page> pg = make_error_code(errc::retry);
      if (prefetched && prefetched_for == req.cursor) {
        pg = std::move(*prefetched);  // read while the previous page was being stored
      } else {
        pg = co_await c.adapter->poll(req);
      }
      prefetched.reset();
      if (!pg) {
        co_await fail(c, os, failures, pg.error().message());
        continue;
      }
      const bool more = pg->more;
      auto next_cursor = pg->cursor;
      // A full resync keeps its own position and stores the cursor only at the end, so that the incremental
      // cursor stays valid if it is interrupted; its last page's cursor continues incrementally.
      std::optional<std::string> cursor_to_store = in_resync && more ? std::nullopt : next_cursor;
      if (in_resync && !resync_fields.empty() && pg->partial) cursor_to_store.reset();  // the incremental one stays
      auto store_op = store_records(c, os.st.object, std::move(pg->records), cursor_to_store, pg->partial, evals, &os);
      omnisync::result<store::append_summary> stored = make_error_code(errc::retry);
      if (more && !c.paused.load()) {
        // While this page is stored, the next one is read (its cursor is this page's): reading and storing
        // overlap. If storing fails, the prefetched page is dropped and the cursor stays where it was.
        adapters::page_request next_req(os.st.object, next_cursor, req.mode);
        next_req.fields = req.fields;
        using namespace boost::asio::experimental::awaitable_operators;
        auto both = co_await (std::move(store_op) && c.adapter->poll(next_req));
        stored = std::move(std::get<0>(both));
        if (stored && std::get<1>(both)) {
          prefetched = std::move(*std::get<1>(both));
          prefetched_for = next_cursor;
        }
      } else {
        stored = co_await std::move(store_op);
      }
      if (!stored) {
        prefetched.reset();
        co_await fail(c, os, failures, "store: " + stored.error().message());
        continue;
      }
      if (page_seconds)
        page_seconds->with({c.cfg.name})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      failures = 0;
      if (in_resync) resync_cursor = next_cursor;
      {
        std::lock_guard lk(mu);
        ++os.st.pages;
        os.st.last_success = now_ms();
        os.st.last_error.clear();
        if (cursor_to_store) os.st.cursor = cursor_to_store;
        if (in_resync && !more) {
          os.st.resync_running = false;
          os.st.resync_finished = now_ms();
        }
        os.st.phase = "idle";
      }
      if (lag) {
        std::lock_guard lk(mu);
        if (os.st.newest_source_update != timestamp{})
          lag->with({c.cfg.name, os.st.object})
              .set(std::chrono::duration<double>(now_ms() - os.st.newest_source_update).count());
      }
      if (in_resync && !more) in_resync = false;
      if (!more && !os.caught_up.exchange(true)) co_await caught_up(c, os.st.object);
      if (!more) {
        if (c.reconcile_every.count() > 0 &&
            std::chrono::steady_clock::now() - last_reconcile >= c.reconcile_every) {
          co_await reconcile(c, os, evals);
          last_reconcile = std::chrono::steady_clock::now();
        }
        co_await nap(os, c.cfg.poll_interval);
      }
    }
  }

  static std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& s) {
    // ISO 8601 UTC: 2026-11-23T10:00:00Z (seconds optional fraction ignored)
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec) < 3) return std::nullopt;
    using namespace std::chrono;
    auto days = sys_days(year(y) / month(static_cast<unsigned>(mo)) / day(static_cast<unsigned>(d)));
    if (!(year(y) / month(static_cast<unsigned>(mo)) / day(static_cast<unsigned>(d))).ok()) return std::nullopt;
    return system_clock::time_point(days + hours(h) + minutes(mi) + seconds(sec));
  }

  asio::awaitable<void> fail(connector_state& c, object_state& os, unsigned& failures, std::string why) {
    spdlog::warn("{}: polling {} failed: {}", c.cfg.name, os.st.object, why);
    {
      std::lock_guard lk(mu);
      os.st.last_error = std::move(why);
      os.st.phase = "error";
    }
    auto pause = opt.error_pause * (1u << std::min(failures, 6u));
    ++failures;
    co_await nap(os, std::min(pause, opt.error_pause_cap));
  }

  /// Hard deletes: ids the store holds that the vendor no longer lists are marked deleted.
  asio::awaitable<void> reconcile(connector_state& c, object_state& os, evaluator_cache& evals) {
    std::vector<std::string> live;
    std::optional<std::string> next;
    do {
      auto pg = co_await c.adapter->list_ids(os.st.object, next);
      if (!pg) co_return;  // not supported or failed: try at the next interval
      live.insert(live.end(), pg->ids.begin(), pg->ids.end());
      next = pg->next;
    } while (next);
    std::sort(live.begin(), live.end());
    std::string after;
    std::vector<store::source_record> gone;
    for (;;) {
      auto rows = co_await db.record_scan(c.cfg.name, os.st.object, after, 1000);
      if (!rows || rows->empty()) break;
      for (const auto& r : *rows)
        if (!r.deleted && !std::binary_search(live.begin(), live.end(), r.id))
          gone.emplace_back(r.id, r.payload, r.source_updated_at, true);
      after = rows->back().id;
    }
    if (!gone.empty()) {
      spdlog::info("{}: {} {} record(s) deleted upstream without a trace (reconciliation)", c.cfg.name, gone.size(),
                   os.st.object);
      co_await store_records(c, os.st.object, std::move(gone), std::nullopt, false, evals, &os);
    }
  }

  /// One per connector, so that a vendor whose API is down (its refetches backing off) delays only its own
  /// events. A paused connector's events stay queued untouched. Events for a connector that is no longer
  /// configured stay queued too (visible in status) until it is configured again.
  asio::awaitable<void> inbox_loop(connector_state& owner) {
    evaluator_cache evals;
    for (;;) {
      if (owner.paused.load() || !leader.load()) {
        co_await sleep_for(milliseconds(100));
        continue;
      }
      std::vector<store::inbox_item> claimed;
      {
        auto got = co_await db.inbox_claim(opt.inbox_batch, opt.inbox_lease, owner.cfg.name);
        if (got) claimed = std::move(*got);
      }
      if (claimed.empty()) {
        co_await owner.inbox_bell->wait(opt.queue_idle);
        continue;
      }
      auto items = &claimed;
      std::vector<std::int64_t> done;
      for (auto& it : *items) {
        auto* c = find(it.event.connector);
        if (!c) {
          co_await quarantine(it, "connector", "no connector named " + it.event.connector + " is configured");
          done.push_back(it.id);
          continue;
        }
        if (c->paused.load()) {
          std::vector<std::int64_t> one{it.id};
          co_await db.inbox_nack(std::move(one), "paused", now_ms() + milliseconds(1000));
          continue;
        }
        auto parsed = c->adapter->parse_event(it.event);
        if (!parsed) {
          co_await quarantine(it, "parse", "malformed event: " + parsed.error().message());
          done.push_back(it.id);
          continue;
        }
        std::string error;
        // Group the event's records per object.
        std::map<std::string, std::vector<store::source_record>> by_object;
        for (auto& r : parsed->records) by_object[r.object].push_back(std::move(r.record));
        std::map<std::string, std::vector<std::string>> refetch;
        for (auto& [obj, id] : parsed->refetch) refetch[obj].push_back(id);
        for (auto& [obj, ids] : refetch) {
          auto got = co_await c->adapter->fetch(obj, ids);
          if (!got) {
            error = "fetching " + obj + ": " + got.error().message();
            break;
          }
          for (auto& r : *got) by_object[obj].push_back(std::move(r));
        }
        if (error.empty()) {
          for (auto& [obj, recs] : by_object) {
            auto stored = co_await store_records(*c, obj, std::move(recs), std::nullopt, false, evals, c->find(obj));
            if (!stored) {
              error = "store: " + stored.error().message();
              break;
            }
          }
        }
        if (error.empty()) {
          done.push_back(it.id);
          std::lock_guard lk(mu);
          ++c->counters.events_in;
        } else if (it.attempts >= opt.max_inbox_attempts) {
          co_await quarantine(it, "process", error);
          done.push_back(it.id);
        } else {
          std::vector<std::int64_t> one{it.id};
          co_await db.inbox_nack(std::move(one), error, now_ms() + opt.error_pause * (1 << std::min(it.attempts, 6)));
        }
      }
      if (!done.empty()) co_await db.inbox_ack(std::move(done));
    }
  }

  // ---- profiles ---------------------------------------------------------------------------------------------

  /// A destination object was read to the end for the first time since start-up: the profiles that could not be
  /// created there before (see profile_writes) are written now.
  asio::awaitable<void> caught_up(connector_state& c, std::string object) {
    if (!c.writable || !c.cfg.enabled) co_return;
    auto turn = co_await order.acquire();
    processed out;
    evaluator_cache evals;
    {
      std::lock_guard lk(book_mu);
      const auto all = book->profiles();
      const std::set<profile::profile_id> every(all.begin(), all.end());
      profile_writes(every, evals, out, &c, object);
    }
    if (out.writes.empty()) co_return;
    const auto n = out.writes.size();
    auto q = co_await enqueue(std::move(out.writes));
    if (!q) {
      spdlog::error("{}: queueing writes after the first read of {} failed: {}", c.cfg.name, object, q.error().message());
      os_reset(c, object);
      co_return;
    }
    spdlog::info("{}: {} read once: {} profile write(s) queued ({} unchanged)", c.cfg.name, object, n, q->unchanged);
  }

  static void os_reset(connector_state& c, std::string_view object) {
    if (auto* os = c.find(object)) os->caught_up = false;  // tried again after the next full page
  }

  std::shared_ptr<const profile::settings> configured_rules = std::make_shared<profile::settings>();
  std::atomic<bool> rebuild_requested{true};

  /// The configured rules plus the inbound mappings' hints (`owner: true`, `merge:`) for each connector.
  std::shared_ptr<const profile::settings> effective_rules() {
    auto s = std::make_shared<profile::settings>(*configured_rules);
    auto ps = current_plans();
    std::lock_guard lk(mu);
    for (const auto& c : conns)
      for (const auto& p : ps->all)
        if (p->direction() == mapping::direction::inbound && p->system() == c->cfg.kind)
          for (const auto& problem : s->survivorship.apply_hints(c->cfg.name, p->hints()))
            spdlog::warn("survivorship: {}: {}", p->file(), problem);
    return s;
  }

  static std::string splits_json(const std::vector<profile::link_ref>& splits) {
    json::array a;
    for (const auto& l : splits)
      a.push_back(json::object{{"system", l.record.system}, {"object", l.record.object}, {"id", l.record.id},
                               {"attribute", l.attribute}, {"value", l.value}});
    return json::serialize(a);
  }

  /// Rebuilds the book from the store: the stored splits first, then every stored record of every connector's
  /// objects, mapped with today's mappings (the resolver's result does not depend on the order). Holds the
  /// turnstile, so no page is stored meanwhile.
  asio::awaitable<void> rebuild_profiles() {
    const auto t0 = std::chrono::steady_clock::now();
    auto turn = co_await order.acquire();
    auto rules = effective_rules();
    auto fresh = std::make_unique<profile::book>(rules);
    auto stored_splits = co_await db.meta_get("profile.splits");
    if (stored_splits && *stored_splits) {
      boost::system::error_code ec;
      auto v = json::parse(**stored_splits, ec);
      if (!ec && v.is_array())
        for (const auto& x : v.as_array()) {
          if (!x.is_object()) continue;
          auto str = [&](const char* k) {
            const auto* f = x.as_object().if_contains(k);
            return f && f->is_string() ? std::string(f->as_string()) : std::string();
          };
          profile::link_ref l{profile::record_ref{str("system"), str("object"), str("id")}, str("attribute"), str("value")};
          fresh->preload_split(l);
        }
    }
    evaluator_cache evals;
    auto ps = current_plans();
    std::vector<connector_state*> list;
    {
      std::lock_guard lk(mu);
      for (auto& c : conns) list.push_back(c.get());
    }
    std::size_t n = 0;
    std::set<profile::profile_id> ignored;
    mapping::record_error err;
    for (auto* c : list) {
      for (auto& o : c->objects) {
        const std::string object = o->st.object;
        auto in = ps->inbound(c->cfg.kind, object);
        if (!in) continue;
        auto& ev = evals.get(in);
        std::string after;
        for (;;) {
          auto page = co_await db.record_scan(c->cfg.name, object, after, 2000);
          if (!page) {
            spdlog::error("profiles: reading stored {} {} records failed: {}", c->cfg.name, object, page.error().message());
            break;
          }
          if (page->empty()) break;
          for (const auto& r : *page) {
            const mapping::mapped_record* m = ev.apply(r.payload, err);
            if (!m && !r.deleted) continue;  // dead-lettered when it arrived
            const profile::record_meta meta(c->cfg.name, object, r.id, r.first_seen.time_since_epoch().count(),
                                            r.source_updated_at.time_since_epoch().count(), r.deleted);
            fresh->apply(meta, *in, m, ignored);
            ignored.clear();
            ++n;
          }
          after = page->back().id;
        }
      }
    }
    const auto st = fresh->stats();
    {
      std::lock_guard lk(book_mu);
      profile_rules = rules;
      book = std::move(fresh);
    }
    profiles_ready = true;
    spdlog::info("profiles: {} stored records resolved into {} profiles ({} interactions) in {:.2f} s", n, st.profiles,
                 st.interaction_records, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  /// Loads the book at start-up (in a cluster: when this instance becomes the leader) and again after a reload
  /// changed the rules or the mappings.
  asio::awaitable<void> profile_loop() {
    for (;;) {
      if (leader.load() && rebuild_requested.exchange(false)) co_await rebuild_profiles();
      co_await sleep_for(milliseconds(opt.cluster ? 50 : 200));
    }
  }

  /// Cluster: takes and renews the pipeline lease. Taking it (first, or after another instance died: within
  /// lease_ttl of its last renewal) rebuilds the book from the shared store before any page is processed;
  /// losing it — another instance holds it, or it could not be renewed before it ran out — stops this
  /// instance's polls and inbox at once (their writes are fenced by the token anyway).
  asio::awaitable<void> leadership_loop() {
    const auto ttl = opt.lease_ttl;
    auto held_until = std::chrono::steady_clock::time_point{};
    for (;;) {
      // Every instance keeps a lease of its own ("instance/<name>"): the lease list is the cluster's roster.
      co_await db.lease("instance/" + opt.instance, opt.instance, ttl);
      const auto asked = std::chrono::steady_clock::now();
      auto g = co_await db.lease(std::string(pipeline_lease), opt.instance, ttl);
      if (g) {
        held_until = asked + ttl;
        if (!leader.load() || lease_token.load() != g->token) {
          lease_token = g->token;
          ++leaderships;
          profiles_ready = false;
          rebuild_requested = true;
          leader = true;
          spdlog::info("cluster: {} runs the pipeline now (lease token {})", opt.instance, g->token);
        }
      } else if (leader.load() && (g.error() == errc::conflict || std::chrono::steady_clock::now() >= held_until)) {
        step_down(g.error() == errc::conflict ? std::string("another instance holds the pipeline lease")
                                              : "the pipeline lease could not be renewed: " + g.error().message());
      }
      co_await sleep_for(ttl / 3);
    }
  }

  void step_down(const std::string& why) {
    leader = false;
    profiles_ready = false;
    std::lock_guard lk(mu);
    for (auto& c : conns)
      for (auto& o : c->objects) o->caught_up = false;  // read again once leading again
    spdlog::warn("cluster: {} stops running the pipeline: {}", opt.instance, why);
  }

  /// Queue depths for /metrics, refreshed every few seconds (status reads them on demand).
  asio::awaitable<void> gauges_loop() {
    for (;;) {
      if (inbox_depth && outbox_depth) {
        auto k = co_await db.get_counts();
        if (k) {
          std::vector<std::string> names;
          {
            std::lock_guard lk(mu);
            for (const auto& c : conns) names.push_back(c->cfg.name);
          }
          for (const auto& n : names) {
            auto in = k->inbox_depth_per_connector.find(n);
            auto out = k->outbox_depth_per_connector.find(n);
            inbox_depth->with({n}).set(in == k->inbox_depth_per_connector.end() ? 0.0 : double(in->second));
            outbox_depth->with({n}).set(out == k->outbox_depth_per_connector.end() ? 0.0 : double(out->second));
          }
          if (dead_letter_count) dead_letter_count->get().set(double(k->dead_letters));
        }
      }
      co_await sleep_for(milliseconds(5000));
    }
  }

  asio::awaitable<void> quarantine(const store::inbox_item& it, const std::string& stage, const std::string& why) {
    spdlog::warn("{}: webhook event {} quarantined ({}): {}", it.event.connector, it.event.dedupe_key, stage, why);
    store::dead_letter_entry e(store::retry_target::inbox, it.event.connector, std::string(), std::string(),
                               it.event.dedupe_key, stage, why, it.event.body, it.event.meta);
    co_await db.dead_letter_add(std::move(e));
    if (dead_letters) dead_letters->with({it.event.connector, stage}).inc();
  }

  /// Writes claimed for one connector go out in chunks of the vendor's batch size, up to `sync.write_concurrency`
  /// chunks at a time (default 4): a Zendesk job being followed, or a slow Salesforce call, does not hold up the
  /// writes queued behind it. Two writes for one record are never in flight together (the outbox's claim rule).
  asio::awaitable<void> writer_loop(connector_state& c) {
    auto self = weak_self.lock();
    auto inflight = std::make_shared<std::atomic<int>>(0);
    for (;;) {
      if (c.paused.load()) {
        co_await sleep_for(milliseconds(100));
        continue;
      }
      const int free_slots = c.write_concurrency - inflight->load();
      if (free_slots <= 0) {
        co_await c.outbox_bell->wait(milliseconds(50));  // a finished chunk rings
        continue;
      }
      auto items = co_await db.outbox_claim(std::max<std::size_t>(1, c.adapter->max_batch("")) *
                                                static_cast<std::size_t>(free_slots),
                                            opt.write_lease, c.cfg.name);
      if (!items || items->empty()) {
        co_await c.outbox_bell->wait(opt.queue_idle);
        continue;
      }
      std::map<std::string, std::vector<store::outbox_item>> by_object;
      for (auto& it : *items) by_object[it.write.object].push_back(std::move(it));
      for (auto& [object, list] : by_object) {
        const std::size_t batch = std::max<std::size_t>(1, c.adapter->max_batch(object));
        for (std::size_t at = 0; at < list.size(); at += batch) {
          std::vector<store::outbox_item> part(std::make_move_iterator(list.begin() + static_cast<std::ptrdiff_t>(at)),
                                               std::make_move_iterator(list.begin() + static_cast<std::ptrdiff_t>(std::min(list.size(), at + batch))));
          inflight->fetch_add(1);
          asio::co_spawn(ex, write_chunk(self, &c, object, std::move(part), inflight), asio::detached);
        }
      }
    }
  }

  /// One chunk: the adapter's batch write, then acks, retries (with backoff) and dead letters per record.
  static asio::awaitable<void> write_chunk(std::shared_ptr<impl> self, connector_state* cp, std::string object,
                                           std::vector<store::outbox_item> list, std::shared_ptr<std::atomic<int>> inflight) {
    try {
      co_await self->write_items(*cp, object, std::move(list));
    } catch (const std::exception& e) {
      spdlog::error("{}: writing {} failed: {} (the writes are retried when their claim expires)", cp->cfg.name, object, e.what());
    }
    inflight->fetch_sub(1);
    cp->outbox_bell->notify();
  }

  asio::awaitable<void> write_items(connector_state& c, std::string object, std::vector<store::outbox_item> list) {
    std::vector<adapters::write_item> chunk, deletions;
    std::map<std::int64_t, const store::outbox_item*> by_id;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto& to = list[i].write.payload == deleted_payload ? deletions : chunk;
      to.emplace_back(list[i].id, list[i].write.record_key, list[i].write.payload);
      to.back().target_id = list[i].write.target_id;
      by_id[list[i].id] = &list[i];
    }
    omnisync::result<std::vector<adapters::write_result>> res = std::vector<adapters::write_result>{};
    if (!chunk.empty()) res = co_await c.adapter->write(object, std::move(chunk));
    if (res && !deletions.empty()) {
      auto removed = co_await c.adapter->remove(object, std::move(deletions));
      if (removed) res->insert(res->end(), removed->begin(), removed->end());
      else res = removed.error();
    }
    std::vector<std::int64_t> ok;
    std::vector<const store::outbox_item*> retry, rejected;
    std::map<std::int64_t, std::string> errors;
    if (!res) {
      for (auto& [id, it] : by_id) {
        retry.push_back(it);
        errors[id] = res.error().message();
      }
    } else {
      for (const auto& r : *res) {
        auto f = by_id.find(r.outbox_id);
        if (f == by_id.end()) continue;
        if (r.status == adapters::write_result::outcome::written) ok.push_back(r.outbox_id);
        else if (r.status == adapters::write_result::outcome::rejected) rejected.push_back(f->second);
        else retry.push_back(f->second);
        errors[r.outbox_id] = r.error;
        by_id.erase(f);
      }
      for (auto& [id, it] : by_id) {  // the adapter said nothing about these: try again
        retry.push_back(it);
        errors[id] = "no result from the adapter";
      }
    }
    if (!ok.empty()) co_await db.outbox_ack(ok);
    for (const auto* it : retry) {
      if (it->attempts >= opt.max_write_attempts) {
        rejected.push_back(it);
        continue;
      }
      std::vector<std::int64_t> one{it->id};
      co_await db.outbox_nack(std::move(one), errors[it->id],
                              now_ms() + opt.write_retry * (1 << std::min(it->attempts, 8)));
    }
    for (const auto* it : rejected) {
      json::object meta;
      if (!it->write.target_id.empty()) meta["target_id"] = it->write.target_id;
      store::dead_letter_entry e(store::retry_target::outbox, c.cfg.name, object, it->write.record_key,
                                 std::string(), "write", errors[it->id], it->write.payload, json::serialize(meta));
      co_await db.dead_letter_add(std::move(e));
      std::vector<std::int64_t> one{it->id};
      co_await db.outbox_ack(std::move(one));  // leaves the queue; the dead letter holds it
      if (dead_letters) dead_letters->with({c.cfg.name, "write"}).inc();
    }
    if (writes_out) {
      writes_out->with({c.cfg.name, object, "written"}).inc(static_cast<double>(ok.size()));
      writes_out->with({c.cfg.name, object, "rejected"}).inc(static_cast<double>(rejected.size()));
      writes_out->with({c.cfg.name, object, "retried"}).inc(static_cast<double>(retry.size()));
    }
    std::lock_guard lk(mu);
    c.counters.writes_ok += static_cast<std::int64_t>(ok.size());
    c.counters.writes_rejected += static_cast<std::int64_t>(rejected.size());
    c.counters.writes_retried += static_cast<std::int64_t>(retry.size());
    if (!errors.empty())
      for (auto& [id, e] : errors)
        if (!e.empty()) c.counters.last_write_error = e;
  }
};

// ---- engine -------------------------------------------------------------------------------------------------------

engine::engine(asio::any_io_executor ex, store::store& db, engine_options options, metrics::registry* metrics)
    : impl_(std::make_shared<impl>(std::move(ex), db, options)) {
  impl_->weak_self = impl_;
  if (metrics) {
    impl_->records_in = &metrics->counter("omnisync_records_in_total", "Source records stored, by connector and object",
                                          {"connector", "object"});
    impl_->writes_out = &metrics->counter("omnisync_writes_total", "Writes to destinations by outcome",
                                          {"connector", "object", "outcome"});
    impl_->dead_letters =
        &metrics->counter("omnisync_dead_letters_total", "Entries added to the dead-letter table", {"connector", "stage"});
    impl_->lag = &metrics->gauge("omnisync_sync_lag_seconds",
                                 "Age of the newest source change stored, by connector and object", {"connector", "object"});
    impl_->inbox_depth = &metrics->gauge("omnisync_inbox_depth", "Webhook events stored and not yet processed",
                                         {"connector"});
    impl_->outbox_depth = &metrics->gauge("omnisync_outbox_depth", "Writes waiting for their destination", {"connector"});
    impl_->dead_letter_count = &metrics->gauge("omnisync_dead_letters", "Entries in the dead-letter table");
    impl_->page_seconds = &metrics->histogram("omnisync_poll_page_seconds", "Time to read and store one page",
                                              metrics::registry::duration_buckets(), {"connector"});
  }
}

engine::~engine() = default;

void engine::set_mappings(std::vector<std::shared_ptr<const mapping::plan>> plans) {
  auto ps = std::make_shared<plan_set>();
  ps->all = std::move(plans);
  {
    std::lock_guard lk(impl_->mu);
    impl_->plans = std::move(ps);
  }
  impl_->rebuild_requested = true;  // profiles are derived through the mappings
}

void engine::set_profile_rules(std::shared_ptr<const profile::settings> rules) {
  if (!rules) return;
  impl_->configured_rules = std::move(rules);
  impl_->rebuild_requested = true;
}

std::optional<profile_report> engine::profile_get(std::string_view query) const {
  std::lock_guard lk(impl_->book_mu);
  auto pid = impl_->book->find(query);
  if (!pid) return std::nullopt;
  auto v = impl_->book->view(*pid);
  if (!v) return std::nullopt;
  profile_report r;
  r.view = std::move(*v);
  r.why = impl_->book->explain(*pid);
  return r;
}

profile::book_stats engine::profile_stats() const {
  std::lock_guard lk(impl_->book_mu);
  auto s = impl_->book->stats();
  s.withheld_creates = impl_->withheld_creates.load();
  return s;
}

bool engine::profiles_ready() const { return impl_->profiles_ready.load(); }

cluster_status engine::cluster() const {
  cluster_status c;
  c.enabled = impl_->opt.cluster;
  c.instance = impl_->opt.instance;
  c.leader = impl_->leader.load();
  c.token = c.leader ? impl_->lease_token.load() : 0;
  c.leaderships = impl_->leaderships.load();
  return c;
}

asio::awaitable<omnisync::result<std::size_t>> engine::profile_split(profile::link_ref link, bool restore) {
  auto self = impl_;
  auto turn = co_await self->order.acquire();
  impl::processed out;
  evaluator_cache evals;
  std::string splits;
  bool ok = false;
  {
    std::lock_guard lk(self->book_mu);
    std::set<profile::profile_id> affected;
    ok = restore ? self->book->restore(link, affected) : self->book->split(link, affected);
    if (ok) {
      self->profile_writes(affected, evals, out);
      splits = impl::splits_json(self->book->splits());
    }
  }
  if (!ok) co_return make_error_code(errc::not_found);
  // The decision first (a rebuild replays it), then the writes it causes.
  auto saved = co_await self->db.meta_set("profile.splits", splits);
  if (!saved) co_return saved.error();
  const std::size_t n = out.writes.size();
  if (!out.writes.empty()) {
    auto q = co_await self->enqueue(std::move(out.writes));
    if (!q) co_return q.error();
  }
  co_return n;
}

void engine::add(std::unique_ptr<adapters::connector> c, const config::connector_common& cfg) {
  auto st = std::make_unique<connector_state>();
  st->cfg = cfg;
  for (const auto& o : c->objects()) st->objects.push_back(std::make_unique<object_state>(o));
  st->adapter = std::move(c);
  st->writable = cfg.setting("sync.write", "true") != "false";
  st->reconcile_every = parse_interval(cfg.setting("sync.reconcile_interval"), impl_->opt.reconcile_interval);
  st->counters.name = cfg.name;
  st->inbox_bell = std::make_unique<doorbell>(impl_->ex);
  {
    const auto n = std::atoi(cfg.setting("sync.write_concurrency", "4").c_str());
    st->write_concurrency = n >= 1 && n <= 64 ? n : 4;
  }
  st->outbox_bell = std::make_unique<doorbell>(impl_->ex);
  st->counters.kind = cfg.kind;
  std::lock_guard lk(impl_->mu);
  impl_->conns.push_back(std::move(st));
}

std::vector<std::shared_ptr<const adapters::webhook_endpoint>> engine::webhook_endpoints() const {
  std::vector<std::shared_ptr<const adapters::webhook_endpoint>> out;
  std::lock_guard lk(impl_->mu);
  for (const auto& c : impl_->conns)
    if (auto w = c->adapter->webhook()) out.push_back(std::move(w));
  return out;
}

std::vector<std::pair<std::string, std::function<asio::awaitable<void>()>>> engine::tasks() {
  std::vector<std::pair<std::string, std::function<asio::awaitable<void>()>>> out;
  auto self = impl_;
  out.emplace_back("queue gauges", [self] { return self->gauges_loop(); });
  out.emplace_back("profiles", [self] { return self->profile_loop(); });
  if (impl_->opt.cluster) out.emplace_back("leadership", [self] { return self->leadership_loop(); });
  std::lock_guard lk(impl_->mu);
  for (auto& c : impl_->conns) {
    if (!c->cfg.enabled) continue;
    auto* cs = c.get();
    out.emplace_back(cs->cfg.name + " writer", [self, cs] { return self->writer_loop(*cs); });
    out.emplace_back(cs->cfg.name + " inbox", [self, cs] { return self->inbox_loop(*cs); });
    for (auto& o : cs->objects) {
      auto* os = o.get();
      out.emplace_back(cs->cfg.name + " " + os->st.object, [self, cs, os] { return self->poll_loop(*cs, *os); });
    }
  }
  return out;
}

void engine::webhook_stored(const std::string& connector) {
  if (auto* c = impl_->find(connector); c && c->inbox_bell) c->inbox_bell->notify();
}

omnisync::result<void> engine::pause(const std::string& connector) {
  auto* c = impl_->find(connector);
  if (!c) return make_error_code(errc::not_found);
  c->paused = true;
  return {};
}

omnisync::result<void> engine::resume(const std::string& connector) {
  auto* c = impl_->find(connector);
  if (!c) return make_error_code(errc::not_found);
  c->paused = false;
  for (auto& o : c->objects) o->wake = true;
  return {};
}

bool engine::paused(const std::string& connector) const {
  auto* c = impl_->find(connector);
  return c && c->paused.load();
}

omnisync::result<std::vector<std::string>> engine::request_resync(const resync_request& req) {
  auto* c = impl_->find(req.connector);
  if (!c) return make_error_code(errc::not_found);
  std::vector<object_state*> targets;
  if (req.object.empty()) {
    for (auto& o : c->objects) targets.push_back(o.get());
  } else if (auto* o = c->find(req.object)) {
    targets.push_back(o);
  } else {
    return make_error_code(errc::not_found);
  }
  if (req.what == resync_request::kind::since && !impl::parse_time(req.value))
    return make_error_code(errc::invalid_input);
  std::vector<std::string> names;
  std::lock_guard lk(impl_->mu);
  for (auto* o : targets) {
    if (req.what == resync_request::kind::id || req.what == resync_request::kind::email) {
      o->pending_lookups.push_back(req);
      o->st.resync_running = true;
    } else {
      o->pending_resync = req;
      o->st.resync_running = true;  // shown at once; the loop resets the counters when it starts
    }
    o->st.resync_read = o->st.resync_stored = 0;
    o->st.resync_started = now_ms();
    o->st.resync_finished = {};
    o->wake = true;
    names.push_back(o->st.object);
  }
  return names;
}

std::vector<connector_status> engine::status() const {
  std::vector<connector_status> out;
  std::lock_guard lk(impl_->mu);
  for (const auto& c : impl_->conns) {
    connector_status s = c->counters;
    s.paused = c->paused.load();
    s.usage = c->adapter->usage();
    for (const auto& o : c->objects) s.objects.push_back(o->st);
    out.push_back(std::move(s));
  }
  return out;
}

asio::awaitable<std::vector<lint_finding>> engine::lint() {
  std::vector<lint_finding> out;
  auto ps = impl_->current_plans();
  std::vector<connector_state*> conns;
  {
    std::lock_guard lk(impl_->mu);
    for (auto& c : impl_->conns) conns.push_back(c.get());
  }
  for (auto* c : conns) {
    std::map<std::string, std::optional<adapters::object_schema>> schemas;
    for (const auto& p : ps->all) {
      if (p->system() != c->cfg.kind) continue;
      const auto& impl = p->impl();
      auto add = [&](std::string sev, int line, std::string field, std::string msg) {
        lint_finding f;
        f.severity = std::move(sev);
        f.connector = c->cfg.name;
        f.object = p->object();
        f.file = impl.file;
        f.line = line;
        f.field = std::move(field);
        f.message = std::move(msg);
        out.push_back(std::move(f));
      };
      if (!schemas.count(p->object())) {
        auto d = co_await c->adapter->describe(p->object());
        if (d)
          schemas[p->object()] = std::move(*d);
        else
          schemas[p->object()] = std::nullopt;
        if (!d) add("warning", 0, "", "cannot read the " + p->object() + " metadata: " + d.error().message());
      }
      const auto& schema = schemas[p->object()];
      if (!schema) continue;
      // The vendor field a mapping name stands for: the name itself, else its last dotted part
      // (HubSpot `properties.email`, Zendesk `user_fields.plan`).
      auto lookup = [&](const std::string& name) -> const adapters::field_info* {
        if (auto* f = schema->find(name)) return f;
        auto dot = name.rfind('.');
        return dot == std::string::npos ? nullptr : schema->find(name.substr(dot + 1));
      };
      if (p->direction() == mapping::direction::outbound) {
        for (const auto& f : impl.fields) {
          const auto* info = lookup(f.target);
          if (!info) {
            add("error", f.line, f.target, "no field " + f.target + " on " + p->object() + " in " + c->cfg.name);
            continue;
          }
          if (info->calculated)
            add("error", f.line, f.target, f.target + " is a formula (calculated) field: it cannot be written");
          else if (!info->updateable)
            add("error", f.line, f.target, f.target + " is read-only in " + c->cfg.name);
          // (lengths of 10,000 and more are text areas: nothing a mapping needs to cut for)
          if (info->length > 0 && info->length < 10000 && (f.max_length == 0 || f.max_length > info->length))
            add("warning", f.line, f.target,
                f.target + " holds at most " + std::to_string(info->length) + " characters but the mapping allows " +
                    (f.max_length == 0 ? std::string("any length") : std::to_string(f.max_length)) +
                    ": set max_length (or a truncate transform)");
          if (f.target == p->upsert_key() && !info->external_id && !info->unique)
            add("error", f.line, f.target,
                "upsert_key " + f.target + " is not an external id or unique field in " + c->cfg.name);
        }
      } else {
        for (const auto& f : impl.fields)
          for (const auto& src : f.sources) {
            if (src.ref_field >= 0 || src.keys.empty()) continue;
            // Fields are top-level keys, or under `properties` (HubSpot); other nested paths and the record
            // envelope (ids, stamps, associations) are not in the metadata.
            static const std::set<std::string> envelope{"id",         "createdAt",  "updatedAt", "archived", "url",
                                                        "created_at", "updated_at", "type",      "attributes"};
            std::string path;
            if (src.keys.size() == 1 && !envelope.count(src.keys[0])) path = src.keys[0];
            else if (src.keys.size() == 2 && src.keys[0] == "properties") path = src.keys[1];
            if (path.empty() || lookup(path)) continue;
            add("warning", f.line, path, "the source field " + path + " is not in " + c->cfg.name + "'s " +
                                             p->object() + " metadata (a renamed or deleted field reads as missing)");
          }
      }
    }
  }
  co_return out;
}

std::vector<std::string> engine::connectors() const {
  std::vector<std::string> out;
  std::lock_guard lk(impl_->mu);
  for (const auto& c : impl_->conns) out.push_back(c->cfg.name);
  return out;
}

}  // namespace omnisync::sync
