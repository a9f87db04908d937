#!/usr/bin/env bash
# The profile book at scale: N generated vendor records (default 10,000,000; Salesforce Contacts, HubSpot contacts,
# Zendesk users, ~30% of them people in two or three systems) mapped with the shipped inbound mappings into one
# book, as a start-up rebuild applies stored records; and the same at N/4, so that memory per record (the slope
# between the two) is told apart from fixed memory. Reports build time, bytes per record (in all, and by part:
# book_stats::memory_parts) and `profile get` (find + view + explain) cold and warm. With OMNISYNC_BEFORE_BUILD (a
# build directory of the code before a change) its book_bench runs at N/4 too, interleaved (before, after, ...),
# so a change is compared within one run on the shared machine. Writes the section between
# <!-- profile-book:begin --> and <!-- profile-book:end --> in docs/benchmarks.md.
#
#   bench/profile/book_bench.sh [N]    (OMNISYNC_BUILD_DIR, default build/default; builds book_bench unless
#                                      OMNISYNC_NO_BUILD is set; OMNISYNC_BEFORE_BUILD and OMNISYNC_BOOK_RESULTS
#                                      optional, see above and below)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-10000000}"
[[ -n "${OMNISYNC_NO_BUILD:-}${OMNISYNC_BOOK_RESULTS:-}" ]] || cmake --build "$build" --target book_bench -j2 >/dev/null
bin="$build/bench/profile/book_bench"
before_bin="${OMNISYNC_BEFORE_BUILD:+$OMNISYNC_BEFORE_BUILD/bench/profile/book_bench}"
quarter=$((n / 4))
load="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${OMNISYNC_BOOK_RESULTS:-}" ]]; then
  # Render saved runs (a directory holding small.json, big.json and optionally before.json: each book_bench's
  # output line) instead of running them, e.g. when the runs were started by hand to interleave them.
  small="$(cat "$OMNISYNC_BOOK_RESULTS/small.json")"
  big="$(cat "$OMNISYNC_BOOK_RESULTS/big.json")"
  before="$(cat "$OMNISYNC_BOOK_RESULTS/before.json" 2>/dev/null || echo '{}')"
  load="$(cat "$OMNISYNC_BOOK_RESULTS/load" 2>/dev/null || echo "$load")"
else
  before='{}'
  if [[ -n "$before_bin" ]]; then
    echo "bench: book of $quarter records, before ..." >&2
    before="$("$before_bin" --records "$quarter" --mappings "$root/config/mappings")"
    echo "$before" >&2
  fi
  echo "bench: book of $quarter records ..." >&2
  small="$("$bin" --records "$quarter" --mappings "$root/config/mappings")"
  echo "$small" >&2
  echo "bench: book of $n records ..." >&2
  big="$("$bin" --records "$n" --mappings "$root/config/mappings")"
  echo "$big" >&2
fi

report="$(python3 - "$small" "$big" "$(date -u +%Y-%m-%d)" "$load" "$before" <<'PY'
import json, sys
s, b, day, load, pre = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
slope = (b["rss_after_mb"] - s["rss_after_mb"]) * 1048576 / (b["records"] - s["records"])
fixed = b["rss_after_mb"] - slope * b["records"] / 1048576
def row(j):
    return (f"| {j['records']:,} | {j['profiles']:,} | {j['build_seconds']:.1f} | {j['records'] / j['build_seconds']:,.0f} | "
            f"{j['rss_after_mb']:,.0f} MB | {j['peak_rss_mb']:,.0f} MB | {j['bytes_per_record']:.0f} | "
            f"{j['get_cold_us']:.0f} µs | {j['get_warm_us']:.0f} µs |")
ok = b["peak_rss_mb"] <= 4096
before_row = ""
if pre:
    before_row = row(pre).replace("| ", "| before: ", 1) + "\n"
names = list(b.get("parts", {}))
for n in pre.get("parts", {}):
    if n not in names:
        names.append(n)
def part(j, n):
    v = j.get("parts", {}).get(n)
    return "—" if v is None else f"{v:.0f}"
parts_rows = "\n".join(f"| {n} | " + (f"{part(pre, n)} | " if pre else "") + f"{part(s, n)} | {part(b, n)} |" for n in names)
def total(j):
    return sum(j.get("parts", {}).values())
parts_head = ("| part | " + (f"before, {pre['records']:,} | " if pre else "") + f"{s['records']:,} | {b['records']:,} |\n|---|" +
              ("---|" if pre else "") + "---|---|")
parts_total = "| **sum of the parts** | " + (f"{total(pre):.0f} | " if pre else "") + f"{total(s):.0f} | {total(b):.0f} |"
print(f"""<!-- profile-book:begin -->
### The profile book at scale ({b['records']:,} records)

`bench/profile/book_bench.sh {b['records']}` — generated vendor records (Salesforce Contacts, HubSpot contacts,
Zendesk users; the population of the identity benchmark: 30% of the records belong to people in two or three
systems) are mapped with the shipped inbound mappings and applied to one `profile::book` as a start-up rebuild
applies stored records (`book_bench --mode rebuild`, one process per size; records generated on the fly, so the
input costs no memory). Bytes per record = RSS grown by the build / records (everything: identity graph, person
records, packed attributes, arena overhead). `profile get` = find by e-mail + view + explain, what the daemon's handler calls, in process (no socket):
cold = a profile never asked before (median of {b['queries']}, spread over the book), warm = the same asked again.
Measured {day} on the shared 2-core machine (load average {load}).

| records | profiles | build s | records/s | RSS after | peak RSS | bytes/record | get cold | get warm |
|---|---|---|---|---|---|---|---|---|
{before_row}{row(s)}
{row(b)}

Bytes per record by part (what each table holds, from `book_stats::memory_parts`; the RSS figure above also
counts malloc's free lists and the process):

{parts_head}
{parts_rows}
{parts_total}

Per record (the slope between the two sizes): **{slope:.0f} bytes**; fixed (the rest at {b['records']:,}): {fixed:.0f} MB
(the mappings, the codec's interned values, page slack). Within 4 GB at {b['records']:,} records: {"yes" if ok else "**no**"}.
<!-- profile-book:end -->""")
PY
)"
printf '%s\n' "$report" | python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md"
echo "$report"
