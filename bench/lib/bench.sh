# Start-up and clean-up shared by the benchmark shell scripts (sourced, not run): a temp dir removed on exit
# (kept with KEEP=1), omnisync-sim and omnisyncd started and waited for, and every process a script started
# stopped on exit — by its PID, never by name (other benchmarks and builds share the machine).
#
#   source "$root/bench/lib/bench.sh"
#   bench_init propload              # $tmp (/tmp/omnisync-propload.XXXXXX) and the EXIT trap
#   bench_start_sim "$build" 2000    # $sim_pid, $sim_urls (the first stdout line), $admin, $ca
#   url="$(bench_url hubspot https)"
#   bench_start_daemon "$build" "$tmp/ctl.sock" -c "$tmp/omnisync.yaml" --control-socket "$tmp/ctl.sock"
#                                    # $daemon_pid, its control socket answering
#   bench_stop_daemon; bench_stop_sim
#
# bench_pids holds what is still to be stopped on exit; bench_track PID adds a process started elsewhere.

bench_pids=()

bench_track() { bench_pids+=("$1"); }

# Stops one started process (TERM, then KILL after 30 s) and forgets it.
bench_stop() {
  local pid="$1" keep=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${bench_pids[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
  bench_pids=("${keep[@]}")
}

bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${bench_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n "${tmp:-}" && -d "$tmp" ]]; then
    if [[ -n "${KEEP:-}" ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
  fi
}

# bench_init NAME: makes $tmp and installs the EXIT trap (stop what was started, remove $tmp unless KEEP is set).
bench_init() {
  tmp="$(mktemp -d "/tmp/omnisync-$1.XXXXXX")"
  trap bench_cleanup EXIT
}

# bench_url SERVICE [http|https]: a service's URL from the simulator's first line; bench_url admin / ca_file too.
bench_url() {
  python3 -c 'import json, sys
u = json.loads(sys.argv[1])[sys.argv[2]]
print(u[sys.argv[3]] if len(sys.argv) > 3 else u)' "$sim_urls" "$@"
}

# bench_start_sim BUILD SIZE [ARGS...]: omnisync-sim with SIZE people per vendor; waits for its first line.
bench_start_sim() {
  local build="$1" size="$2"
  shift 2
  # The redirection happens in the background child: remove the previous run's file first, or the wait below
  # may read the old simulator's URLs before the child truncates it.
  rm -f "$tmp/sim.out" "$tmp/sim.err"
  "$build/sim/omnisync-sim" --size "$size" "$@" > "$tmp/sim.out" 2> "$tmp/sim.err" &
  sim_pid=$!
  bench_track "$sim_pid"
  for _ in $(seq 1 600); do [[ -s "$tmp/sim.out" ]] && break; sleep 0.1; done
  [[ -s "$tmp/sim.out" ]] || { cat "$tmp/sim.err" >&2; echo "bench: omnisync-sim did not start" >&2; exit 1; }
  sim_urls="$(head -n1 "$tmp/sim.out")"
  admin="$(bench_url admin)"
  ca="$(bench_url ca_file)"
}

bench_stop_sim() { bench_stop "$sim_pid"; }

# bench_start_daemon BUILD SOCKET ARGS...: omnisyncd ARGS (stderr to $tmp/daemon.log), waited for until its
# control socket SOCKET answers. OMNISYNC_BENCH_DAEMON names another omnisyncd binary (a before/after comparison).
bench_start_daemon() {
  local build="$1" sock="$2" log="$tmp/daemon.log"
  shift 2
  "${OMNISYNC_BENCH_DAEMON:-$build/daemon/app/omnisyncd}" "$@" > /dev/null 2> "$log" &
  daemon_pid=$!
  bench_track "$daemon_pid"
  for _ in $(seq 1 300); do
    "$build/daemon/ctl/omnisyncctl" --socket "$sock" version > /dev/null 2>&1 && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  echo "bench: omnisyncd did not start" >&2
  exit 1
}

bench_stop_daemon() { bench_stop "$daemon_pid"; }

# bench_cpu PID: user + system CPU seconds the process has used so far.
bench_cpu() { python3 -c "import sys; sys.path.insert(0, '$(dirname "${BASH_SOURCE[0]}")'); import benchlib; print(benchlib.cpu_seconds($1))"; }
