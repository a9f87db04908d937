#!/usr/bin/env bash
# Full resync of N Salesforce contacts (default 1,000,000) from omnisync-sim into omnisyncd's store: records/s and
# omnisyncd's peak RSS (VmHWM), next to the same pages read by a bare client that stores nothing (the ceiling the
# API itself allows on this machine), in the same run: bare client, omnisyncd, bare client again (the ratio is
# against the mean of the two, which spreads a shared machine's drifting load). The daemon maps every record with
# the shipped Contact mapping, resolves it into the profile book and stores it raw with its cursor (SQLite,
# synchronous=FULL). The report also gives the CPU seconds each process used (omnisyncd, the simulator, the bare
# client itself: a reference that spends its whole wall time on CPU limits itself), the store's commits, and
# memory at N/4 (memory must not grow with N). Where the time goes: resync_profile.sh.
#
#   bench/salesforce/resync_bench.sh [N]          (OMNISYNC_BUILD_DIR, default build/default)
#
# With OMNISYNC_BEFORE_BUILD (a build directory holding daemon/app/omnisyncd and daemon/ctl/omnisyncctl of the code
# before a change) that daemon runs too, interleaved with the current one against the same simulator (bare client,
# before, after, bare client; then before and after at N/4), and the report gives both rows and their ratios.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-1000000}"
# shellcheck source=bench/salesforce/resync_lib.sh
source "$root/bench/salesforce/resync_lib.sh"
bench_init sfbench

load0="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"
start_sim "$build" "$n"
echo "bench: bare client paging through $n contacts ..." >&2
bare1="$(bare_read)"
before_build="${OMNISYNC_BEFORE_BUILD:-}"
full_before='{}'; part_before='{}'
if [[ -n "$before_build" ]]; then
  echo "bench: omnisyncd (before) resync of $n contacts ..." >&2
  full_before="$(run_daemon "$before_build" "$n" full-before)"
fi
echo "bench: omnisyncd resync of $n contacts ..." >&2
full="$(run_daemon "$build" "$n" full)"
echo "bench: bare client again ..." >&2
bare2="$(bare_read)"
stop_sim
quarter=$((n / 4))
start_sim "$build" "$quarter"
if [[ -n "$before_build" ]]; then
  echo "bench: omnisyncd (before) resync of $quarter contacts (memory growth check) ..." >&2
  part_before="$(run_daemon "$before_build" "$quarter" quarter-before)"
fi
echo "bench: omnisyncd resync of $quarter contacts (memory growth check) ..." >&2
part="$(run_daemon "$build" "$quarter" quarter)"
stop_sim
load1="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"

report="$(python3 - "$n" "$quarter" "$bare1" "$full" "$bare2" "$part" "$load0" "$load1" "$full_before" "$part_before" <<'PY'
import json, sys, datetime
n, q = int(sys.argv[1]), int(sys.argv[2])
b1, d, b2, p = (json.loads(x) for x in sys.argv[3:7])
load0, load1 = sys.argv[7], sys.argv[8]
db, pb = json.loads(sys.argv[9]), json.loads(sys.argv[10])
bare_rate = (b1["records"] / b1["seconds"] + b2["records"] / b2["seconds"]) / 2
d_rate, p_rate = n / d["seconds"], q / p["seconds"]
before_line = ""
if db:
    b_rate = n / db["seconds"]
    before_line = (f"\nBefore this change (same run, interleaved): **{b_rate / bare_rate:.2f}×** ({b_rate:,.0f} records/s); "
                   f"after / before: {d_rate / b_rate:.2f}× records/s, {d['cpu'] / max(db['cpu'], 1e-9):.2f}× CPU, "
                   f"{d['rss_kb'] / max(db['rss_kb'], 1):.2f}× peak RSS at {n:,} "
                   f"(before: {db['rss_kb'] / max(pb.get('rss_kb', 1), 1):.2f}× between {n:,} and {q:,}).")
def row(name, recs, r):
    rss = f'{r["rss_kb"] / 1024:.1f} MB' if "rss_kb" in r else "—"
    own = f'{r["cpu"]:.1f}'
    return (f'| {name} | {recs:,} | {r["seconds"]:.1f} | {recs / r["seconds"]:,.0f} | {rss} | {r["calls"]} | {own} | '
            f'{r["sim_cpu"]:.1f} |')
print(f"""<!-- sf-resync:begin -->
### Full Salesforce resync into the store

`bench/salesforce/resync_bench.sh {n}` — omnisync-sim serving {n:,} Contacts over HTTPS; omnisyncd reads them with
`SELECT … ORDER BY SystemModstamp, Id` pages of 2,000 (queryAll, then queryMore), maps each with the shipped Contact
mapping, resolves it into the profile book and stores it raw with its cursor (SQLite, `synchronous=FULL`). The bare
client reads the same pages with the same query over one keep-alive TLS connection, parses each page's JSON and
stores nothing (the API's own ceiling); it ran before and after omnisyncd, and the ratio is against the mean of its
two rates. Measured {datetime.date.today()} on the shared 2-core machine (load average {load0} at the start, {load1} at
the end: other engineers' builds ran meanwhile, so only the ratio within the run means anything).

| run | records | seconds | records/s | peak RSS | API calls | CPU s (own) | CPU s (simulator) |
|---|---|---|---|---|---|---|---|
{row("bare client (read only), before", b1["records"], b1)}
{row("omnisyncd (before this change)", n, db) + chr(10) if db else ""}{row("omnisyncd", n, d)}
{row("bare client (read only), after", b2["records"], b2)}
{row("omnisyncd (before this change)", q, pb) + chr(10) if pb else ""}{row("omnisyncd", q, p)}

omnisyncd / bare client throughput: **{d_rate / bare_rate:.2f}×** ({d_rate:,.0f} vs {bare_rate:,.0f} records/s).{before_line}
Peak RSS at {n:,} records vs {q:,}: {d["rss_kb"] / max(p["rss_kb"], 1):.2f}× (flat memory means ≈ 1×); per record
{(d["rss_kb"] - p["rss_kb"]) * 1024 / (n - q):,.0f} bytes (the slope between the two), fixed
{(p["rss_kb"] * 1024 - q * (d["rss_kb"] - p["rss_kb"]) * 1024 / (n - q)) / 1048576:,.0f} MB (the rest). API calls per
10,000 records read: {d["calls"] * 10000 / n:.1f} (the page-size floor is 5). CPU per record: omnisyncd
{d["cpu"] * 1e6 / n:.0f} µs, the bare client {(b1["cpu"] + b2["cpu"]) * 1e6 / (b1["records"] + b2["records"]):.0f} µs, the simulator
{d["sim_cpu"] * 1e6 / n:.0f} µs serving omnisyncd and {(b1["sim_cpu"] + b2["sim_cpu"]) * 1e6 / (b1["records"] + b2["records"]):.0f} µs serving the bare client. Store: {d["commits"]} commits of the state
database for {n:,} records ({n / max(d["commits"], 1):,.0f} records per commit; each commit is one fsync of the
WAL at `synchronous=FULL`).
<!-- sf-resync:end -->""")
PY
)"
printf '%s\n' "$report" | python3 "$benchlib" write-section "$root/docs/benchmarks.md"
echo "$report"
