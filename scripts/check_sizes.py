#!/usr/bin/env python3
"""Fails when a C++ source or header is longer than the project's limit (about 600 lines) — a file that long is
usually two things that want their own names. The vendor simulators (sim/) are exempt: one file per vendor API
holds that vendor's documented behaviour. A file that must stay longer is listed in EXCEPTIONS with the reason,
which its folder README also gives.

    scripts/check_sizes.py [--root DIR]
"""
import argparse
import pathlib
import subprocess
import sys

LIMIT = 620  # "about 600"
SKIP_DIRS = {"sim", "build", "node_modules", ".git", "packaging"}
EXCEPTIONS: dict[str, str] = {  # "path/from/root.cpp": "why it must be one file"
    "daemon/store/queue_store.hpp": "one class template implementing every store operation once for both backends; "
                                    "the run history's operations took it past the limit (to split by operation group)",
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=str(pathlib.Path(__file__).resolve().parent.parent))
    root = pathlib.Path(ap.parse_args().root)
    too_long = []
    try:  # the files the project holds (not build trees or locally installed packages)
        listed = subprocess.run(["git", "-C", str(root), "ls-files"], check=True, capture_output=True, text=True)
        files = [root / line for line in listed.stdout.splitlines()]
    except (OSError, subprocess.CalledProcessError):
        files = sorted(root.rglob("*"))
    for path in files:
        rel = path.relative_to(root)
        if path.suffix not in {".cpp", ".hpp", ".h", ".cc"} or not path.is_file() or \
                any(p in SKIP_DIRS or p.startswith("build") or p.startswith(".") for p in rel.parts[:-1]):
            continue
        with path.open(encoding="utf-8", errors="replace") as f:
            n = sum(1 for _ in f)
        if n > LIMIT and str(rel) not in EXCEPTIONS:
            too_long.append((n, str(rel)))
    for n, rel in too_long:
        print(f"{rel}: {n} lines (limit {LIMIT}): split it along its parts, or list it in "
              f"scripts/check_sizes.py EXCEPTIONS with the reason")
    return 1 if too_long else 0


if __name__ == "__main__":
    sys.exit(main())
