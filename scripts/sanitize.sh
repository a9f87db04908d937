#!/usr/bin/env bash
# The test suite under sanitizers:
#   scripts/sanitize.sh [asan|tsan|all|ci]   (default: all)
#
#   ci    what the test command runs (`scripts/quickstart.sh test`, so CI): the same as `all` (both sets below).
#         Until 2026-12-07 CI ran only the tests whose whole sanitizer run had passed (labels ci_asan, ci_tsan);
#         since every unit and integration test passed under ASan+UBSan and every `tsan` test under TSan, CI runs
#         them all, and a test that fails under a sanitizer fails the test command.
#   asan  preset `asan` (build/asan): AddressSanitizer + LeakSanitizer + UBSan (-fno-sanitize-recover=undefined),
#         -O1 -g1; builds only what those tests need (target tests_unit_integration: no benchmarks, no man pages, no
#         fuzz targets) and runs every test labelled `unit` or `integration` but not `slow`: the daemon,
#         omnisync-sim and omnisyncctl they start are the instrumented ones too.
#   tsan  preset `tsan` (build/tsan): ThreadSanitizer, -O1 -g1; builds only the tests labelled `tsan` (the store on
#         both backends, the sync engine, the webhook listener: the code with threads of its own) and runs them.
#
# A sanitizer report anywhere fails the run, including one from a child process (a daemon a test started, which
# the test may kill or whose exit code it may not check): every report goes to a file under the run's report
# folder (log_path), and a non-empty folder fails the script after ctest, printing the reports.
#
# Environment:
#   OMNISYNC_JOBS=N             build jobs (default: nproc)
#   OMNISYNC_SANITIZE_SLOW=1    asan also runs the tests labelled `slow` (whole pipelines; a nightly-style run:
#                               docs/security.md has its time)
#   CTEST_ARGS="..."            extra ctest arguments (e.g. "-R test_store")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

what="${1:-all}"
case "$what" in
  asan|tsan|all|ci) ;;
  *) echo "usage: $0 [asan|tsan|all|ci]" >&2; exit 2 ;;
esac

jobs="${OMNISYNC_JOBS:-$(nproc)}"
step() { printf '\n==> %s\n' "$*"; }

# Runs ctest in build/<tree> with the sanitizer options; fails on a failed test or on any report file.
run_tests() {
  local tree="$1"; shift
  local reports="$root/build/$tree/sanitizer-reports"
  rm -rf "$reports"; mkdir -p "$reports"
  local status=0
  # halt_on_error: the first report ends the process (with exitcode), so a test cannot pass past it.
  # detect_leaks: LeakSanitizer at every instrumented process's exit (daemons stopped by SIGTERM included).
  # detect_stack_use_after_return stays off: Asio's coroutine frames live on the heap, and it doubles the time.
  # shellcheck disable=SC2086  # CTEST_ARGS is split into words on purpose
  ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_odr_violation=2:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/tests/tsan.supp:log_path=$reports/tsan" \
    ctest --test-dir "build/$tree" --output-on-failure -j "$jobs" --timeout 900 "$@" ${CTEST_ARGS:-} || status=$?
  if compgen -G "$reports/*" >/dev/null; then
    echo "sanitize: sanitizer reports in build/$tree ($reports):" >&2
    for f in "$reports"/*; do printf '\n--- %s\n' "$f" >&2; cat "$f" >&2; done
    status=1
  fi
  return "$status"
}

rc=0
[ "$what" = ci ] && what=all

if [ "$what" = asan ] || [ "$what" = all ]; then
  step "AddressSanitizer + UBSan: configuring and building (preset 'asan', build/asan)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs" --target tests_unit_integration
  if [ "${OMNISYNC_SANITIZE_SLOW:-0}" = 1 ]; then
    # The slow tests' executables are not in tests_unit_integration: build everything the tree has.
    cmake --build --preset asan -j "$jobs"
    step "AddressSanitizer + UBSan: running the tests labelled unit, integration or slow"
    run_tests asan -L '^(unit|integration|slow)$' || rc=1
  else
    step "AddressSanitizer + UBSan: running the tests labelled unit or integration, not slow"
    run_tests asan -L '^(unit|integration)$' -LE '^slow$' || rc=1
  fi
fi

if [ "$what" = tsan ] || [ "$what" = all ]; then
  step "ThreadSanitizer: configuring and building the tests labelled tsan (preset 'tsan', build/tsan)"
  cmake --preset tsan >/dev/null
  # The executables of the tests labelled `tsan` (tests/CMakeLists.txt gives them the label), and what they run.
  cmake --build --preset tsan -j "$jobs" --target tests_tsan
  step "ThreadSanitizer: running the tests labelled tsan"
  run_tests tsan -L '^tsan$' || rc=1
fi

exit "$rc"
