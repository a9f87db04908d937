#!/usr/bin/env bash
# Write-back: are people's edits kept while omnisync writes, and what does a field-level write cost against a
# whole-record write? Real processes: omnisync-sim serving Salesforce, HubSpot and Zendesk (N people each,
# overlapping), omnisyncd on SQLite writing to all three, signed webhooks from HubSpot and Zendesk to omnisyncd.
#
# 1. Edits during the initial sync: E phone edits (half in HubSpot, half in Zendesk, other people), made through
#    the simulator's admin API and spread over the initial sync's write-back. After quiescence each edit must be
#    held by the person's record in all three systems; a lost edit is printed with its records' audit log.
# 2. Write volume: once settled, K = min(10000, N) people's phones are changed in HubSpot (webhooks on). The
#    simulator counts the write calls and request body bytes omnisync sends to each vendor (/admin/counts,
#    /admin/bytes); the audit log (state.db) says which records were written with which fields, and outbox_last
#    holds each destination record as it stands after its write — the payload a whole-record write would carry.
#    Figures per 10,000 profile changes.
#
#   bench/writeback_bench.sh [N] [E]   (default 3000 and 100; OMNISYNC_BUILD_DIR, default build/default;
#                                       KEEP=1 keeps the temp dir; it is kept anyway when something failed)
#
# Writes the section between <!-- writeback:begin --> and <!-- writeback:end --> in docs/benchmarks.md (also when
# an edit was lost: that is the finding). Exit status 1 when an edit or a change was lost, 2 when the run could
# not be measured (omnisyncd exited or did not settle).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-3000}"
e="${2:-100}"
for b in sim/omnisync-sim daemon/app/omnisyncd daemon/ctl/omnisyncctl; do
  [[ -x "$build/$b" ]] || { echo "writeback_bench: $build/$b is missing: build it first (cmake --build --preset default)" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "writeback_bench: sqlite3 (the CLI) is needed to read state.db" >&2; exit 2; }
tmp="$(mktemp -d /tmp/omnisync-wbbench.XXXXXX)"
export WB_TMP="$tmp"
set +e
python3 "$root/bench/writeback/writeback_bench.py" "$build" "$root" "$tmp" "$n" "$e"
rc=$?
set -e
if [[ $rc -ne 0 || -n "${KEEP:-}" ]]; then
  echo "writeback_bench: kept $tmp (omnisyncd.log, state/state.db, sim.err)" >&2
else
  rm -rf "$tmp"
fi
exit $rc
