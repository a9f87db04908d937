#!/usr/bin/env python3
"""Checks that dependencies point down: no source file includes a header of a higher layer, and no library links
one (docs/ARCHITECTURE.md, "Layers").

    scripts/check_layers.py [--root DIR] [--links FILE]

Every `#include "x/y.hpp"` in core/, config/, mapping/, adapters/, daemon/ and sim/ is checked against the table
below; with --links, so is every edge "FROM_DIR -> TO_DIR" in FILE (CMake writes one line per library a
project target links, see the top-level CMakeLists.txt). Exit 0 when everything holds, 1 with one line per
violation. Tests and benchmarks may include anything.
"""
import argparse
import pathlib
import re
import sys

# Each module (a folder, matched by the longest prefix) and the modules it may depend on, itself included.
# Read it from the bottom up: core, config, then mapping and adapters side by side, then the daemon's layers.
ALLOWED = {
    "core": {"core"},
    "config": {"core", "config"},
    "mapping": {"core", "config", "mapping"},
    "adapters": {"core", "config", "adapters"},
    "sim": {"core", "sim", "adapters/http", "adapters/common"},
    "daemon/store": {"core", "config", "adapters", "daemon/store"},
    "daemon/profile": {"core", "config", "mapping", "daemon/profile"},
    "daemon/analytics": {"core", "daemon/store", "daemon/analytics"},
    "daemon/segments": {"core", "config", "mapping", "daemon/profile", "daemon/segments"},
    "daemon/http": {"core", "config", "adapters", "daemon/store", "daemon/http"},
    "daemon/sync": {"core", "config", "mapping", "adapters", "daemon/store", "daemon/profile", "daemon/segments", "daemon/sync", "daemon/analytics"},
    "daemon/control": {"core", "config", "daemon/control"},
    "daemon/control/commands": {"core", "config", "mapping", "adapters", "daemon/store", "daemon/profile",
                                "daemon/segments",
                                "daemon/http", "daemon/sync", "daemon/control", "daemon/control/commands",
                                "daemon/config", "daemon/analytics"},
    "daemon/config": {"core", "config", "mapping", "adapters", "daemon/profile", "daemon/segments", "daemon/store",
                      "daemon/config"},
    "daemon/app": {"core", "config", "mapping", "adapters", "daemon/store", "daemon/profile", "daemon/segments",
                   "daemon/http", "daemon/sync", "daemon/control", "daemon/control/commands", "daemon/config",
                   "daemon/app", "daemon/console", "daemon/analytics"},
    "daemon/ctl": {"core", "config", "mapping", "daemon/control", "daemon/ctl"},
    "daemon/console": {"core", "config", "daemon/control", "daemon/console"},
}
# Sub-folders that are their own module although their parent is one too (longest prefix wins).
MODULES = sorted(set(ALLOWED) | {"adapters/http", "adapters/common"}, key=len, reverse=True)
CHECKED_ROOTS = ("core", "config", "mapping", "adapters", "daemon", "sim")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(rel: str):
    """The module a path (relative to the repository root, '/'-separated) belongs to, or None."""
    for m in MODULES:
        if rel == m or rel.startswith(m + "/"):
            return m
    return None


def allowed(frm: str, to: str) -> bool:
    """Whether module `frm` may depend on module `to` (a sub-module counts as its parent for the rule)."""
    if frm == to:
        return True
    rules = ALLOWED.get(frm) or ALLOWED.get(frm.rsplit("/", 1)[0], set())
    if to in rules:
        return True
    # adapters/http and adapters/common are parts of adapters: whoever may use adapters may use them.
    parent = to.rsplit("/", 1)[0] if "/" in to else None
    return parent is not None and parent in rules and parent != "daemon"


def check_includes(root: pathlib.Path):
    problems = []
    for top in CHECKED_ROOTS:
        for path in sorted((root / top).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".in", ".h") or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            frm = module_of(rel)
            if frm is None:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in INCLUDE.finditer(text):
                inc = m.group(1)
                to = module_of(inc)
                if to is None or allowed(frm, to):
                    continue
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: {frm} must not include {inc} ({to} is not below it)")
    return problems


def check_links(root: pathlib.Path, links: pathlib.Path):
    problems = []
    for n, line in enumerate(links.read_text().splitlines(), 1):
        if "->" not in line:
            continue
        target, rest = line.split(":", 1) if ":" in line else ("", line)
        frm_dir, to_dir = (p.strip() for p in rest.split("->", 1))
        frm, to = module_of(frm_dir), module_of(to_dir)
        if frm is None or to is None or allowed(frm, to):
            continue
        problems.append(f"{links}:{n}: {target.strip()} ({frm}) links a library of {to}, which is not below it")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=pathlib.Path(__file__).resolve().parent.parent, type=pathlib.Path)
    ap.add_argument("--links", type=pathlib.Path, help="file of 'target: FROM_DIR -> TO_DIR' lines written by CMake")
    args = ap.parse_args()
    problems = check_includes(args.root)
    if args.links:
        problems += check_links(args.root, args.links)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering violation(s): dependencies must point down (docs/ARCHITECTURE.md)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
