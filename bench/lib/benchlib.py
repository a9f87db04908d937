"""What the benchmark scripts share: a free port, a keep-alive client of the simulator's admin API, HubSpot's v3
webhook signature, starting omnisync-sim, a process's CPU seconds, and writing a report section into
docs/benchmarks.md.

A report section is a block of Markdown between `<!-- NAME:begin -->` and `<!-- NAME:end -->`; writing it
replaces the block of that name, or appends it when the file has none yet, and leaves the rest as it is.

From Python:  sys.path.insert(0, f"{root}/bench/lib"); from benchlib import free_port, Admin, write_section
From a shell: printf '%s\n' "$report" | python3 "$root/bench/lib/benchlib.py" write-section "$root/docs/benchmarks.md"

Process figures: load_average(); and perf_breakdown(), which
sorts `perf script` call-graph samples of omnisyncd into pipeline stages
(`perf script -i FILE | python3 benchlib.py perf-breakdown` prints them as JSON).
"""
import base64
import collections
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import urllib.parse


def free_port():
    """A loopback TCP port free right now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Admin:
    """Keep-alive client of the simulator's admin API (plain HTTP on loopback); call() returns the parsed JSON.
    The simulator closes a connection idle for 60 s: a call that finds it closed reconnects and is sent again."""

    def __init__(self, url, timeout=30):
        u = urllib.parse.urlparse(url)
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)

    def call(self, method, path, body=None):
        data = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            try:
                self.c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
                r = self.c.getresponse()
                raw = r.read()
                return json.loads(raw) if raw else None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.c.close()
                if attempt == 2:
                    raise


def start_sim(build, size, stderr_path, *extra):
    """Starts omnisync-sim with `size` people per vendor: (the process, its first stdout line parsed)."""
    sim = subprocess.Popen([f"{build}/sim/omnisync-sim", "--size", str(size), *extra], stdout=subprocess.PIPE,
                           stderr=open(stderr_path, "w"), text=True)
    return sim, json.loads(sim.stdout.readline())


def cpu_seconds(pid):
    """User + system CPU seconds process `pid` has used so far (0 when it is gone)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hubspot_v3_signature(secret, url, body, timestamp):
    """X-HubSpot-Signature-v3: base64 HMAC-SHA256 over method + URL + body + timestamp (POST deliveries)."""
    mac = hmac.new(secret.encode(), ("POST" + url + body + timestamp).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def write_section(path, block):
    """Puts `block` (which starts with `<!-- NAME:begin -->` and ends with `<!-- NAME:end -->`) into the file."""
    block = block.strip()
    m = re.match(r"<!-- ([\w-]+):begin -->", block)
    if not m or not block.endswith(f"<!-- {m.group(1)}:end -->"):
        raise ValueError("a report section starts with <!-- NAME:begin --> and ends with <!-- NAME:end -->")
    name = re.escape(m.group(1))
    text = open(path).read()
    pattern = re.compile(rf"<!-- {name}:begin -->.*?<!-- {name}:end -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def load_average():
    """The 1-minute load average, for the machine note every benchmark report carries."""
    return os.getloadavg()[0]


# Pipeline stages of omnisyncd, by the functions a sample's call chain runs through. The chain is read from the
# leaf up; allocator and memcpy frames are passed over (they count for their caller), and the first frame that
# names a stage decides. Event-loop frames decide only when nothing else in the chain does.
_STAGES = [
    ("store (SQLite, writer thread)", re.compile(r"sqlite3|omnisync::store::")),
    ("TLS (OpenSSL)", re.compile(r"libssl|libcrypto|SSL_|EVP_|ossl_|aesni|sha256|ssl3_|tls1?_")),
    ("HTTP (Beast)", re.compile(r"beast::http|basic_parser")),
    ("run history", re.compile(r"run_meter|count_run_writes")),
    ("mapping", re.compile(r"omnisync::mapping::")),
    ("identity resolution / profile book", re.compile(r"omnisync::profile::|pipeline::process|pipeline::propagate")),
    ("JSON parsing of pages (adapter)", re.compile(r"boost::json|simdjson|to_source_record|parse_record_page")),
    ("logging", re.compile(r"spdlog")),
]
_LOOP = ("event loop, timers, kernel", re.compile(r"asio::|epoll|\[kernel"))
_PASS = re.compile(r"\b(malloc|free|_int_malloc|_int_free|cfree|memmove|memcpy|memcmp|memset|operator new|"
                   r"operator delete|unlink_chunk|malloc_consolidate)\b")


def perf_breakdown(lines):
    """Shares of samples per stage (and per thread) from `perf script` output with call graphs."""
    stages, threads = collections.Counter(), collections.Counter()
    total, comm, chain = 0, None, []

    def flush():
        nonlocal total
        if comm is None:
            return
        total += 1
        threads[comm] += 1
        stage = "other"
        for fr in chain:
            if _PASS.search(fr):
                continue
            hit = next((name for name, rx in _STAGES if rx.search(fr)), None)
            if hit:
                stage = hit
                break
        if stage == "other" and any(_LOOP[1].search(fr) for fr in chain):
            stage = _LOOP[0]
        stages[stage] += 1

    for line in lines:
        if not line.strip():
            flush()
            comm, chain = None, []
        elif not line.startswith((" ", "\t")):
            comm, chain = line.split()[0], []
            if comm.startswith(":"):  # a thread perf saw no name for: the daemon's unnamed threads are its I/O ones
                comm = "omnisyncd"
        else:
            chain.append(line.strip())
    flush()
    return {"samples": total,
            "stages": {k: v / total for k, v in stages.most_common()} if total else {},
            "threads": {k: v / total for k, v in threads.most_common()} if total else {}}


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "perf-breakdown":
        print(json.dumps(perf_breakdown(sys.stdin)))
    elif len(sys.argv) == 3 and sys.argv[1] == "write-section":
        write_section(sys.argv[2], sys.stdin.read())
    else:
        sys.exit("usage: benchlib.py write-section DOC < SECTION | benchlib.py perf-breakdown < PERF_SCRIPT")
