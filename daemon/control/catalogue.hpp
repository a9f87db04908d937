#pragma once
/// The control commands of omnisyncd, declared once (data, no handlers): the daemon registers a handler for each
/// (`daemon/control/commands/`) and serves them on the Unix socket, which checks every request's arguments
/// against these declarations; `omnisyncctl` takes its command descriptions, argument help and allowed values
/// from them. A new command is declared here first, then handled in `commands/` and offered in `daemon/ctl/`;
/// tests check that the three agree.
///
/// Help lines are written for every door (socket, omnisyncctl, a web console): they name arguments, never
/// command-line syntax.
#include <array>

#include "daemon/control/command_spec.hpp"

namespace omnisync::control::catalogue {

namespace detail {

inline constexpr arg_spec connector_or_all[] = {
    {.name = "connector", .type = arg_type::string, .help = "Connector name",
     .default_value = "every configured connector"},
};

inline constexpr arg_spec resync_args[] = {
    {.name = "connector", .type = arg_type::string, .required = true, .help = "Connector name"},
    {.name = "object", .type = arg_type::string, .help = "Object (default: all of the connector's objects)",
     .default_value = "all objects; for id and email: the connector's first (its people object)"},
    {.name = "full", .type = arg_type::boolean, .help = "Read everything again (the default)"},
    {.name = "since", .type = arg_type::string, .help = "Only changes since this UTC time (2026-11-01T00:00:00Z)"},
    {.name = "id", .type = arg_type::string, .help = "Only this record id"},
    {.name = "email", .type = arg_type::string, .help = "Only records with this email"},
    {.name = "fields", .type = arg_type::string_list,
     .help = "Only these fields (Salesforce and HubSpot; other systems read whole records)"},
    {.name = "follow", .type = arg_type::boolean, .help = "Send progress events until the resync finished",
     .default_value = "false"},
};

inline constexpr choice dlq_actions[] = {
    {.value = "list", .help = "entries, a page at a time (open ones unless state says otherwise)", .scope = access::read},
    {.value = "show", .help = "one entry with its payload", .scope = access::read},
    {.value = "stats", .help = "counts by connector, object, stage and reason", .scope = access::read},
    {.value = "retry",
     .help = "queue again: a write is computed anew from the profile and mapping, a mapping failure re-reads the "
             "record, an event is processed again; one entry (id) or every match of the filters",
     .scope = access::write},
    {.value = "drop", .help = "delete one entry (id) or every match of the filters", .scope = access::write},
};

inline constexpr choice dlq_states[] = {
    {.value = "open", .help = "not resolved (the default)"},
    {.value = "resolved", .help = "resolved: the record succeeded later"},
    {.value = "any", .help = "both"},
};

inline constexpr arg_spec dlq_args[] = {
    {.name = "action", .type = arg_type::string, .help = "list, show, stats, retry or drop", .choices = dlq_actions,
     .default_value = "list"},
    {.name = "id", .type = arg_type::integer, .help = "Entry id (show; retry and drop of one entry)"},
    {.name = "all", .type = arg_type::boolean,
     .help = "retry, drop: every entry the filters match (every open entry without filters)", .default_value = "false"},
    {.name = "connector", .type = arg_type::string,
     .help = "Only this connector's entries (also a connector removed from the config: list, stats, drop)"},
    {.name = "object", .type = arg_type::string, .help = "Only this object's entries"},
    {.name = "stage", .type = arg_type::string, .help = "Only this stage: mapping, parse, write, ..."},
    {.name = "reason", .type = arg_type::string,
     .help = "Only reasons containing this text (ASCII case ignored), or matching it as a glob with * and ?"},
    {.name = "since", .type = arg_type::string, .help = "Only entries created at or after: 2h, 7d or an ISO 8601 time"},
    {.name = "until", .type = arg_type::string, .help = "Only entries created before: 2h, 7d or an ISO 8601 time"},
    {.name = "state", .type = arg_type::string, .help = "open, resolved or any (list, stats)", .choices = dlq_states,
     .default_value = "open"},
    {.name = "after", .type = arg_type::integer, .help = "Only entries after this id (list: the next page)"},
    {.name = "limit", .type = arg_type::integer, .help = "Entries per page, 1 to 1000 (list)", .default_value = "100"},
    {.name = "dry_run", .type = arg_type::boolean, .help = "retry, drop with filters: only count the matches",
     .default_value = "false"},
};

inline constexpr choice profile_actions[] = {
    {.value = "get", .help = "golden values, KPIs, records and the latest timeline", .scope = access::read},
    {.value = "explain", .help = "also why records are linked, and each value's provenance", .scope = access::read},
    {.value = "split", .help = "remove one identity link", .scope = access::write},
    {.value = "restore", .help = "undo a split", .scope = access::write},
    {.value = "resync", .help = "re-read every record of the profile", .scope = access::write},
    {.value = "list", .help = "profiles matching the filters, a page at a time, in id order", .scope = access::read},
    {.value = "search", .help = "as list, for profiles with a text value (or id) containing the query",
     .scope = access::read},
};

inline constexpr arg_spec profile_args[] = {
    {.name = "action", .type = arg_type::string, .help = "get, explain, split, restore or resync",
     .choices = profile_actions, .default_value = "get"},
    {.name = "query", .type = arg_type::string,
     .help = "E-mail, profile id (p...), phone or system:id (search: the text to look for)",
     .default_value = "required except for list"},
    {.name = "attribute", .type = arg_type::string,
     .help = "explain: only this attribute's provenance; split/restore: the identifier's attribute"},
    {.name = "record", .type = arg_type::string, .help = "split/restore: the record, system:object:id"},
    {.name = "value", .type = arg_type::string, .help = "split/restore: the identifier's value"},
    {.name = "where", .type = arg_type::string_list,
     .help = "list, search: attribute conditions that must all hold: ATTR=VALUE, ATTR!=VALUE, ATTR~TEXT (contains), "
             "ATTR? (has a value), !ATTR? (has none)"},
    {.name = "stage", .type = arg_type::string, .help = "list, search: only this lifecycle stage"},
    {.name = "kpi", .type = arg_type::string_list,
     .help = "list, search: KPI ranges that must all hold, NAME>=N (or >, <=, <, =, !=), e.g. lifetime_value>=1000"},
    {.name = "after", .type = arg_type::string, .help = "list, search: the next page after this cursor (a profile id)"},
    {.name = "limit", .type = arg_type::integer, .help = "list, search: profiles per page, 1 to 1000",
     .default_value = "50"},
    {.name = "fields", .type = arg_type::string_list,
     .help = "list, search: only these attributes of each profile (dotted paths); default: the whole record"},
};

inline constexpr arg_spec plan_args[] = {
    {.name = "connector", .type = arg_type::string, .help = "Only writes to this connector",
     .default_value = "every connector"},
    {.name = "profile", .type = arg_type::string, .help = "Only writes for this profile (e-mail, p..., phone, system:id)"},
    {.name = "limit", .type = arg_type::integer, .help = "List at most this many writes (the totals count all)",
     .default_value = "1000"},
};

inline constexpr arg_spec audit_args[] = {
    {.name = "profile", .type = arg_type::string, .help = "Only writes for this profile (e-mail, p..., phone, system:id)"},
    {.name = "record", .type = arg_type::string, .help = "Only writes to this record, system:object:id"},
    {.name = "connector", .type = arg_type::string, .help = "Only writes to this connector"},
    {.name = "field", .type = arg_type::string, .help = "Only this destination field"},
    {.name = "source", .type = arg_type::string, .help = "Only writes caused by this record, system:object:id"},
    {.name = "since", .type = arg_type::string,
     .help = "Only entries since this UTC time (2026-11-01T00:00:00Z) or this long ago (30m, 2h, 7d)"},
    {.name = "before", .type = arg_type::integer, .help = "Only entries older than this id (the next page)"},
    {.name = "limit", .type = arg_type::integer, .help = "Entries per page", .default_value = "100"},
};

inline constexpr choice runs_actions[] = {
    {.value = "list", .help = "runs, newest first, a page at a time", .scope = access::read},
    {.value = "show", .help = "one run with its writes per destination", .scope = access::read},
};

inline constexpr choice run_kinds[] = {
    {.value = "poll", .help = "a poll cycle of one object that read, wrote or failed something"},
    {.value = "resync", .help = "a resync of one or more objects"},
    {.value = "reload", .help = "a configuration reload"},
    {.value = "remap", .help = "the inbound mappings applied again to stored records"},
    {.value = "segment_backfill", .help = "a segment evaluated over every profile (new or changed, or asked for)"},
};

inline constexpr arg_spec runs_args[] = {
    {.name = "action", .type = arg_type::string, .help = "list or show", .choices = runs_actions,
     .default_value = "list"},
    {.name = "id", .type = arg_type::integer, .help = "Run id (show)"},
    {.name = "connector", .type = arg_type::string, .help = "Only this connector's runs"},
    {.name = "kind", .type = arg_type::string, .help = "Only runs of this kind", .choices = run_kinds},
    {.name = "after", .type = arg_type::integer, .help = "Only runs older than this id (list: the next page)"},
    {.name = "limit", .type = arg_type::integer, .help = "Runs per page, 1 to 1000 (list)", .default_value = "20"},
};

// report: the analytics reports over the history (daemon/analytics, docs/analytics.md).
inline constexpr choice report_names[] = {
    {.value = "funnel", .help = "lifecycle funnel: entries per stage in any order and in order, conversion, median "
                                "days in stage", .scope = access::read},
    {.value = "retention", .help = "cohorts by first purchase period: how many were active in each later period",
     .scope = access::read},
    {.value = "satisfaction", .help = "NPS, CSAT and CES per period with sample counts", .scope = access::read},
    {.value = "value", .help = "lifetime value and average order value by segment, stage and first-touch source",
     .scope = access::read},
    {.value = "segment_size", .help = "each segment's size at the end of each period, entries and exits",
     .scope = access::read},
};
inline constexpr choice report_periods[] = {
    {.value = "day", .help = "UTC days"},
    {.value = "week", .help = "weeks from Monday (UTC)"},
    {.value = "month", .help = "calendar months (UTC)"},
};
inline constexpr arg_spec report_args[] = {
    {.name = "name", .type = arg_type::string, .required = true, .help = "Which report", .choices = report_names},
    {.name = "from", .type = arg_type::string, .help = "From this UTC date or time, inclusive (2026-01-01)",
     .default_value = "the oldest history kept"},
    {.name = "to", .type = arg_type::string, .help = "Up to this UTC date or time, exclusive (2026-07-01)",
     .default_value = "now"},
    {.name = "by", .type = arg_type::string, .help = "Period of the rows", .choices = report_periods,
     .default_value = "month"},
};

// segment: the segments of omnisync.yaml, their membership, explain, preview, backfill, pause, release
// (docs/segments.md).
inline constexpr choice segment_actions[] = {
    {.value = "list", .help = "every segment with its size and state", .scope = access::read},
    {.value = "show", .help = "one segment: definition, size, destinations, paused", .scope = access::read},
    {.value = "members", .help = "a segment's current members, a page at a time", .scope = access::read},
    {.value = "explain", .help = "each term's value for one profile and the next flip", .scope = access::read},
    {.value = "preview",
     .help = "size, a sample, the diff against current membership and per destination the adds/removes the next "
             "sync would send (against what it acknowledged), nothing written",
     .scope = access::read},
    {.value = "backfill", .help = "evaluate the segment over every profile and store it (a run)",
     .scope = access::write},
    {.value = "pause", .help = "stop queuing its membership writes (membership still computed)",
     .scope = access::write},
    {.value = "resume",
     .help = "queue its membership writes again, and the changes made while paused (stored members against what "
             "each destination acknowledged)",
     .scope = access::write},
    {.value = "release",
     .help = "let a membership sync the safety brake holds send the writes queued now, once (later ones obey the "
             "brake again); audited",
     .scope = access::write},
};

inline constexpr arg_spec segment_args[] = {
    {.name = "action", .type = arg_type::string, .help = "What to do", .choices = segment_actions,
     .default_value = "list"},
    {.name = "key", .type = arg_type::string, .help = "Segment key (every action but list)"},
    {.name = "profile", .type = arg_type::string, .help = "explain: the profile (p..., e-mail, phone, system:id)"},
    {.name = "after", .type = arg_type::string, .help = "members: the next page after this profile id"},
    {.name = "limit", .type = arg_type::integer, .help = "members: per page, 1 to 10000; preview: sample size",
     .default_value = "100"},
    {.name = "follow", .type = arg_type::boolean, .help = "backfill: send progress events until it finished",
     .default_value = "false"},
    {.name = "connector", .type = arg_type::string, .help = "release: only this destination",
     .default_value = "every held destination of the segment"},
};

inline constexpr arg_spec test_args[] = {
    {.name = "connector", .type = arg_type::string, .help = "Connector name",
     .default_value = "every enabled connector"},
    {.name = "timeout_ms", .type = arg_type::integer, .help = "Longest wait for each step that talks to the vendor",
     .default_value = "15000"},
};

// remap, sample, fields: mapping changes checked against and re-applied to what is stored.
inline constexpr arg_spec remap_args[] = {
    {.name = "connector", .type = arg_type::string, .help = "Connector name",
     .default_value = "every configured connector"},
    {.name = "object", .type = arg_type::string, .help = "Object (only with a connector)",
     .default_value = "every object of the connector that an inbound mapping reads"},
    {.name = "follow", .type = arg_type::boolean, .help = "Send progress events until the remap finished",
     .default_value = "false"},
};

inline constexpr arg_spec sample_args[] = {
    {.name = "connector", .type = arg_type::string, .required = true, .help = "Connector name"},
    {.name = "object", .type = arg_type::string, .required = true, .help = "Object, as configured"},
    {.name = "id", .type = arg_type::string, .help = "Only this record id"},
    {.name = "limit", .type = arg_type::integer, .help = "At most this many records, 1 to 1000 (in id order)",
     .default_value = "10"},
    {.name = "after", .type = arg_type::string, .help = "Only records whose id sorts after this one (the next page)"},
};

inline constexpr arg_spec fields_args[] = {
    {.name = "connector", .type = arg_type::string, .required = true, .help = "Connector name"},
    {.name = "object", .type = arg_type::string, .required = true, .help = "Object, as configured"},
};

inline constexpr arg_spec reload_args[] = {
    {.name = "force", .type = arg_type::boolean,
     .help = "Apply even when lint finds errors in the added or changed mappings", .default_value = "false"},
};

inline constexpr arg_spec lint_args[] = {
    {.name = "config", .type = arg_type::string,
     .help = "Check this candidate omnisync.yaml (absolute path the daemon can read) and its mappings instead of the "
             "running ones", .default_value = "the running configuration"},
    {.name = "mapping", .type = arg_type::string_list,
     .help = "Check these mapping files (absolute paths the daemon can read) instead of the running ones"},
};

// ---- record inspector (one block) ----
inline constexpr choice record_actions[] = {
    {.value = "show",
     .help = "the stored source payload, its mapped values, which golden values it supplies, and the writes it caused",
     .scope = access::read},
};

inline constexpr arg_spec record_args[] = {
    {.name = "action", .type = arg_type::string, .help = "show", .choices = record_actions, .default_value = "show"},
    {.name = "connector", .type = arg_type::string, .required = true, .help = "Connector name"},
    {.name = "object", .type = arg_type::string, .required = true, .help = "Object, as configured"},
    {.name = "id", .type = arg_type::string, .required = true, .help = "The record's id in its system"},
    {.name = "limit", .type = arg_type::integer, .help = "At most this many writes, 1 to 500", .default_value = "50"},
};
// ---- end record inspector ----

}  // namespace detail

inline constexpr command_spec plan{
    .name = "plan",
    .help = "The queued or shadowed writes as field-level changes: destination record, field, value there now -> "
            "value to write, and why",
    .scope = access::read,
    .args = detail::plan_args,
    .result = "{changes: [{connector, object, record, profile, what, fields: [{field, before, after, attribute, rule, "
              "source, source_ts}]}], totals: {queued, unchanged, listed, per_connector: {c: n}, per_field: {c.field: n}}}",
};

inline constexpr command_spec audit{
    .name = "audit",
    .help = "Every field omnisyncd changed in a destination, newest first: before and after, cause, the vendor's answer",
    .scope = access::read,
    .args = detail::audit_args,
    .result = "{items: [{id, at, connector, object, record, field, before, after, attribute, rule, source, source_ts, "
              "profile, request_id, outcome, answer}], next_before}",
};

inline constexpr command_spec status{
    .name = "status",
    .help = "Show the daemon's state, connectors and store counts",
    .scope = access::read,
    .result = "status/1: {schema, version, pid, uptime_s, config_file, http, state, paused, last_reload, connectors, "
              "store, cluster?, profiles?, log} (daemon/control/commands/README.md)",
};

inline constexpr command_spec version{
    .name = "version",
    .help = "Show the daemon's version and protocol",
    .scope = access::read,
    .result = "{version, protocol}",
};

inline constexpr command_spec reload{
    .name = "reload",
    .help = "Reload the configuration and mappings: rejected with all errors if invalid, refused when lint finds "
            "errors in the changed mappings (unless forced); says what waits for a restart and what it re-writes",
    .scope = access::write,
    .args = detail::reload_args,
    .result = "{reloaded: true, config_file, connectors, forced, warnings: [text], mappings: [{kind, object, file, "
              "direction, change}], lint: [finding], rechecks: [{connector, object, checked, to_write, creates, "
              "shadow}], recheck_note?, next_steps: [text]}; error config_invalid lists every problem, lint_errors "
              "every lint error",
};

inline constexpr command_spec pause{
    .name = "pause",
    .help = "Pause one connector, or all when none is named (takes effect at once)",
    .scope = access::write,
    .args = detail::connector_or_all,
    .result = "{paused: [connector...]}, the paused set after the change (persisted, shared by a cluster)",
};

inline constexpr command_spec resume{
    .name = "resume",
    .help = "Resume one connector, or all when none is named",
    .scope = access::write,
    .args = detail::connector_or_all,
    .result = "{paused: [connector...]}, the paused set after the change",
};

inline constexpr command_spec resync{
    .name = "resync",
    .help = "Re-read a connector (all objects, or one): everything, since a time, one id or one email",
    .scope = access::write,
    .args = detail::resync_args,
    .result = "{connector, objects, run, fields_note?}; with follow, when finished (read, and its writes sent): "
              "{connector, run, read, stored, elapsed_s, rate, running, error, phase, writes: {queued, written, "
              "refused, unchanged, pending}, estimated_total?, objects, outcome, mapped, failed, api_calls, "
              "per_destination, fields_note?}",
    .events = "with follow, every 250 ms: {connector, run, read, stored, elapsed_s, rate, running, error, phase "
              "(read, write), writes: {queued, written, refused, unchanged, pending}, estimated_total?}",
};

inline constexpr command_spec lint{
    .name = "lint",
    .help = "Check every mapping against the connected systems' metadata (unknown, read-only and formula fields, "
            "lengths, upsert keys); or a candidate configuration or mapping files before they are loaded",
    .scope = access::read,
    .args = detail::lint_args,
    .result = "{findings: [{severity, connector, object, file, line, field, message}], errors}",
};

inline constexpr command_spec test{
    .name = "test",
    .help = "Test connectors step by step: resolve, connect, verify TLS, authenticate, read one page of each object, "
            "check webhook settings; each step passes or fails with the vendor's message",
    .scope = access::read,
    .args = detail::test_args,
    .result = "{ok, connectors: [{connector, kind, ok, steps: [{step, ok, skipped, detail}]}]}",
    .events = "one per connector as it finishes: {connector_report: {connector, kind, ok, steps}}",
};

inline constexpr command_spec dlq{
    .name = "dlq",
    .help = "Dead letters: list, count by reason, show, retry or drop them, one or every match of filters",
    .scope = access::write,
    .args = detail::dlq_args,
    .result = "list: {items: [{id, connector, object, record_id, event_id, stage, reason, created_at, retry_to, "
              "retries, retryable, resolved_at}], next_after}; show: one item with payload and meta; stats: {groups: "
              "[{connector, object, stage, reason, count, first, last}], total}; retry, drop of one: {id, "
              "retried|reread|dropped: true}; with filters: {matched, retried, reread, not_retryable} or {matched, "
              "dropped} (dry_run: {matched}); about a removed connector's entries: removed_connector added",
};

inline constexpr command_spec runs{
    .name = "runs",
    .help = "Run history: poll cycles, resyncs, reloads and remaps with what each read, stored, mapped, failed and "
            "caused at each destination (writes queued, written, refused), API calls and quota used",
    .scope = access::read,
    .args = detail::runs_args,
    .result = "list: {items: [run], next_after}; show: run. run: {id, kind, connector, objects, started_at, ended_at, "
              "duration_s, outcome, error, read, stored, mapped, failed, api_calls, quota_used, idle_cycles, "
              "last_idle_at, writes: {queued, written, refused, unchanged, per_destination: [{destination, queued, "
              "written, refused, unchanged}]}}",
};

inline constexpr command_spec report{
    .name = "report",
    .help = "Analytics over the history of lifecycle stages, KPIs and segments: funnel, retention, satisfaction, "
            "value, segment_size",
    .scope = access::read,
    .args = detail::report_args,
    .result = "{report, from, to, by, tables: {NAME: {columns: [..], rows: [[..]]}}, rows_read, elapsed_ms}; "
              "docs/analytics.md says what each column means",
};

inline constexpr command_spec profile{
    .name = "profile",
    .help = "Profiles: get or explain one, split or restore an identity link, resync its records; list or search "
            "them by attribute, stage and KPI",
    .scope = access::write,
    .args = detail::profile_args,
    .result = "get, explain: {id, golden, kpis, records, timeline, timeline_total, edges?, conflicts?, ignored?, "
              "attribute?, attribute_golden?}; split, restore: {action, writes_queued, profile?}; resync: {id, records}; "
              "list, search: {items: [canonical record with _profile_id], next_after, scanned, total}",
};

inline constexpr command_spec remap{
    .name = "remap",
    .help = "Apply the current inbound mappings again to the stored source records (no vendor API calls): changed "
            "attributes reach the profiles and are written back as any change is",
    .scope = access::write,
    .args = detail::remap_args,
    .result = "{connectors: [{connector, objects}]}; with follow, when finished: {read, mapped, failed, "
              "writes_queued, writes_unchanged, elapsed_s, rate, running, error, estimated_total?, connectors}",
    .events = "with follow, every 250 ms: {connector, object, read, mapped, failed, writes_queued, writes_unchanged, "
              "elapsed_s, rate, running, error, estimated_total?}",
};

inline constexpr command_spec sample{
    .name = "sample",
    .help = "Stored source records of one object as the vendor sent them (the input of a mapping): one id, or a "
            "page in id order",
    .scope = access::read,
    .args = detail::sample_args,
    .result = "{connector, object, items: [{id, payload, source_updated_at, deleted}], next_after}",
};

inline constexpr command_spec record{
    .name = "record",
    .help = "Inspect one source record: its stored payload, the values its mapping gives, the golden values it "
            "supplies, and the writes it caused with the vendor's answers (credentials redacted)",
    .scope = access::read,
    .args = detail::record_args,
    .result = "{connector, object, id, source_updated_at, stored_at, first_seen, deleted, payload, mapping: {file, "
              "mapped, error}, profile, provenance: [{attribute, value, decided_by, supplied, sources}], writes: "
              "[{at, destination, field, before, after, attribute, rule, outcome, request_id, request, response}]}",
};

inline constexpr command_spec fields{
    .name = "fields",
    .help = "The vendor's fields of one object, from its metadata: type, length, writable, calculated, upsert key",
    .scope = access::read,
    .args = detail::fields_args,
    .result = "{connector, kind, object, fields: [{name, type, length, writable, calculated, external_id, unique}]}",
};

inline constexpr command_spec segment{
    .name = "segment",
    .help = "Segments: list them, show one, its members, explain one person's membership, preview, backfill, pause "
            "or resume its membership writes, release a held membership sync",
    .scope = access::write,
    .args = detail::segment_args,
    .result = "list: {items: [{key, size, paused, destinations}]}; show: {key, where, holdout_percent, "
              "priority_group, size, paused, sync: [{connector, list, resubscribe}], held: {connector: why}}; members: {key, items: "
              "[{profile, since}], next_after}; explain: {key, profile, member, matches, held_out, outranked_by, "
              "flips_at, recheck, terms: [{text, value, detail}]}; preview: {key, profiles, size, current, sample, "
              "would_enter, would_exit, enter_sample, exit_sample, destinations: [{connector, list, acknowledged, adds, "
              "removes, unresolved, add_sample, remove_sample, paused}]}; backfill: {key, profiles, members, "
              "entered, exited}; pause: {key, paused}; resume: {key, paused, queued: [{connector, adds, removes, "
              "already_queued}]}; release: {key, released: [{connector, held, writes}], by}",
    .events = "backfill with follow: {key, done, total}",
};

/// Every command, in the order `omnisyncctl` lists them.
inline constexpr std::array<const command_spec*, 19> all = {
    &status, &reload, &pause, &resume, &resync, &lint, &test, &plan, &audit, &dlq, &profile, &version,
    &remap,  &sample, &fields, &runs,
    &report, &record, &segment};

/// The declaration of command `name`, or nullptr.
constexpr const command_spec* find(std::string_view name) noexcept {
  for (const auto* c : all)
    if (c->name == name) return c;
  return nullptr;
}

}  // namespace omnisync::control::catalogue
