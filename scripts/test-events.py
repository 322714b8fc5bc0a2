#!/usr/bin/env python3
"""Counts machine-readable test events (one JSON object per line) for scripts/firmware-ci.sh.

Reads the lines of FILE (or stdin), keeps those that are JSON objects with a "type" of "test" or
"suite" (everything else, such as human-readable output, is ignored) and prints "PASSED FAILED":

  {"type":"test","name":"...","event":"ok"}        one finished test (event "ok", "failed" or
                                                   "skipped"; a skipped test counts as failed)
  {"type":"suite","event":"ok","passed":N,"failed":M}  optional; must agree with the test events

--expect N: exactly N test events must be present; missing ones (a test that never reported, e.g.
one that aborted the process) count as failed. Exits 2 on malformed events or a suite line that
disagrees with the test events.
"""
import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", help="event lines (default: stdin)")
    ap.add_argument("--expect", type=int, help="number of tests that must report")
    args = ap.parse_args()
    text = open(args.file, encoding="utf-8").read() if args.file else sys.stdin.read()
    passed = failed = 0
    names = []
    suites = []
    for raw in text.splitlines():
        line = raw.strip()
        # Output may be prefixed (e.g. by a runner); the event starts at the first '{'.
        start = line.find('{"type"')
        if start < 0:
            continue
        try:
            ev = json.loads(line[start:])
        except json.JSONDecodeError as e:
            print(f"malformed test event {line!r}: {e}", file=sys.stderr)
            return 2
        if ev.get("type") == "test":
            if ev.get("event") == "ok":
                passed += 1
            elif ev.get("event") == "failed":
                failed += 1
            elif ev.get("event") == "skipped":
                print(f"skipped (counted as failed): {ev.get('name', '?')}", file=sys.stderr)
                failed += 1
            else:
                print(f"unknown test event {line!r}", file=sys.stderr)
                return 2
            names.append(ev.get("name", "?"))
        elif ev.get("type") == "suite":
            suites.append(ev)
    for s in suites:
        if (s.get("passed"), s.get("failed")) != (passed, failed):
            print(
                f"suite says {s.get('passed')} passed, {s.get('failed')} failed; "
                f"the test events say {passed} passed, {failed} failed",
                file=sys.stderr,
            )
            return 2
    if args.expect is not None:
        missing = args.expect - len(names)
        if missing < 0:
            print(f"{len(names)} test events, {args.expect} tests expected", file=sys.stderr)
            return 2
        if missing > 0:
            print(f"{missing} test(s) never reported (counted as failed)", file=sys.stderr)
            failed += missing
    print(passed, failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
