#pragma once
/// omnisync's recent writes per destination record, so that the inbox can recognise a webhook event that is only
/// the echo of one of them and skip re-reading its record (a vendor call, mapping and propagation per event:
/// Zendesk sends a webhook per field omnisync changes, ~2 per user written).
///
/// The rule (never skip a person's edit): an event is an echo when every change it reports (adapters'
/// `event_records::reported`: field → new value) equals, leaf by leaf, what one write to that very record sent,
/// the vendor's time of the change lies within that write's lifetime (from the second it was sent, to its
/// acknowledgement, a second of slack each side for the vendor's seconds), and the book has not taken that record
/// in from anywhere (a poll, another event's re-read) since the write was computed — a read in between may hold
/// a person's edit that the write then overwrote, which only the echo's re-read shows (docs/write-back.md). A
/// person's change to another field or to another value reports something omnisync did not write, so its event
/// is re-read; a change to the value omnisync just wrote is the same record either way.
///
/// Lifecycle: one per engine (context). A write is noted when computed (`computing`), its send time when sent,
/// and settled with its outcome: a refused or failed write is forgotten; a written one is kept for `keep` after
/// its acknowledgement (events arrive later than the answer, and wait in the inbox under load), then pruned.
/// Bounded: past `cap` records everything is forgotten (only narrows the rule: those echoes are re-read). Nothing
/// is stored: after a restart every event is re-read, as before.
///
/// Thread safety: every member locks; the writer's workers, its claims loop, the inbox and the pipeline call it.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace omnisync::sync::detail {

class echo_register {
 public:
  explicit echo_register(std::int64_t keep_ms = 600'000, std::size_t cap = 200'000) : keep_ms_(keep_ms), cap_(cap) {}

  /// A write to `connector`/`object` record `id` (the vendor's id) was computed at `now_ms`: `payload` is the JSON
  /// object of the fields it sends, in the vendor's record shape. `outbox_id` names it in the calls below.
  void computing(std::int64_t outbox_id, std::string_view connector, std::string_view object, std::string_view id,
                 std::string_view payload, std::int64_t now_ms);
  /// It is being sent now.
  void sending(std::int64_t outbox_id, std::int64_t now_ms);
  /// Its answer: `written` keeps it until `now_ms + keep`; otherwise it is forgotten.
  void settled(std::int64_t outbox_id, bool written, std::int64_t now_ms);
  /// The book took the record in (stored from a poll, a re-read, an event that carried it; `payload`: the vendor's
  /// JSON of it): the writes computed before no longer vouch for its events — unless the copy taken in already
  /// holds every value the write sent (read after the write landed: the book then holds what the echo says).
  void taken_in(std::string_view connector, std::string_view object, std::string_view id, std::string_view payload);
  /// Whether the change an event reports (`fields`: JSON object, vendor shape; `at_ms`: the vendor's time of it)
  /// is exactly what one of the record's writes sent, within its lifetime (see the class comment).
  bool is_echo(std::string_view connector, std::string_view object, std::string_view id, std::string_view fields,
               std::int64_t at_ms, std::int64_t now_ms) const;
  /// Records with writes noted (tests).
  std::size_t size() const;

 private:
  struct write {
    std::int64_t outbox_id = 0;
    std::map<std::string, boost::json::value> leaves;  ///< dotted path → value sent
    std::int64_t computed_ms = 0, sent_ms = 0, acked_ms = 0;  ///< 0: not yet
    bool disturbed = false;                                   ///< the record was taken in since it was computed
  };
  static std::string key(std::string_view connector, std::string_view object, std::string_view id);
  void prune(std::int64_t now_ms);

  const std::int64_t keep_ms_;
  const std::size_t cap_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<write>> by_record_;
  std::unordered_map<std::int64_t, std::string> by_outbox_;  ///< outbox id → record key
  std::int64_t next_prune_ms_ = 0;
};

/// The leaves of a JSON object as dotted paths (`{"a":{"b":1}}` → `a.b`: 1); an empty object is one leaf.
void flatten_leaves(const boost::json::value& v, const std::string& prefix, std::map<std::string, boost::json::value>& out);

}  // namespace omnisync::sync::detail
