#!/usr/bin/env bash
# The profile book at scale: N generated vendor records (default 10,000,000; Salesforce Contacts, HubSpot contacts,
# Zendesk users, ~30% of them people in two or three systems) mapped with the shipped inbound mappings into one
# book, as a start-up rebuild applies stored records; and the same at N/4, so that memory per record (the slope
# between the two) is told apart from fixed memory. Reports build time, bytes per record and `profile get` (find + view + explain) cold and warm. Writes the section between
# <!-- profile-book:begin --> and <!-- profile-book:end --> in docs/benchmarks.md.
#
#   bench/profile/book_bench.sh [N]    (OMNISYNC_BUILD_DIR, default build/default; builds book_bench unless
#                                      OMNISYNC_NO_BUILD is set)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-10000000}"
[[ -n "${OMNISYNC_NO_BUILD:-}" ]] || cmake --build "$build" --target book_bench -j2 >/dev/null
bin="$build/bench/profile/book_bench"
quarter=$((n / 4))
load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench: book of $quarter records ..." >&2
small="$("$bin" --records "$quarter" --mappings "$root/config/mappings")"
echo "$small" >&2
echo "bench: book of $n records ..." >&2
big="$("$bin" --records "$n" --mappings "$root/config/mappings")"
echo "$big" >&2

report="$(python3 - "$small" "$big" "$(date -u +%Y-%m-%d)" "$load" <<'PY'
import json, sys
s, b, day, load = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
slope = (b["rss_after_mb"] - s["rss_after_mb"]) * 1048576 / (b["records"] - s["records"])
fixed = b["rss_after_mb"] - slope * b["records"] / 1048576
def row(j):
    return (f"| {j['records']:,} | {j['profiles']:,} | {j['build_seconds']:.1f} | {j['records'] / j['build_seconds']:,.0f} | "
            f"{j['rss_after_mb']:,.0f} MB | {j['peak_rss_mb']:,.0f} MB | {j['bytes_per_record']:.0f} | "
            f"{j['get_cold_us']:.0f} µs | {j['get_warm_us']:.0f} µs |")
ok = b["peak_rss_mb"] <= 4096
print(f"""<!-- profile-book:begin -->
### The profile book at scale ({b['records']:,} records)

`bench/profile/book_bench.sh {b['records']}` — generated vendor records (Salesforce Contacts, HubSpot contacts,
Zendesk users; the population of the identity benchmark: 30% of the records belong to people in two or three
systems) are mapped with the shipped inbound mappings and applied to one `profile::book` as a start-up rebuild
applies stored records (`book_bench --mode rebuild`, one process per size; records generated on the fly, so the
input costs no memory). Bytes per record = RSS grown by the build / records (everything: identity graph, person
records, packed attributes, allocator overhead). `profile get` = find by e-mail + view + explain, what the daemon's handler calls, in process (no socket):
cold = a profile never asked before (median of {b['queries']}, spread over the book), warm = the same asked again.
Measured {day} on the shared 2-core machine (load average {load}).

| records | profiles | build s | records/s | RSS after | peak RSS | bytes/record | get cold | get warm |
|---|---|---|---|---|---|---|---|---|
{row(s)}
{row(b)}

Per record (the slope between the two sizes): **{slope:.0f} bytes**; fixed (the rest at {b['records']:,}): {fixed:.0f} MB
(the mappings, the codec's interned values, page slack). Within 4 GB at {b['records']:,} records: {"yes" if ok else "**no**"}.
<!-- profile-book:end -->""")
PY
)"
printf '%s\n' "$report" | python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md"
echo "$report"
