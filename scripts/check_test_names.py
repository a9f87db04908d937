#!/usr/bin/env python3
"""Fails when a Catch2 test case name contains ';'.

catch_discover_tests hands the names to CMake as a list, and CMake splits lists at ';': such a case becomes two
ctest entries that match no case, and Catch counts a filter that matches nothing as a pass, so the case never
runs. Use ',' instead.
"""
import argparse
import pathlib
import re
import sys

NAME = re.compile(r'TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', re.S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    root = pathlib.Path(parser.parse_args().root)
    bad = []
    for folder in ("tests", "sim", "bench"):
        for path in sorted((root / folder).rglob("*.cpp")):
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in NAME.finditer(text):
                if ";" in m.group(1):
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{path.relative_to(root)}:{line}: test case name contains ';' (ctest would split it)")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
