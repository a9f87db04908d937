#!/usr/bin/env bash
# API calls per 10,000 segment membership changes per vendor (5,000 adds, then 5,000 removals), through the real
# adapters against omnisync-sim, next to the floor the vendor's batch size allows (docs/benchmarks.md).
# The counts do not depend on the machine's load: they are call counts, not times.
#   bench/segments/membership_calls.sh [build-dir]     (default build/default)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:-$here/build/default}"
adapters="$build/tests/integration/adapters"
printf '%-15s %8s %8s %8s %s\n' vendor changes calls floor ratio
for vendor in hubspot salesforce activecampaign; do
  out="$("$adapters/test_${vendor}_adapter" "[.bench][segments]" 2>&1 || true)"
  line="$(printf '%s\n' "$out" | grep '^BENCH ' || true)"
  if [ -z "$line" ]; then
    echo "$vendor: no BENCH line" >&2
    printf '%s\n' "$out" | tail -20 >&2
    exit 1
  fi
  changes="$(sed -E 's/.*changes=([0-9]+).*/\1/' <<<"$line")"
  calls="$(sed -E 's/.*calls=([0-9]+).*/\1/' <<<"$line")"
  floor="$(sed -E 's/.*floor=([0-9]+).*/\1/' <<<"$line")"
  printf '%-15s %8s %8s %8s %s\n' "$vendor" "$changes" "$calls" "$floor" "$(awk -v c="$calls" -v f="$floor" 'BEGIN { printf "%.2f", c / f }')"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
