#!/usr/bin/env bash
# Runs one conformance test file (Node's built-in test runner) against omnisync-sim.
#   run.sh --install                  npm ci when node_modules is missing or older than package-lock.json
#   run.sh <omnisync-sim> <test.js>   run the test; the test starts its own simulator from OMNISYNC_SIM
# ctest runs `--install` once as a fixture before the test files (tests/conformance/CMakeLists.txt).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

install() {
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "conformance: npm ci (package-lock.json)" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
}

if [ "${1:-}" = "--install" ]; then
  install
  exit 0
fi
if [ $# -ne 2 ]; then
  echo "usage: $0 --install | $0 <omnisync-sim> <test.js>" >&2
  exit 2
fi
install
export OMNISYNC_SIM="$1"
exec node --test --test-reporter=spec "$2"
