#!/usr/bin/env python3
"""Every omnisync.yaml the repository ships or writes passes `omnisyncd --check-config`: the example, and the
configs the demo and the benchmarks write (shell here-documents `<<YAML` and Python f-strings holding
`connectors:`), with their variables replaced by stand-ins of the right kind (URLs, the system CA bundle, a temp
folder). A stricter schema that would refuse one of them fails here before a user or a benchmark run meets it.

    check_shipped_configs.py OMNISYNCD SOURCE_DIR

Exit 0 when all pass; 1 with each refused config's problems. A variable it has no stand-in for is an error too,
so a new one is noticed rather than guessed.
"""
import pathlib
import re
import subprocess
import sys
import tempfile

URL = "https://127.0.0.1:9443"
CA = "/etc/ssl/certs/ca-certificates.crt"
SCRIPTS = ["scripts/demo.sh", "bench/api_efficiency.sh", "bench/salesforce/resync_lib.sh",
           "bench/webhooks/webhook_ingest_bench.sh", "bench/profile/propagation_latency.sh",
           "bench/cluster/pipeline_run.py"]


def shell_value(name: str, root: str, tmp: str) -> str:
    values = {"ca": CA, "root": root, "tmp": tmp, "dir": tmp, "port": "8088", "secret": "check-secret",
              "zd_secret": "check-secret",
              "sf": URL, "hubspot_url": URL, "mappings": f"{root}/config/mappings",
              "since": "2026-01-01T00:00:00Z"}
    if name not in values:
        raise KeyError(f"no stand-in for ${name}")
    return values[name]


def python_value(expr: str, root: str, tmp: str) -> str:
    rules = [("ca_file", CA), ("urls", URL), ("port", "8088"), ("root", root), ("tmp", tmp), ("secret", "check-secret"),
             ("poll", "1s"), ("store", "store: { kind: sqlite }"), ("db", "db"), ("i + 1", "1")]
    for needle, value in rules:
        if needle in expr:
            return value
    raise KeyError(f"no stand-in for {{{expr}}}")


def from_shell(text: str, root: str, tmp: str):
    for doc in re.findall(r"<<\s*'?YAML'?\n(.*?)\n\s*YAML\n", text, re.S):
        doc = re.sub(r"\$\([^)]*\)", URL, doc)
        doc = re.sub(r"\$\{[A-Za-z_]+:-([^}]*)\}", r"\1", doc)
        yield re.sub(r"\$\{?([A-Za-z_]+)\}?", lambda m: shell_value(m.group(1), root, tmp), doc)


def from_python(text: str, root: str, tmp: str):
    for doc in re.findall(r'f"""(.*?)"""', text, re.S):
        if "connectors:" not in doc:
            continue
        doc = doc.replace("{{", "\0").replace("}}", "\1")
        doc = re.sub(r"\{([^{}]+)\}", lambda m: python_value(m.group(1), root, tmp), doc)
        yield doc.replace("\0", "{").replace("\1", "}")


def main() -> int:
    omnisyncd, root = sys.argv[1], str(pathlib.Path(sys.argv[2]).resolve())
    failures = 0
    with tempfile.TemporaryDirectory(prefix="shipped-") as tmp:
        pathlib.Path(tmp, "hubspot.secret").write_text("check-secret\n")  # webhook_ingest_bench's *_file secret
        pathlib.Path(tmp, "mappings").symlink_to(pathlib.Path(root, "config/mappings"))  # the example's mappings_dir
        configs = [("config/omnisync.example.yaml", (pathlib.Path(root) / "config/omnisync.example.yaml").read_text())]
        for script in SCRIPTS:
            text = (pathlib.Path(root) / script).read_text()
            try:
                docs = list(from_shell(text, root, tmp)) + list(from_python(text, root, tmp))
            except KeyError as e:
                print(f"{script}: {e.args[0]}")
                failures += 1
                continue
            if not docs:
                print(f"{script}: no config found (the extraction needs updating)")
                failures += 1
            configs += [(f"{script} #{i + 1}", d) for i, d in enumerate(docs)]
        for i, (name, doc) in enumerate(configs):
            path = pathlib.Path(tmp, f"config-{i}.yaml")
            path.write_text(doc)
            r = subprocess.run([omnisyncd, "-c", str(path), "--check-config"], capture_output=True, text=True)
            if r.returncode != 0:
                failures += 1
                print(f"{name}: refused (exit {r.returncode})\n{r.stderr}{doc}")
            else:
                print(f"{name}: {r.stdout.strip()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
