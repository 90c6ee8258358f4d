#!/usr/bin/env python3
"""Benchmark: `updater drift` on two CSV files of 1,000,000 rows x (10 numeric + 2 categorical)
columns each, end to end (parsing included), against SciPy's per-column tests on the same files.

Target (issue "Drift detection"): under 1.5 s and under 600 MB on a 2-core machine.
The peer reads the same files with pandas and runs scipy.stats.ks_2samp and
wasserstein_distance on every numeric column and chi2_contingency on every categorical one.
Evidently's DataDriftPreset needs about a minute on 1M x 10 here (facts.md); it is not run.

Usage: python3 Benchmarks/drift_bench.py [--rows N] [--repeat K]   (make bench runs it)
Needs: numpy, scipy, pandas (pip install numpy scipy pandas), a release build of updater
(swift build -c release). Data is generated once into .build-bench/.
"""
from __future__ import annotations

import argparse
import os
import statistics
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
UPDATER = ROOT / ".build" / "release" / "updater"


def generate(rows: int) -> tuple[Path, Path]:
    DATA.mkdir(exist_ok=True)
    ref, cur = DATA / f"drift_ref_{rows}.csv", DATA / f"drift_cur_{rows}.csv"
    if ref.exists() and cur.exists():
        return ref, cur
    import pandas as pd

    for path, seed, shift in ((ref, 0, 0.0), (cur, 1, 0.05)):
        rng = np.random.default_rng(seed)
        cols = {}
        for k in range(10):
            x = rng.normal(k, 1 + k / 10, rows) + (shift * (k % 3))  # some columns move a little
            x[rng.random(rows) < 0.01] = np.nan  # 1% missing
            cols[f"x{k}"] = np.round(x, 5)
        cols["plan"] = rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2])
        cols["region"] = rng.choice([f"region-{i}" for i in range(20)], rows)
        pd.DataFrame(cols).to_csv(path, index=False, na_rep="")
    return ref, cur


def run_updater(ref: Path, cur: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `updater drift` run."""
    cmd = ["/usr/bin/time", "-f", "%e %M", str(UPDATER), "drift", "--reference", str(ref), "--current", str(cur),
           "--categorical", "plan,region", "--json"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"updater failed: {p.stderr}")
    rss_kb = int(p.stderr.strip().splitlines()[-1].split()[1])
    return wall, rss_kb / 1024


def run_peer(ref: Path, cur: Path) -> float:
    import pandas as pd
    from scipy import stats

    t0 = time.perf_counter()
    a = pd.read_csv(ref)
    b = pd.read_csv(cur)
    for k in range(10):
        x, y = a[f"x{k}"].dropna().to_numpy(), b[f"x{k}"].dropna().to_numpy()
        stats.ks_2samp(x, y)
        stats.wasserstein_distance(x, y)
    for c in ("plan", "region"):
        counts = pd.concat([a[c].value_counts(), b[c].value_counts()], axis=1).fillna(0).to_numpy().T
        stats.chi2_contingency(counts)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not UPDATER.exists():
        sys.exit("build first: swift build -c release")
    ref, cur = generate(args.rows)
    size = (ref.stat().st_size + cur.stat().st_size) / 1e6
    print(f"data: 2 files x {args.rows:,} rows x (10 numeric + 2 categorical), {size:.0f} MB in all")
    runs = [run_updater(ref, cur) for _ in range(args.repeat)]
    wall = statistics.median(r[0] for r in runs)
    rss = max(r[1] for r in runs)
    peer = statistics.median(run_peer(ref, cur) for _ in range(args.repeat))
    print(f"updater drift (end to end): {wall:.2f} s median of {args.repeat}, peak RSS {rss:.0f} MB"
          f"   [target < 1.5 s, < 600 MB: {'met' if wall < 1.5 and rss < 600 else 'NOT met'}]")
    print(f"SciPy peer (pandas read_csv + ks_2samp + wasserstein + chi2 per column): {peer:.2f} s")
    print(f"ratio peer / updater: {peer / wall:.2f}x")


if __name__ == "__main__":
    main()
