#!/usr/bin/env python3
"""Statistics behind docs/results.md: every row against a reference row (BP), per data set and N.

Reads results/*/summary.csv (one line per finished run), results/*/strong.csv where present
(scripts/strong-eval.py: the 10-restart attack and the relative internal radii) and, for the ‖W₂W₁W₀‖₂ estimate at the
last trained epoch, results/*/runs/<id>/log.csv. For every metric and every row it prints
mean ± sample standard deviation over the seeds of the row and of the reference, the difference,
and Welch's unequal-variance t-test: t, Welch–Satterthwaite degrees of freedom and the two-sided
p-value. The Student-t CDF is computed here (regularised incomplete beta function, continued
fraction), so the script needs nothing beyond the Python 3 standard library.

A comparison with fewer than 2 seeds on either side is printed as "no test possible".

    python3 scripts/results-stats.py                      # every experiment, every metric
    python3 scripts/results-stats.py --metrics lip_bound,pgd_l2_1 --rows arovr,relaxed
    python3 scripts/results-stats.py --self-test          # checks the t distribution
"""

import argparse
import csv
import glob
import math
import os
import sys

# Metric column -> (label, scale). Accuracies are stored as fractions and printed in %.
METRICS = [
    ("clean", "clean test accuracy (%)", 100.0),
    ("pgd_linf_0.1", "PGD ℓ∞ 0.1 (%)", 100.0),
    ("pgd_linf_0.05", "PGD ℓ∞ 0.05 (%)", 100.0),
    ("pgd_l2_0.3", "PGD ℓ2 0.3 (%)", 100.0),
    ("pgd_l2_1", "PGD ℓ2 1 (%)", 100.0),
    ("cert_l2_0.1", "certified ℓ2 0.1 (%)", 100.0),
    ("cert_l2_0.3", "certified ℓ2 0.3 (%)", 100.0),
    ("cert_l2_0.5", "certified ℓ2 0.5 (%)", 100.0),
    ("cert_linf_0.01", "certified ℓ∞ 0.01 (%)", 100.0),
    ("lip_estimate", "‖W₂W₁W₀‖₂ at the selected epoch", 1.0),
    ("lip_estimate_last", "‖W₂W₁W₀‖₂ at the last epoch", 1.0),
    ("lip_bound", "sound bound Π σ̄_k (product of norms), selected epoch", 1.0),
    ("best_epoch", "selected epoch", 1.0),
    # From strong.csv (scripts/strong-eval.py): first 1000 test samples, PGD with 10 restarts.
    ("strong_pgd_linf_0.1", "PGD ℓ∞ 0.1, 10 restarts, first 1000 (%)", 100.0),
    ("strong_pgd_linf_0.05", "PGD ℓ∞ 0.05, 10 restarts, first 1000 (%)", 100.0),
    ("strong_pgd_l2_1", "PGD ℓ2 1, 10 restarts, first 1000 (%)", 100.0),
    ("internal_rel_z1_0.05", "PGD on z1 at 5 % of ‖z1‖ (%)", 100.0),
    ("internal_rel_z2_0.05", "PGD on z2 at 5 % of ‖z2‖ (%)", 100.0),
    ("internal_rel_z1_0.1", "PGD on z1 at 10 % of ‖z1‖ (%)", 100.0),
    ("internal_rel_z2_0.1", "PGD on z2 at 10 % of ‖z2‖ (%)", 100.0),
]


# ---------------------------------------------------------------------------------------------
# Student-t distribution
# ---------------------------------------------------------------------------------------------

def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def betainc(a, b, x):
    """Regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log1p(-x))
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|) for Student's t with df (real, > 0) degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def welch(a, b):
    """Welch's t-test of mean(a) - mean(b). Returns (t, df, p) or None if not testable."""
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None
    va, vb = var(a), var(b)
    se2 = va / na + vb / nb
    diff = mean(a) - mean(b)
    if se2 == 0.0:
        if diff == 0.0:
            return (0.0, float("nan"), 1.0)
        return (math.copysign(float("inf"), diff), float("nan"), 0.0)
    t = diff / math.sqrt(se2)
    df = se2 * se2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    return (t, df, t_two_sided_p(t, df))


def mean(xs):
    return sum(xs) / len(xs)


def var(xs):
    m = mean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def std(xs):
    return math.sqrt(var(xs)) if len(xs) > 1 else float("nan")


def self_test():
    # Two-sided 5 % critical values of Student's t (standard tables) and a few exact cases.
    cases = [(12.706, 1, 0.05), (4.303, 2, 0.05), (2.776, 4, 0.05), (2.228, 10, 0.05),
             (1.960, 1e7, 0.05), (63.657, 1, 0.01), (9.925, 2, 0.01), (0.0, 3, 1.0)]
    ok = True
    for t, df, want in cases:
        got = t_two_sided_p(t, df)
        good = abs(got - want) < 5e-4
        ok &= good
        print(f"t = {t:7.3f}, df = {df:g}: p = {got:.5f} (table {want}) {'ok' if good else 'FAIL'}")
    # df = 1 is the Cauchy distribution: p = 1 - 2 atan(t) / pi.
    for t in (0.5, 1.0, 3.0):
        got, want = t_two_sided_p(t, 1), 1 - 2 * math.atan(t) / math.pi
        good = abs(got - want) < 1e-12
        ok &= good
        print(f"t = {t:7.3f}, df = 1: p = {got:.12f} (Cauchy {want:.12f}) {'ok' if good else 'FAIL'}")
    # df = 2 closed form: p = 1 - t / sqrt(2 + t^2).
    for t in (0.3, 2.0, 7.0):
        got, want = t_two_sided_p(t, 2), 1 - t / math.sqrt(2 + t * t)
        good = abs(got - want) < 1e-12
        ok &= good
        print(f"t = {t:7.3f}, df = 2: p = {got:.12f} (closed form {want:.12f}) {'ok' if good else 'FAIL'}")
    print("self-test", "passed" if ok else "FAILED")
    return 0 if ok else 1


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def last_epoch_lip(exp_dir, run_id):
    path = os.path.join(exp_dir, "runs", run_id, "log.csv")
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("lip_estimate")]
    if not rows:
        return None
    last = max(rows, key=lambda r: int(r["epoch"]))
    return float(last["lip_estimate"])


def load(results_dir):
    """{experiment: {(dataset, n_train): {row: {metric: [values over seeds]}}}} and row order."""
    data, order = {}, {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*", "summary.csv"))):
        exp_dir = os.path.dirname(path)
        exp = os.path.basename(exp_dir)
        groups = data.setdefault(exp, {})
        rows_seen = order.setdefault(exp, [])
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = (r["dataset"], int(r["n_train"]))
                row = r["row"]
                if row not in rows_seen:
                    rows_seen.append(row)
                per = groups.setdefault(key, {}).setdefault(row, {})
                for m, _, scale in METRICS:
                    if m == "lip_estimate_last":
                        v = last_epoch_lip(exp_dir, r["id"])
                        if v is not None:
                            per.setdefault(m, []).append(v)
                        continue
                    s = r.get(m, "")
                    if s not in ("", None):
                        per.setdefault(m, []).append(float(s) * scale)
                per.setdefault("_seeds", []).append(int(r["seed"]))
        strong = os.path.join(exp_dir, "strong.csv")
        if os.path.exists(strong):
            with open(strong, newline="") as f:
                for r in csv.DictReader(f):
                    per = groups.setdefault((r["dataset"], int(r["n_train"])), {}).setdefault(r["row"], {})
                    for m, _, scale in METRICS:
                        if m.startswith(("strong_", "internal_")) and r.get(m, "") not in ("", None):
                            per.setdefault(m, []).append(float(r[m]) * scale)
    return data, order


def fmt(x):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    a = abs(x)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:.1f}"
    return f"{x:.2f}"


def fmt_ms(xs):
    if not xs:
        return "—"
    if len(xs) == 1:
        return f"{fmt(xs[0])} (1 seed)"
    return f"{fmt(mean(xs))} ± {fmt(std(xs))} (n={len(xs)})"


def fmt_p(p):
    if p >= 0.001:
        return f"{p:.3f}"
    return f"{p:.1e}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--results", default=os.path.join(here, "..", "results"),
                    help="folder holding <experiment>/summary.csv (default: the repository's results/)")
    ap.add_argument("--reference", default=None,
                    help="row every other row is compared with (default: bp, or bp-ce in results/certified)")
    ap.add_argument("--rows", default=None, help="comma-separated rows to show (default: all)")
    ap.add_argument("--metrics", default=None, help="comma-separated metric columns (default: all)")
    ap.add_argument("--markdown", action="store_true",
                    help="print the testable comparisons (>= 2 seeds on both sides) as Markdown tables")
    ap.add_argument("--self-test", action="store_true", help="check the t distribution and exit")
    args = ap.parse_args()
    if args.self_test:
        return self_test()

    data, order = load(args.results)
    if not data:
        print(f"no summary.csv under {args.results}", file=sys.stderr)
        return 1
    want_rows = set(args.rows.split(",")) if args.rows else None
    want_metrics = args.metrics.split(",") if args.metrics else None
    metrics = [m for m in METRICS if want_metrics is None or m[0] in want_metrics]

    if args.markdown:
        return markdown(data, order, args.reference, want_rows, metrics)

    print("Welch's t-test (two-sided) of each row against the reference row; mean ± sample std over seeds.")
    print("diff = row mean − reference mean. Fewer than 2 seeds on a side: no test possible.")
    for exp in sorted(data):
        for (dataset, n), rows in sorted(data[exp].items()):
            ref = args.reference or ("bp" if "bp" in rows else "bp-ce" if "bp-ce" in rows else None)
            print()
            print(f"== {exp}: {dataset}, N_train = {n}; reference row: {ref} "
                  f"({len(rows.get(ref, {}).get('_seeds', []))} seeds)")
            if ref not in rows:
                print("   reference row missing: nothing to compare")
                continue
            for m, label, _ in metrics:
                lines = []
                refv = rows[ref].get(m, [])
                if not refv:
                    continue
                for row in order[exp]:
                    if row == ref or row not in rows or (want_rows and row not in want_rows):
                        continue
                    v = rows[row].get(m, [])
                    if not v:
                        continue
                    diff = mean(v) - mean(refv)
                    w = welch(v, refv)
                    if w is None:
                        test = "no test possible (fewer than 2 seeds)"
                    else:
                        t, df, p = w
                        if math.isnan(df):
                            test = ("identical, zero spread" if t == 0 else
                                    "zero spread on both sides: t infinite")
                        else:
                            test = f"t = {t:+.2f}, df = {df:.1f}, p = {fmt_p(p)}"
                    lines.append(f"   {row:<18} {fmt_ms(v):<28} diff {fmt(diff):>8}   {test}")
                if lines:
                    print(f" {label} — {ref}: {fmt_ms(refv)}")
                    print("\n".join(lines))
    return 0


def markdown(data, order, reference, want_rows, metrics):
    """One Markdown table per experiment: a line per (data set, N, metric), the reference column,
    then one column per row that has >= 2 seeds, holding mean ± std and Welch's t, df and p."""
    for exp in sorted(data):
        groups = data[exp]
        refs = {key: reference or ("bp" if "bp" in rows else "bp-ce" if "bp-ce" in rows else None)
                for key, rows in groups.items()}
        tested = [r for r in order[exp]
                  if (not want_rows or r in want_rows)
                  and any(r != refs[k] and len(rows.get(r, {}).get("_seeds", [])) >= 2
                          and len(rows.get(refs[k], {}).get("_seeds", [])) >= 2
                          for k, rows in groups.items())]
        if not tested:
            print(f"{exp}: no row has >= 2 seeds on both sides, no test possible")
            print()
            continue
        ref_names = sorted({r for r in refs.values() if r})
        print(f"{exp}: reference {', '.join(ref_names)}; mean ± std (n seeds); Welch t, df, two-sided p")
        print()
        print("| data set | N | metric | " + " / ".join(ref_names) + " | "
              + " | ".join(tested) + " |")
        print("|---|---:|---|---:|" + "---:|" * len(tested))
        for (dataset, n), rows in sorted(groups.items()):
            ref = refs[(dataset, n)]
            if ref not in rows:
                continue
            for m, label, _ in metrics:
                refv = rows[ref].get(m, [])
                if not refv:
                    continue
                cells, any_test = [], False
                for row in tested:
                    v = rows.get(row, {}).get(m, [])
                    w = welch(v, refv) if v else None
                    if w is None:
                        cells.append("no test possible" if v else "—")
                    elif math.isnan(w[1]):
                        cells.append(f"{fmt(mean(v))} ± {fmt(std(v))}; zero spread")
                    else:
                        t, df, p = w
                        any_test = True
                        cells.append(f"{fmt(mean(v))} ± {fmt(std(v))} ({len(v)}); "
                                     f"t = {t:+.2f}, df = {df:.1f}, p = {fmt_p(p)}")
                if not any_test:
                    continue
                print(f"| {dataset} | {n} | {label} | {fmt(mean(refv))} ± {fmt(std(refv))} ({len(refv)}) | "
                      + " | ".join(cells) + " |")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
