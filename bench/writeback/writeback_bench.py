"""The write-back benchmark (run through bench/writeback_bench.sh, which documents it): edits preserved during the
initial sync, and the write volume of field-level writes against whole-record writes.

argv: BUILD ROOT TMP N E. Exit 0: measured, nothing lost; 1: measured, an edit or a change was lost (the report
says which); 2: not measured (a process failed, omnisyncd did not settle).
"""
import datetime
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

build, root, tmp, n, e = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, f"{root}/bench/lib")
from benchlib import Admin, free_port, write_section  # noqa: E402

CONNECTORS = {"sf": ("salesforce", "Contact"), "hs": ("hubspot", "contacts"), "zd": ("zendesk", "users")}
HS_SECRET, ZD_SECRET = "wbbench-hubspot-secret", "wbbench-zendesk-secret"
procs = []


class Unmeasured(Exception):
    """The run could not be measured: the message says why."""


def say(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def phone(tag, person):
    """A distinct E.164 number per (tag, person) that no vendor reformats: +1 646 1TD PPPP (person < 100,000)."""
    return f"+1646{100 + tag * 10 + person // 10000:03d}{person % 10000:04d}"


# ---- processes -------------------------------------------------------------------------------------------------

def start():
    sim = subprocess.Popen([f"{build}/sim/omnisync-sim", "--size", str(n)], stdout=subprocess.PIPE,
                           stderr=open(f"{tmp}/sim.err", "w"), text=True)
    procs.append(sim)
    urls = json.loads(sim.stdout.readline())
    admin = Admin(urls["admin"])
    admin.call("POST", "/admin/limits", {"service": "zendesk", "per_minute": 100000, "cursor_users_per_minute": 100000,
                                         "incremental_per_minute": 100000})
    admin.call("POST", "/admin/limits", {"service": "hubspot", "ten_secondly_max": 100000})
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin.call("POST", "/admin/webhooks", {"service": "hubspot", "url": base + "/webhooks/hs", "secret": HS_SECRET})
    admin.call("POST", "/admin/webhooks", {"service": "zendesk", "url": base + "/webhooks/zd", "secret": ZD_SECRET})

    def head(name, kind, url_key, objects):
        return (f"  {name}:\n    kind: {kind}\n    {url_key}: {urls[kind]['https']}\n"
                f"    tls: {{ ca_file: {urls['ca_file']} }}\n    objects: [{objects}]\n"
                f"    poll_interval: 300ms\n    settle_lag: 0s\n")
    cfg = (f"http:\n  listen: 127.0.0.1:{port}\n  public_url: {base}\n"
           f"daemon:\n  shutdown_timeout: 5s\n  log: {{ level: warn }}\n"
           f"mappings_dir: {root}/config/mappings\nconnectors:\n"
           + head("sf", "salesforce", "login_url", "Contact")
           + "    auth: { flow: client_credentials, client_id: bench, client_secret: bench-secret }\n"
           + head("hs", "hubspot", "base_url", "contacts")
           + "    auth: { private_app_token: bench }\n    rate_limit: { per_10s: 100000, search_per_second: 1000 }\n"
           + f"    webhook: {{ client_secret: {HS_SECRET} }}\n"
           + head("zd", "zendesk", "base_url", "users")
           + "    auth: { email: ops@example.com, api_token: bench }\n"
           + "    rate_limit: { per_minute: 100000, exports_per_minute: 100000, user_exports_per_minute: 100000 }\n"
           + f"    webhook: {{ signing_secret: {ZD_SECRET} }}\n")
    with open(f"{tmp}/omnisync.yaml", "w") as f:
        f.write(cfg)
    d = subprocess.Popen([f"{build}/daemon/app/omnisyncd", "-c", f"{tmp}/omnisync.yaml", "--state-dir", f"{tmp}/state",
                          "--control-socket", f"{tmp}/control.sock"], stderr=open(f"{tmp}/omnisyncd.log", "w"))
    procs.append(d)
    until = time.time() + 60
    while ctl_ok("status") is False:  # the control socket answers once the daemon runs
        if d.poll() is not None or time.time() > until:
            raise Unmeasured("omnisyncd did not start:\n" + log_tail())
        time.sleep(0.2)
    return urls["admin"], d


def log_tail(lines=30):
    try:
        return "".join(open(f"{tmp}/omnisyncd.log").readlines()[-lines:])
    except OSError:
        return ""


def ctl(*args, check=True):
    r = subprocess.run([f"{build}/daemon/ctl/omnisyncctl", "--socket", f"{tmp}/control.sock", *args],
                       capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise Unmeasured(f"omnisyncctl {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}\n" + log_tail())
    return r.stdout


def ctl_ok(*args):
    r = subprocess.run([f"{build}/daemon/ctl/omnisyncctl", "--socket", f"{tmp}/control.sock", *args],
                       capture_output=True, text=True, timeout=120)
    return r.returncode == 0


def status():
    return json.loads(ctl("--json", "status"))


def flat(tree):
    """/admin/counts or /admin/bytes as {(service, 'METHOD path'): n}, without the totals."""
    return {(svc, k): v for svc, per in tree.items() for k, v in per.items() if k != "total"}


def is_write(key):
    """A call that writes records (not a read, a search, a login or a job-status poll)."""
    _, call = key
    method, path = call.split(" ", 1)
    if method == "GET":
        return False
    return not any(s in path for s in ("/search", "/batch/read", "/oauth", "/token", "/query", "/webhooks"))


# ---- waiting -----------------------------------------------------------------------------------------------------

def writes_seen(admin):
    return sum(v for k, v in flat(admin.call("GET", "/admin/counts")).items() if is_write(k))


def settle(admin, daemon, what, limit=1200):
    """Waits until every connector has read its records, no queue holds anything and the simulator received no
    write for 3 s; raises Unmeasured (with what is still going on) when that does not happen within `limit` s."""
    until, last = time.time() + limit, None
    while time.time() < until:
        if daemon.poll() is not None:
            raise Unmeasured(f"omnisyncd exited ({daemon.returncode}) during {what}:\n" + log_tail())
        st = status()
        last = {c: {k: st["connectors"][c].get(k) for k in ("records", "inbox_depth", "outbox_depth")}
                for c in CONNECTORS}
        if all(v["records"] >= n and v["inbox_depth"] == 0 and v["outbox_depth"] == 0 for v in last.values()):
            before = writes_seen(admin)
            time.sleep(3)
            if writes_seen(admin) == before:
                return
        else:
            time.sleep(1)
    plan = ctl("plan", check=False)
    raise Unmeasured(f"omnisyncd did not settle within {limit} s after {what}: {json.dumps(last)}\n"
                     f"omnisyncctl plan (first lines):\n" + "\n".join(plan.splitlines()[:15]) + "\n" + log_tail())


class Monitor(threading.Thread):
    """Samples omnisyncd's successful writes once a second: how far the initial sync's write-back was when each
    edit was made."""

    def __init__(self):
        super().__init__(daemon=True)
        self.writes_ok, self.stop = 0, False

    def run(self):
        while not self.stop:
            try:
                st = status()
                self.writes_ok = sum(st["connectors"][c]["writes"]["ok"] for c in CONNECTORS)
            except Exception:  # noqa: BLE001 — a missed sample only makes the progress figure coarser
                pass
            time.sleep(1)


# ---- vendor views ------------------------------------------------------------------------------------------------

def record_phone(admin, conn, rid):
    svc, obj = CONNECTORS[conn]
    r = admin.call("GET", f"/admin/{svc}/{obj}/{rid}") or {}
    return {"hs": lambda: (r.get("properties") or {}).get("phone"), "zd": lambda: r.get("phone"),
            "sf": lambda: r.get("Phone")}[conn]()


def members(conn, rid):
    """The person's records in each system ({connector: id}) from `omnisyncctl profile get`."""
    out = ctl("--json", "profile", "get", f"{conn}:{CONNECTORS[conn][1]}:{rid}", check=False)
    try:
        recs = json.loads(out).get("records", [])
    except ValueError:
        return {}
    return {r["system"]: r["id"] for r in recs if not r.get("deleted")}


def phones_held(admin):
    """Every phone value each system holds: {connector: set}."""
    hs = admin.call("GET", "/admin/hubspot/contacts")
    zd = admin.call("GET", "/admin/zendesk/users")
    sf = admin.call("GET", "/admin/salesforce/Contact")
    return {"hs": {(r.get("properties") or {}).get("phone") for r in hs}, "zd": {r.get("phone") for r in zd},
            "sf": {r.get("Phone") for r in sf}}


# ---- phase 1: edits during the initial sync -----------------------------------------------------------------------

def phase1(admin_url, daemon):
    admin = Admin(admin_url)
    mon = Monitor()
    mon.start()
    t0 = time.time()
    until = t0 + 300
    while status()["connectors"]["hs"]["records"] <= n // 10:
        if daemon.poll() is not None or time.time() > until:
            raise Unmeasured("omnisyncd read fewer than N/10 HubSpot contacts in 300 s:\n" + log_tail())
        time.sleep(0.2)
    e_hs, e_zd = (e + 1) // 2, e // 2
    stride = max(1, n // max(e_hs, 1))
    edits = [("hs", 1 + i * n // e_hs) for i in range(e_hs)] + \
            [("zd", min(n, 1 + i * n // e_zd + stride // 2)) for i in range(e_zd)]
    edits.sort(key=lambda x: x[1])  # HubSpot and Zendesk edits interleaved
    span = float(os.environ.get("WB_EDIT_SPAN", max(10.0, n / 50)))
    made = []
    for conn, p in edits:
        value = phone(1 if conn == "hs" else 2, p)
        if conn == "hs":
            admin.call("PATCH", f"/admin/hubspot/contacts/{p}", {"properties": {"phone": value}})
        else:
            admin.call("PATCH", f"/admin/zendesk/users/{p}", {"phone": value})
        made.append({"conn": conn, "id": str(p), "value": value, "t": time.time() - t0, "writes_ok": mon.writes_ok})
        time.sleep(span / max(len(edits), 1))
    say(f"{len(made)} edits made in {made[-1]['t'] - made[0]['t']:.1f} s; waiting for quiescence")
    settle(admin, daemon, "the initial sync and the edits")
    mon.stop = True
    st = status()
    total_ok = sum(st["connectors"][c]["writes"]["ok"] for c in CONNECTORS)
    secs = time.time() - t0
    lost = []
    for m in made:
        where = members(m["conn"], m["id"])
        where.setdefault(m["conn"], m["id"])
        held = {c: (record_phone(admin, c, where[c]) if c in where else None) for c in CONNECTORS}
        if any(held[c] != m["value"] for c in CONNECTORS):
            audits = {f"{c}:{CONNECTORS[c][1]}:{where[c]}": ctl("audit", "--record", f"{c}:{CONNECTORS[c][1]}:{where[c]}",
                                                             "--limit", "20", check=False)
                      for c in CONNECTORS if c in where}
            lost.append({**m, "records": where, "held": held, "audit": audits})
    return {"made": made, "lost": lost, "writes_ok": total_ok, "secs": secs, "span": span}


# ---- phase 2: write volume ------------------------------------------------------------------------------------------

def compact(tree):
    """Serializes {field: raw JSON text | subtree} as the writer does (no spaces): the diff payload's length."""
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + (compact(v) if isinstance(v, dict) else v)
                          for k, v in tree.items()) + "}"


def phase2(admin_url, daemon):
    admin = Admin(admin_url)
    db = sqlite3.connect(f"file:{tmp}/state/state.db?mode=ro", uri=True, timeout=30)
    audit_base = db.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]
    counts0, bytes0 = flat(admin.call("GET", "/admin/counts")), flat(admin.call("GET", "/admin/bytes"))
    k = min(10000, n)
    people = [1 + j * n // k for j in range(k)]
    t0 = time.time()
    for p in people:
        admin.call("PATCH", f"/admin/hubspot/contacts/{p}", {"properties": {"phone": phone(3, p)}})
    made_secs = time.time() - t0
    say(f"{k} HubSpot phone changes made in {made_secs:.1f} s; waiting for quiescence")
    settle(admin, daemon, "the profile changes")
    secs = time.time() - t0
    counts1, bytes1 = flat(admin.call("GET", "/admin/counts")), flat(admin.call("GET", "/admin/bytes"))
    held = phones_held(admin)
    missing = [p for p in people if not all(phone(3, p) in held[c] for c in CONNECTORS)]

    rows = db.execute("SELECT connector, object, record_id, field, value_after, request_id, at, profile_id, outcome "
                      "FROM audit WHERE id > ?", (audit_base,)).fetchall()
    writes = {}  # one per record written: (connector, object, record_id, request_id, at) -> {profile, fields, outcome}
    for conn, obj, rid, field, after, req, at_ms, pid, outcome in rows:
        w = writes.setdefault((conn, obj, rid, req, at_ms), {"profile": pid, "fields": {}, "outcome": outcome})
        at = w["fields"]
        parts = field.split(".")
        for part in parts[:-1]:
            at = at.setdefault(part, {})
        at[parts[-1]] = after
    # outbox_last is keyed by the upsert key: the profile id for Salesforce and Zendesk, the e-mail for HubSpot,
    # whose payload holds the profile id (omnisync_id) too.
    last = {}
    for c, o, key, payload in db.execute("SELECT connector, object, record_key, payload FROM outbox_last"):
        last[(c, o, key)] = payload
        try:
            for v in json.loads(payload).values():
                if isinstance(v, str) and len(v) == 17 and v.startswith("p"):
                    last.setdefault((c, o, v), payload)
        except (ValueError, AttributeError):
            pass
    per = {}
    unmatched = 0
    seen = {}  # (connector, object, record_id) -> the fields of its previous write in this phase
    repeats = []
    for (conn, obj, rid, _, at_ms), w in sorted(writes.items(), key=lambda kv: kv[0][4]):
        if w["outcome"] != "written":
            continue
        v = per.setdefault(conn, {"records": 0, "diff": 0, "full": 0, "fields": {}, "repeats": 0})
        v["records"] += 1
        prev = seen.get((conn, obj, rid))
        if prev and prev[0] == w["fields"]:
            v["repeats"] += 1  # the same fields and values the record was sent just before
            repeats.append((f"{conn}:{obj}:{rid}", at_ms - prev[1]))
        seen[(conn, obj, rid)] = (w["fields"], at_ms)
        diff = compact(w["fields"])
        v["diff"] += len(diff.encode())
        full = last.get((conn, obj, w["profile"]))
        if full is None:
            unmatched += 1
            full = diff
        v["full"] += len(full.encode())
        for f in w["fields"]:
            v["fields"][f] = v["fields"].get(f, 0) + 1
    calls, sent, jobs = {}, {}, {}
    name = {svc: c for c, (svc, _) in CONNECTORS.items()}
    for key in set(counts1) | set(counts0):
        c = name.get(key[0])
        if c is None:
            continue
        dc = counts1.get(key, 0) - counts0.get(key, 0)
        if is_write(key):
            calls[c] = calls.get(c, 0) + dc
            sent[c] = sent.get(c, 0) + bytes1.get(key, 0) - bytes0.get(key, 0)
        elif "job_statuses" in key[1]:
            jobs[c] = jobs.get(c, 0) + dc
    return {"k": k, "secs": secs, "made_secs": made_secs, "missing": missing, "per": per, "calls": calls,
            "sent": sent, "jobs": jobs, "unmatched": unmatched, "repeats": repeats}


# ---- the report ----------------------------------------------------------------------------------------------------

def wrap_prose(section):
    """Runs of prose lines in a report section refilled to at most 116 characters; headings, tables, markers and
    paragraph breaks stay."""
    out, run = [], []

    def flush():
        if run:
            out.append(textwrap.fill(" ".join(run), width=116, break_long_words=False, break_on_hyphens=False))
            run.clear()
    for line in section.split("\n"):
        if not line.strip() or line.startswith(("|", "<!--", "#")):
            flush()
            out.append(line)
        else:
            run.append(line.strip())
    flush()
    return "\n".join(out)


def report(p1, p2):
    made, lost = p1["made"], p1["lost"]
    pct = [100 * m["writes_ok"] / max(p1["writes_ok"], 1) for m in made]
    scale = 10000 / p2["k"]
    rows = []
    tot = {"records": 0, "calls": 0, "jobs": 0, "sent": 0, "diff": 0, "full": 0, "whole": 0}
    for c, label in (("sf", "Salesforce"), ("zd", "Zendesk"), ("hs", "HubSpot")):
        v = p2["per"].get(c, {"records": 0, "diff": 0, "full": 0, "fields": {}, "repeats": 0})
        calls, sent, jobs = p2["calls"].get(c, 0), p2["sent"].get(c, 0), p2["jobs"].get(c, 0)
        whole = sent - v["diff"] + v["full"]
        for key, val in (("records", v["records"]), ("calls", calls), ("jobs", jobs), ("sent", sent),
                         ("diff", v["diff"]), ("full", v["full"]), ("whole", whole)):
            tot[key] += val
        if v["records"] == 0 and calls == 0:
            rows.append(f"| {label} | 0 | 0 | 0 | 0 | – |")
            continue
        fields = ", ".join(f"{f} {x * scale:,.0f}" for f, x in sorted(v["fields"].items(), key=lambda t: -t[1]))
        if v["repeats"]:
            fields += f"; {v['repeats'] * scale:,.0f} repeats"
        job_txt = f" (+ {jobs * scale:,.0f} job-status polls)" if jobs else ""
        rows.append(f"| {label} | {v['records'] * scale:,.0f} ({fields}) | {calls * scale:,.0f}{job_txt} | "
                    f"{sent * scale / 1e6:,.2f} MB | {whole * scale / 1e6:,.2f} MB | {whole / max(sent, 1):.1f}× |")
    lost_txt = "none" if not lost else "; ".join(
        f"{m['conn']}:{CONNECTORS[m['conn']][1]}:{m['id']} set {m['value']} at {m['t']:.1f} s, now "
        + ", ".join(f"{c} {m['held'][c]}" for c in CONNECTORS) for m in lost)
    missing_txt = "all" if not p2["missing"] else f"{p2['k'] - len(p2['missing']):,} (missing: " + \
        ", ".join(f"hs:contacts:{p}" for p in p2["missing"][:10]) + ("…" if len(p2["missing"]) > 10 else "") + ")"
    reps = p2["repeats"]
    repeat_txt = "" if not reps else (
        f" A repeat is a record sent the same field values again as its previous write, acknowledged"
        f" {min(g for _, g in reps)}–{max(g for _, g in reps)} ms later: {len(reps):,} of the"
        f" {tot['records']:,} record writes here (e.g. {', '.join(r for r, _ in reps[:3])}); they are counted as"
        f" sent, and a whole-record writer would repeat them too.")
    return f"""<!-- writeback:begin -->
### Write-back: edits kept during the initial sync, field-level writes against whole records

`bench/writeback_bench.sh {n} {e}` — omnisync-sim serving Salesforce, HubSpot and Zendesk ({n:,} people each,
overlapping), omnisyncd on SQLite writing to all three, HubSpot and Zendesk delivering signed webhooks to it,
every connector polled every 300 ms. Measured {datetime.date.today()}.

**Edits made during the initial sync: {len(made) - len(lost)} of {len(made)} preserved** (present, after
quiescence, in the edited record and in the same person's records in the two other systems). {len(made)} phone
edits through the simulator's admin API ({sum(m['conn'] == 'hs' for m in made)} in HubSpot,
{sum(m['conn'] == 'zd' for m in made)} in Zendesk, different people), one every
{p1['span'] / max(len(made), 1):.2f} s from {made[0]['t']:.1f} s to {made[-1]['t']:.1f} s after omnisyncd started,
while omnisync had made {min(pct):.0f}–{max(pct):.0f}% of the {p1['writes_ok']:,} record writes of the initial sync
(and of the edits' own propagation); everything settled {p1['secs']:.0f} s after the start. Lost: {lost_txt}.

**Write volume per 10,000 profile changes.** After quiescence, {p2['k']:,} HubSpot contacts' phones were changed
through the admin API (webhooks on, as fast as the admin API took them: {p2['made_secs']:.0f} s; settled after
{p2['secs']:.0f} s); changes present in all three systems afterwards: {missing_txt}. Field-level: what omnisync
sent, counted by the simulator (write calls, request body bytes: `/admin/counts`, `/admin/bytes`). Whole-record:
the same writes with each record's whole outbound payload in place of the changed fields — the record as it
stands after the write, `outbox_last.payload` in `state.db` (the audit log says which records a write changed
and with which fields; the request envelope, ids and batching are the measured ones). Records written and calls
are the same for both: omnisync's earlier whole-record writer also skipped a destination whose read-back copy
already held the payload (here the edited HubSpot contact) and batched by count, not size. A whole-record writer
without that comparison would also write each edited contact back to HubSpot (+1 record per change).{repeat_txt}

| destination | records written (fields) | write calls | request bytes, field-level | request bytes, whole-record | whole / field |
|---|---|---|---|---|---|
{chr(10).join(rows)}
| **all** | {tot['records'] * scale:,.0f} | {tot['calls'] * scale:,.0f} | {tot['sent'] * scale / 1e6:,.2f} MB | {tot['whole'] * scale / 1e6:,.2f} MB | **{tot['whole'] / max(tot['sent'], 1):.1f}×** |

Record payloads alone (without envelopes): {tot['diff'] * scale / 1e6:,.2f} MB field-level against
{tot['full'] * scale / 1e6:,.2f} MB whole-record per 10,000 changes ({tot['full'] / max(tot['diff'], 1):.1f}×);
the envelope (batch wrapper, record ids, Salesforce's `attributes`) is {(tot['sent'] - tot['diff']) * scale / 1e6:,.2f} MB of
the field-level bytes.{f" {p2['unmatched']} written records had no outbox_last row (counted at their diff size)." if p2['unmatched'] else ""}
<!-- writeback:end -->"""


def main():
    try:
        admin_url, daemon = start()
        say(f"omnisync-sim ({n} people per system) and omnisyncd started; phase 1: {e} edits during the initial sync")
        p1 = phase1(admin_url, daemon)
        for m in p1["lost"]:
            print(f"LOST EDIT: {m['conn']}:{CONNECTORS[m['conn']][1]}:{m['id']} set phone {m['value']} at "
                  f"{m['t']:.1f} s; the person's records: {m['records']}; phones held now: {m['held']}",
                  file=sys.stderr)
            for rec, text in m["audit"].items():
                print(f"  omnisyncctl audit --record {rec}:\n" + "".join("    " + line + "\n" for line in text.splitlines()),
                      file=sys.stderr)
        say(f"phase 1: {len(p1['made']) - len(p1['lost'])} of {len(p1['made'])} edits preserved; "
            f"phase 2: {min(10000, n)} profile changes")
        p2 = phase2(admin_url, daemon)
        if p2["missing"]:
            print(f"CHANGES NOT EVERYWHERE: {len(p2['missing'])} of {p2['k']} (first: {p2['missing'][:10]})",
                  file=sys.stderr)
        section = wrap_prose(report(p1, p2))
        write_section(f"{root}/docs/benchmarks.md", section)
        print(section)
        return 1 if p1["lost"] or p2["missing"] else 0
    except Unmeasured as x:
        print(f"writeback_bench: NOT MEASURED: {x}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 — a failure of the benchmark itself is not a measurement either
        import traceback
        traceback.print_exc()
        print("writeback_bench: NOT MEASURED: the benchmark failed (above)", file=sys.stderr)
        return 2
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()


sys.exit(main())
