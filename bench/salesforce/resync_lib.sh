# Shared by resync_bench.sh and resync_profile.sh (sourced, not run): start omnisync-sim with N Contacts, resync
# them into a fresh omnisyncd, read the same pages with a bare client. Expects $root; start-up, $tmp and clean-up
# come from bench/lib/bench.sh (bench_init first).
benchlib="$root/bench/lib/benchlib.py"
# shellcheck source=bench/lib/bench.sh
source "$root/bench/lib/bench.sh"

cpu_of() { bench_cpu "$1"; }

start_sim() {  # build size -> sets sim_pid sf admin ca
  bench_start_sim "$1" "$2"
  sf="$(bench_url salesforce https)"
  curl -fsS -X POST "$admin/admin/limits" -H 'Content-Type: application/json' \
    -d '{"service":"salesforce","daily_api_requests":100000000}' >/dev/null || true
}

stop_sim() { bench_stop_sim; }

# build size label [perf.data] -> prints JSON {seconds, rss_kb, calls, cpu, sim_cpu, commits}
run_daemon() {
  local build="$1" size="$2" dir="$tmp/d-$3" perf_out="${4:-}"
  rm -rf "$dir"; mkdir -p "$dir"
  cat > "$dir/omnisync.yaml" <<YAML
http: { listen: 127.0.0.1:0 }
daemon: { state_dir: $dir/state, control_socket: $dir/control.sock, log: { level: warn } }
store: { synchronous: full }
mappings_dir: $root/config/mappings
connectors:
  salesforce:
    kind: salesforce
    login_url: $sf
    tls: { ca_file: $ca }
    objects: [Contact]
    poll_interval: 1h
    settle_lag: 0s
    auth: { flow: client_credentials, client_id: bench, client_secret: bench-secret }
    sync: { write: false, page_size: 2000, budget_share: 1.0 }
YAML
  local s0; s0=$(cpu_of "$sim_pid")
  local t0; t0=$(date +%s.%N)
  local dpid perf_pid=""
  if [[ -n "$perf_out" ]]; then
    # Started under perf, so that every thread the daemon starts is followed (attaching with -p misses threads
    # started after it). DWARF call graphs (the build keeps no frame pointers), at a rate low enough not to slow
    # the daemon much.
    perf record -F 99 --call-graph=dwarf,16384 -o "$perf_out" -- \
      "$build/daemon/app/omnisyncd" -c "$dir/omnisync.yaml" 2> "$dir/omnisyncd.log" >/dev/null &
    perf_pid=$!; bench_track "$perf_pid"
    dpid=""
    for _ in $(seq 1 100); do dpid="$(pgrep -P "$perf_pid" -x omnisyncd || true)"; [[ -n "$dpid" ]] && break; sleep 0.05; done
  else
    "$build/daemon/app/omnisyncd" -c "$dir/omnisync.yaml" 2> "$dir/omnisyncd.log" &
    dpid=$!
  fi
  bench_track "$dpid"
  local ctl="$build/daemon/ctl/omnisyncctl --socket $dir/control.sock"
  for _ in $(seq 1 100); do $ctl version >/dev/null 2>&1 && break; sleep 0.1; done
  while :; do
    local got; got="$($ctl --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["connectors"]["salesforce"]["records"])')"
    [[ "$got" -ge "$size" ]] && break
    kill -0 "$dpid" 2>/dev/null || { cat "$dir/omnisyncd.log" >&2; echo "omnisyncd died" >&2; exit 1; }
    sleep 0.5
  done
  local t1; t1=$(date +%s.%N)
  local cpu; cpu=$(cpu_of "$dpid")
  local s1; s1=$(cpu_of "$sim_pid")
  local rss; rss="$(awk '/VmHWM/ {print $2}' "/proc/$dpid/status")"
  $ctl --json status > "$dir/status.json"
  kill -TERM "$dpid"
  if [[ -n "$perf_pid" ]]; then wait "$perf_pid" || true; else wait "$dpid" || true; fi
  python3 - "$dir/status.json" "$t0" "$t1" "$rss" "$cpu" "$s0" "$s1" <<'PY'
import json, sys
st = json.load(open(sys.argv[1]))
t0, t1, rss, cpu, s0, s1 = map(float, sys.argv[2:])
print(json.dumps({"seconds": t1 - t0, "rss_kb": int(rss), "cpu": cpu, "sim_cpu": s1 - s0,
                  "calls": st["connectors"]["salesforce"]["api"]["calls"],
                  "commits": st["store"]["commits"]["state"]}))
PY
}

# Reads every Contact page through the REST API over one keep-alive TLS connection (as omnisyncd does), parsing
# each page's JSON and storing nothing -> prints JSON {seconds, records, cpu (its own), sim_cpu, calls}
bare_read() {
  local s0; s0=$(cpu_of "$sim_pid")
  local out; out="$(python3 - "$sf" "$ca" <<'PY'
import http.client, json, ssl, sys, time, urllib.parse
base, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def conn_for(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx), u
c, u = conn_for(base)
c.request("POST", "/services/oauth2/token", body=urllib.parse.urlencode(
    {"grant_type": "client_credentials", "client_id": "bench", "client_secret": "bench-secret"}),
    headers={"Content-Type": "application/x-www-form-urlencoded"})
tok = json.loads(c.getresponse().read())
inst = tok["instance_url"]
c, u = conn_for(inst)
h = {"Authorization": "Bearer " + tok["access_token"], "Sforce-Query-Options": "batchSize=2000"}
calls = 1
def get(path):
    global calls
    calls += 1
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        sys.exit(f"bare client: {r.status} {body[:300]!r}")
    return json.loads(body)
# The same columns omnisyncd selects: every field describe lists, plus Account.Name; the same queryAll.
desc = get("/services/data/v62.0/sobjects/Contact/describe")
cols = [f["name"] for f in desc["fields"]] + ["Account.Name"]
q = ("SELECT " + ", ".join(cols) + " FROM Contact WHERE SystemModstamp <= 2100-01-01T00:00:00Z"
     " ORDER BY SystemModstamp, Id")
path, n, t0, c0 = "/services/data/v62.0/queryAll?q=" + urllib.parse.quote(q), 0, time.time(), time.process_time()
while path:
    page = get(path)
    n += len(page["records"])
    path = page.get("nextRecordsUrl") if not page.get("done", True) else None
print(json.dumps({"seconds": time.time() - t0, "records": n, "cpu": time.process_time() - c0, "calls": calls}))
PY
)"
  local s1; s1=$(cpu_of "$sim_pid")
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); d['sim_cpu']=$s1-$s0; print(json.dumps(d))" "$out"
}
