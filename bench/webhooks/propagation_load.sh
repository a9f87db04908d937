#!/usr/bin/env bash
# Webhook-to-destination propagation under load: RATE changes per second in HubSpot for SECONDS, each delivered
# by the simulator to omnisyncd as a signed HubSpot v3 webhook (as HubSpot delivers them), each written by
# omnisyncd to the same person's Salesforce Contact (webhook verified and stored → contact fetched → profile
# resolved, golden record recomputed → Contact upserted).
#
#   bench/webhooks/propagation_load.sh [RATE] [SECONDS]   (default 2000 60; OMNISYNC_BUILD_DIR, default build/default;
#                                                          OMNISYNC_BENCH_SIZE people per system, default 2000)
#
# The load: wrk (2 threads, 16 connections, propagation_load.lua) PATCHes the phones of the load contacts through
# the simulator's admin API at RATE per second; the simulator signs and delivers one webhook per change. Latency:
# four probe threads each change one probe contact (not in the load set) at a time and wait until the simulator
# holds the new phone on the person's Salesforce Contact; a probe's propagation is the Contact's SystemModstamp
# minus the HubSpot contact's updatedAt, both the simulator's own write timestamps (milliseconds, one clock), so
# the probes' polling does not count. After the load: the time to drain the inbox and outbox, and every load
# contact's final phone compared with its Salesforce Contact (every change written, none lost). Reference in the
# same run: the simulator's webhook delivery alone (sent → omnisyncd's 200, from its delivery log).
#
# Writes the section between <!-- propagation-load:begin --> and <!-- propagation-load:end --> in
# docs/benchmarks.md and prints it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${OMNISYNC_BUILD_DIR:-$root/build/default}"
rate="${1:-2000}"
secs="${2:-60}"
size="${OMNISYNC_BENCH_SIZE:-2000}"
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
cmake --build "$build" --target omnisyncd omnisyncctl omnisync-sim -j2 >/dev/null
tmp="$(mktemp -d /tmp/omnisync-propload.XXXXXX)"
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$tmp"' EXIT

python3 - "$build" "$root" "$tmp" "$rate" "$secs" "$size" <<'PY' > "$tmp/report.md"
import json, os, re, signal, subprocess, sys, threading, time
import http.client, urllib.request

build, root, tmp, rate, secs, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
sys.path.insert(0, f"{root}/bench/lib")
from benchlib import Admin, cpu_seconds, free_port, start_sim  # noqa: E402

def log(*a): print("bench:", *a, file=sys.stderr, flush=True)
def ms_of(iso):  # 2026-12-06T21:20:00.123Z or ...123+0000 -> epoch ms
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?", iso)
    import calendar
    y, mo, d, h, mi, s, frac = m.groups()
    return calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s))) * 1000 + int((frac or "0")[:3].ljust(3, "0"))
def pct(xs, p): return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")

sim, urls = start_sim(build, size, f"{tmp}/sim.err")
port = free_port()
secret = "propagation-load-secret"
sock = f"{tmp}/ctl.sock"
cfg = f"""
http: {{ listen: 127.0.0.1:{port}, public_url: http://127.0.0.1:{port} }}
daemon: {{ log: {{ level: warn }} }}
mappings_dir: {root}/config/mappings
connectors:
  hubspot:
    kind: hubspot
    base_url: {urls['hubspot']['https']}
    tls: {{ ca_file: {urls['ca_file']} }}
    objects: [contacts]
    poll_interval: 10m
    settle_lag: 0s
    auth: {{ private_app_token: bench-token }}
    rate_limit: {{ per_10s: 100000, search_per_second: 1000 }}
    webhook: {{ client_secret: {secret} }}
  salesforce:
    kind: salesforce
    login_url: {urls['salesforce']['https']}
    tls: {{ ca_file: {urls['ca_file']} }}
    objects: [Contact]
    poll_interval: 10m
    settle_lag: 0s
    auth: {{ flow: client_credentials, client_id: bench-client, client_secret: bench-secret }}
"""
open(f"{tmp}/omnisync.yaml", "w").write(cfg)
d = subprocess.Popen([f"{build}/daemon/app/omnisyncd", "-c", f"{tmp}/omnisync.yaml", "--state-dir", f"{tmp}/state",
                      "--control-socket", sock], stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/daemon.log", "w"))
def ctl(*a):
    return subprocess.run([f"{build}/daemon/ctl/omnisyncctl", "--socket", sock, "--json", *a], capture_output=True,
                          text=True)
def status():
    r = ctl("status")
    return json.loads(r.stdout) if r.returncode == 0 else None
def metrics():
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
def metric_sum(text, name, **labels):
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "): continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()): total += float(line.rsplit(" ", 1)[1])
    return total
def settled(s):
    if not s or s["store"]["outbox_depth"] or s["store"]["inbox_depth"] or not s["profiles"]["ready"]: return False
    return all(o["pages"] > 0 and o["phase"] == "idle" for c in s["connectors"].values() for o in c.get("objects_status", []))

try:
    admin = Admin(urls["admin"], timeout=30)
    admin.call("POST", "/admin/limits", {"service": "hubspot", "ten_secondly_max": 1000000})
    t_start = time.time()
    deadline = t_start + 600
    while not settled(status()):
        if time.time() > deadline: sys.exit("the initial sync did not settle in 10 minutes")
        time.sleep(0.5)
    time.sleep(2)
    while not settled(status()): time.sleep(0.5)
    log(f"initial sync settled in {time.time() - t_start:.0f} s")
    admin.call("POST", "/admin/webhooks", {"service": "hubspot", "url": f"http://127.0.0.1:{port}/webhooks/hubspot",
                                           "secret": secret})
    # Probe contacts (the last 100 HubSpot ids) and their Salesforce Contacts; the load uses the others.
    contacts = admin.call("GET", "/admin/hubspot/contacts")
    contacts = contacts if isinstance(contacts, list) else contacts.get("results", [])
    ids = sorted(int(c["id"]) for c in contacts)
    probe_ids, load_ids = ids[-100:], ids[:-100]
    pairs = []
    for k in probe_ids:
        r = ctl("profile", "get", f"hubspot:{k}")
        if r.returncode != 0: continue
        sf = [x["id"] for x in json.loads(r.stdout)["records"] if x["system"] == "salesforce" and x["object"] == "Contact"]
        if sf: pairs.append((k, sf[0]))
    if len(pairs) < 8: sys.exit(f"only {len(pairs)} probe contacts have a Salesforce Contact")
    log(f"{len(pairs)} probes, {len(load_ids)} load contacts")

    before_m, before_c = metrics(), admin.call("GET", "/admin/counts")
    before_s = status()
    stop = threading.Event()
    samples, lock = [], threading.Lock()
    def prober(idx):
        a = Admin(urls["admin"], timeout=30)
        i = 0
        mine = pairs[idx::4]
        while not stop.is_set():
            k, sf_id = mine[i % len(mine)]
            phone = f"+1917{idx * 1000000 + i:07d}"
            i += 1
            changed = a.call("PATCH", f"/admin/hubspot/contacts/{k}", {"properties": {"phone": phone}})
            t_change = ms_of(changed["updatedAt"])
            limit = time.time() + 120
            while True:
                c = a.call("GET", f"/admin/salesforce/Contact/{sf_id}")
                if c and c.get("Phone") == phone:
                    with lock: samples.append((ms_of(c["SystemModstamp"]) - t_change) / 1000)
                    break
                if time.time() > limit:
                    with lock: samples.append(float("inf"))
                    break
                time.sleep(0.02)
    probes = [threading.Thread(target=prober, args=(i,)) for i in range(4)]
    # wrk's delay() runs after each answer, so a connection sends every pause + answer time: 24 connections
    # with a pause 1 ms short of 24,000/RATE ms come out near RATE (16 connections, 8 ms made 1,319/s of 2,000).
    conns = 24
    pause = max(0, int(round(conns * 1000 / rate)) - 1)
    load_avg_before = os.getloadavg()
    cpu0 = (cpu_seconds(d.pid), cpu_seconds(sim.pid))
    t0 = time.time()
    for p in probes: p.start()
    wrk = subprocess.Popen(["wrk", "-t2", f"-c{conns}", f"-d{secs}s", "--latency", "-s",
                            f"{root}/bench/webhooks/propagation_load.lua", urls["admin"], "--",
                            str(load_ids[0]), str(len(load_ids)), str(pause)], stdout=subprocess.PIPE, text=True)
    perf = None
    if os.environ.get("OMNISYNC_BENCH_PERF"):  # where omnisyncd's CPU goes, 20 s in the middle of the load
        time.sleep(min(20, secs / 3))
        perf = subprocess.Popen(["perf", "record", "-F", "199", "-g", "-o", f"{tmp}/perf.data", "-p", str(d.pid), "--",
                                 "sleep", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    depths = []  # (seconds into the load, inbox depth, outbox depth)
    while wrk.poll() is None:
        s = status()
        if s: depths.append((time.time() - t0, s["store"]["inbox_depth"], s["store"]["outbox_depth"]))
        time.sleep(2)
    wrk.stdout_text = wrk.stdout.read()
    t_load = time.time() - t0
    if perf:
        perf.wait()
        rep = subprocess.run(["perf", "report", "-i", f"{tmp}/perf.data", "--no-children", "--sort", "dso,symbol",
                              "--stdio", "--percent-limit", "1.5"], capture_output=True, text=True).stdout
        open(os.environ.get("OMNISYNC_BENCH_PERF_OUT", f"{tmp}/perf.txt"), "w").write(rep)
    load_avg = os.getloadavg()
    stop.set()  # no new probe; one waiting for its change still waits (joined after the drain)
    # Drain, from the end of the load: every event processed and every write acknowledged.
    t_drain0 = time.time()
    while True:
        s = status()
        if s and s["store"]["inbox_depth"] == 0 and s["store"]["outbox_depth"] == 0: break
        if time.time() - t_drain0 > 600: sys.exit("the queues did not drain in 10 minutes")
        time.sleep(0.2)
    drain = time.time() - t_drain0
    for p in probes: p.join()
    cpu = (cpu_seconds(d.pid) - cpu0[0], cpu_seconds(sim.pid) - cpu0[1])
    time.sleep(2)
    after_m, after_c, after_s = metrics(), admin.call("GET", "/admin/counts"), status()

    sent = int(re.search(r"(\d+) requests in", wrk.stdout_text).group(1))
    changes_per_s = sent / t_load
    hooks_ok = metric_sum(after_m, "omnisync_webhook_requests_total", connector="hubspot", status="200") - \
        metric_sum(before_m, "omnisync_webhook_requests_total", connector="hubspot", status="200")
    events = after_s["connectors"]["hubspot"]["events_in"] - before_s["connectors"]["hubspot"]["events_in"]
    writes = {o: metric_sum(after_m, "omnisync_writes_total", connector="salesforce", outcome=o) -
                 metric_sum(before_m, "omnisync_writes_total", connector="salesforce", outcome=o)
              for o in ("written", "unchanged", "refused", "failed")}
    def calls(svc): return after_c.get(svc, {}).get("total", 0) - before_c.get(svc, {}).get("total", 0)
    sf_calls, hs_calls = calls("salesforce"), calls("hubspot")
    # Deliveries: the simulator's own webhook path (sent -> omnisyncd's answer), the reference floor.
    dl = admin.call("GET", "/admin/deliveries")
    dl = dl if isinstance(dl, list) else dl.get("deliveries", [])
    delivery = sorted((x["last_ms"] - x["first_ms"]) / 1000 for x in dl
                      if x.get("service") == "hubspot" and x.get("state") == "delivered" and x.get("last_ms"))
    # Every load contact's final phone is on its Salesforce Contact.
    snap = admin.call("GET", "/admin/snapshot")
    hs = {str(c["id"]): c for c in snap["hubspot"]["contacts"]} if isinstance(snap["hubspot"]["contacts"], list) \
        else snap["hubspot"]["contacts"]
    sf_by_email = {}
    sf = snap["salesforce"]["Contact"]
    for c in (sf if isinstance(sf, list) else sf.values()):
        if c.get("Email"): sf_by_email[c["Email"].lower()] = c
    checked = lost = 0
    for k in load_ids:
        c = hs.get(str(k))
        if not c: continue
        props = c.get("properties", c)
        email = (props.get("email") or "").lower()
        if not email or email not in sf_by_email: continue
        checked += 1
        if sf_by_email[email].get("Phone") != props.get("phone"): lost += 1
finally:
    d.send_signal(signal.SIGTERM)
    try: d.wait(timeout=30)
    except subprocess.TimeoutExpired: d.kill()
    sim.terminate(); sim.wait(timeout=10)

lat = sorted(samples)
f = lambda x: "—" if x != x else ("> 120 s (not arrived)" if x == float("inf") else f"{x * 1000:.0f} ms")
wl = lambda p: re.search(rf"^\s+{p}%\s+(\S+)", wrk.stdout_text, re.M).group(1)
day = time.strftime("%Y-%m-%d", time.gmtime())
met = lat and pct(lat, 99) <= 1.0
print(f"""<!-- propagation-load:begin -->
### Webhook-to-destination propagation under load

`bench/webhooks/propagation_load.sh {rate} {secs}` — {size:,} people per system (HubSpot and Salesforce in one
simulator), the initial sync settled first. For {t_load:.0f} s wrk (2 threads, {conns} connections, {pause} ms apart,
`propagation_load.lua`) changed phones of {len(load_ids):,} HubSpot contacts through the simulator's admin API, paced at
{rate:,}/s; the simulator delivered each change to omnisyncd as a signed v3 webhook, and omnisyncd wrote it to the
person's Salesforce Contact (verify, store, fetch the contact, resolve, recompute, upsert). Four probe threads
meanwhile changed {len(pairs)} other contacts one at a time: propagation = the Contact's `SystemModstamp` − the HubSpot
contact's `updatedAt` (the simulator's own write timestamps). Measured {day} on the shared 2-core machine, load
average {load_avg_before[0]:.1f} before and {load_avg[0]:.1f} at the end of the run (other engineers' builds included).

| | figure |
|---|---|
| changes made (wrk) | {sent:,} in {t_load:.0f} s = **{changes_per_s:,.0f}/s** (admin PATCH p50 {wl(50)}, p99 {wl(99)}) |
| webhooks acknowledged by omnisyncd (200) | {hooks_ok:,.0f} ({hooks_ok / t_load:,.0f}/s) |
| webhook events processed | {events:,} (including the probes'; {events / (t_load + drain):,.0f}/s until drained) |
| propagation of the probes ({len(lat)} changes) | p50 **{f(pct(lat, 50))}**, p99 **{f(pct(lat, 99))}**, max {f(lat[-1] if lat else float('nan'))} |
| reference: the simulator's webhook delivery alone (sent → 200), {len(delivery):,} deliveries | p50 {f(pct(delivery, 50))}, p99 {f(pct(delivery, 99))}, max {f(delivery[-1] if delivery else float('nan'))} |
| queues during the load (every 2 s) | inbox depth max {max((x[1] for x in depths), default=0):,}, at the end {depths[-1][1] if depths else 0:,}; outbox depth max {max((x[2] for x in depths), default=0):,} |
| drain after the load (inbox and outbox empty) | {drain:.1f} s |
| CPU over the load and the drain ({t_load + drain:.0f} s) | omnisyncd {cpu[0]:.0f} s ({100 * cpu[0] / (t_load + drain):.0f} % of one core), the simulator {cpu[1]:.0f} s ({100 * cpu[1] / (t_load + drain):.0f} %) |
| Salesforce Contact writes | {writes['written']:,.0f} written, {writes['unchanged']:,.0f} unchanged, {writes['refused']:,.0f} refused, {writes['failed']:,.0f} failed |
| API calls during the run and drain | Salesforce {sf_calls:,}, HubSpot {hs_calls:,} ({hs_calls / max(1, events):.2f} per event) |
| every change written | {checked - lost:,} of {checked:,} load contacts' Salesforce Contacts hold their final HubSpot phone ({lost} differ) |

Target: p99 ≤ 1 s at 2,000 events/s sustained — **{'met' if met else 'not met'}**.
<!-- propagation-load:end -->""")
PY
cat "$tmp/report.md"
python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md" < "$tmp/report.md"
