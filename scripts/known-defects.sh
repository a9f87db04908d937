#!/usr/bin/env bash
# Runs the tests that show an open defect (registered with KNOWN_DEFECT in tests/CMakeLists.txt, reported by ctest
# as disabled), N times each (default 5), and prints how many runs failed. Needs a build in build/default.
#   ./scripts/known-defects.sh [N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${1:-5}"
build=build/default
tests=()  # none now (test_segment_e2e was one until the Zendesk simulator's export settle time, 2026-12-07)
if [[ ${#tests[@]} -eq 0 ]]; then
  echo "no test is registered as a known defect"
  exit 0
fi
status=0
for t in "${tests[@]}"; do
  failed=0
  for _ in $(seq 1 "$runs"); do
    if ! "$build/$t" > "/tmp/known-defect-$(basename "$t").log" 2>&1; then
      failed=$((failed + 1))
      cp "/tmp/known-defect-$(basename "$t").log" "/tmp/known-defect-$(basename "$t")-failed-$failed.log"
    fi
  done
  echo "$t: $failed of $runs runs failed (logs of failures: /tmp/known-defect-$(basename "$t")-failed-*.log)"
  [[ "$failed" -eq 0 ]] || status=1
done
exit "$status"
