#!/usr/bin/env bash
# The analytics reports at N profiles (default 1,000,000): report_bench generates a history for N profiles straight
# into a SQLite store in a temp dir (synchronous=NORMAL: generation speed is not what is measured), loads the
# daemon's in-memory index from it (as omnisyncd does once at start-up), and times each report cold (first run) and
# warm (median of 5), beside a reference in the same run: paging the year's stage rows out of the store with
# history_query (by id), the least any report computed from the database would read. Writes the
# "analytics-reports" section of docs/benchmarks.md with the command, the load average and the peak RSS.
#
#   bench/analytics/report_bench.sh [N]          (OMNISYNC_BUILD_DIR, default build/default; OMNISYNC_NO_BUILD=1:
#                                                 use the report_bench already built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-1000000}"
[ -n "${OMNISYNC_NO_BUILD:-}" ] || cmake --build "$build" --target report_bench >/dev/null
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
load0="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"
/usr/bin/time -f '%M' -o "$dir/rss" "$build/bench/analytics/report_bench" "$n" "$dir/state" > "$dir/out.json"
load1="$(python3 -c "import os; print(f'{os.getloadavg()[0]:.1f}')")"
tail -1 "$dir/out.json" > "$dir/result.json"  # the store logs its migrations before the result line
cat "$dir/result.json"
report="$(python3 - "$dir/result.json" "$(tail -1 "$dir/rss")" "$load0" "$load1" "$n" <<'PY'
import json, sys, datetime
r = json.load(open(sys.argv[1]))
rss_mb = int(sys.argv[2]) / 1024
lines = ["<!-- analytics-reports:begin -->", "## Analytics reports",
         "", f"`bench/analytics/report_bench.sh {sys.argv[5]}` ({datetime.date.today()}, load average "
         f"{sys.argv[3]} → {sys.argv[4]} on this shared 2-core machine): a history of {r['profiles']:,} profiles, "
         f"{r['rows']:,} rows ({r['backend']}), generated straight into the store. The daemon loads it once into its "
         f"in-memory index ({r['load_index_ms']:,.0f} ms here: {r['load_read_pages_ms']:,.0f} ms paging the rows out of the "
         f"store, {r['load_add_ms']:,.0f} ms taking them in; the index holds about {r['index_mb']:,.0f} MB, "
         f"{r['arena_rows']:,} rows of room, and grew the process by {r['index_rss_mb']:,.0f} MB; peak RSS of the whole "
         f"run, which also holds the old index, {rss_mb:,.0f} MB) and answers "
         "every report from that index. \"before\" is the index and reports as they were before the arena "
         "(tests/unit/daemon/analytics/reference_*), fed the same rows and timed in the same run (median of 3); "
         "\"equal\" says every table of both is the same. Reference in the same run: paging the year's "
         f"{r['stage_rows']:,} stage rows out of the store (history_query, by id) took {r['read_stage_rows_from_store_ms']:,.0f} ms "
         "— before any counting — which is why the reports do not read the database.",
         "", "| report | cold (ms) | warm median (ms) | warm max (ms) | before, median (ms) | speed-up | equal | target |",
         "|---|---|---|---|---|---|---|---|"]
for name, t in r["reports"].items():
    lines.append(f"| {name} | {t['cold_ms']:.1f} | {t['warm_median_ms']:.1f} | {t['warm_max_ms']:.1f} | "
                 f"{t['before_median_ms']:.1f} | {t['before_median_ms'] / max(t['warm_median_ms'], 0.1):.1f}× | "
                 f"{'yes' if t['equal_to_before'] else 'NO'} | < 200 |")
lines.append("<!-- analytics-reports:end -->")
print("\n".join(lines))
PY
)"
printf '%s\n' "$report" | python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md"
printf '%s\n' "$report"
