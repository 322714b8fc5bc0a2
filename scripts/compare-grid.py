#!/usr/bin/env python3
"""Compares two results folders of `lifted experiment run` file by file, ignoring wall-clock fields.

    python3 scripts/compare-grid.py RESULTS_A RESULTS_B

CSV files are compared without their timing columns (`seconds`, `seconds_per_epoch`), JSON and
JSON-lines files without keys naming a time (`seconds…`, `…time…`, `…date…`) and without the
checkpoint's `crc32` (it covers the timings); every other file byte for byte. Numbers are compared
as the text the runner wrote, so "0 differ" means bit-identical measurements. Exit status 1 if any
file differs or is missing. Used for docs/benchmarks.md, "Experiment grids".
"""
import csv
import filecmp
import json
import os
import sys


def strip(o):
    if isinstance(o, dict):
        return {
            k: strip(v)
            for k, v in o.items()
            if "second" not in k and "time" not in k and "date" not in k and k != "crc32"
        }
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o


def load_json(path):
    with open(path) as f:
        if path.endswith(".jsonl"):
            return [strip(json.loads(line)) for line in f if line.strip()]
        return strip(json.load(f))


def load_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return rows
    keep = [i for i, h in enumerate(rows[0]) if "second" not in h]
    return [[r[i] for i in keep if i < len(r)] for r in rows]


def same(pa, pb):
    if not os.path.exists(pb):
        return False
    if pa.endswith(".csv"):
        return load_csv(pa) == load_csv(pb)
    if pa.endswith(".json") or pa.endswith(".jsonl"):
        return load_json(pa) == load_json(pb)
    return filecmp.cmp(pa, pb, shallow=False)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = sys.argv[1], sys.argv[2]
    compared = differ = 0
    for root, _, files in os.walk(a):
        for name in sorted(files):
            pa = os.path.join(root, name)
            rel = os.path.relpath(pa, a)
            compared += 1
            if not same(pa, os.path.join(b, rel)):
                differ += 1
                print("differs:", rel)
    print(f"{compared} files compared, {differ} differ (timing fields ignored)")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
