#!/usr/bin/python3
"""Reads a JUnit report with junitparser (Debian's python3-junitparser), a real JUnit consumer,
and checks the counts and the failing case ids it sees.

usage: check_junit.py FILE TESTS FAILURES [FAILING-CASE-ID ...]
"""
import sys

from junitparser import Error, Failure, JUnitXml, Skipped


def main() -> int:
    path, tests, failures = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    want_failing = set(sys.argv[4:])
    xml = JUnitXml.fromfile(path)
    seen, failing = 0, set()
    for suite in xml:
        for case in suite:
            seen += 1
            if any(isinstance(r, (Failure, Error)) for r in case.result):
                failing.add(case.name)
            for r in case.result:
                if not isinstance(r, (Failure, Error, Skipped)):
                    print(f"unexpected result element {r!r} in {case.name}")
                    return 1
    problems = []
    if seen != tests:
        problems.append(f"{seen} test cases, expected {tests}")
    if len(failing) != failures:
        problems.append(f"{len(failing)} failing ({sorted(failing)}), expected {failures}")
    if want_failing and failing != want_failing:
        problems.append(f"failing {sorted(failing)}, expected {sorted(want_failing)}")
    if problems:
        print("; ".join(problems))
        return 1
    print(f"junitparser read {seen} test cases, {len(failing)} failing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
