"""One run of the pipeline benchmark, shared by pipeline_throughput.sh and pg_round_trips.sh: omnisync-sim serves N
HubSpot contacts and N Zendesk users (the same seeded people); `instances` omnisyncd processes on one store read
them all (initial sync), resolve them into profiles and write each profile to both systems (batched). The clock
runs from the daemons' start to the last change before everything settled (both read, queues empty, nothing
changed for 2 s). Then, when `w` > 0, webhook ingest: w signed HubSpot deliveries posted from 8 threads, spread
over the instances, each answered 200 only once stored.

    run(bins, root, tmp, n, kind, instances, label, pg_host=..., psql=..., w=0)

`bins`: the build directory whose omnisyncd, omnisyncctl and omnisync-sim run (a copy of an older build compares
before and after); `pg_host`: where PostgreSQL listens (its Unix socket directory, or an address), for kind
"postgres". The result has `round_trips`: the requests the instances' stores sent to PostgreSQL and waited for until the last
change (`store.round_trips` in status, summed over the instances, less what the benchmark's own status calls cost;
None when the binary does not report it).
"""
import concurrent.futures
import http.client
import json
import signal
import subprocess
import sys
import time

from benchlib import Admin, free_port, hubspot_v3_signature

secret = "cluster-bench-secret"


def run(bins, root, tmp, n, kind, instances, label, pg_host=None, psql=None, w=0):
    sim = subprocess.Popen([f"{bins}/sim/omnisync-sim", "--size", str(n)], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    urls = json.loads(sim.stdout.readline())
    admin = Admin(urls["admin"])
    admin.call("POST", "/admin/limits", {"service": "zendesk", "per_minute": 1000000, "cursor_users_per_minute": 1000000,
                                         "incremental_per_minute": 1000000})
    admin.call("POST", "/admin/limits", {"service": "hubspot", "ten_secondly_max": 1000000})
    db = f"b_{label}"
    if kind == "postgres":
        subprocess.run([psql, "-h", pg_host, "-U", "omnisync", "-d", "postgres", "-qc", f"CREATE DATABASE {db}"],
                       check=True)
        open(f"{tmp}/{db}.dsn", "w").write(f"host={pg_host} user=omnisync dbname={db}\n")
    daemons, ports, socks = [], [], []
    t0 = time.perf_counter()
    for i in range(instances):
        port = free_port(); ports.append(port)
        sock = f"{tmp}/{label}-{i}.sock"; socks.append(sock)
        store = (f"store: {{ kind: postgres, dsn_file: {tmp}/{db}.dsn, instance: node{i + 1}, lease_ttl: 5s }}"
                 if kind == "postgres" else "store: { kind: sqlite }")
        cfg = f"""
http: {{ listen: 127.0.0.1:{port}, public_url: http://127.0.0.1:{port} }}
daemon: {{ log: {{ level: warn }} }}
{store}
mappings_dir: {root}/config/mappings
connectors:
  hs:
    kind: hubspot
    base_url: {urls['hubspot']['https']}
    tls: {{ ca_file: {urls['ca_file']} }}
    objects: [contacts]
    poll_interval: 1s
    settle_lag: 0s
    auth: {{ private_app_token: pat-bench }}
    webhook: {{ client_secret: {secret} }}
    rate_limit: {{ per_10s: 100000, search_per_second: 1000 }}
  zd:
    kind: zendesk
    base_url: {urls['zendesk']['https']}
    tls: {{ ca_file: {urls['ca_file']} }}
    objects: [users]
    poll_interval: 1s
    settle_lag: 0s
    auth: {{ email: ops@example.com, api_token: zd-bench }}
    sync: {{ job_poll_interval: 50ms }}
    rate_limit: {{ per_minute: 100000, exports_per_minute: 100000, user_exports_per_minute: 100000 }}
"""
        path = f"{tmp}/{label}-{i}.yaml"; open(path, "w").write(cfg)
        state = f"{tmp}/{label}-{i}-state"
        daemons.append(subprocess.Popen([f"{bins}/daemon/app/omnisyncd", "-c", path, "--state-dir", state,
                                         "--control-socket", sock], stderr=open(f"{tmp}/{label}-{i}.log", "w")))

    polls = [0]  # status calls made (each costs the store a few round trips of its own: subtracted below)

    def status(i):
        polls[0] += 1
        r = subprocess.run([f"{bins}/daemon/ctl/omnisyncctl", "--socket", socks[i], "--json", "status"],
                           capture_output=True, text=True, timeout=30)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def round_trips(sts):
        got = [s["store"].get("round_trips") for s in sts if s and "store" in s]
        return None if not got or None in got else sum(got)

    try:
        # initial sync: both systems read (2N records), every profile written to both, the queues empty, and
        # nothing changing any more (the writes' read-backs settled): the time of the last change counts
        last, last_change, trips_at_change = None, time.perf_counter(), None
        while True:
            for i, d in enumerate(daemons):
                if d.poll() is not None:
                    sys.exit(f"{label}: instance {i + 1} exited: " + open(f"{tmp}/{label}-{i}.log").read()[-2000:])
            st = status(0)
            now = time.perf_counter()
            if st and "store" in st and "records" in st["store"]:
                recs = sum(st["store"]["records"].values())
                written = sum(c["writes"]["ok"] for c in st["connectors"].values())
                # a standby's status counts only its own writes: sum every instance's
                others = [status(i) for i in range(1, instances)]
                for o in others:
                    if o: written += sum(c["writes"]["ok"] for c in o["connectors"].values())
                snap = (recs, written, st["store"]["outbox_depth"], st["store"]["inbox_depth"])
                if snap != last:
                    last, last_change = snap, now
                    # the round trips up to the last change (an idle instance still renews its leases after it)
                    trips_at_change = round_trips([st] + others)
                    polls_at_change = polls[0]
                if recs >= 2 * n and snap[2] == 0 and snap[3] == 0 and written > 0 and now - last_change >= 2.0:
                    profiles = st.get("profiles", {}).get("profiles", 0)
                    break
            if now - t0 > 900: sys.exit(f"{label}: initial sync did not finish in 15 minutes")
            time.sleep(0.2)
        sync_s = last_change - t0
        # what one round of status calls costs the stores (two rounds back to back, now that all is idle)
        if trips_at_change is not None:
            a = round_trips([status(i) for i in range(instances)])
            b = round_trips([status(i) for i in range(instances)])
            trips_at_change = max(0, trips_at_change - (b - a) * polls_at_change // instances)

        # webhook ingest: W deliveries (distinct event ids), 8 threads, round robin over the instances
        def post(k):
            port = ports[k % instances]
            url = f"http://127.0.0.1:{port}/webhooks/hs"
            body = json.dumps([{"eventId": 10_000_000 + k, "subscriptionType": "contact.propertyChange",
                                "propertyName": "phone", "objectId": 1 + k % n, "occurredAt": int(time.time() * 1000),
                                "portalId": 1, "appId": 1, "attemptNumber": 0}])
            ts = str(int(time.time() * 1000))
            sig = hubspot_v3_signature(secret, url, body, ts)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/webhooks/hs", body=body, headers={"Content-Type": "application/json",
                      "X-HubSpot-Signature-v3": sig, "X-HubSpot-Request-Timestamp": ts})
            r = c.getresponse(); r.read(); c.close()
            return r.status

        ingest_rate, bad = None, 0
        if w > 0:
            t1 = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                codes = list(ex.map(post, range(w)))
            ingest_rate = w / (time.perf_counter() - t1)
            bad = sum(1 for c in codes if c != 200)
        leader = "-"
        if kind == "postgres":  # the leader's book holds the profiles
            for i in range(instances):
                s = status(i)
                if s and s.get("cluster", {}).get("leader"):
                    leader = f"node{i + 1}"
                    profiles = s.get("profiles", {}).get("profiles", profiles)
        return {"label": label, "kind": kind, "instances": instances, "sync_s": sync_s, "profiles": profiles,
                "written": last[1], "sync_rate": 2 * n / sync_s, "ingest_rate": ingest_rate, "bad": bad,
                "leader": leader, "round_trips": trips_at_change}
    finally:
        for d in daemons:
            d.send_signal(signal.SIGTERM)
        for d in daemons:
            try: d.wait(timeout=30)
            except subprocess.TimeoutExpired: d.kill()
        sim.terminate(); sim.wait(timeout=10)
