#!/usr/bin/env python3
"""Benchmark: `updater drift` on two CSV files of N rows x (10 numeric + 2 categorical) columns
each, end to end (the whole process, parsing included), at 100k, 1M and 10M rows, against SciPy's
per-column tests on the same files.

Targets (issue 18, "Read data at memory speed"):
- at 1M rows: at most 0.8 s wall and at most 400 MB peak RSS (both as Benchmarks/measure.py takes them);
- linear in rows: the seconds per million rows at every size within 20% of each other (the
  largest at most 1.2x the smallest). Peak RSS is printed with its bytes per row, which says
  whether the 10M run holds every row or streams. The same figures net of a run's fixed cost
  (the command on two 100-row files) are printed after: that part of a run does not grow with
  the rows, and it is most of what makes a 100k-row run dearer per row (docs/performance.md).
(The older target of issue "Drift detection", under 1.5 s and 600 MB at 1M, is implied.)

Peer: the same files read with pandas, then scipy.stats.ks_2samp and wasserstein_distance on
every numeric column and chi2_contingency on every categorical one, timed in this process. It runs
at every size whose one run is not expected to exceed 2 minutes: a size above the largest one
measured is skipped when the measured peer time scaled linearly by rows is over 120 s (a lower
bound: the sorts in ks_2samp and wasserstein grow faster than linearly); in practice 10M is
skipped (about 10x 1M's time). Evidently's DataDriftPreset needs about a minute on 1M x 10 here
(facts.md); it is not run.

Each updater and peer time is the median of 3 runs (--repeat); below 1M rows updater's is the median
of three times as many, since a run takes 50 ms there and this VM's noise is largest. Peak RSS is
taken from one more run (Benchmarks/measure.py says why).

Usage: python3 Benchmarks/drift_bench.py [--sizes 100k,1M,10M] [--repeat K]   (make bench runs it)
Needs: numpy, scipy, pandas (pip install numpy scipy pandas), a release build of updater
(make release; the UPDATER environment variable overrides its path). Data is generated
once into .build-bench/drift_{ref,cur}_<rows>.csv (10M: about 960 MB each, written a million rows
at a time).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# Some machines here set OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow a
# current numpy, so the peer runs without them (this process only; tests and CI keep them).
os.environ.pop("OPENBLAS_CORETYPE", None)
os.environ.pop("OPENBLAS_L2_SIZE", None)

import numpy as np  # noqa: E402

import measure  # noqa: E402  (Benchmarks/measure.py)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".build-bench"
UPDATER = Path(os.environ.get("UPDATER", ROOT / ".build" / "release" / "updater"))
CHUNK = 1_000_000
PEER_LIMIT_S = 120.0
FIXED_ROWS = 100


def parse_size(s: str) -> int:
    s = s.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(s[-1], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


def frame(rows: int, seed: int, shift: float):
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {}
    for k in range(10):
        x = rng.normal(k, 1 + k / 10, rows) + (shift * (k % 3))  # some columns move a little
        x[rng.random(rows) < 0.01] = np.nan  # 1% missing
        cols[f"x{k}"] = np.round(x, 5)
    cols["plan"] = rng.choice(["basic", "standard", "premium"], rows, p=[0.5, 0.3, 0.2])
    cols["region"] = rng.choice([f"region-{i}" for i in range(20)], rows)
    return pd.DataFrame(cols)


def generate(rows: int) -> tuple[Path, Path]:
    """Up to 1M rows, one frame from the file's seed (0 reference, 1 current); above, the same
    generator a million rows at a time (seeds 1000 x seed + 1 + chunk index)."""
    DATA.mkdir(exist_ok=True)
    ref, cur = DATA / f"drift_ref_{rows}.csv", DATA / f"drift_cur_{rows}.csv"
    for path, seed, shift in ((ref, 0, 0.0), (cur, 1, 0.05)):
        if path.exists():
            continue
        tmp = path.with_suffix(".tmp")
        if rows <= CHUNK:
            frame(rows, seed, shift).to_csv(tmp, index=False, na_rep="")
        else:
            for i, start in enumerate(range(0, rows, CHUNK)):
                frame(min(CHUNK, rows - start), 1000 * seed + 1 + i, shift).to_csv(
                    tmp, index=False, na_rep="", mode="w" if i == 0 else "a", header=i == 0)
        tmp.rename(path)
    return ref, cur


def updater_command(ref: Path, cur: Path) -> list[str]:
    return [str(UPDATER), "drift", "--reference", str(ref), "--current", str(cur),
            "--categorical", "plan,region", "--json", "--fail-on", "never"]


def run_updater(ref: Path, cur: Path) -> float:
    """Wall seconds of one `updater drift` run."""
    r = measure.run(updater_command(ref, cur))
    if r.status != 0:
        sys.exit(f"updater failed: {r.stderr}")
    return r.wall


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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100k,1M,10M", help="rows per file, comma-separated (k, M suffixes)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not UPDATER.exists():
        sys.exit(f"{UPDATER} is missing: run `make release` first (or set UPDATER)")
    sizes = sorted(parse_size(s) for s in args.sizes.split(",") if s.strip())
    k = args.repeat
    print(f"updater drift, two files x N rows x (10 numeric with 1% missing + 2 categorical), whole process;"
          f" medians of {k}")
    per_m = []
    peer_done: tuple[int, float] | None = None
    for rows in sizes:
        ref, cur = generate(rows)
        size = (ref.stat().st_size + cur.stat().st_size) / 1e6
        wall = statistics.median(run_updater(ref, cur) for _ in range(k if rows >= 1_000_000 else 3 * k))
        rss = measure.peak_mb(updater_command(ref, cur))
        spm = wall / (rows / 1e6)
        per_m.append(spm)
        print(f"\n{rows:,} rows per file ({size:.0f} MB in all)")
        print(f"  updater drift: {wall:.2f} s wall, peak RSS {rss:.0f} MB ({rss * 1048576 / rows:.0f} bytes per row"
              f" of one file), {spm:.2f} s per million rows")
        if rows == 1_000_000:
            print(f"  [1M goal <= 0.8 s and <= 400 MB: {'met' if wall <= 0.8 and rss <= 400 else 'NOT met'}]")
        estimate = peer_done[1] * rows / peer_done[0] if peer_done else 0.0
        if estimate > PEER_LIMIT_S:
            print(f"  SciPy peer skipped: one run would take over {estimate:.0f} s (> 2 min; its {peer_done[1]:.1f} s"
                  f" at {peer_done[0]:,} rows scaled linearly, a lower bound)")
            continue
        peer = statistics.median(run_peer(ref, cur) for _ in range(k))
        peer_done = (rows, peer)
        print(f"  SciPy peer (pandas read_csv + ks_2samp + wasserstein + chi2 per column): {peer:.2f} s")
        print(f"  ratio peer / updater: {peer / wall:.2f}x")
    if len(per_m) > 1:
        spread = max(per_m) / min(per_m)
        print(f"\nseconds per million rows: " + ", ".join(f"{s:.2f}" for s in per_m)
              + f"; largest / smallest = {spread:.2f}   [linear within 20%: {'met' if spread <= 1.2 else 'NOT met'}]")
        # What a run costs whatever its size (starting the process, parsing arguments, writing the
        # report, exiting), from the same command on two 100-row files; the rest is the cost of the
        # rows themselves. (Not 1,000 rows: there KS's exact p-value, computed up to 10,000 values a
        # side, is a third of the run.)
        ref, cur = generate(FIXED_ROWS)
        fixed = statistics.median(run_updater(ref, cur) for _ in range(15))
        measure.print_net_of_fixed(per_m, sizes, fixed, FIXED_ROWS)


if __name__ == "__main__":
    main()
