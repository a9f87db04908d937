#!/usr/bin/env bash
# Mapping benchmark: omnisync's dry run vs jq 1.6, JSONata 2.2.2 and the hand-written simdjson reference, on the
# shared Salesforce Contact workload (../shared/bench). One run; all outputs checked JSON-equal record by record.
#   bench/mapping_bench.sh [N]        (default N=200000; also runs N/4 to show that peak RSS does not grow)
# Env: BUILD_DIR (default build/default; omnisync-map is built there if missing), NO_DOCS=1 (do not update
# docs/benchmarks.md).
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
shared=$(cd "$root/../shared/bench" && pwd)
n=${1:-200000}
build=${BUILD_DIR:-$root/build/default}
map_bin=$build/mapping/omnisync-map
mapping=$root/bench/mappings/salesforce_contact_bench.yaml
canonical=$root/bench/mappings/bench_canonical.yaml
for tool in jq node npm python3 g++; do command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }; done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (Debian package 'time')" >&2; exit 1; }
if [ ! -x "$map_bin" ]; then
  [ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" -j2 omnisync-map >/dev/null
fi
(cd "$root/bench" && [ -d node_modules/jsonata ] || npm ci --no-audit --no-fund >/dev/null)
tmp=$(mktemp -d /tmp/mapbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++20 -O2 "$shared/handmap.cpp" -o "$tmp/handmap" -lsimdjson
cp "$shared/run_jsonata.mjs" "$tmp/"
export NODE_PATH=$root/bench/node_modules

# run NAME OUT CMD...: records "NAME seconds peak_kb" in $tmp/times
run() {
  local name=$1 out=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > "$out"
  echo "$name $(cat "$tmp/t")" >> "$tmp/times"
}
# jsonata resolves its package from the script's folder upwards: link node_modules next to the copy.
ln -s "$root/bench/node_modules" "$tmp/node_modules"

results=""
for size in $((n / 4)) "$n"; do
  in=$tmp/contacts_$size.jsonl
  python3 "$shared/gen_contacts.py" "$size" > "$in"
  : > "$tmp/times"
  run omnisync "$tmp/omnisync.jsonl" "$map_bin" --mapping "$mapping" --config "$canonical" --input "$in"
  run handmap "$tmp/handmap.jsonl" "$tmp/handmap" "$in"
  run jq "$tmp/jq.jsonl" jq -c -f "$shared/map.jq" "$in"
  run jsonata "$tmp/jsonata.jsonl" node "$tmp/run_jsonata.mjs" "$shared/map.jsonata" "$in"
  python3 - "$size" "$tmp" <<'PY'
import json, sys
size, tmp = int(sys.argv[1]), sys.argv[2]
files = {t: open(f"{tmp}/{t}.jsonl", encoding="utf-8") for t in ("omnisync", "handmap", "jq", "jsonata")}
count = 0
for lines in zip(*files.values()):
    recs = [json.loads(l) for l in lines]
    for name, r in zip(list(files)[1:], recs[1:]):
        if r != recs[0]:
            sys.exit(f"record {count + 1}: omnisync and {name} differ:\n{lines[0]}{lines[list(files).index(name)]}")
    count += 1
for f in files.values():
    if f.readline():
        sys.exit("outputs have different numbers of records")
if count != size:
    sys.exit(f"expected {size} records, got {count}")
print(f"all four outputs JSON-equal on {count} records")
PY
  results+=$(awk -v size="$size" '{ printf "%s %s %s %s\n", size, $1, $2, $3 }' "$tmp/times")$'\n'
done

table=$(printf '%s' "$results" | awk '
  { size[NR]=$1; name[NR]=$2; sec[NR]=$3; kb[NR]=$4; if ($2=="omnisync") { os[$1]=$3 } if ($2=="jq") jq[$1]=$3; if ($2=="handmap") hm[$1]=$3 }
  END {
    print "| records | tool | wall s | records/s | peak RSS MB | omnisync speed vs this tool |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= NR; i++) {
      s = sec[i] > 0 ? sec[i] : 0.01
      o = os[size[i]] > 0 ? os[size[i]] : 0.01
      printf "| %d | %s | %.2f | %d | %.1f | %.1fx |\n", size[i], name[i], sec[i], size[i] / s, kb[i] / 1024, s / o
    }
  }')
echo "$table"
versions="jq $(jq --version | sed 's/jq-//'), JSONata $(node -e 'console.log(require(process.env.NODE_PATH + "/jsonata/package.json").version)') on Node $(node --version), simdjson $(dpkg-query -W -f '${Version}' libsimdjson-dev 2>/dev/null || echo '?'), $(nproc) cores"
echo "$versions"

if [ "${NO_DOCS:-0}" != 1 ]; then
  doc=$root/docs/benchmarks.md
  section=$(cat <<MD
## Mapping engine

Command: \`bench/mapping_bench.sh $n\` (run on $(date -u +%Y-%m-%d), $versions). Workload: \`../shared/bench\`
(Salesforce Contact records from \`gen_contacts.py\`; the same mapping in jq, JSONata, hand-written simdjson and
\`bench/mappings/salesforce_contact_bench.yaml\`). Whole-process wall time and peak RSS (\`/usr/bin/time\`), one run
per tool per size, all four outputs checked JSON-equal record by record. omnisync runs \`omnisync-map\` (the same
function as \`omnisyncctl map\`), which streams: its peak RSS does not grow with the input, while handmap reads the
whole file into memory. Targets: at least 20x jq's records/s, at least 0.7x handmap, peak RSS under 64 MB.
The benchmark's canonical set (\`bench/mappings/bench_canonical.yaml\`) declares \`updated_at\` a string because the
workload passes \`SystemModstamp\` through verbatim; with the default set omnisync would normalise it to UTC.

Why handmap is slower than omnisync here: \`perf record\` on handmap (50,000 records) puts about 46% of its time in
\`memmove\` and about 30% in the kernel (page faults): it reads the whole file through a \`std::stringstream\`
(growing by copies) and copies it twice more into a padded buffer before parsing. On this VM memory copies and page
faults are expensive, so its figure is far below the one in \`../shared/bench/README.md\` (0.16 s for 50,000).
omnisync reads 1 MiB chunks into one reused buffer and parses each line in place.

$table
MD
)
  python3 - "$doc" "$section" <<'PY'
import re, sys, os
path, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\nEach area adds its own section.\n"
pattern = re.compile(r"^## Mapping engine\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda m: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
  echo "updated $doc"
fi
