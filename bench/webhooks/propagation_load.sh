#!/usr/bin/env bash
# Webhook-to-destination propagation under load: RATE changes per second in HubSpot for SECONDS, each delivered
# by the simulator to omnisyncd as a signed HubSpot v3 webhook (as HubSpot delivers them), each written by
# omnisyncd to the same person's Salesforce Contact (webhook verified and stored → contact fetched → profile
# resolved, golden record recomputed → Contact upserted).
#
#   bench/webhooks/propagation_load.sh [RATE] [SECONDS]   (default 2000 60; OMNISYNC_BUILD_DIR, default build/default;
#                                                          OMNISYNC_BENCH_BEFORE=PATH another omnisyncd to compare
#                                                          with: before, after, before, after, one section more;
#                                                          OMNISYNC_BENCH_SIZE people per system, default 2000;
#                                                          OMNISYNC_BENCH_PERF=1 records omnisyncd with perf;
#                                                          OMNISYNC_BENCH_NO_BUILD=1 uses the binaries as built;
#                                                          KEEP=1 keeps the temp dir with the logs)
#
# The load is open-loop (bench/lib/open_loop.cpp, C++): change n is due at start + n / RATE and is sent then,
# whatever the answers to earlier ones (pipelined on 8 connections), a PATCH of one load contact's last name
# through the simulator's admin API, each to a distinct value (Load and n in 7 digits; not the phone: phones link
# people, and a new phone can unlink a contact from its Salesforce Contact); the simulator signs and delivers
# one webhook per change. Propagation is measured for every change: from the moment it was due to the moment the
# simulator stored that value — or a later change of the same contact — on the person's Salesforce Contact. The
# simulator tells: the bench registers itself as the Salesforce Outbound Message receiver, and each message
# carries the Contacts' LastName and SystemModstamp (the simulator's write time, same clock). After the load: the
# time to drain the inbox and outbox, and every load contact's final last name compared with its Salesforce Contact
# (every change written, none lost). Reference in the same run: the simulator's webhook delivery alone (sent →
# omnisyncd's 200, from its delivery log).
#
# Writes the section between <!-- propagation-load:begin --> and <!-- propagation-load:end --> in
# docs/benchmarks.md and prints it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
rate="${1:-2000}"
secs="${2:-60}"
size="${OMNISYNC_BENCH_SIZE:-2000}"
# shellcheck source=bench/lib/bench.sh
source "$root/bench/lib/bench.sh"
[[ -n "${OMNISYNC_BENCH_NO_BUILD:-}" ]] || cmake --build "$build" --target omnisyncd omnisyncctl omnisync-sim -j2 >/dev/null
bench_init propload
export tmp
c++ -O2 -std=c++20 -pthread "$root/bench/lib/open_loop.cpp" -o "$tmp/open_loop"

# One run: a fresh simulator and omnisyncd (binary $1, empty: this build's), the load, the report ($tmp/report-$2.md)
# and its summary line ($tmp/summary-$2.json).
one_run() {
  bench_start_sim "$build" "$size"
  port="$(python3 -c "import sys; sys.path.insert(0, '$root/bench/lib'); import benchlib; print(benchlib.free_port())")"
  secret="propagation-load-secret"
  cat > "$tmp/omnisync.yaml" <<YAML
http: { listen: 127.0.0.1:$port, public_url: http://127.0.0.1:$port }
daemon: { log: { level: ${OMNISYNC_BENCH_LOG:-warn} } }
mappings_dir: $root/config/mappings
connectors:
  hubspot:
    kind: hubspot
    base_url: $(bench_url hubspot https)
    tls: { ca_file: $ca }
    objects: [contacts]
    poll_interval: 10m
    settle_lag: 0s
    auth: { private_app_token: bench-token }
    rate_limit: { per_10s: 100000, search_per_second: 1000 }
    webhook: { client_secret: $secret }
  salesforce:
    kind: salesforce
    login_url: $(bench_url salesforce https)
    tls: { ca_file: $ca }
    objects: [Contact]
    poll_interval: 10m
    settle_lag: 0s
    auth: { flow: client_credentials, client_id: bench-client, client_secret: bench-secret }
YAML
  OMNISYNC_BENCH_DAEMON="$1" bench_start_daemon "$build" "$tmp/ctl.sock" -c "$tmp/omnisync.yaml" --state-dir "$tmp/state-$2" --control-socket "$tmp/ctl.sock"
  OMNISYNC_BENCH_DAEMON="$1" OMNISYNC_BENCH_SUMMARY="$tmp/summary-$2.json" \
    python3 "$root/bench/webhooks/propagation_load.py" "$build" "$root" "$tmp" "$rate" "$secs" "$size" "$port" "$secret" \
    "$sim_urls" "$daemon_pid" "$sim_pid" > "$tmp/report-$2.md"
  bench_stop_daemon
  bench_stop_sim
}

# OMNISYNC_BENCH_BEFORE=PATH (another omnisyncd binary, e.g. main's): before, after, before, after in one run, and
# a comparison section (propagation-load-ab) beside the last after's report.
before="${OMNISYNC_BENCH_BEFORE:-}"
order=(after); [[ -n "$before" ]] && order=(before after before after)
i=0
for which in "${order[@]}"; do
  i=$((i + 1))
  echo "bench: run $i/${#order[@]} ($which)" >&2
  daemon=""; [[ "$which" == before ]] && daemon="$before"
  one_run "$daemon" "$i"
  [[ "$which" == before ]] || cp "$tmp/report-$i.md" "$tmp/report-after.md"
done
cp "$tmp/report-after.md" "$tmp/report.md"
cat "$tmp/report.md"
python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md" < "$tmp/report.md"
if [[ -n "$before" ]]; then
  python3 - "$before" "$rate" "$secs" "${order[@]}" <<'PY' > "$tmp/ab.md"
import json, os, sys, time
before, rate, secs, order = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
tmp = os.environ["tmp"]
rows = []
for i, which in enumerate(order, 1):
    d = json.load(open(f"{tmp}/summary-{i}.json"))
    ms = lambda x: "—" if x is None or x != x else f"{x * 1000:,.0f}"  # noqa: E731
    rows.append(f"| {i}. {which} | {d['achieved']:,.0f} | {ms(d['p50'])} | {ms(d['p95'])} | {ms(d['p99'])} | "
                f"{ms(d['max'])} | {d['inbox_max']:,} | {d['drain']:.1f} | {d['processed_per_s']:,.0f} | "
                f"{1e6 * d['cpu_daemon'] / max(1, d['events']):,.0f} | {d['load']:.1f} |")
print(f"""<!-- propagation-load-ab:begin -->
#### Before and after, interleaved

`OMNISYNC_BENCH_BEFORE={before} bench/webhooks/propagation_load.sh {rate} {secs}` — the same load against the
before binary and this build, alternately, each with a fresh simulator and daemon. Measured
{time.strftime("%Y-%m-%d", time.gmtime())}; the last column is the machine's load average at the end of each run.

| run | achieved/s | p50 ms | p95 ms | p99 ms | max ms | inbox max | drain s | processed/s | omnisyncd CPU µs per event | load |
|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """
<!-- propagation-load-ab:end -->""")
PY
  cat "$tmp/ab.md"
  python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md" < "$tmp/ab.md"
fi
