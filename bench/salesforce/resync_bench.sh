#!/usr/bin/env bash
# Full resync of N Salesforce contacts (default 1,000,000) from omnisync-sim into omnisyncd's store: records/s and
# omnisyncd's peak RSS (VmHWM), next to the same pages read by a bare client that stores nothing (the ceiling the
# API itself allows on this machine), in the same run. The daemon maps every record with the shipped Contact
# mapping and stores it raw with its cursor (SQLite, synchronous=FULL). Memory must not grow with N: the figure
# for N/4 is measured too and compared.
#
#   bench/salesforce/resync_bench.sh [N]          (OMNISYNC_BUILD_DIR, default build/default)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-1000000}"
tmp="$(mktemp -d /tmp/omnisync-sfbench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

start_sim() {  # size -> sets urls
  # The redirection below happens in the background child: remove the previous run's file first, or the wait
  # loop may read the old simulator's URLs before the child truncates it.
  rm -f "$tmp/sim.out" "$tmp/sim.err"
  "$build/sim/omnisync-sim" --size "$1" > "$tmp/sim.out" 2> "$tmp/sim.err" &
  pids+=($!)
  for _ in $(seq 1 100); do [[ -s "$tmp/sim.out" ]] && break; sleep 0.1; done
  urls="$(head -n1 "$tmp/sim.out")"
  sf="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["salesforce"]["https"])' "$urls")"
  admin="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["admin"])' "$urls")"
  ca="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ca_file"])' "$urls")"
  curl -fsS -X POST "$admin/admin/limits" -H 'Content-Type: application/json' \
    -d '{"service":"salesforce","daily_api_requests":100000000}' >/dev/null || true
}

run_daemon() {  # size -> prints "seconds rss_kb api_calls"
  local size="$1" dir="$tmp/d$1"
  mkdir -p "$dir"
  cat > "$dir/omnisync.yaml" <<YAML
http: { listen: 127.0.0.1:0 }
daemon: { state_dir: $dir/state, control_socket: $dir/control.sock, log: { level: warn } }
store: { synchronous: full }
mappings_dir: $root/config/mappings
connectors:
  salesforce:
    kind: salesforce
    login_url: $sf
    tls: { ca_file: $ca }
    objects: [Contact]
    poll_interval: 1h
    settle_lag: 0s
    auth: { flow: client_credentials, client_id: bench, client_secret: bench-secret }
    sync: { write: false, page_size: 2000, budget_share: 1.0 }
YAML
  local t0; t0=$(date +%s.%N)
  "$build/daemon/app/omnisyncd" -c "$dir/omnisync.yaml" 2> "$dir/omnisyncd.log" &
  local dpid=$!; pids+=($dpid)
  local ctl="$build/daemon/ctl/omnisyncctl --socket $dir/control.sock"
  for _ in $(seq 1 100); do $ctl version >/dev/null 2>&1 && break; sleep 0.1; done
  while :; do
    local got; got="$($ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["connectors"]["salesforce"]["records"])')"
    [[ "$got" -ge "$size" ]] && break
    kill -0 "$dpid" 2>/dev/null || { cat "$dir/omnisyncd.log" >&2; echo "omnisyncd died" >&2; exit 1; }
    sleep 0.5
  done
  local t1; t1=$(date +%s.%N)
  local rss; rss="$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")"
  local calls; calls="$($ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["connectors"]["salesforce"]["api"]["calls"])')"
  kill -TERM "$dpid"; wait "$dpid" || true
  python3 -c "print(f'{$t1 - $t0:.1f} $rss $calls')"
}

bare_read() {  # reads every Contact page through the REST API, storing nothing -> seconds
  python3 - "$sf" "$ca" <<'PY'
import json, ssl, sys, time, urllib.error, urllib.parse, urllib.request
base, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
tok = json.load(urllib.request.urlopen(urllib.request.Request(base + "/services/oauth2/token", data=urllib.parse.urlencode(
    {"grant_type": "client_credentials", "client_id": "bench", "client_secret": "bench-secret"}).encode()), context=ctx))
inst, h = tok["instance_url"], {"Authorization": "Bearer " + tok["access_token"], "Sforce-Query-Options": "batchSize=2000"}
# The same columns omnisyncd selects: every field describe lists, plus Account.Name.
desc = json.load(urllib.request.urlopen(urllib.request.Request(inst + "/services/data/v62.0/sobjects/Contact/describe",
                                                               headers=h), context=ctx))
cols = [f["name"] for f in desc["fields"]] + ["Account.Name"]
q = "SELECT " + ", ".join(cols) + " FROM Contact WHERE SystemModstamp >= 2000-01-01T00:00:00Z ORDER BY SystemModstamp, Id"
url, n, t0 = inst + "/services/data/v62.0/query?q=" + urllib.parse.quote(q), 0, time.time()
while url:
    try:
        page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=h), context=ctx))
    except urllib.error.HTTPError as e:
        sys.exit(f"bare client: {e.code} {e.read()[:300]!r}")
    n += len(page["records"])
    url = (inst + page["nextRecordsUrl"]) if not page.get("done", True) else None
print(f"{time.time() - t0:.1f} {n}")
PY
}

start_sim "$n"
echo "bench: bare client paging through $n contacts ..." >&2
read -r bare_s bare_n < <(bare_read)
echo "bench: omnisyncd resync of $n contacts ..." >&2
read -r d_s d_rss d_calls < <(run_daemon "$n")
quarter=$((n / 4))
echo "bench: omnisyncd resync of $quarter contacts (memory growth check) ..." >&2
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=("${pids[@]:1}")
start_sim "$quarter"
read -r q_s q_rss q_calls < <(run_daemon "$quarter")

report="$(python3 - "$n" "$bare_s" "$bare_n" "$d_s" "$d_rss" "$d_calls" "$quarter" "$q_s" "$q_rss" <<'PY'
import sys, datetime
n, bare_s, bare_n, d_s, d_rss, d_calls, q, q_s, q_rss = sys.argv[1:]
n, q, bare_n, d_calls = int(n), int(q), int(bare_n), int(d_calls)
bare_s, d_s, q_s, d_rss, q_rss = float(bare_s), float(d_s), float(q_s), int(d_rss), int(q_rss)
print(f"""<!-- sf-resync:begin -->
### Full Salesforce resync into the store

`bench/salesforce/resync_bench.sh {n}` — omnisync-sim serving {n:,} Contacts over HTTPS; omnisyncd reads them with
`SELECT … ORDER BY SystemModstamp, Id` pages of 2,000 (queryMore), maps each with the shipped Contact mapping and
stores it raw with its cursor (SQLite, `synchronous=FULL`). The bare client reads the same pages with Python and
stores nothing (the API's own ceiling on this machine). Measured {datetime.date.today()} on the shared 2-core machine.

| run | records | seconds | records/s | peak RSS | API calls |
|---|---|---|---|---|---|
| bare client (read only) | {bare_n:,} | {bare_s:.1f} | {bare_n / bare_s:,.0f} | — | {(bare_n + 1999) // 2000 + 1} |
| omnisyncd | {n:,} | {d_s:.1f} | {n / d_s:,.0f} | {d_rss / 1024:.1f} MB | {d_calls} |
| omnisyncd | {q:,} | {q_s:.1f} | {q / q_s:,.0f} | {q_rss / 1024:.1f} MB | — |

omnisyncd / bare client throughput: **{(n / d_s) / (bare_n / bare_s):.2f}×**. Peak RSS at {n:,} records vs {q:,}:
{d_rss / max(q_rss, 1):.2f}× (flat memory means ≈ 1×). API calls per 10,000 records read: {d_calls * 10000 / n:.1f}
(the page-size floor is 5).
<!-- sf-resync:end -->""")
PY
)"
printf '%s\n' "$report" | python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md"
echo "$report"
