#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/targets.txt: all of them, fuzz_segments and fuzz_console included) for a
# given total time, one after the other, and prints what each reached: executions, libFuzzer's coverage figures
# (cov: edges covered, ft: features, from its final status line), the corpus size and the crashing inputs kept.
#   scripts/fuzz-all.sh [TOTAL_SECONDS]    default 3600: one hour of target time, shared equally between the targets
# Builds the targets first (preset `fuzz`, clang-14, build/fuzz). Each target starts from its seed corpus
# (tests/fuzz/corpus/<name without fuzz_>) plus what earlier runs found (build/fuzz/fuzz-all/<target>/corpus, kept
# between runs; the seeds in the repository are never changed — copy a finding there by hand with a reason).
# A crash stops nothing: its input is kept in build/fuzz/fuzz-all/<target>/artifacts/ and the script exits 1 at
# the end. OMNISYNC_FUZZ_JOBS=N runs N targets at once (default 1: the figures are per target on one core);
# OMNISYNC_FUZZ_TARGETS="fuzz_a fuzz_b" runs only those targets, sharing TOTAL_SECONDS between them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mapfile -t targets < <(grep -v '^#' tests/fuzz/targets.txt | sed '/^$/d')
# OMNISYNC_FUZZ_TARGETS="fuzz_a fuzz_b" runs only those (a partial run; the default is every target of targets.txt).
if [ -n "${OMNISYNC_FUZZ_TARGETS:-}" ]; then read -r -a targets <<<"$OMNISYNC_FUZZ_TARGETS"; fi
total="${1:-3600}"
jobs="${OMNISYNC_FUZZ_JOBS:-1}"
case "$total" in ''|*[!0-9]*) echo "usage: $0 [TOTAL_SECONDS]" >&2; exit 2 ;; esac
# Target time, not wall time: with N jobs at once the wall time is about TOTAL_SECONDS / N.
each=$(( total / ${#targets[@]} ))
if [ "$each" -lt 1 ]; then echo "$0: $total s is less than 1 s for each of ${#targets[@]} targets" >&2; exit 2; fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target "${targets[@]}" >/dev/null

out=build/fuzz/fuzz-all
mkdir -p "$out"
echo "fuzzing ${#targets[@]} targets for ${each} s each (${total} s of target time, $jobs at a time): ${targets[*]}"
echo "logs in $out/<target>/log"

run_one() {
  local t="$1" dir="$out/$1"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -n tests/fuzz/corpus/"${t#fuzz_}"/* "$dir/corpus/" 2>/dev/null || true
  local rc=0
  "build/fuzz/tests/fuzz/$t" -max_total_time="$each" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

running=0
for t in "${targets[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

failed=0
# execs/s is executions over the target's wall time: with OMNISYNC_FUZZ_JOBS > 1 (or a loaded machine) the
# targets share cores, so it is a lower bound. crashes: inputs libFuzzer kept in artifacts/ (crash-, leak-,
# timeout-, oom-), this run's and earlier runs' alike until they are removed.
printf '\n%-28s %8s %12s %10s %8s %8s %8s %8s %s\n' target seconds execs execs/s cov ft corpus crashes result
for t in "${targets[@]}"; do
  log="$out/$t/log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # The last status line (#N ... cov: C ft: F corp: K/...) holds the figures the run ended with.
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
  rc=$(cat "$out/$t/rc")
  crashes=$(find "$out/$t/artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  result=ok
  if [ "$rc" != 0 ]; then result="FAILED (exit $rc, input in $out/$t/artifacts/)"; failed=1; fi
  printf '%-28s %8s %12s %10s %8s %8s %8s %8s %s\n' "$t" "$each" "${execs:-?}" "$(( ${execs:-0} / (each > 0 ? each : 1) ))" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes" "$result"
done
exit "$failed"
