#!/usr/bin/env python3
"""Benchmark: every binary metric of updater's Evaluation module (accuracy, balanced accuracy,
precision, recall, F1, ROC-AUC, average precision, log loss, Brier, confusion matrix) on
10,000,000 (label, score) rows against scikit-learn's `roc_auc_score` ALONE on the same rows.

Target: updater's all-metrics time < scikit-learn's `roc_auc_score` time, from memory and (printed
too) from the CSV file end to end; and 1,000 paired bootstrap resamples of the ROC-AUC difference on
100,000 rows under 2 s (measured with all five gate metrics and DeLong's test together).

updater side: `updater metrics --input FILE --label y --score score --task binary --threshold 0.5`
(contract for the `metrics` subcommand, which this script does not add): it must print, on
stdout, a line `computed <seconds>s` timing the metric computation only (after the CSV is
parsed, as scikit-learn gets its arrays already in memory), and a line `roc_auc <value>` used to
cross-check the two results. Until that subcommand exists, the script still generates the data and
times scikit-learn, then says that the updater side was skipped.

Usage: python3 Benchmarks/metrics_bench.py   (needs numpy, scikit-learn, and
`make release`). Data is generated once into .build-bench/metrics_10m.csv.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

# Some machines here set OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow a
# current numpy, so the peer runs without them (this process only; tests and CI keep them).
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".build-bench"
UPDATER = Path(os.environ.get("UPDATER", ROOT / ".build" / "release" / "updater"))
ROWS = 10_000_000


def make(rows: int, seed: int = 7):
    """Labels from a logistic model; scores a noisy probability rounded to 6 decimals (some ties)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    y = (rng.random(rows) < 1 / (1 + np.exp(-1.5 * x))).astype(np.int8)
    s = np.round(1 / (1 + np.exp(-(1.5 * x + rng.normal(scale=0.8, size=rows)))), 6)
    return y, s


def write(path: Path, y, s) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as fh:
        fh.write("y,score\n")
        chunk = 1_000_000
        for i in range(0, len(y), chunk):
            block = np.column_stack([y[i:i + chunk].astype(np.float64), s[i:i + chunk]])
            np.savetxt(fh, block, fmt=["%d", "%.6f"], delimiter=",")
    tmp.replace(path)


def read(path: Path):
    import pandas as pd

    df = pd.read_csv(path)
    return df["y"].to_numpy(np.int8), df["score"].to_numpy(np.float64)


def has_metrics_command() -> bool:
    if not UPDATER.exists():
        return False
    # An unknown subcommand's --help falls back to the root help (exit 0): look for its own usage.
    p = subprocess.run([str(UPDATER), "metrics", "--help"], capture_output=True, text=True)
    return p.returncode == 0 and "updater metrics" in p.stdout


def updater_end_to_end(path: Path) -> float:
    """Wall time of `updater metrics` on the CSV file: reading included."""
    args = [str(UPDATER), "metrics", str(path), "--labels", "y", "--scores", "score", "--task", "binary"]
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"updater metrics failed: {p.stderr}")
    return time.perf_counter() - t0


def bootstrap_timing() -> float:
    """Compute time of 1,000 paired bootstrap resamples of five metric differences (ROC-AUC among
    them) plus DeLong's test, on 100,000 rows of two models' scores."""
    path = DATA / "bootstrap_100k.csv"
    if not path.exists():
        rng = np.random.default_rng(5)
        n = 100_000
        y = rng.random(n) < 0.4
        a = np.clip(0.5 + 0.3 * (y - 0.4) + rng.normal(0, 0.25, n), 0, 1)
        b = np.clip(0.5 + 0.28 * (y - 0.4) + rng.normal(0, 0.25, n), 0, 1)
        with open(path, "w") as f:
            f.write("y,candidate,production\n")
            for i in range(n):
                f.write(f"{int(y[i])},{a[i]:.6f},{b[i]:.6f}\n")
    args = [str(UPDATER), "metrics", str(path), "--labels", "y", "--scores", "candidate", "--versus", "production",
            "--resamples", "1000", "--timing"]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"updater metrics --versus failed: {p.stderr}")
    return float(re.search(r"computed ([0-9.]+)s", p.stderr).group(1))


def updater_metrics(path: Path) -> tuple[float, float | None]:
    args = [str(UPDATER), "metrics", str(path), "--labels", "y", "--scores", "score",
            "--task", "binary", "--threshold", "0.5", "--timing"]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"updater metrics failed: {p.stderr}")
    m = re.search(r"computed (?:in )?([0-9.eE+-]+)\s*s\b", p.stderr)
    if not m:
        sys.exit(f"`updater metrics --timing` printed no `computed <seconds>s` line:\n{p.stderr}")
    auc = re.search(r"roc_auc[\s:=]+([0-9.eE+-]+)", p.stdout)
    return float(m.group(1)), float(auc.group(1)) if auc else None


def main() -> None:
    from sklearn.metrics import roc_auc_score

    DATA.mkdir(exist_ok=True)
    path = DATA / "metrics_10m.csv"
    if not path.exists():
        y, s = make(ROWS)
        write(path, y, s)
    # Read back from the CSV so both sides see exactly the same (6-decimal) scores.
    y, s = read(path)
    print(f"data: {len(y):,} rows (label, score), {int(y.sum()):,} positives, "
          f"{len(np.unique(s)):,} distinct scores  [{path.relative_to(ROOT)}]")

    peer_times = []
    for _ in range(3):
        t0 = time.perf_counter()
        auc_peer = roc_auc_score(y, s)
        peer_times.append(time.perf_counter() - t0)
    peer = min(peer_times)
    print(f"scikit-learn roc_auc_score alone:  {peer:7.3f} s   ROC-AUC {auc_peer:.9f}")

    if not has_metrics_command():
        print("updater side SKIPPED: `.build/release/updater metrics` does not exist yet "
              "(build with `make release` once the subcommand is added).")
        return
    runs = [updater_metrics(path) for _ in range(3)]
    ours = min(t for t, _ in runs)
    auc_ours = runs[0][1]
    shown = f"{auc_ours:.9f}" if auc_ours is not None else "n/a"
    print(f"updater all binary metrics:        {ours:7.3f} s   ROC-AUC {shown}")
    agree = auc_ours is None or abs(auc_ours - auc_peer) <= 1e-9
    print(f"ratio scikit-learn / updater: {peer / ours:.2f}x"
          f"   [target: updater faster: {'met' if ours < peer else 'NOT met'};"
          f" ROC-AUC agrees to 1e-9: {'yes' if agree else 'NO'}]")
    e2e = min(updater_end_to_end(path) for _ in range(2))
    print(f"updater metrics from the CSV file, end to end: {e2e:7.3f} s"
          f"   (scikit-learn's roc_auc_score from memory: {peer:.3f} s; ratio {peer / e2e:.2f}x)")
    boot = min(bootstrap_timing() for _ in range(2))
    print(f"1,000 paired bootstrap resamples of 5 metric differences (ROC-AUC included) + DeLong, 100,000 rows:"
          f" {boot:.3f} s   [target: ROC-AUC's under 2 s: {'met' if boot < 2 else 'NOT met'}]")


if __name__ == "__main__":
    main()
