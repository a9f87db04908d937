#!/usr/bin/env bash
# Pipeline throughput on PostgreSQL against SQLite, and with 1, 2 and 3 instances on one PostgreSQL store, over
# real sockets: omnisync-sim serves N HubSpot contacts and N Zendesk users (the same seeded people); omnisyncd reads
# them all (initial sync), resolves them into profiles and writes each profile to both systems (batched). The clock
# runs from the daemons' start to the last change before everything settled (both read, queues empty). Then webhook ingest: W signed
# HubSpot deliveries posted from 8 threads, spread over the instances, each answered 200 only once stored.
#
#   bench/cluster/pipeline_throughput.sh [N] [W]   (defaults 5000, 4000; OMNISYNC_BUILD_DIR, default build/default)
#
# PostgreSQL: a throw-away cluster (initdb in a temp dir, Unix socket only, run as the postgres user when root,
# fsync on: the numbers include durable commits). Writes the section between <!-- cluster-throughput:begin -->
# and <!-- cluster-throughput:end --> in docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-5000}"
w="${2:-4000}"
cmake --build "$build" --target omnisyncd omnisyncctl omnisync-sim -j2 >/dev/null
tmp="$(mktemp -d /tmp/omnisync-cluster.XXXXXX)"
chmod 755 "$tmp"
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$pgbin/initdb" ]] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }
as_pg=()
if [[ $(id -u) -eq 0 ]]; then as_pg=(runuser -u postgres --); fi
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/pg" "$tmp/sock"
[[ ${#as_pg[@]} -eq 0 ]] || chown postgres "$tmp/pg" "$tmp/sock"
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/pg" -A trust -U omnisync >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/sock/pg.log" -w \
  -o "-k $tmp/sock -c listen_addresses='' -c max_connections=200" start >/dev/null

python3 - "$build" "$root" "$tmp" "$n" "$w" "$pgbin/psql" <<'PY' > "$tmp/report.md"
import sys, time

build, root, tmp, n, w = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, f"{root}/bench/lib"); sys.path.insert(0, f"{root}/bench/cluster")
import pipeline_run  # noqa: E402
psql = sys.argv[6]

def run(kind, instances, label):
    return pipeline_run.run(build, root, tmp, n, kind, instances, label, pg_host=f"{tmp}/sock", psql=psql, w=w)

rows = [run("sqlite", 1, "sqlite1"), run("postgres", 1, "pg1"), run("postgres", 2, "pg2"), run("postgres", 3, "pg3")]
base = rows[0]
day = time.strftime("%Y-%m-%d", time.gmtime())
lines = "\n".join(
    f"| {r['kind']} | {r['instances']} | {r['sync_s']:.1f} s | {r['profiles']:,} / {r['written']:,} | {r['sync_rate']:,.0f} | {r['sync_rate'] / base['sync_rate']:.2f}× "
    f"| {r['ingest_rate']:,.0f} | {r['ingest_rate'] / base['ingest_rate']:.2f}× | {r['bad']} |" for r in rows)
print(f"""<!-- cluster-throughput:begin -->
### Pipeline throughput: SQLite against PostgreSQL, 1, 2 and 3 instances

`bench/cluster/pipeline_throughput.sh {n} {w}` — omnisync-sim with {n:,} HubSpot contacts and {n:,} Zendesk users
(the simulator seeds the same people in both); the daemons start on an empty store, read everything, resolve the
profiles and write each profile's golden record and KPIs to both systems (batched), then read those writes back:
done when both systems are read, the queues are empty and nothing changed for 2 s (records/s = {2 * n:,} / time to
the last change). Then {w:,} signed HubSpot webhook deliveries from 8 client
threads, round robin over the instances, each answered 200 only after it is stored durably. PostgreSQL 15 runs
on the same machine (a throw-away cluster, fsync on, Unix socket). Measured {day} on the shared 2-core machine:
every process (simulator, instances, PostgreSQL, the client) shares the same two cores.

| store | instances | initial sync | profiles / writes | records/s | vs SQLite | webhooks/s | vs SQLite | non-200 |
|---|---|---|---|---|---|---|---|---|
{lines}

With several instances one of them (the holder of the `pipeline` lease) runs the polls, the inbox and the profile
book; the others take webhooks and run writers. On two cores extra instances cannot add CPU, so they buy
availability (a standby takes over within the lease time: `tests/integration/pipeline/test_cluster.cpp`), not
speed; on separate machines webhook ingest and writes spread over them while resolution stays on one. The webhook
client here (Python, one connection per delivery) is itself a bottleneck: `bench/webhooks/webhook_ingest_bench.sh`
(wrk) measures a node's ceiling.
<!-- cluster-throughput:end -->""")
PY
cat "$tmp/report.md"
python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md" < "$tmp/report.md"
