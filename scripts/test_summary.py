#!/usr/bin/env python3
"""Counts passed, failed and skipped tests over JUnit XML reports (CTest's --output-junit,
pytest's --junitxml) and prints one line per report, then the total:
"summary: N passed, N failed, N skipped" (the form CI's log reader looks for).
Exits 1 when a report is missing or unreadable (the run it stands for did not finish)."""
import sys
import xml.etree.ElementTree as ET


def count(path):
    passed = failed = skipped = gpu_skipped = 0
    for case in ET.parse(path).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
            # The CUDA tests (suites named Cuda*) skip by design on a machine without a GPU.
            gpu_skipped += "Cuda" in case.get("name", "")
        else:
            passed += 1
    return passed, failed, skipped, gpu_skipped


def main():
    total = [0, 0, 0, 0]
    ok = True
    for path in sys.argv[1:]:
        try:
            counts = count(path)
        except (OSError, ET.ParseError) as e:
            print(f"{path}: no report ({e})")
            ok = False
            continue
        print(f"{path}: {counts[0]} passed, {counts[1]} failed, {counts[2]} skipped"
              + (f" ({counts[3]} of them CUDA tests: no GPU here)" if counts[3] else ""))
        total = [t + c for t, c in zip(total, counts)]
    print(f"summary: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
