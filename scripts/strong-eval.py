#!/usr/bin/env python3
"""The stronger attack of an experiment's final evaluation, run after `lifted experiment run`.

For every finished run of an experiment (the lines of results/NAME/summary.csv) this runs
`lifted evaluate` on the run's exported model (runs/<id>/model.lfm) over the first LIMIT test
samples: input PGD with RESTARTS restarts (ℓ∞ 0.1 on MNIST, 0.05 on Fashion-MNIST, ℓ2 1.0),
and PGD on every hidden block at radii relative to the sample's own activity norm ‖z_k(x)‖₂
(docs/method.md §8.3), which compare models whose layers are scaled differently. Each run's JSON
goes to runs/<id>/strong.json (skipped when present, so an interrupted pass continues), and one
line per run to results/NAME/strong.csv, which scripts/results-stats.py reads beside summary.csv.

    python3 scripts/strong-eval.py results/paper-rows --data-dir data/mnist
    python3 scripts/strong-eval.py results/paper-rows --limit 1000 --restarts 10 --rel 0.05,0.1

Only the Python 3 standard library and the `lifted` binary (default target/release/lifted).
"""

import argparse
import csv
import json
import os
import subprocess
import sys


# Input ℓ∞ radius per data set (the [final.pgd_linf] of experiments/figure1.toml).
LINF = {"mnist": "0.1", "fashion-mnist": "0.05"}


def columns(doc):
    """{column: accuracy} of one `lifted evaluate --json` document."""
    out = {"strong_clean": doc["clean_accuracy"]}
    for r in doc["rows"]:
        t = r["target"]
        eps = f"{r['eps']:g}"
        if t == "input-linf":
            out[f"strong_pgd_linf_{eps}"] = r["robust_accuracy"]
        elif t == "input-l2":
            out[f"strong_pgd_l2_{eps}"] = r["robust_accuracy"]
        elif isinstance(t, dict) and "hidden" in t:
            kind = "rel" if r["relative"] else "abs"
            out[f"internal_{kind}_z{t['hidden']}_{eps}"] = r["robust_accuracy"]
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="an experiment's results folder (holds summary.csv and runs/)")
    ap.add_argument("--data-dir", default=None, help="folder of the data files (default: data/DATASET)")
    ap.add_argument("--limit", type=int, default=1000, help="first N test samples (default 1000)")
    ap.add_argument("--restarts", type=int, default=10, help="PGD restarts (default 10)")
    ap.add_argument("--steps", type=int, default=40, help="PGD steps per restart (default 40)")
    ap.add_argument("--linf", default=None,
                    help="input ℓ∞ radii (default: 0.1 on mnist, 0.05 on fashion-mnist, as figure1.toml)")
    ap.add_argument("--l2", default="1.0", help="input ℓ2 radii (default 1.0)")
    ap.add_argument("--rel", default="0.05,0.1",
                    help="hidden-block radii as fractions of ‖z_k(x)‖₂ (default 0.05,0.1)")
    ap.add_argument("--lifted", default=os.path.join(here, "..", "target", "release", "lifted"),
                    help="the lifted binary")
    args = ap.parse_args()

    summary = os.path.join(args.results, "summary.csv")
    if not os.path.exists(summary):
        print(f"no {summary}: run `lifted experiment run` first", file=sys.stderr)
        return 1
    with open(summary, newline="") as f:
        runs = list(csv.DictReader(f))
    lines = []
    for r in runs:
        run_dir = os.path.join(args.results, "runs", r["id"])
        model = os.path.join(run_dir, "model.lfm")
        out = os.path.join(run_dir, "strong.json")
        if not os.path.exists(out):
            if not os.path.exists(model):
                print(f"{r['id']}: no model.lfm (diverged or not exported) — skipped", file=sys.stderr)
                continue
            data_dir = args.data_dir or os.path.join("data", r["dataset"])
            cmd = [args.lifted, "evaluate", "--model", model, "--dataset", r["dataset"],
                   "--data-dir", data_dir, "--limit", str(args.limit),
                   "--restarts", str(args.restarts), "--steps", str(args.steps),
                   "--pgd-linf", args.linf or LINF.get(r["dataset"], "0.1"), "--pgd-l2", args.l2,
                   "--pgd-internal-rel", args.rel, "--json"]
            print(f"{r['id']}: {' '.join(cmd[1:])}", file=sys.stderr)
            doc = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            json.loads(doc)
            with open(out + ".tmp", "w") as f:
                f.write(doc)
            os.replace(out + ".tmp", out)
        with open(out) as f:
            doc = json.load(f)
        line = {k: r[k] for k in ("id", "row", "dataset", "n_train", "seed")}
        line["strong_samples"] = doc["samples"]
        line["strong_restarts"] = doc["pgd"]["restarts"]
        line.update(columns(doc))
        lines.append(line)
    keys = []
    for line in lines:
        keys += [k for k in line if k not in keys]
    target = os.path.join(args.results, "strong.csv")
    with open(target + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(lines)
    os.replace(target + ".tmp", target)
    print(f"{len(lines)} runs -> {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
