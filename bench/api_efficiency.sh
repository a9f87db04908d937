#!/usr/bin/env bash
# API efficiency: vendor API calls per 10,000 records read and written by omnisyncd, counted by the simulator.
# HubSpot is the source (N contacts read through CRM search); each contact is written to Salesforce (sObject
# Collections upsert by Omnisync_Id__c, <= 200 per call) and Zendesk (create_or_update_many, <= 100 per call, plus
# job-status polls). The floors are the vendors' batch limits: 50 calls per 10k for Salesforce, 100 for HubSpot and
# Zendesk.
#
#   bench/api_efficiency.sh [N]        (default 10000; OMNISYNC_BUILD_DIR, default build/default)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
n="${1:-10000}"
tmp="$(mktemp -d /tmp/omnisync-apibench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
"$build/sim/omnisync-sim" --size "$n" > "$tmp/sim.out" 2> "$tmp/sim.err" &
pids+=($!)
for _ in $(seq 1 100); do [[ -s "$tmp/sim.out" ]] && break; sleep 0.1; done
urls="$(head -n1 "$tmp/sim.out")"
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$1)" "$urls"; }
admin="$(get '["admin"]')"; ca="$(get '["ca_file"]')"
curl -fsS -X POST "$admin/admin/limits" -H 'Content-Type: application/json' -d '{"service":"hubspot","ten_secondly_max":1000000}' >/dev/null
curl -fsS -X POST "$admin/admin/limits" -H 'Content-Type: application/json' -d '{"service":"zendesk","per_minute":1000000,"cursor_users_per_minute":100000}' >/dev/null
cat > "$tmp/omnisync.yaml" <<YAML
http: { listen: 127.0.0.1:0 }
daemon: { state_dir: $tmp/state, control_socket: $tmp/control.sock, log: { level: warn } }
mappings_dir: $root/config/mappings
connectors:
  hubspot:
    kind: hubspot
    base_url: $(get '["hubspot"]["https"]')
    tls: { ca_file: $ca }
    objects: [contacts]
    settle_lag: 0s
    auth: { private_app_token: bench }
    rate_limit: { per_10s: 1000000, search_per_second: 1000 }
    sync: { write: false }
  salesforce:
    kind: salesforce
    login_url: $(get '["salesforce"]["https"]')
    tls: { ca_file: $ca }
    objects: [Contact]
    poll_interval: 1h
    settle_lag: 0s
    auth: { flow: client_credentials, client_id: bench, client_secret: bench-secret }
  zendesk:
    kind: zendesk
    base_url: $(get '["zendesk"]["https"]')
    tls: { ca_file: $ca }
    objects: [users]
    poll_interval: 1h
    settle_lag: 0s
    auth: { email: ops@example.com, api_token: bench }
    rate_limit: { per_minute: 1000000, user_exports_per_minute: 100000 }
YAML
"$build/daemon/app/omnisyncd" -c "$tmp/omnisync.yaml" 2> "$tmp/omnisyncd.log" &
dpid=$!; pids+=($dpid)
ctl="$build/daemon/ctl/omnisyncctl --socket $tmp/control.sock"
for _ in $(seq 1 100); do $ctl version >/dev/null 2>&1 && break; sleep 0.1; done
t0=$(date +%s.%N)
# Done when HubSpot was read completely and nothing waits in the outbox.
while :; do
  state="$($ctl --json status | python3 -c '
import json,sys
s=json.load(sys.stdin); c=s["connectors"]
print(c["hubspot"]["records"], s["store"]["outbox_depth"], c["salesforce"]["writes"]["ok"], c["zendesk"]["writes"]["ok"],
      c["salesforce"]["writes"]["rejected"], c["zendesk"]["writes"]["rejected"])')"
  read -r hs_recs depth sf_ok zd_ok sf_rej zd_rej <<<"$state"
  [[ "$hs_recs" -ge "$n" && "$depth" -eq 0 && $((sf_ok + sf_rej)) -gt 0 && $((zd_ok + zd_rej)) -gt 0 ]] && break
  kill -0 "$dpid" 2>/dev/null || { tail -20 "$tmp/omnisyncd.log" >&2; exit 1; }
  sleep 0.5
done
secs="$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")"
counts="$(curl -fsS "$admin/admin/counts")"
report="$(python3 - "$n" "$counts" "$hs_recs" "$sf_ok" "$zd_ok" "$sf_rej" "$zd_rej" "$secs" <<'PY'
import json, sys, datetime
n, counts, hs_recs, sf_ok, zd_ok, sf_rej, zd_rej, secs = sys.argv[1], json.loads(sys.argv[2]), *map(int, sys.argv[3:8]), sys.argv[8]
flat = {}
def walk(x, key=""):
    if isinstance(x, dict):
        for k, v in x.items(): walk(v, key + "/" + k)
    elif isinstance(x, int): flat[key] = flat.get(key, 0) + x
walk(counts)
def calls(*needles, service):
    return sum(v for k, v in flat.items() if service in k and any(s in k for s in needles))
hs_read = calls("search", service="hubspot") + sum(v for k, v in flat.items() if k.endswith("GET /crm/v3/objects/contacts"))
sf_write = calls("composite/sobjects", service="salesforce")
zd_write = calls("create_or_update_many", service="zendesk")
zd_jobs = calls("job_statuses", service="zendesk")
per = lambda c, k: f"{c * 10000 / max(k, 1):.0f}"
print(f"""<!-- api-efficiency:begin -->
### API calls per 10,000 records

`bench/api_efficiency.sh {n}` — HubSpot is the source ({hs_recs:,} contacts read); every contact is written to
Salesforce and Zendesk through the shipped outbound mappings. Calls counted by omnisync-sim (`/admin/counts`).
Measured {datetime.date.today()}; the whole run took {secs} s.

| vendor | operation | records | calls | calls per 10,000 | floor (batch limit) |
|---|---|---|---|---|---|
| HubSpot | read (CRM search, 100 per page) | {hs_recs:,} | {hs_read} | {per(hs_read, hs_recs)} | 100 |
| Salesforce | write (Collections upsert, 200 per call) | {sf_ok:,} written, {sf_rej} rejected | {sf_write} | {per(sf_write, sf_ok + sf_rej)} | 50 |
| Zendesk | write (create_or_update_many, 100 per call) | {zd_ok:,} written, {zd_rej} rejected | {zd_write} (+ {zd_jobs} job-status polls) | {per(zd_write, zd_ok + zd_rej)} (+ {per(zd_jobs, zd_ok + zd_rej)}) | 100 |
<!-- api-efficiency:end -->""")
PY
)"
printf '%s\n' "$report" | python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md"
echo "$report"
