#!/usr/bin/env python3
"""Browser test of the web console: omnisync-sim and omnisyncd (console on, demo config from --write-config, one
outbound mapping field HubSpot does not have, so writes there become dead letters), then console_test.mjs drives
Debian's Chromium through playwright-core over every page. Screenshots go to BUILD/tests/console/screenshots.

usage: run_console_test.py BUILD_DIR SOURCE_DIR
Exit 0 passed, 1 failed, 77 skipped (no node or no /usr/bin/chromium: scripts/install-deps.sh installs both).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

build, source = sys.argv[1], sys.argv[2]
node = shutil.which("node")
if not node or not os.path.exists("/usr/bin/chromium"):
    print("skipped: needs node and /usr/bin/chromium (scripts/install-deps.sh)")
    sys.exit(77)

# playwright-core, locked by package-lock.json, into the build tree (npm's cache makes this quick and offline).
modules = os.path.join(build, "tests", "console")
os.makedirs(modules, exist_ok=True)
for f in ("package.json", "package-lock.json"):
    shutil.copy(os.path.join(source, "tests", "console", f), modules)
if not os.path.exists(os.path.join(modules, "node_modules", "playwright-core")):
    subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit", "--no-fund", "--prefix", modules], check=True,
                   stdout=subprocess.DEVNULL)

tmp = tempfile.mkdtemp(prefix="console-")
procs = []


def ctl(*args, check=True):
    r = subprocess.run([f"{build}/daemon/ctl/omnisyncctl", "--socket", f"{tmp}/c.sock", "--json", *args],
                       capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"omnisyncctl {' '.join(args)}: {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else None


def eventually(what, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if what():
                return True
        except (RuntimeError, KeyError, json.JSONDecodeError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.2)
    return False


try:
    maps = f"{tmp}/mappings"
    shutil.copytree(f"{source}/config/mappings", maps)
    with open(f"{maps}/hubspot/contacts.out.yaml", "a") as f:
        f.write("  omnisync_nickname:   { from: _profile_id }   # no such HubSpot property: dead letters\n")
    sim = subprocess.Popen([f"{build}/sim/omnisync-sim", "--size", "20", "--write-config", f"{tmp}/omnisync.yaml",
                            "--mappings-dir", maps], stdout=subprocess.PIPE, stderr=open(f"{tmp}/sim.log", "w"),
                           text=True)
    procs.append(sim)
    sim.stdout.readline()  # the endpoints line: the config is written
    with open(f"{tmp}/omnisync.yaml", "a") as f:
        f.write("dead_letters: { retries: 0 }\n")
    daemon = subprocess.Popen([f"{build}/daemon/app/omnisyncd", "-c", f"{tmp}/omnisync.yaml", "--state-dir",
                               f"{tmp}/state", "--control-socket", f"{tmp}/c.sock"],
                              stdout=subprocess.DEVNULL, stderr=open(f"{tmp}/daemon.log", "w"))
    procs.append(daemon)
    status = {}
    seen = {"snapshot": None, "since": 0.0}

    def settled():
        # Quiet means: the initial syncs are done, nothing is queued in or out, and every connector's record count
        # has stayed the same for longer than one poll interval (5 s in the simulator's config): writes made into a
        # system come back through its next poll, so an empty outbox alone does not mean the counts are final.
        global status
        status = ctl("status")
        quiet = status["console"]["port"] > 0 and status["store"]["dead_letters"] > 0 and \
            status["store"]["outbox_depth"] == 0 and status["store"]["inbox_depth"] == 0 and all(
                o["initial_sync"]["state"] != "running" for c in status["connectors"].values()
                for o in c.get("objects_status", []))
        snapshot = json.dumps({n: [c["records"], c["inbox_depth"], c["outbox_depth"]]
                               for n, c in status["connectors"].items()}, sort_keys=True)
        if not quiet or snapshot != seen["snapshot"]:
            seen["snapshot"], seen["since"] = snapshot, time.monotonic()
            return False
        return time.monotonic() - seen["since"] >= 6.0

    if not eventually(settled, 120):
        print("the daemon did not settle:", json.dumps(status)[:2000], open(f"{tmp}/daemon.log").read()[-4000:])
        sys.exit(1)
    env = dict(os.environ, NODE_PATH=os.path.join(modules, "node_modules"),
               CONSOLE_URL=f"http://127.0.0.1:{status['console']['port']}",
               READ_TOKEN=open(f"{tmp}/console.read.token").read().strip(),
               WRITE_TOKEN=open(f"{tmp}/console.write.token").read().strip(),
               SECRETS=json.dumps(["sim-secret", "sim-token"]),
               CTL=json.dumps([f"{build}/daemon/ctl/omnisyncctl", "--socket", f"{tmp}/c.sock", "--json"]),
               SCREENSHOTS=os.path.join(modules, "screenshots"), PROFILE_DIR=f"{tmp}/chromium")
    r = subprocess.run([node, os.path.join(source, "tests", "console", "console_test.mjs")], env=env, timeout=240)
    if r.returncode != 0:
        print(open(f"{tmp}/daemon.log").read()[-3000:])
    sys.exit(r.returncode)
finally:
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(tmp, ignore_errors=True)
