#!/usr/bin/env bash
# The demo: start omnisyncd on the example config in a temporary state dir, ask it for its status, reload it,
# ask again, and stop it with SIGTERM, checking every step. Builds nothing: the binaries come from
# $OMNISYNC_BUILD_DIR (default build/default); the config from $OMNISYNC_DEMO_CONFIG (default
# config/omnisync.example.yaml). Exits non-zero on any failure and always removes its temp dir.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
config="${OMNISYNC_DEMO_CONFIG:-$root/config/omnisync.example.yaml}"
daemon_bin="$build/daemon/app/omnisyncd"
ctl_bin="$build/daemon/ctl/omnisyncctl"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }

for b in "$daemon_bin" "$ctl_bin"; do
  [[ -x "$b" ]] || fail "$b is not built (set OMNISYNC_BUILD_DIR to your build directory)"
done
[[ -r "$config" ]] || fail "config $config is missing"

tmp="$(mktemp -d /tmp/omnisync-demo.XXXXXX)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
sock="$tmp/control.sock"
ctl() { "$ctl_bin" --socket "$sock" "$@"; }

step "checking $config"
"$daemon_bin" -c "$config" --check-config

step "starting omnisyncd (state in $tmp/state, control socket $sock, log in $tmp/omnisyncd.log)"
"$daemon_bin" -c "$config" --state-dir "$tmp/state" --control-socket "$sock" 2>"$tmp/omnisyncd.log" &
pid=$!
for _ in $(seq 1 100); do
  [[ -S "$sock" ]] && ctl version >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/omnisyncd.log" >&2; fail "omnisyncd exited during start-up"; }
  sleep 0.1
done
[[ -S "$sock" ]] || { cat "$tmp/omnisyncd.log" >&2; fail "control socket did not appear within 10 s"; }

step "omnisyncctl status"
ctl status || fail "status"

step "omnisyncctl reload"
ctl reload || fail "reload"

step "omnisyncctl status (after the reload)"
ctl status || fail "status after reload"
ctl --json status | grep -q '"ok":true' || fail "status does not show the reload as applied"

step "stopping omnisyncd with SIGTERM"
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=""
[[ "$code" -eq 0 ]] || { cat "$tmp/omnisyncd.log" >&2; fail "omnisyncd exited with $code"; }

step "daemon log"
cat "$tmp/omnisyncd.log"
printf '\ndemo: OK (omnisyncd started, answered status, reloaded, stopped cleanly with exit 0)\n'
