#!/usr/bin/env python3
"""Every Catch TEST_CASE name, as ctest will see it, holds no ';': catch_discover_tests
splits a name there into two ctest entries that match nothing ("No tests ran").
Usage: test_names.py TESTS_DIR"""
import pathlib, re, sys

root = pathlib.Path(sys.argv[1])
case = re.compile(r'TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
bad = []
for path in sorted(root.rglob("*.[ch]pp")):
    text = path.read_text(encoding="utf-8")
    for match in case.finditer(text):
        name = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', match.group(1)))
        if ";" in name:
            line = text.count("\n", 0, match.start()) + 1
            bad.append(f"{path.relative_to(root.parent)}:{line}: a test name holds ';': {name}")
print("\n".join(bad) if bad else f"no test name holds ';'")
sys.exit(1 if bad else 0)
