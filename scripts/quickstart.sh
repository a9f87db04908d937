#!/usr/bin/env bash
# The two Quick start commands of the README, on a fresh Debian 12 machine (as root, or a user with sudo):
#   ./scripts/quickstart.sh demo   install packages, build, run the demo (scripts/demo.sh)
#   ./scripts/quickstart.sh test   install packages, build (incl. the fuzz targets), run the whole test suite (ctest)
# Both are idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-}"
case "$what" in
  demo|test) ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac

jobs="${OMNISYNC_JOBS:-$(nproc)}"

step() { printf '\n==> %s\n' "$*"; }

step "installing Debian packages (scripts/install-deps.sh)"
./scripts/install-deps.sh

step "configuring and building (preset 'default', build/default)"
cmake --preset default >/dev/null
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

step "running the test suite (ctest --preset default)"
exec ctest --preset default
