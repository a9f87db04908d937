"""The measuring half of propagation_load.sh (which starts the simulator and omnisyncd and makes the load client):
settles the initial sync, runs the open-loop load, receives the Salesforce Outbound Messages that tell when each
Contact was written, and prints the report section. Arguments: build root tmp rate seconds size port secret
sim_urls daemon_pid sim_pid."""
import calendar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

build, root, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
rate, secs, size, port = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
secret, urls, daemon_pid, sim_pid = sys.argv[8], json.loads(sys.argv[9]), int(sys.argv[10]), int(sys.argv[11])
sys.path.insert(0, f"{root}/bench/lib")
from benchlib import Admin, cpu_seconds, free_port  # noqa: E402

CONNS = 8
sock = f"{tmp}/ctl.sock"


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def ms_of(iso):  # 2026-12-06T21:20:00.123Z or ...123+0000 -> epoch ms
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?", iso)
    y, mo, d, h, mi, s, frac = m.groups()
    return calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s))) * 1000 + \
        int((frac or "0")[:3].ljust(3, "0"))


def pct(xs, p):
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


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
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def settled(s):
    if not s or s["store"]["outbox_depth"] or s["store"]["inbox_depth"] or not s["profiles"]["ready"]:
        return False
    return all(o["pages"] > 0 and o["phase"] == "idle" for c in s["connectors"].values()
               for o in c.get("objects_status", []))


# Salesforce Outbound Messages: (Contact id, LastName, SystemModstamp ms) of every Contact write, as the simulator
# stored it. Answered with the SOAP Ack the simulator requires.
observed, observed_lock = [], threading.Lock()
NOTE = re.compile(r"<Notification>.*?</Notification>", re.S)
FIELD = re.compile(r"<sf:(Id|LastName|SystemModstamp)>([^<]*)</sf:\1>")
ACK = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
       'envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true'
       '</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>').encode()


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        got = []
        for n in NOTE.findall(body):
            f = dict(FIELD.findall(n))
            if "Id" in f and "SystemModstamp" in f:
                got.append((f["Id"], f.get("LastName"), ms_of(f["SystemModstamp"])))
        with observed_lock:
            observed.extend(got)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(ACK)))
        self.end_headers()
        self.wfile.write(ACK)

    def log_message(self, *a):
        pass


admin = Admin(urls["admin"], timeout=30)
admin.call("POST", "/admin/limits", {"service": "hubspot", "ten_secondly_max": 1000000})
admin.call("POST", "/admin/limits", {"service": "salesforce", "daily_api_requests": 100000000})
t_start = time.time()
while not settled(status()):
    if time.time() > t_start + 600:
        sys.exit("the initial sync did not settle in 10 minutes")
    time.sleep(0.5)
time.sleep(2)
while not settled(status()):
    time.sleep(0.5)
log(f"initial sync settled in {time.time() - t_start:.0f} s")

receiver = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
admin.call("POST", "/admin/webhooks", {"service": "salesforce", "url": f"http://127.0.0.1:{receiver.server_port}/sf",
                                       "secret": ""})
admin.call("POST", "/admin/webhooks", {"service": "hubspot", "url": f"http://127.0.0.1:{port}/webhooks/hubspot",
                                       "secret": secret})

# The load contacts: every HubSpot contact (one id range). Its Salesforce Contacts are those in the same profile
# (`omnisyncctl profile get`). A contact whose profile holds none (the simulator seeds people whose e-mail two
# Salesforce Contacts share, and identity resolution does not link such an ambiguous identifier) is changed too,
# but no write is expected for it: its changes are counted apart.
snap = admin.call("GET", "/admin/snapshot")
hs_list = snap["hubspot"]["contacts"]
hs_list = hs_list if isinstance(hs_list, list) else list(hs_list.values())
ids = sorted(int(c["id"]) for c in hs_list)
if ids != list(range(ids[0], ids[0] + len(ids))):
    sys.exit("the HubSpot contact ids are not one range")
sf_of = {}


def linked(part):
    for k in part:
        r = ctl("profile", "get", f"hubspot:{k}")
        if r.returncode != 0:
            continue
        sf = [x["id"] for x in json.loads(r.stdout)["records"] if x["system"] == "salesforce" and x["object"] == "Contact"]
        if sf:
            sf_of[k] = sf


workers = [threading.Thread(target=linked, args=(ids[i::8],)) for i in range(8)]
for w in workers:
    w.start()
for w in workers:
    w.join()
log(f"{len(ids)} load contacts, {len(sf_of)} with a Salesforce Contact")

before_m, before_c, before_s = metrics(), admin.call("GET", "/admin/counts"), status()
load_avg_before = os.getloadavg()
cpu0 = (cpu_seconds(daemon_pid), cpu_seconds(sim_pid))
t0 = time.time()
admin_host, admin_port = re.match(r"http://([\d.]+):(\d+)", urls["admin"]).groups()
client = subprocess.Popen([f"{tmp}/open_loop", admin_host, admin_port, str(rate), str(secs), str(CONNS), str(ids[0]),
                           str(len(ids)), "PATCH", "/admin/hubspot/contacts/{id}",
                           '{"properties":{"lastname":"Load{n}"}}'],
                          stdout=open(f"{tmp}/requests.tsv", "w"), stderr=subprocess.PIPE, text=True)
perf = None
if os.environ.get("OMNISYNC_BENCH_PERF"):  # where omnisyncd's CPU goes, 20 s in the middle of the load
    time.sleep(min(20, secs / 3))
    # DWARF call graphs (the build keeps no frame pointers), at a rate low enough not to slow the daemon much.
    perf = subprocess.Popen(["perf", "record", "-F", "99", "--call-graph=dwarf,16384", "-o", f"{tmp}/perf.data", "-p",
                             str(daemon_pid), "--", "sleep", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
depths = []  # (seconds into the load, inbox depth, outbox depth)
client_cpu = 0.0
while client.poll() is None:
    client_cpu = max(client_cpu, cpu_seconds(client.pid))
    s = status()
    if s:
        depths.append((time.time() - t0, s["store"]["inbox_depth"], s["store"]["outbox_depth"]))
    time.sleep(2)
client_summary = client.stderr.read().strip()
if perf:
    perf.wait()  # its samples are sorted after the drain: perf script takes minutes and would count as drain
load_avg = os.getloadavg()
# Drain, from the end of the client: every event processed and every write acknowledged.
t_drain0 = time.time()
while True:
    s = status()
    if s and s["store"]["inbox_depth"] == 0 and s["store"]["outbox_depth"] == 0:
        break
    if time.time() - t_drain0 > 600:
        sys.exit("the queues did not drain in 10 minutes")
    time.sleep(0.2)
drain = time.time() - t_drain0
wall = time.time() - t0
cpu = (cpu_seconds(daemon_pid) - cpu0[0], cpu_seconds(sim_pid) - cpu0[1])
time.sleep(2)  # the last Outbound Messages
after_m, after_c, after_s = metrics(), admin.call("GET", "/admin/counts"), status()

# Every change: due time, contact, status (from the client).
events = {}  # contact -> [(n, due_ms)] in order of n
sent = ok = 0
first_due, last_answer = None, 0.0
for line in open(f"{tmp}/requests.tsv"):
    n, k, due, _sent, answered, st = line.split("\t")
    sent += 1
    first_due = float(due) if first_due is None else first_due
    if float(answered) >= 0:
        last_answer = max(last_answer, float(due) + float(answered))
    if 200 <= int(st) < 300:
        ok += 1
        events.setdefault(int(k), []).append((int(n), float(due)))
# The changes were made over this span (longer than the offered seconds when the simulator fell behind).
span = max(secs, (last_answer - first_due) / 1000) if first_due is not None else secs
# Per Salesforce Contact, what was stored when: (modstamp, n of the change it carries) in time order.
stored = {}
with observed_lock:
    for sf_id, name, at in observed:
        if name and name.startswith("Load") and len(name) == 11:
            stored.setdefault(sf_id, []).append((at, int(name[4:])))
lat, never = [], 0
unlinked = sum(len(evs) for k, evs in events.items() if k not in sf_of)
for k, evs in events.items():
    if k not in sf_of:
        continue
    writes = sorted(w for sf_id in sf_of.get(k, []) for w in stored.get(sf_id, []))
    for n, due in evs:
        # The first write of this change or a later one of the same contact.
        hit = next((at for at, m in writes if m >= n), None)
        if hit is None:
            never += 1
        else:
            lat.append((hit - due) / 1000)
lat.sort()
hooks_ok = metric_sum(after_m, "omnisync_webhook_requests_total", connector="hubspot", status="200") - \
    metric_sum(before_m, "omnisync_webhook_requests_total", connector="hubspot", status="200")
hooks_other = sum(metric_sum(after_m, "omnisync_webhook_requests_total", connector="hubspot", status=st) -
                  metric_sum(before_m, "omnisync_webhook_requests_total", connector="hubspot", status=st)
                  for st in sorted(set(re.findall(r'omnisync_webhook_requests_total\{[^}]*status="(\d+)"', after_m)))
                  if st != "200")
shed = metric_sum(after_m, "omnisync_http_connections_shed_total") - \
    metric_sum(before_m, "omnisync_http_connections_shed_total")
events_in = after_s["connectors"]["hubspot"]["events_in"] - before_s["connectors"]["hubspot"]["events_in"]
writes = {o: metric_sum(after_m, "omnisync_writes_total", connector="salesforce", outcome=o) -
          metric_sum(before_m, "omnisync_writes_total", connector="salesforce", outcome=o)
          for o in ("written", "unchanged", "refused", "failed")}


def calls(svc):
    return after_c.get(svc, {}).get("total", 0) - before_c.get(svc, {}).get("total", 0)


sf_calls, hs_calls = calls("salesforce"), calls("hubspot")
dl = admin.call("GET", "/admin/deliveries?service=hubspot")
dl = dl if isinstance(dl, list) else dl.get("deliveries", [])
undelivered = sum(1 for x in dl if x.get("state") in ("pending", "failed"))
delivery = sorted((x["last_ms"] - x["first_ms"]) / 1000 for x in dl
                  if x.get("service") == "hubspot" and x.get("state") == "delivered" and x.get("last_ms"))
# Every load contact's final last name is on its Salesforce Contact.
snap = admin.call("GET", "/admin/snapshot")
hs_list = snap["hubspot"]["contacts"]
hs_list = hs_list if isinstance(hs_list, list) else list(hs_list.values())
sf_list = snap["salesforce"]["Contact"]
sf_name = {c["Id"]: c.get("LastName") for c in (sf_list if isinstance(sf_list, list) else sf_list.values())}
checked = lost = 0
lost_list = []  # in $tmp/lost.json, to look into
for c in hs_list:
    k = int(c["id"])
    if k not in sf_of:
        continue
    checked += 1
    if all(sf_name.get(sf_id) != c.get("properties", c).get("lastname") for sf_id in sf_of[k]):
        lost += 1
        lost_list.append({"hubspot": k, "lastname": c.get("properties", c).get("lastname"),
                          "salesforce": {sf_id: sf_name.get(sf_id) for sf_id in sf_of[k]}})

json.dump(lost_list, open(f"{tmp}/lost.json", "w"), indent=1)
f = lambda x: "—" if x != x else f"{x * 1000:,.0f} ms"  # noqa: E731
day = time.strftime("%Y-%m-%d", time.gmtime())
met = bool(lat) and never == 0 and pct(lat, 99) <= 1.0 and ok / max(1, sent) > 0.99
m = re.search(r"(\d+) sent more than 10 ms late.*p50 ([\d.]+) ms, p99 ([\d.]+) ms", client_summary)
late, ans50, ans99 = (m.group(1), m.group(2), m.group(3)) if m else ("?", "?", "?")
if os.environ.get("OMNISYNC_BENCH_SUMMARY"):  # one line of a before/after comparison (propagation_load.sh)
    json.dump({"daemon": os.environ.get("OMNISYNC_BENCH_DAEMON", ""), "offered": sent / secs, "achieved": ok / span,
               "p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99), "max": lat[-1] if lat else None,
               "never": never, "inbox_max": max((x[1] for x in depths), default=0), "drain": drain,
               "processed_per_s": events_in / wall, "cpu_daemon": cpu[0], "cpu_sim": cpu[1],
               "events": events_in, "wall": wall, "lost": lost, "load": load_avg[0]},
              open(os.environ["OMNISYNC_BENCH_SUMMARY"], "w"))
breakdown = None
if perf:
    script = subprocess.run(["perf", "script", "-i", f"{tmp}/perf.data"], capture_output=True, text=True).stdout
    from benchlib import perf_breakdown  # noqa: E402
    breakdown = perf_breakdown(script.splitlines())
    open(os.environ.get("OMNISYNC_BENCH_PERF_OUT", f"{tmp}/perf.json"), "w").write(json.dumps(breakdown, indent=1))
perf_row = ""
if breakdown and breakdown["samples"]:
    shares = ", ".join(f"{k} {100 * v:.0f} %" for k, v in breakdown["stages"].items() if v >= 0.02)
    perf_row = f"\nomnisyncd's CPU by stage (perf, 20 s of the load, {breakdown['samples']:,} samples): {shares}.\n"
print(f"""<!-- propagation-load:begin -->
### Webhook-to-destination propagation under load

`bench/webhooks/propagation_load.sh {rate} {secs}` — {size:,} people per system (HubSpot and Salesforce in one
simulator), the initial sync settled first. For {secs} s an open-loop C++ client (`bench/lib/open_loop.cpp`: change n
due at start + n / {rate:,} s and sent then, whatever the answers; {CONNS} pipelined connections) changed the last name of
one of {len(ids):,} HubSpot contacts through the simulator's admin API, each to a distinct value; the simulator
delivered each change to omnisyncd as a signed v3 webhook, and omnisyncd wrote it to the person's Salesforce Contact
(verify, store, fetch the contact, resolve, recompute, upsert). Propagation of a change = the moment the simulator
stored it, or a later change of the same contact, on the Salesforce Contact (`SystemModstamp` from the Outbound
Message of that write) − the moment the change was due; every change is measured. Measured {day} on the shared
2-core machine, load average {load_avg_before[0]:.1f} before and {load_avg[0]:.1f} at the end of the load (other
engineers' builds and tests included).{f" omnisyncd: `{os.environ['OMNISYNC_BENCH_DAEMON']}`." if os.environ.get("OMNISYNC_BENCH_DAEMON") else ""}

| | figure |
|---|---|
| offered | {sent:,} changes in {secs} s = **{sent / secs:,.0f}/s** ({late} sent more than 10 ms late) |
| achieved (changes the simulator made: answered 2xx) | {ok:,} in {span:.0f} s = **{ok / span:,.0f}/s**; admin PATCH answered p50 {ans50} ms, p99 {ans99} ms after due |
| webhooks acknowledged by omnisyncd (200) | {hooks_ok:,.0f} ({hooks_ok / span:,.0f}/s); other answers {hooks_other:,.0f}, connections shed {shed:,.0f}; deliveries not acknowledged at the end {undelivered:,} (of the last {len(dl):,}) |
| webhook events processed | {events_in:,} ({events_in / wall:,.0f}/s from the start until drained, {wall:.0f} s) |
| propagation, every change to a contact with a Salesforce Contact ({len(lat):,}; {unlinked:,} others) | p50 **{f(pct(lat, 50))}**, p95 {f(pct(lat, 95))}, p99 **{f(pct(lat, 99))}**, max {f(lat[-1] if lat else float('nan'))}; {never:,} never written |
| reference: the simulator's webhook delivery alone (sent → 200), last {len(delivery):,} deliveries | p50 {f(pct(delivery, 50))}, p99 {f(pct(delivery, 99))}, max {f(delivery[-1] if delivery else float('nan'))} |
| queues during the load (every 2 s) | inbox depth max {max((x[1] for x in depths), default=0):,}; outbox depth max {max((x[2] for x in depths), default=0):,} |
| drain after the client's last answer (inbox and outbox empty) | {drain:.1f} s |
| CPU over the load and the drain ({wall:.0f} s) | omnisyncd {cpu[0]:.0f} s ({100 * cpu[0] / wall:.0f} % of one core), the simulator {cpu[1]:.0f} s ({100 * cpu[1] / wall:.0f} %), the client {client_cpu:.0f} s |
| Salesforce Contact writes | {writes['written']:,.0f} written, {writes['unchanged']:,.0f} unchanged, {writes['refused']:,.0f} refused, {writes['failed']:,.0f} failed |
| API calls during the run and drain | Salesforce {sf_calls:,}, HubSpot {hs_calls:,} ({hs_calls / max(1, events_in):.2f} per event) |
| every change written | {checked - lost:,} of {checked:,} load contacts' Salesforce Contacts hold their final HubSpot last name ({lost} differ; {len(ids) - len(sf_of):,} contacts have no Salesforce Contact in their profile) |
{perf_row}
Target: p99 ≤ 1 s at 2,000 events/s sustained — **{'met' if met else 'not met'}**.
<!-- propagation-load:end -->""")
