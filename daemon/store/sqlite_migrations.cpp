// The SQLite schema, as an append-only list of migrations per database file.
//
// To change the schema, append a migration to the end of the right list with the next version number.
// Never edit or reorder a migration that has shipped: databases in the field are at its version already.
// Times are INTEGER milliseconds since the Unix epoch. See README.md in this folder.
#include "daemon/store/sqlite_db.hpp"

namespace omnisync::store::sqlite {
namespace {

// state.db: everything except the webhook inbox.
constexpr migration state_list[] = {
    {1, "meta, cursors, source records",
     R"sql(
CREATE TABLE meta(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE cursors(
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY(connector, object)
) WITHOUT ROWID;

CREATE TABLE records(
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  source_ts INTEGER NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0 CHECK(deleted IN (0, 1)),
  stored_at INTEGER NOT NULL,
  PRIMARY KEY(connector, object, id)
);

-- Kept by triggers so that status never counts a million rows.
CREATE TABLE record_counts(
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY(connector, object)
) WITHOUT ROWID;

CREATE TRIGGER records_count_insert AFTER INSERT ON records BEGIN
  INSERT INTO record_counts(connector, object, n) VALUES(new.connector, new.object, 1)
    ON CONFLICT(connector, object) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER records_count_delete AFTER DELETE ON records BEGIN
  UPDATE record_counts SET n = n - 1 WHERE connector = old.connector AND object = old.object;
END;
)sql"},

    {2, "outbox and dead letters",
     R"sql(
-- state 0 = pending, 1 = claimed. For a claimed write next_attempt_at is the end of its claim, so
-- "due" is one comparison for both states, and an expired claim is due again.
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY,
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  record_key TEXT NOT NULL,
  payload TEXT NOT NULL,
  state INTEGER NOT NULL DEFAULT 0 CHECK(state IN (0, 1)),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  enqueued_at INTEGER NOT NULL
);
-- At most one pending write per record: enqueueing again replaces its payload (coalescing).
CREATE UNIQUE INDEX outbox_pending_key ON outbox(connector, object, record_key) WHERE state = 0;
CREATE INDEX outbox_key ON outbox(connector, object, record_key, state);
CREATE INDEX outbox_due ON outbox(next_attempt_at, id);

-- target: 0 none, 1 inbox, 2 outbox (where a retry sends the entry).
CREATE TABLE dead_letters(
  id INTEGER PRIMARY KEY,
  target INTEGER NOT NULL CHECK(target IN (0, 1, 2)),
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  record_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  reason TEXT NOT NULL,
  payload BLOB NOT NULL,
  meta TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX dead_letters_connector ON dead_letters(connector, id);
)sql"},

    {3, "leases with fencing tokens",
     R"sql(
CREATE TABLE leases(
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql"},

    {4, "last written payload per destination record",
     R"sql(
-- What was last written successfully to each destination record: enqueueing the same payload again is a no-op,
-- and a record read back that agrees with it field by field is the echo of our write (no ping-pong).
CREATE TABLE outbox_last(
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  record_key TEXT NOT NULL,
  payload_hash INTEGER NOT NULL,
  payload TEXT NOT NULL,
  written_at INTEGER NOT NULL,
  PRIMARY KEY(connector, object, record_key)
) WITHOUT ROWID;
)sql"},

    {5, "first-seen time of records, destination ids of writes",
     R"sql(
-- When omnisync first stored a record: profile ids derive from the oldest member, so a rebuild needs it.
ALTER TABLE records ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
UPDATE records SET first_seen = stored_at;
-- The destination record's own id when the profile already links one: the writer updates it by id.
ALTER TABLE outbox ADD COLUMN target_id TEXT NOT NULL DEFAULT '';
)sql"},

    {6, "record facts, the profile of a queued write, the audit log",
     R"sql(
-- What the pipeline knows of a record beyond its payload (JSON), stored and replaced with it.
ALTER TABLE records ADD COLUMN facts TEXT NOT NULL DEFAULT '';
-- The profile a queued write is for: the writer computes what to send from it.
ALTER TABLE outbox ADD COLUMN profile_id TEXT NOT NULL DEFAULT '';
-- `plan CONNECTOR`: one connector's queued writes by id.
CREATE INDEX outbox_connector ON outbox(connector, id);

-- Every field omnisync changed in a destination. Listed newest first, by (at, id); every filter has an index
-- that ends in (at, id), so a filtered page is one index range walked backwards to its LIMIT, and `since` bounds
-- that range. Pruned oldest first, in batches, along audit_at.
CREATE TABLE audit(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  connector TEXT NOT NULL,
  object TEXT NOT NULL,
  record_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value_before TEXT NOT NULL,
  value_after TEXT NOT NULL,
  attribute TEXT NOT NULL,
  rule TEXT NOT NULL,
  source TEXT NOT NULL,
  source_ts INTEGER NOT NULL,
  profile_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  answer TEXT NOT NULL
);
CREATE INDEX audit_at ON audit(at, id);
CREATE INDEX audit_connector ON audit(connector, at, id);
CREATE INDEX audit_record ON audit(connector, object, record_id, at, id);
CREATE INDEX audit_profile ON audit(profile_id, at, id);
CREATE INDEX audit_source ON audit(source, at, id);
CREATE INDEX audit_field ON audit(field, at, id);
)sql"},

    {7, "dead letters that resolve and are retried on a schedule",
     R"sql(
-- resolved_at: set when the record later succeeded at the entry's stage (NULL: open). retries: scheduled retries
-- made so far (carried over when a new failure replaces the entry). retryable: a transient failure.
ALTER TABLE dead_letters ADD COLUMN resolved_at INTEGER;
ALTER TABLE dead_letters ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN retryable INTEGER NOT NULL DEFAULT 0;
CREATE INDEX dead_letters_open ON dead_letters(connector, object, stage, record_id) WHERE resolved_at IS NULL;
CREATE INDEX dead_letters_created ON dead_letters(created_at, id);
)sql"},
    {8, "run history; the run of each queued write",
     R"sql(
-- One row per run (poll cycle that read, wrote or failed something; resync; reload; remap). Counts are added as
-- the run goes; idle poll cycles are counted on their object's newest poll run instead of adding rows. Listed
-- newest first by id; pruned by ended_at (runs.retention).
CREATE TABLE runs(
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  connector TEXT NOT NULL,
  objects TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  outcome TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  records_read INTEGER NOT NULL DEFAULT 0,
  records_stored INTEGER NOT NULL DEFAULT 0,
  records_mapped INTEGER NOT NULL DEFAULT 0,
  records_failed INTEGER NOT NULL DEFAULT 0,
  api_calls INTEGER NOT NULL DEFAULT 0,
  quota_used INTEGER NOT NULL DEFAULT 0,
  idle_cycles INTEGER NOT NULL DEFAULT 0,
  last_idle_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_connector ON runs(connector, id);
CREATE INDEX runs_kind ON runs(kind, connector, objects, id);
CREATE INDEX runs_ended ON runs(ended_at);
-- What each run caused at each destination; counted by the pipeline (queued) and the writers (the rest).
CREATE TABLE run_writes(
  run_id INTEGER NOT NULL,
  destination TEXT NOT NULL,
  queued INTEGER NOT NULL DEFAULT 0,
  written INTEGER NOT NULL DEFAULT 0,
  refused INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(run_id, destination)
) WITHOUT ROWID;
-- The run whose records caused a queued write (0: none, e.g. a webhook).
ALTER TABLE outbox ADD COLUMN run_id INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_run ON outbox(run_id);
)sql"},

    {9, "outbox indexes for the claim's clean-up and the age gauge",
     R"sql(
-- outbox_drop_superseded (before every claim) looks at claimed writes only: without this it walked outbox_due
-- over every due pending write, the whole backlog during an initial sync.
CREATE INDEX outbox_claimed ON outbox(next_attempt_at) WHERE state = 1;
-- outbox_oldest (the age gauge, every second): the oldest write of each connector is one seek per connector.
CREATE INDEX outbox_age ON outbox(connector, enqueued_at);
)sql"},

    {detail::record_count_slot_version, "record_counts: one slot per session (the whole backend pid)",
     R"sql(
-- PostgreSQL only (its record_counts has a slot per session; SQLite's has one row per object and one writer):
-- nothing to change here, the step keeps the two backends' version numbers equal.
SELECT 1;
)sql"},
    {detail::history_version, "the append-only history of stage, KPI and segment transitions",
     R"sql(
-- One row per transition of a profile (history.hpp): kind 'stage' (subject ''), 'kpi' (subject: the KPI name) or
-- 'segment' (subject: the segment key; from/to 'out'/'in'). Never updated; pruned by `at` (history.retention).
-- AUTOINCREMENT: ids never come back after a prune, so a reader paging by id never misses a row.
CREATE TABLE history(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile TEXT NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL DEFAULT '',
  from_value TEXT NOT NULL DEFAULT '',
  to_value TEXT NOT NULL DEFAULT '',
  at INTEGER NOT NULL,
  cause TEXT NOT NULL DEFAULT ''
);
CREATE INDEX history_kind ON history(kind, subject, at);
CREATE INDEX history_profile ON history(profile, at);
-- history_prune walks the oldest rows.
CREATE INDEX history_at ON history(at);
)sql"},
    {detail::segment_membership_version, "segment membership and timer queue",
     R"sql(
-- Current membership: one row per (segment, profile) that is a member (non-members have none), so the table is
-- as large as the segments are. The primary key serves "members of K" (paged by profile) and "count of K".
CREATE TABLE segment_members(
  segment TEXT NOT NULL,
  profile TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY(segment, profile)
) WITHOUT ROWID;
-- The persistent timer queue: at most one timer per (segment, profile), the next instant its membership flips
-- with no new data. segment_timers_due serves "due now".
CREATE TABLE segment_timers(
  segment TEXT NOT NULL,
  profile TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  PRIMARY KEY(segment, profile)
) WITHOUT ROWID;
CREATE INDEX segment_timers_due ON segment_timers(due_at);
)sql"},
    {detail::segment_acked_version, "segment_members_acked: segment members each destination acknowledged",
     R"sql(
-- Managed membership: the members omnisync added to a segment's audience at a destination (a HubSpot list, an
-- ActiveCampaign tag, a Salesforce campaign) and the vendor acknowledged. omnisync removes only these; a member
-- is forgotten when its removal is acknowledged. member_id is the vendor's record id of the person.
CREATE TABLE segment_members_acked(
  segment TEXT NOT NULL,
  connector TEXT NOT NULL,
  member_id TEXT NOT NULL,
  profile_id TEXT NOT NULL DEFAULT '',
  added_at INTEGER NOT NULL,
  PRIMARY KEY(segment, connector, member_id)
);
)sql"},
    {detail::membership_row_version, "segment_members_acked.row_id: the vendor's id of each membership row",
     R"sql(
-- The id of the membership row the vendor made at the add (a Salesforce CampaignMember, an ActiveCampaign
-- contactTag): the removal deletes it without looking it up. '' when the vendor gave none (HubSpot lists have no
-- rows of their own) or the member was recorded before this column: those are looked up as before.
ALTER TABLE segment_members_acked ADD COLUMN row_id TEXT NOT NULL DEFAULT '';
)sql"},
};

// inbox.db: webhook events only, so that acknowledging a webhook never waits behind a poll transaction.
constexpr migration inbox_list[] = {
    {1, "webhook inbox",
     R"sql(
-- state 0 = pending, 1 = claimed, 2 = done (kept, body cleared, so redeliveries stay duplicates until pruned).
-- For a claimed event available_at is the end of its claim.
CREATE TABLE inbox(
  id INTEGER PRIMARY KEY,
  connector TEXT NOT NULL,
  dedupe_key TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  meta TEXT NOT NULL,
  body BLOB NOT NULL,
  state INTEGER NOT NULL DEFAULT 0 CHECK(state IN (0, 1, 2)),
  attempts INTEGER NOT NULL DEFAULT 0,
  available_at INTEGER NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  UNIQUE(connector, dedupe_key)
);
CREATE INDEX inbox_due ON inbox(available_at, id) WHERE state < 2;
CREATE INDEX inbox_done ON inbox(received_at) WHERE state = 2;
)sql"},

    {2, "open events per connector by arrival",
     R"sql(
-- inbox_pending (before every write batch): does a connector have events received by then not yet done?
CREATE INDEX inbox_open ON inbox(connector, received_at) WHERE state < 2;
)sql"},
};

}  // namespace

std::span<const migration> state_migrations() noexcept { return state_list; }
std::span<const migration> inbox_migrations() noexcept { return inbox_list; }

}  // namespace omnisync::store::sqlite
