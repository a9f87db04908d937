#!/usr/bin/env bash
# Before/after: the same Salesforce Contact resync of N records (default 50,000) into a fresh omnisyncd from two
# builds, interleaved A B A B against one simulator (so a shared machine's drifting load falls on both alike);
# prints each run and the ratio of B's records/s to A's (mean of two each). Nothing is written to the docs.
#
#   bench/salesforce/resync_ab.sh BUILD_A BUILD_B [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
a="$1" b="$2" n="${3:-50000}"
# shellcheck source=bench/salesforce/resync_lib.sh
source "$root/bench/salesforce/resync_lib.sh"
bench_init sfab
load0="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"
start_sim "$b" "$n"
a1="$(run_daemon "$a" "$n" a1)"; echo "A: $a1" >&2
b1="$(run_daemon "$b" "$n" b1)"; echo "B: $b1" >&2
a2="$(run_daemon "$a" "$n" a2)"; echo "A: $a2" >&2
b2="$(run_daemon "$b" "$n" b2)"; echo "B: $b2" >&2
stop_sim
load1="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"
python3 - "$n" "$a1" "$a2" "$b1" "$b2" "$load0" "$load1" <<'PY'
import json, sys
n = int(sys.argv[1])
a = [json.loads(x) for x in sys.argv[2:4]]
b = [json.loads(x) for x in sys.argv[4:6]]
rate = lambda r: n / r["seconds"]
ra, rb = sum(map(rate, a)) / 2, sum(map(rate, b)) / 2
print(json.dumps({"records": n, "a_records_per_s": [round(rate(r)) for r in a],
                  "b_records_per_s": [round(rate(r)) for r in b], "b_over_a": round(rb / ra, 3),
                  "a_cpu_s": [round(r["cpu"], 1) for r in a], "b_cpu_s": [round(r["cpu"], 1) for r in b],
                  "a_commits": [r["commits"] for r in a], "b_commits": [r["commits"] for r in b],
                  "a_rss_mb": [r["rss_kb"] // 1024 for r in a], "b_rss_mb": [r["rss_kb"] // 1024 for r in b],
                  "load_average": [sys.argv[6], sys.argv[7]]}))
PY
