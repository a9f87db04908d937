#!/usr/bin/env bash
# The initial sync with write-back against its physical reference, in one run: omnisyncd (SQLite, signed HubSpot
# and Zendesk webhooks, so each write comes back as an echo) syncing N Salesforce Contacts + N HubSpot contacts +
# N Zendesk users (overlapping people) until every write is acknowledged and nothing changes; then a bare client
# (bench/initial_sync/bare_client.py) doing the same reads and the same number of record writes per destination in
# the vendors' batch sizes against a fresh simulator. Reports records/s of both and their ratio, the simulator's
# CPU share, and the write amplification: record writes per distinct record written and write calls against the
# batch floor, per destination.
#
#   bench/initial_sync_bench.sh [N] [ROUNDS]   (default 5000 and 1; OMNISYNC_BUILD_DIR, default build/default;
#                                               OMNISYNC_BENCH_BEFORE=PATH another omnisyncd, run before this
#                                               build in each round: an initial-sync-ab section more;
#                                               KEEP=1 keeps the temp dir with the logs;
#                                               OMNISYNC_BENCH_LOG=LEVEL the daemon's log level;
#                                               OMNISYNC_BENCH_PERF=1 perf record of omnisyncd per run)
#
# Writes the section between <!-- initial-sync:begin --> and <!-- initial-sync:end --> in docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-5000}"
rounds="${2:-1}"
for b in sim/omnisync-sim daemon/app/omnisyncd daemon/ctl/omnisyncctl; do
  [[ -x "$build/$b" ]] || { echo "initial_sync_bench: $build/$b is missing: build it first" >&2; exit 2; }
done
tmp="$(mktemp -d /tmp/omnisync-isbench.XXXXXX)"
cleanup() { [[ -n "${KEEP:-}" ]] && echo "kept $tmp" >&2 || rm -rf "$tmp"; }
trap cleanup EXIT
python3 "$root/bench/initial_sync/initial_sync_bench.py" "$build" "$root" "$tmp" "$n" "$rounds"
