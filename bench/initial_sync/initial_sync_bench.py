"""The initial sync with write-back against its physical reference (run through bench/initial_sync_bench.sh, which
documents it).

argv: BUILD ROOT TMP N ROUNDS. Each round, in this order: omnisyncd's initial sync of Salesforce + HubSpot + Zendesk
(N people each on one fresh simulator), then the bare client on another fresh simulator doing the same reads and
the same number of record writes per destination in the vendors' batch sizes. With OMNISYNC_BENCH_BEFORE=PATH
(another omnisyncd), each round runs that binary first, then this build's, then the bare client, and a comparison
section (initial-sync-ab) follows. Exit 0: measured; 2: not measured.
"""
import urllib.request
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import time

build, root, tmp, n, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, f"{root}/bench/lib")
sys.path.insert(0, f"{root}/bench/initial_sync")
from benchlib import Admin, cpu_seconds, free_port, start_sim, write_section  # noqa: E402
from bare_client import BareClient  # noqa: E402

CONNECTORS = {"sf": ("salesforce", "Contact"), "hs": ("hubspot", "contacts"), "zd": ("zendesk", "users")}
FLOOR = {"sf": 200, "hs": 100, "zd": 100}  # records per write call (the vendors' batch limits)
HS_SECRET, ZD_SECRET = "isbench-hubspot-secret", "isbench-zendesk-secret"


class Unmeasured(Exception):
    pass


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg():
    return open("/proc/loadavg").read().split()[0]


def write_calls(counts):
    """{connector: write calls} from /admin/counts (record writes only: no reads, searches, job polls)."""
    out = {"sf": 0, "hs": 0, "zd": 0}
    for svc, per in counts.items():
        conn = {"salesforce": "sf", "hubspot": "hs", "zendesk": "zd"}.get(svc)
        if not conn:
            continue
        for key, v in per.items():
            if key == "total":
                continue
            method, path = key.split(" ", 1)
            if method == "GET" or any(s in path for s in ("/search", "/batch/read", "/oauth", "/token", "/query")):
                continue
            out[conn] += v
    return out


def read_calls(counts, svc_filter=None):
    total = 0
    for svc, per in counts.items():
        for key, v in per.items():
            if key != "total" and key.startswith("GET ") and "job_statuses" not in key:
                total += v
            elif key != "total" and ("/search" in key or "/batch/read" in key):
                total += v
    return total


def metric(port, name):
    """The sum of a counter on omnisyncd's /metrics over its labels (0 when absent)."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    except OSError:
        return 0
    return sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def run_omnisync(label, daemon=None):
    sim, urls = start_sim(build, n, f"{tmp}/{label}-sim.err")
    admin = Admin(urls["admin"])
    for body in ({"service": "zendesk", "per_minute": 10000000, "cursor_users_per_minute": 10000000,
                  "incremental_per_minute": 10000000},
                 {"service": "hubspot", "ten_secondly_max": 10000000}):
        admin.call("POST", "/admin/limits", body)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin.call("POST", "/admin/webhooks", {"service": "hubspot", "url": base + "/webhooks/hs", "secret": HS_SECRET})
    admin.call("POST", "/admin/webhooks", {"service": "zendesk", "url": base + "/webhooks/zd", "secret": ZD_SECRET})

    def head(name, kind, url_key, objects):
        return (f"  {name}:\n    kind: {kind}\n    {url_key}: {urls[kind]['https']}\n"
                f"    tls: {{ ca_file: {urls['ca_file']} }}\n    objects: [{objects}]\n"
                f"    poll_interval: 1s\n    settle_lag: 0s\n")
    cfg = (f"http:\n  listen: 127.0.0.1:{port}\n  public_url: {base}\n"
           f"daemon:\n  shutdown_timeout: 5s\n  log: {{ level: {os.environ.get('OMNISYNC_BENCH_LOG', 'warn')} }}\n"
           f"mappings_dir: {root}/config/mappings\nconnectors:\n"
           + head("sf", "salesforce", "login_url", "Contact")
           + "    auth: { flow: client_credentials, client_id: bench, client_secret: bench-secret }\n"
           + head("hs", "hubspot", "base_url", "contacts")
           + "    auth: { private_app_token: bench }\n    rate_limit: { per_10s: 1000000, search_per_second: 10000 }\n"
           + f"    webhook: {{ client_secret: {HS_SECRET} }}\n"
           + head("zd", "zendesk", "base_url", "users")
           + "    auth: { email: ops@example.com, api_token: bench }\n"
           + "    sync: { job_poll_interval: 50ms }\n"
           + "    rate_limit: { per_minute: 1000000, exports_per_minute: 100000, user_exports_per_minute: 100000 }\n"
           + f"    webhook: {{ signing_secret: {ZD_SECRET} }}\n")
    path = f"{tmp}/{label}.yaml"
    open(path, "w").write(cfg)
    state = f"{tmp}/{label}-state"
    sock = f"{tmp}/{label}.sock"
    log = f"{tmp}/{label}-omnisyncd.log"
    cpu_sim0 = cpu_seconds(sim.pid)
    t0 = time.perf_counter()
    d = subprocess.Popen([daemon or f"{build}/daemon/app/omnisyncd", "-c", path, "--state-dir", state, "--control-socket", sock],
                         stderr=open(log, "w"))
    perf = None
    if os.environ.get("OMNISYNC_BENCH_PERF"):  # where omnisyncd's CPU goes, over the whole initial sync
        # DWARF call graphs (the build keeps no frame pointers), at a rate low enough not to slow the daemon much.
        perf = subprocess.Popen(["perf", "record", "-F", "99", "--call-graph=dwarf,16384", "-o",
                                 f"{tmp}/{label}-perf.data", "-p", str(d.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    phases = {}  # seconds from the start: every system read, first write acknowledged, outbox last emptied

    def status():
        r = subprocess.run([f"{build}/daemon/ctl/omnisyncctl", "--socket", sock, "--json", "status"],
                           capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 else None

    try:
        last, last_change, cpu_d = None, time.perf_counter(), 0.0
        timeline = open(f"{tmp}/{label}-timeline.txt", "w")  # status samples, for KEEP=1 analysis
        while True:
            if d.poll() is not None:
                raise Unmeasured(f"omnisyncd exited ({d.returncode}):\n" + open(log).read()[-2000:])
            st = status()
            now = time.perf_counter()
            if st and "connectors" in st:
                cs = st["connectors"]
                read_all = all(cs[c]["records"] >= n for c in CONNECTORS)
                snap = (tuple(cs[c]["records"] for c in CONNECTORS), tuple(cs[c]["writes"]["ok"] for c in CONNECTORS),
                        tuple(cs[c]["outbox_depth"] for c in CONNECTORS), tuple(cs[c]["inbox_depth"] for c in CONNECTORS))
                if read_all and "read" not in phases:
                    phases["read"] = now - t0
                if sum(snap[1]) > 0 and "first_write" not in phases:
                    phases["first_write"] = now - t0
                if snap != last:
                    if sum(snap[1]) > 0 and not any(snap[2]):
                        phases["outbox_empty"] = now - t0  # the last time the outbox became empty
                    print(f"{now - t0:.2f} {snap}", file=timeline, flush=True)
                    last, last_change = snap, now
                    cpu_d = cpu_seconds(d.pid)
                    cpu_sim = cpu_seconds(sim.pid)
                if (read_all and sum(snap[1]) > 0 and not any(snap[2]) and not any(snap[3])
                        and now - last_change >= 3.0):
                    break
            if now - t0 > 1800:
                raise Unmeasured(f"the initial sync did not settle in 30 minutes: {last}")
            time.sleep(0.25)
        secs = last_change - t0
        commits = (st.get("store") or {}).get("commits") or {}
        counts = admin.call("GET", "/admin/counts")
        echoes = metric(port, "omnisync_inbox_echoes_skipped_total")
        show_many = sum(v for k, v in counts.get("zendesk", {}).items() if "show_many" in k)
        with open(f"{tmp}/{label}-requests.json", "w") as f:  # the simulator's request log, for KEEP=1 analysis
            json.dump(admin.call("GET", "/admin/requests"), f)
        writes = {c: st["connectors"][c]["writes"]["ok"] for c in CONNECTORS}
        rejected = {c: st["connectors"][c]["writes"]["rejected"] for c in CONNECTORS}
        records = {c: st["connectors"][c]["records"] for c in CONNECTORS}
        profiles = (st.get("profiles") or {}).get("profiles", 0)
        db = sqlite3.connect(f"file:{state}/state.db?mode=ro", uri=True, timeout=30)
        distinct = {c: db.execute("SELECT count(DISTINCT record_id) FROM audit WHERE connector = ? AND outcome = 'written'",
                                  (c,)).fetchone()[0] for c in CONNECTORS}
        db.close()
        return {"secs": secs, "counts": counts, "writes": writes, "rejected": rejected, "records": records,
                "distinct": distinct, "profiles": profiles, "cpu_daemon": cpu_d, "cpu_sim": cpu_sim - cpu_sim0,
                "write_calls": write_calls(counts), "read_calls": read_calls(counts), "echoes": echoes,
                "show_many": show_many, "load": loadavg(), "phases": phases, "commits": commits}
    finally:
        if perf:
            perf.send_signal(2)
            perf.wait()
        d.terminate()
        try:
            d.wait(20)
        except subprocess.TimeoutExpired:
            d.kill()
        sim.terminate()
        sim.wait()


def run_bare(label, writes):
    sim, urls = start_sim(build, n, f"{tmp}/{label}-sim.err")
    admin = Admin(urls["admin"])
    for body in ({"service": "zendesk", "per_minute": 10000000, "cursor_users_per_minute": 10000000,
                  "incremental_per_minute": 10000000},
                 {"service": "hubspot", "ten_secondly_max": 10000000}):
        admin.call("POST", "/admin/limits", body)
    try:
        cpu_sim0 = cpu_seconds(sim.pid)
        client = BareClient(urls)
        t0 = time.perf_counter()
        got = client.run(writes, FLOOR)
        secs = time.perf_counter() - t0
        counts = admin.call("GET", "/admin/counts")
        return {"secs": secs, "read": got["read"], "written": got["written"], "cpu_sim": cpu_seconds(sim.pid) - cpu_sim0,
                "write_calls": write_calls(counts), "read_calls": read_calls(counts)}
    finally:
        sim.terminate()
        sim.wait()


def main():
    results = []
    before = os.environ.get("OMNISYNC_BENCH_BEFORE", "")
    ab = []  # (round, which, omnisync result) with the round's bare client seconds added below
    for r in range(rounds):
        if before:
            say(f"round {r + 1}: the before omnisyncd ({before}), {n:,} people per system")
            ob = run_omnisync(f"before{r}", before)
            say(f"  {ob['secs']:.1f} s, writes {ob['writes']}, calls {ob['write_calls']}, echoes {ob['echoes']:.0f}")
            ab.append((r, "before", ob))
        say(f"round {r + 1}: omnisyncd, {n:,} people per system")
        o = run_omnisync(f"omni{r}")
        ab.append((r, "after", o))
        say(f"  {o['secs']:.1f} s, writes {o['writes']}, distinct {o['distinct']}, calls {o['write_calls']}")
        say(f"  phases (s) {', '.join(f'{k} {v:.1f}' for k, v in o['phases'].items())}; CPU omnisyncd "
            f"{o['cpu_daemon']:.1f} s, simulator {o['cpu_sim']:.1f} s; commits {o['commits']}; "
            f"echoes skipped {o['echoes']:.0f}, show_many {o['show_many']}; load {o['load']}")
        say(f"round {r + 1}: bare client")
        b = run_bare(f"bare{r}", o["writes"])
        say(f"  {b['secs']:.1f} s, read {b['read']}, written {b['written']}, calls {b['write_calls']}")
        results.append((o, b))
        for i, (rr, which, x) in enumerate(ab):
            if rr == r:
                x["bare_secs"] = b["secs"]
    # the median round by omnisync's time
    results.sort(key=lambda x: x[0]["secs"])
    o, b = results[len(results) // 2]
    read = sum(o["records"][c] for c in CONNECTORS)
    written = sum(o["writes"].values())
    rate_o = (3 * n) / o["secs"]
    rate_b = (3 * n) / b["secs"]
    rows = []
    for c, (svc, obj) in CONNECTORS.items():
        w, dd, calls = o["writes"][c], o["distinct"][c], o["write_calls"][c]
        floor_calls = -(-dd // FLOOR[c]) if dd else 0
        rows.append(f"| {svc} {obj} | {w:,} | {dd:,} | {w / max(dd, 1):.2f} | {calls:,} | {floor_calls:,} | "
                    f"{calls / max(floor_calls, 1):.2f}× | {b['write_calls'][c]:,} |")
    all_secs = ", ".join(f"{x[0]['secs']:.1f}/{x[1]['secs']:.1f}" for x in results)
    report = f"""<!-- initial-sync:begin -->
### Initial sync with write-back against a bare client

`bench/initial_sync_bench.sh {n} {rounds}` — one fresh omnisync-sim per run serving Salesforce Contacts, HubSpot
contacts and Zendesk users ({n:,} people each, overlapping as the simulator seeds them: {o['profiles']:,} profiles);
omnisyncd (SQLite, `synchronous=FULL`, signed HubSpot and Zendesk webhooks on, so every write comes back as an
echo) reads all three, resolves, and writes each profile to the other systems until every write is acknowledged,
the queues are empty and nothing changed for 3 s (the clock stops at the last change). The bare client
(`bench/initial_sync/bare_client.py`: no store, no mapping, no resolution) reads the same three objects through the
same list endpoints and sends the same number of record writes per destination in full batches of the vendor's
size (Salesforce Collections 200, HubSpot batch upsert 100, Zendesk create_or_update_many 100 + job-status polls),
each vendor on its own thread. Same machine, same run, interleaved; the median of {rounds} round(s) by omnisync's
time (omnisync/bare seconds per round: {all_secs}). Load average at the end: {loadavg()} (2 cores, shared).
Measured {datetime.date.today()}.

| | seconds | records/s (3 × N read) | simulator CPU s (share of wall) | omnisyncd CPU s |
|---|---|---|---|---|
| omnisyncd | {o['secs']:.1f} | {rate_o:,.0f} | {o['cpu_sim']:.1f} ({o['cpu_sim'] / o['secs']:.0%}) | {o['cpu_daemon']:.1f} |
| bare client | {b['secs']:.1f} | {rate_b:,.0f} | {b['cpu_sim']:.1f} ({b['cpu_sim'] / b['secs']:.0%}) | – |
| **ratio omnisync / bare** | | **{rate_o / rate_b:.2f}×** | | |

Write amplification (records read {read:,}; record writes {written:,}):

| destination | record writes | distinct records written | writes per record | write calls | batch floor (distinct / batch) | calls / floor | bare client's calls |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
<!-- initial-sync:end -->"""
    write_section(f"{root}/docs/benchmarks.md", report)
    print(report)
    if before:
        rows = []
        for r, which, x in ab:
            ratio = x["bare_secs"] / x["secs"]
            wpr = " / ".join(f"{x['writes'][c] / max(x['distinct'][c], 1):.2f}" for c in CONNECTORS)
            rows.append(f"| {r + 1} | {which} | {x['secs']:.1f} | {x['bare_secs']:.1f} | {ratio:.2f}× | "
                        f"{x['cpu_daemon']:.1f} | {x['cpu_sim']:.1f} | {x['show_many']:,} | {x['echoes']:,.0f} | {wpr} | "
                        f"{x['load']} |")
        ab_report = f"""<!-- initial-sync-ab:begin -->
#### Before and after, interleaved

`OMNISYNC_BENCH_BEFORE={before} bench/initial_sync_bench.sh {n} {rounds}` — per round the before binary, this
build and the bare client, one after the other, each with a fresh simulator ({n:,} people per system). Measured
{datetime.date.today()}; the last column is the machine's load average at the end of each run.

| round | omnisyncd | seconds | bare client s | ratio omnisync / bare | omnisyncd CPU s | simulator CPU s | Zendesk `show_many` calls | echoes skipped | writes per record (sf / hs / zd) | load |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
<!-- initial-sync-ab:end -->"""
        write_section(f"{root}/docs/benchmarks.md", ab_report)
        print(ab_report)


try:
    main()
except Unmeasured as e:
    print(f"initial_sync_bench: not measured: {e}", file=sys.stderr)
    sys.exit(2)
