#!/usr/bin/env bash
# Where a full Salesforce resync's time goes, for two builds of omnisyncd in one run (interleaved: before, after,
# before, after): wall time, CPU seconds of omnisyncd and of the simulator, the store's commits, and a CPU profile
# of omnisyncd by pipeline stage (perf record with DWARF call graphs at 99 Hz; samples sorted into stages by
# benchlib.perf_breakdown). Stages are given as µs of CPU per record (the share of samples × CPU seconds / N), so
# builds compare even when the machine's load differs between runs. Off-CPU time is wall time × cores minus CPU.
#
#   bench/salesforce/resync_profile.sh [N] [BEFORE_BUILD_DIR]     (default 200000; after: OMNISYNC_BUILD_DIR)
#
# BEFORE_BUILD_DIR holds daemon/app/omnisyncd, daemon/ctl/omnisyncctl and sim/omnisync-sim of the build to compare
# with (e.g. a copy of main's build); without it only the current build is profiled. Needs perf.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
after="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-200000}"
before="${2:-}"
# shellcheck source=bench/salesforce/resync_lib.sh
source "$root/bench/salesforce/resync_lib.sh"
bench_init sfprof

load0="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"
# One simulator (the current build's) serves every run, so that only the daemon differs.
start_sim "$after" "$n"
runs=()
order=(after); [[ -n "$before" ]] && order=(before after before after)
i=0
for which in "${order[@]}"; do
  i=$((i + 1))
  dir="$after"; [[ "$which" == before ]] && dir="$before"
  echo "profile: $which ($i/${#order[@]}), $n contacts ..." >&2
  fig="$(run_daemon "$dir" "$n" "$which$i" "$tmp/perf$i.data")"
  brk="$(perf script -i "$tmp/perf$i.data" 2>/dev/null | python3 "$benchlib" perf-breakdown)"
  runs+=("$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["which"]=sys.argv[3]; d["profile"]=json.loads(sys.argv[2]); print(json.dumps(d))' "$fig" "$brk" "$which")")
done
load1="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"

report="$(python3 - "$n" "$load0" "$load1" "${runs[@]}" <<'PY'
import json, sys, datetime, collections
n, load0, load1 = int(sys.argv[1]), sys.argv[2], sys.argv[3]
runs = [json.loads(x) for x in sys.argv[4:]]
groups = collections.OrderedDict()
for r in runs:
    groups.setdefault(r["which"], []).append(r)
def mean(xs): return sum(xs) / len(xs)
cols = list(groups)
stages = []
for r in runs:
    for s in r["profile"]["stages"]:
        if s not in stages: stages.append(s)
def per_record(g, stage):  # µs of CPU per record in this stage, mean over the group's runs
    return mean([r["profile"]["stages"].get(stage, 0.0) * r["cpu"] * 1e6 / n for r in g])
head = "| | " + " | ".join(cols) + " |"
sep = "|---|" + "---|" * len(cols)
lines = [head, sep]
def add(label, f): lines.append(f"| {label} | " + " | ".join(f(groups[c]) for c in cols) + " |")
add("runs", lambda g: str(len(g)))
add("wall seconds", lambda g: " / ".join(f"{r['seconds']:.1f}" for r in g))
add("records/s", lambda g: " / ".join(f"{n / r['seconds']:,.0f}" for r in g))
add("omnisyncd CPU µs per record", lambda g: f"{mean([r['cpu'] for r in g]) * 1e6 / n:.1f}")
add("simulator CPU µs per record", lambda g: f"{mean([r['sim_cpu'] for r in g]) * 1e6 / n:.1f}")
add("omnisyncd CPU / wall (cores busy)", lambda g: f"{mean([r['cpu'] / r['seconds'] for r in g]):.2f}")
add("store commits (records per commit)", lambda g: " / ".join(f"{r['commits']} ({n / max(r['commits'], 1):,.0f})" for r in g))
add("API calls", lambda g: str(g[0]["calls"]))
add("perf samples", lambda g: " / ".join(str(r["profile"]["samples"]) for r in g))
for s in stages:
    add(f"CPU µs/record: {s}", lambda g, s=s: f"{per_record(g, s):.1f}")
threads = []
for r in runs:
    for t in r["profile"]["threads"]:
        if t not in threads: threads.append(t)
for t in threads:
    add(f"share of CPU: thread {t}", lambda g, t=t: f"{100 * mean([r['profile']['threads'].get(t, 0) for r in g]):.0f}%")
table = "\n".join(lines)
print(f"""<!-- sf-resync-profile:begin -->
### Full Salesforce resync: where the time goes

`bench/salesforce/resync_profile.sh {n} BEFORE_BUILD` — {n:,} Contacts, the same set-up as the resync benchmark
above, each build's daemon run {len(next(iter(groups.values())))}× interleaved with one simulator, profiled with
`perf record -F 99 --call-graph=dwarf` and the samples sorted into pipeline stages (`bench/lib/benchlib.py`,
`perf_breakdown`: the first frame from the leaf up that names a stage decides; allocation counts for its caller).
Measured {datetime.date.today()} on the shared 2-core machine, load average {load0} at the start and {load1} at the end:
the wall times are dominated by other engineers' builds (omnisyncd got the CPU share in "cores busy"), so compare
CPU per record, which does not depend on the load.

{table}
<!-- sf-resync-profile:end -->""")
PY
)"
printf '%s\n' "$report" | python3 "$benchlib" write-section "$root/docs/benchmarks.md"
echo "$report"
