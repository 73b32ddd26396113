"""The end of ``make test``: each step's time and the slowest 15 tests of every lane together.

tests/run-all.sh writes one line per step to .lab/logs/steps.tsv (name, seconds, ok|FAILED) and
each pytest lane its JUnit XML (.lab/logs/junit-<lane>.xml); this prints both, so the time budget
of docs/lab.md can be watched run by run.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

SLOWEST = 15


def tests(logs: Path) -> list[tuple[float, str, str]]:
    """(seconds, lane, test id) of every test case in the lanes' JUnit reports."""
    found = []
    for report in sorted(logs.glob("junit-*.xml")):
        lane = report.stem.removeprefix("junit-")
        for case in ET.parse(report).getroot().iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            found.append((float(case.get("time") or 0), lane, name))
    return found


def main(logs: Path) -> int:
    steps = logs / "steps.tsv"
    if steps.exists():
        print("=== steps (seconds)")
        for line in steps.read_text().splitlines():
            name, took, result = line.split("\t")
            print(f"{int(took):>7}  {result:<6}  {name}")
    found = sorted(tests(logs), reverse=True)
    if found:
        print(f"=== slowest {SLOWEST} of {len(found)} tests (seconds, setup and teardown included)")
        for took, lane, name in found[:SLOWEST]:
            print(f"{took:>7.0f}  {lane:<6}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".lab/logs")))
