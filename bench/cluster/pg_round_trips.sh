#!/usr/bin/env bash
# PostgreSQL round trips in the initial sync, and what they cost once the database is not on loopback. The
# pipeline benchmark's initial sync (pipeline_run.py: N HubSpot contacts + N Zendesk users, every profile written
# back to both, one instance) on SQLite, and on PostgreSQL reached over its Unix socket directly (no added
# latency) and through a delaying proxy (bench/lib/delay_proxy.cpp: each chunk of bytes forwarded DELAY_MS / 2
# after it arrived, each way), DELAY_MS added to every round trip. (tc netem on a veth pair would do the same in the
# kernel; this machine's kernel has no sch_netem.) Runs are interleaved in one go: SQLite, then per latency
# PostgreSQL with the binaries of OMNISYNC_BASE_BUILD_DIR (before; optional) and of the build under test (after).
#
#   bench/cluster/pg_round_trips.sh [N] [DELAY_MS] [ROUNDS]   (defaults 5000, 1, 1)
#   OMNISYNC_BUILD_DIR      the build under test (default build/default; built first unless OMNISYNC_BENCH_NO_BUILD)
#   OMNISYNC_BASE_BUILD_DIR a copy of an earlier build's sim/omnisync-sim, daemon/app/omnisyncd, daemon/ctl/omnisyncctl
#   PG_TOP_STATEMENTS=1     after each PostgreSQL run, print its 12 most frequent statements (pg_stat_statements)
#
# PostgreSQL: a throw-away cluster (initdb in a temp dir, Unix socket only, run as the postgres user when root,
# fsync on). Writes the section between <!-- pg-round-trips:begin --> and <!-- pg-round-trips:end --> in
# docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
base="${OMNISYNC_BASE_BUILD_DIR:-}"
n="${1:-5000}"
delay="${2:-1}"
rounds="${3:-1}"
[[ -n "${OMNISYNC_BENCH_NO_BUILD:-}" ]] || cmake --build "$build" --target omnisyncd omnisyncctl omnisync-sim -j2 >/dev/null
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[[ -x "$pgbin/initdb" ]] || { echo "PostgreSQL server binaries not found: apt-get install postgresql" >&2; exit 1; }
tmp="$(mktemp -d /tmp/omnisync-pgrt.XXXXXX)"
chmod 755 "$tmp"
as_pg=()
if [[ $(id -u) -eq 0 ]]; then as_pg=(runuser -u postgres --); fi
proxy_pid=""
cleanup() {
  [[ -z "$proxy_pid" ]] || kill "$proxy_pid" 2>/dev/null || true
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  [[ -n "${KEEP:-}" ]] || rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/pg" "$tmp/sock" "$tmp/far"
[[ ${#as_pg[@]} -eq 0 ]] || chown postgres "$tmp/pg" "$tmp/sock"
"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/pg" -A trust -U omnisync >/dev/null
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/sock/pg.log" -w \
  -o "-k $tmp/sock -c listen_addresses='' -c max_connections=200 \
      ${PG_TOP_STATEMENTS:+-c shared_preload_libraries=pg_stat_statements}" start >/dev/null
# libpq finds a server's socket as DIR/.s.PGSQL.5432: the proxy serves one in $tmp/far. Real-time scheduling
# (when root) keeps its wake-ups on time on a loaded machine.
c++ -O2 -std=c++20 -pthread "$root/bench/lib/delay_proxy.cpp" -o "$tmp/delay_proxy"
rt=()
if [[ $(id -u) -eq 0 ]]; then rt=(chrt -f 20); fi
"${rt[@]}" "$tmp/delay_proxy" "$tmp/far/.s.PGSQL.5432" "$tmp/sock/.s.PGSQL.5432" "$delay" &
proxy_pid=$!
for _ in $(seq 50); do [[ -S "$tmp/far/.s.PGSQL.5432" ]] && break; sleep 0.1; done
# What the proxy adds to a round trip: 200 one-statement queries on one session (one round trip each), median,
# through it against directly
added="$(python3 - "$tmp" <<'PY'
import socket, statistics, struct, sys, time
def message(s):
    head = b""
    while len(head) < 5: head += s.recv(5 - len(head))
    kind, n = head[:1], struct.unpack("!i", head[1:])[0] - 4
    body = b""
    while len(body) < n: body += s.recv(n - len(body))
    return kind
def per_query_ms(path):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    params = b"user\0omnisync\0database\0postgres\0\0"
    s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
    while message(s) != b"Z": pass
    q = b"SELECT 1\0"; ts = []
    for _ in range(200):
        t = time.perf_counter(); s.sendall(b"Q" + struct.pack("!i", 4 + len(q)) + q)
        while message(s) != b"Z": pass
        ts.append(time.perf_counter() - t)
    s.close()
    return statistics.median(ts) * 1000
print(f"{per_query_ms(sys.argv[1] + '/far/.s.PGSQL.5432') - per_query_ms(sys.argv[1] + '/sock/.s.PGSQL.5432'):.2f}")
PY
)"

python3 - "$build" "$base" "$root" "$tmp" "$n" "$delay" "$rounds" "$pgbin/psql" "$added" <<'PY' > "$tmp/report.md"
import os, statistics, subprocess, sys, time
build, base, root, tmp, n, delay, rounds, psql, added = sys.argv[1:10]
n, delay, rounds = int(n), int(delay), int(rounds)
sys.path.insert(0, f"{root}/bench/lib"); sys.path.insert(0, f"{root}/bench/cluster")
from pipeline_run import run  # noqa: E402

plan = [("sqlite", "after", None)]
for host, lat in ((f"{tmp}/sock", "0 (Unix socket)"), (f"{tmp}/far", f"+{delay} ms (delaying proxy)")):
    if base: plan.append(("postgres", "before", (host, lat)))
    plan.append(("postgres", "after", (host, lat)))
results = {}
for r in range(rounds):
    for k, (kind, which, where) in enumerate(plan):
        bins = base if which == "before" else build
        label = f"r{r}_{k}"
        res = run(bins, root, tmp, n, kind, 1, label, pg_host=where[0] if where else None, psql=psql)
        if kind == "postgres" and os.environ.get("PG_TOP_STATEMENTS"):
            q = ("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) "
                 "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() "
                 "ORDER BY calls DESC LIMIT 12")
            print(subprocess.run([psql, "-h", f"{tmp}/sock", "-U", "omnisync", "-d", f"b_{label}", "-Atc", q],
                                 capture_output=True, text=True).stdout, file=sys.stderr)
        results.setdefault((kind, which, where[1] if where else "-"), []).append(res)
        print(f"{kind} {which} {where[1] if where else ''}: {res['sync_s']:.1f} s, round trips {res['round_trips']}",
              file=sys.stderr)
load = os.getloadavg()
sqlite_rate = statistics.median(x["sync_rate"] for x in results[("sqlite", "after", "-")])
rows = []
for (kind, which, lat), rs in results.items():
    rate = statistics.median(x["sync_rate"] for x in rs)
    secs = statistics.median(x["sync_s"] for x in rs)
    trips = [x["round_trips"] for x in rs if x["round_trips"] is not None]
    per_k = f"{statistics.median(trips) / (2 * n / 1000):,.0f}" if trips and kind == "postgres" else "-"
    rows.append(f"| {kind} | {which if kind == 'postgres' else '-'} | {lat} | {secs:.1f} s | {rate:,.0f} | "
                f"{rate / sqlite_rate:.2f}× | {per_k} |")
day = time.strftime("%Y-%m-%d", time.gmtime())
print(f"""<!-- pg-round-trips:begin -->
### PostgreSQL round trips, and the initial sync with the database 1 ms away

`bench/cluster/pg_round_trips.sh {n} {delay} {rounds}` — the initial sync of the pipeline benchmark above ({n:,} HubSpot
contacts + {n:,} Zendesk users, every profile written back to both, one instance, until nothing changes) on SQLite
and on PostgreSQL 15 (fsync on, `synchronous_commit = on`), the server reached over its Unix socket, and through
a proxy that forwards each chunk {delay / 2:g} ms after it arrived, each way (`bench/lib/delay_proxy.cpp`, real-time
scheduled; this machine's kernel has no tc netem): measured {added} ms added per round trip (the median of 200 one-statement
queries on one session, through it less directly). "before" is the store as it was (each BEGIN, SAVEPOINT, RELEASE and COMMIT its own
round trip, one upsert per queued write), "after" this branch; every run in one go, interleaved
({rounds} round(s), medians). Round trips: the store's own count (`store.round_trips` in status) up to the last
change, less the benchmark's status calls, per 1,000 records read. Measured {day} on the shared 2-core machine
(load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end: other engineers' builds ran meanwhile).

| store | store code | latency to the server | initial sync | records/s | vs SQLite | round trips / 1,000 records |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

Where the round trips went: each group transaction sent BEGIN, then per job SAVEPOINT and RELEASE, then COMMIT,
each alone, and every write queued was one upsert of its own; now transaction control travels in front of the
next statement (a group costs its statements plus its COMMIT), the queued writes' upserts are pipelined like a
page of records (one round trip per 256), and a lease renewal is one autocommitted statement. The count per
record varies from run to run with how jobs group (work that arrives while a round trip is out joins the next
group). `PG_TOP_STATEMENTS=1` lists what the server executed.
<!-- pg-round-trips:end -->""")
PY
cat "$tmp/report.md"
python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md" < "$tmp/report.md"
