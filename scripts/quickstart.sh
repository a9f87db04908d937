#!/usr/bin/env bash
# The Quick start commands of the README, on a fresh Debian 12 machine (as root, or a user with sudo):
#   ./scripts/quickstart.sh demo      install packages, build, run the demo (scripts/demo.sh)
#   ./scripts/quickstart.sh test      install packages, build (incl. the fuzz targets), build the .deb packages and
#                                     check them (lintian; installed on this machine, then purged:
#                                     scripts/check-package.sh says what that changes), run the unit
#                                     and integration tests under ASan+UBSan and the tsan ones under TSan
#                                     (scripts/sanitize.sh ci), then the whole test suite
#   ./scripts/quickstart.sh package   install packages, build what the .deb packages hold, make them
#                                     (build/default/packages/) and lint them; installing them is the next step
# All are idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-}"
case "$what" in
  demo|test|package) ;;
  *) echo "usage: $0 demo|test|package" >&2; exit 2 ;;
esac

jobs="${OMNISYNC_JOBS:-$(nproc)}"

step() { printf '\n==> %s\n' "$*"; }

step "installing Debian packages (scripts/install-deps.sh)"
./scripts/install-deps.sh

step "configuring and building (preset 'default', build/default)"
cmake --preset default >/dev/null
if [ "$what" = package ]; then
  cmake --build --preset default -j "$jobs" --target package-inputs
  step "making the Debian packages (scripts/package.sh)"
  ./scripts/package.sh build/default
  printf '\nInstall them with:\n  sudo apt-get install ./build/default/packages/omnisync_*.deb ./build/default/packages/omnisync-sim_*.deb\n'
  exit 0
fi
cmake --build --preset default -j "$jobs"

if [ "$what" = demo ]; then
  step "running the demo (scripts/demo.sh)"
  exec ./scripts/demo.sh
fi

# The libFuzzer targets are built with clang-14 in their own tree (build/fuzz); tests in the default tree run
# them for a bounded time. tests/fuzz/targets.txt lists them (one per line).
if [ -s tests/fuzz/targets.txt ]; then
  step "building the fuzz targets (preset 'fuzz', build/fuzz, clang-14)"
  cmake --preset fuzz >/dev/null
  # shellcheck disable=SC2046
  cmake --build --preset fuzz -j "$jobs" --target $(grep -v '^#' tests/fuzz/targets.txt)
fi

# The Debian packages, made from the tree just built: lintian, then installed on this machine and checked as a
# service, then purged (scripts/check-package.sh: what it changes, and when it leaves the machine alone).
step "making the Debian packages and linting them (scripts/package.sh)"
./scripts/package.sh build/default
step "installing the packages here and checking the installed service (scripts/check-package.sh)"
./scripts/check-package.sh build/default/packages

# Tests under sanitizers, in two more trees (build/asan: ASan+LSan+UBSan, every unit and integration test not
# labelled slow; build/tsan: TSan, the tests labelled tsan). Before
# the main suite, because CI reads the closing line of the last ctest: a failed test or any sanitizer report stops
# this script here.
step "running the tests under sanitizers (scripts/sanitize.sh ci)"
./scripts/sanitize.sh ci

step "running the test suite (ctest --preset default)"
exec ctest --preset default
