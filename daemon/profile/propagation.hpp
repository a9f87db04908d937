#pragma once
/// Propagation: what to write to each destination so that it agrees with the profiles that changed. Pure code on
/// the profile book and the outbound mappings, no I/O; the sync pipeline queues what it returns.
///
/// For every changed person profile, its canonical record (golden values, KPIs, `_profile_id`) goes through every
/// outbound mapping of every writable destination:
/// - a destination record the profile already links is updated by its id, and not at all when it already holds
///   every value the write would set (compared with that record as its own mapping read it back);
/// - a record changed there since omnisync's last write (a field read back holds another value) is corrected,
///   once per payload (a vendor that transforms a value on store gets one correction, not a loop);
/// - a missing record is created by upsert — but only once the destination object was read to the end (before,
///   the person may be there unread), and never through an upsert value that could match another person's
///   record there (a generic address, one another profile holds: `book::match_risk`);
/// - under `propagation.deletes: delete`, a person deleted from one system is deleted from the others.
///
/// Thread safety: none; the caller serialises calls (the pipeline holds its book lock).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/log_limiter.hpp"
#include "daemon/profile/book.hpp"
#include "mapping/evaluator_cache.hpp"

namespace omnisync::profile {

/// The payload of a write that deletes its record (`propagation.deletes: delete`).
inline constexpr std::string_view deleted_payload = "null";

/// How a destination treats nulls (`sync.write_nulls`): a golden value that is missing (no source holds the
/// attribute) is never written anywhere; a null is written only as the policy says.
enum class null_policy {
  never,    ///< never write a null
  cleared,  ///< write a null where the newest information is a source clearing the value (the default)
  always,   ///< write every null the golden value holds
};

/// One writable destination connector, as propagation needs to know it.
struct destination {
  std::string connector;  ///< its name
  std::string kind;       ///< which outbound mappings apply (their `system`)
  /// Whether a record may be created in `object` now (the object was read to the end once since start-up).
  std::function<bool(std::string_view object)> may_create;
  /// Fields besides the upsert key by which the vendor's upsert matches a record (adapters' upsert_matches).
  std::function<std::vector<std::string>(std::string_view object)> upsert_matches;
  null_policy nulls = null_policy::cleared;  ///< sync.write_nulls
  /// sync.fields: whether the destination may receive a canonical attribute (empty: every one).
  std::function<bool(std::string_view attribute)> may_receive;
};

/// A write to one destination record (the outbound mapping's output for one profile).
struct planned_write {
  std::string connector, object;
  std::string record_key;  ///< the upsert key's value
  std::string payload;     ///< JSON object of destination fields; `deleted_payload` for a deletion
  std::string target_id;   ///< the destination's id of the record when the profile links one
  /// The destination holds other values than this payload on fields it reads back (changed there since
  /// omnisync's last write): queue it even when it equals the payload last written.
  bool force = false;
};

/// How a destination record (as its own mapping reads it back) compares with a write to it.
enum class agreement {
  holds,    ///< every field of the write is there with the same value: nothing to write
  unknown,  ///< no field differs, but some are not read back (KPIs a system only receives)
  differs,  ///< a field read back holds another value: changed there since omnisync's last write
};

/// Compares the JSON objects `write` and `there` member by member (objects recursively; a null written to an
/// absent field counts as the same; numbers by value). `field` receives the dotted name of the first difference.
agreement compare(const std::string& write, const std::string& there, std::string& field);


/// One destination field a write changes, and why (what `plan` shows and the audit log keeps).
struct field_change {
  std::string field;      ///< the destination field (dotted for nested ones)
  std::string before;     ///< JSON: the value there now (as last read; as last written where not read back); "" unknown
  std::string after;      ///< JSON: the value to write
  std::string attribute;  ///< the canonical attribute it comes from ("" for a constant)
  std::string rule;       ///< how the value was chosen: a survivorship strategy, "owner", "kpi", "profile id"
  std::string source;     ///< "system:object:id" of the record the value came from ("" when computed)
  std::int64_t source_ts = 0;  ///< when that information dates from (ms)
  /// The attribute's golden value the field was made from (survivorship rules only): once the write is
  /// acknowledged, the book knows this value in that record as omnisync's own (book::note_written).
  std::optional<mapping::value> golden;
};

/// A write computed when it is sent: only what differs, with the reason for each field.
struct computed_write {
  enum class kind { update, create, remove };
  kind what = kind::update;
  /// payload: the fields to send (an update); the whole record (a create); `deleted_payload` (a removal).
  planned_write write;
  /// The whole record as it will stand after the write (what is then "last written" there).
  std::string full_payload;
  std::vector<field_change> changes;
};

class propagator {
 public:
  /// The write that brings one destination record in line with profile `pid` now, computed at the moment of
  /// sending: the profile's golden values through the outbound mapping, compared field by field with what the
  /// destination holds — its newest stored copy as its own mapping reads it back, and `last_written` (the
  /// payload last written there) for fields it does not give back. nullopt: nothing differs (or the record no
  /// longer belongs to the profile, or may not be created). `queued_target` is the destination id the entry was
  /// queued for ("" for a create): a record that left the profile since is not written. `preview`: for `plan` —
  /// nothing is remembered (a repeated value's one attempt is not used up).
  std::optional<computed_write> compute(const book& b, const std::vector<std::shared_ptr<const mapping::plan>>& outbound,
                                        const destination& dst, profile_id pid, std::string_view object,
                                        std::string_view queued_target, std::string_view last_written,
                                        mapping::evaluator_cache& evals, bool preview = false);

  /// The writes that bring the destinations in line with the profiles in `affected`. With `only`, just that
  /// destination connector and object (a destination read to the end for the first time).
  std::vector<planned_write> writes(const book& b, const std::vector<std::shared_ptr<const mapping::plan>>& outbound,
                                    const std::vector<destination>& destinations,
                                    const std::set<profile_id>& affected, mapping::evaluator_cache& evals,
                                    const destination* only = nullptr, std::string_view only_object = {});
  /// Profiles not created somewhere because the upsert could land on another person's record.
  std::uint64_t withheld_creates() const noexcept { return withheld_creates_.load(); }
  /// Distinct (profile, destination) creates withheld, by "connector/object: reason" (status shows them).
  std::map<std::string, std::uint64_t> withheld_reasons() const;

 private:
  bool withhold_create(const book& b, profile_id pid, const destination& dst, const planned_write& w);
  bool first_correction(const planned_write& w);
  void forget_correction(const planned_write& w);

  /// A field write repeating the value last written there while the destination keeps another (a vendor that
  /// transforms the value as it stores it, or a change there the rules overrule) is sent once per value; the
  /// memory is forgotten when the field is read back agreeing.
  bool first_repeat(const planned_write& w, std::string_view field, std::string_view value);
  void forget_repeat(const planned_write& w, std::string_view field);
  bool repeated(const planned_write& w, std::string_view field, std::string_view value) const;
  /// A field written over a value the destination's stored copy held: until that record is read again, the copy
  /// still holds the value the write replaced, which is not the destination keeping another value (no
  /// correction is due). Remembered as the hash of the replaced value and the copy's modification time;
  /// forgotten when the field is read back agreeing.
  void note_replaced(const planned_write& w, std::string_view field, std::string_view replaced);
  bool still_replaced(const planned_write& w, std::string_view field, std::string_view read_back) const;

  static constexpr std::size_t memory_cap = 100'000;
  /// What is remembered of one destination field (either part may be unset).
  struct field_memory {
    std::optional<std::size_t> repeated;  ///< hash of the value repeated there (first_repeat)
    std::optional<std::size_t> replaced;  ///< hash of the value a write replaced there (note_replaced)
  };
  /// (connector, object, target, field) -> its memory; bounded like forced_; a field read back agreeing forgets both.
  std::unordered_map<std::size_t, field_memory> field_memory_;
  /// (connector, object, target) -> hash of the payload forced there; bounded (starts over past memory_cap).
  std::unordered_map<std::size_t, std::size_t> forced_;
  std::unordered_set<std::size_t> withheld_logged_;
  log_limiter withheld_log_;  // one summary line per destination and reason a minute
  mutable std::mutex withheld_mu_;
  std::map<std::string, std::uint64_t> withheld_by_reason_;
  std::atomic<std::uint64_t> withheld_creates_{0};
};

}  // namespace omnisync::profile
